use crate::{report, snn_place};

#[test]
fn same_seed_same_file_and_it_places() {
    let dir = tempfile::tempdir().unwrap();
    for kind in ["layered", "random"] {
        let make = |name: &str, seed: &str| {
            let out = dir.path().join(name);
            snn_place()
                .args(["gen", kind, "--blocks", "500", "--seed", seed, "-o"])
                .arg(&out)
                .assert()
                .success();
            out
        };
        let a = make(&format!("{kind}-a.json"), "1");
        let b = make(&format!("{kind}-b.json"), "1");
        let c = make(&format!("{kind}-c.json"), "2");
        assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
        assert_ne!(std::fs::read(&a).unwrap(), std::fs::read(&c).unwrap());
        let r = report(&[a.to_str().unwrap(), "-a", "greedy"]);
        assert_eq!(r["blocks"], 500);
        // Every on-chip block takes one core: the few host blocks do not.
        assert!(r["cores_used"].as_u64().unwrap() > 480);
        // The default allocator, portfolio, keeps more traffic on chip than greedy's file order.
        let m = report(&[a.to_str().unwrap()]);
        assert_eq!(m["allocator"], "portfolio");
        assert!(m["interchip_spikes"].as_f64().unwrap() <= r["interchip_spikes"].as_f64().unwrap());
    }
}

#[test]
fn gzip_output_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("net.json.gz");
    snn_place()
        .args(["gen", "layered", "--blocks", "300", "--seed", "4", "-o"])
        .arg(&out)
        .assert()
        .success();
    let bytes = std::fs::read(&out).unwrap();
    assert_eq!(&bytes[..2], &[0x1f, 0x8b]);
    let r = report(&[out.to_str().unwrap(), "-a", "round-robin"]);
    assert_eq!(r["blocks"], 300);
}

#[test]
fn bad_sizes_are_usage_errors() {
    snn_place()
        .args(["gen", "layered", "--blocks", "0"])
        .assert()
        .code(2);
    snn_place()
        .args(["gen", "mesh", "--blocks", "10"])
        .assert()
        .code(2);
}
