//! `import nir`: the NIR fixtures (written by `fixtures/nir/make_fixtures.py` with the `nir` package),
//! their bundled networks, a graph exported by snnTorch, placing and comparing them on the Loihi 2
//! boards, and bad input.

use crate::{fixture, report, snn_place};
use predicates::prelude::*;

/// Imports `nir` onto `topology` into a temporary file and returns the network's JSON and stderr.
fn import(nir: &str, topology: &str) -> (serde_json::Value, String) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("net.json");
    let run = snn_place()
        .args(["import", "nir", nir, "-t", topology, "-o"])
        .arg(&out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr).into_owned();
    assert!(run.status.success(), "{nir}: {stderr}");
    let text = std::fs::read_to_string(&out).unwrap();
    (serde_json::from_str(&text).unwrap(), stderr)
}

/// Per layer (NIR node): blocks and compartments, host blocks marked.
fn layers(net: &serde_json::Value) -> Vec<String> {
    let mut out: Vec<(String, u64, u64, bool)> = Vec::new();
    for b in net["blocks"].as_array().unwrap() {
        let layer = b["layer"].as_str().unwrap().to_string();
        let host = b["host"].as_bool().unwrap_or(false);
        let c = b["compartments"].as_u64().unwrap();
        match out.iter_mut().find(|l| l.0 == layer) {
            Some(l) => {
                l.1 += 1;
                l.2 += c;
            }
            None => out.push((layer, 1, c, host)),
        }
    }
    out.iter()
        .map(|(l, n, c, host)| format!("{l}{} {n}x {c}", if *host { " (host)" } else { "" }))
        .collect()
}

#[test]
fn fixtures_import_onto_kapoho_point_as_bundled() {
    for (name, expect) in [
        (
            "mlp",
            &[
                "input (host) 1x 784",
                "li2 1x 10",
                "lif1 2x 2000",
                "output (host) 1x 10",
            ][..],
        ),
        (
            "rsnn",
            &[
                "input (host) 1x 100",
                "output (host) 1x 10",
                "readout 1x 10",
                "rsnn.lif 1x 1000",
            ][..],
        ),
        (
            "conv",
            &[
                "input (host) 1x 2312",
                "lif1 4x 18496",
                "lif2 12x 2592",
                "lif3 1x 10",
                "output (host) 1x 10",
            ][..],
        ),
    ] {
        let (net, stderr) = import(&format!("fixtures/nir/{name}.nir"), "kapoho-point");
        assert_eq!(layers(&net), expect, "{name}");
        assert!(stderr.contains("synapses"), "{stderr}");
        // The bundled network is what the import gives today.
        let bundled: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(fixture(&format!("nir/{name}.net.json"))).unwrap(),
        )
        .unwrap();
        assert_eq!(
            net, bundled,
            "{name}: regenerate with `snn-place import nir fixtures/nir/{name}.nir -t kapoho-point -o fixtures/nir/{name}.net.json`"
        );
        // Every fixture places on Kapoho Point's first chip, under the preset's multicast model.
        let r = report(&[
            &format!("fixtures/nir/{name}.net.json"),
            "-t",
            "kapoho-point",
        ]);
        assert_eq!(r["chips_used"], 1, "{name}");
        assert_eq!(r["traffic"], "multicast", "{name}");
    }
}

#[test]
fn loihi_cores_need_more_blocks_than_loihi2_cores() {
    // 1,024 compartments a core: the 18,496 neurons of lif1 need 19 blocks.
    let (net, _) = import("fixtures/nir/conv.nir", "nahuku32");
    assert_eq!(
        layers(&net),
        [
            "input (host) 1x 2312",
            "lif1 19x 18496",
            "lif2 12x 2592",
            "lif3 1x 10",
            "output (host) 1x 10"
        ]
    );
}

#[test]
fn an_snntorch_export_places_on_kapoho_point() {
    // fixtures/nir/snntorch.nir: snnTorch's export_to_nir of a 2-layer Leaky network (see
    // fixtures/nir/make_snntorch.py); committed because torch is too heavy for CI.
    let (net, stderr) = import("fixtures/nir/snntorch.nir", "kapoho-point");
    assert!(
        stderr.contains("population 1 (LIF): 300 neurons in 1 blocks, 30000 synapses"),
        "{stderr}"
    );
    // snnTorch names nodes by their index in the Sequential: Linear 0, Leaky 1, Linear 2, Leaky 3.
    assert_eq!(
        layers(&net),
        [
            "1 1x 300",
            "3 1x 10",
            "input (host) 1x 100",
            "output (host) 1x 10"
        ]
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("net.json");
    std::fs::write(&path, net.to_string()).unwrap();
    let emulate = |topology| {
        [
            path.to_str().unwrap(),
            "-t",
            topology,
            "--emulate",
            "--steps",
            "50",
        ]
    };
    let r = report(&emulate("kapoho-point"));
    assert_eq!(r["chips_used"], 1);
    assert!(r["time_per_step_us"].as_f64().unwrap() > 0.0);
    // The Loihi 2 model's step: the chips' part, then the host phase as on Loihi 1 (the input is not
    // precomputed, so a round trip every step); its energy is priced with Loihi 1's per-event energies,
    // and says so.
    let e = &r["emulation"];
    assert_eq!(e["pace_phase"], "host");
    assert_eq!(e["host"]["round_trip"], true);
    assert_eq!(e["energy_per_step_uj"]["constants"], "loihi1");
    assert!(e["energy_per_step_uj"]["mean"].as_f64().unwrap() > 0.0);
    let out = snn_place().args(emulate("kapoho-point")).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let mark = "; priced with Loihi 1's per-event energies (none are published for Loihi 2)";
    assert!(text.contains(mark), "{text}");
    // On a Loihi 1 board the energy is the chip's own: no mark.
    let r = report(&emulate("nahuku8"));
    assert!(r["emulation"]["energy_per_step_uj"]
        .get("constants")
        .is_none());
}

#[test]
fn compare_on_hala_point_draws_the_whole_board() {
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("hala.html");
    snn_place()
        .args([
            "compare",
            "fixtures/nir/conv.net.json",
            "-t",
            "hala-point",
            "--steps",
            "20",
        ])
        .args(["--allocators", "metis,round-robin", "--html"])
        .arg(&html)
        .assert()
        .success()
        .stdout(predicate::str::contains("metis"));
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("1152 chips (32x36)"));
    // Every chip of the mesh is drawn, once per candidate.
    for chip in [0, 575, 1151] {
        assert_eq!(
            page.matches(&format!("<title>chip {chip}: ")).count(),
            2,
            "chip {chip}"
        );
    }
}

#[test]
fn bad_nir_files_name_the_node_and_write_nothing() {
    for (file, message) in [
        ("truncated", "truncated file"),
        (
            "unsupported",
            "NIR node \"conv3\": unsupported node type \"Conv3d\"",
        ),
        (
            "mismatch",
            "NIR node \"fc\": takes shape [6] (6 values) but node \"input\" gives [4] (4 values)",
        ),
        (
            "linear-cycle",
            "NIR node \"a\": is on a cycle without a neuron node",
        ),
        ("self-link", "groups nest deeper than 32"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("net.json");
        snn_place()
            .args([
                "import",
                "nir",
                &format!("fixtures/nir/broken/{file}.nir"),
                "-o",
            ])
            .arg(&out)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(message))
            .stderr(predicate::str::contains(format!(
                "fixtures/nir/broken/{file}.nir"
            )));
        assert!(!out.exists(), "{file}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "{file}");
    }
    // Not a file at all, and standard input.
    snn_place()
        .args(["import", "nir", "fixtures/nir/no-such.nir"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no-such.nir"));
    snn_place()
        .args(["import", "nir", "-"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not standard input"));
}

#[test]
fn traffic_follows_the_preset_and_the_flag_overrides_it() {
    let r = report(&["fixtures/nir/rsnn.net.json", "-t", "hala-point"]);
    assert_eq!(r["traffic"], "multicast");
    let r = report(&[
        "fixtures/nir/rsnn.net.json",
        "-t",
        "hala-point",
        "--traffic",
        "unicast",
    ]);
    assert_eq!(r["traffic"], "unicast");
    let r = report(&["fixtures/nir/rsnn.net.json", "-t", "nahuku32"]);
    assert_eq!(r["traffic"], "unicast");
}
