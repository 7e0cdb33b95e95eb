use crate::{expect, figures, fixture, report, snn_place};
use predicates::prelude::*;

/// Each case: fixture, topology, allocator, extra args, and the figures worked out by hand
/// (chips, cores, inter-chip, hop, busiest link, multicast, host spikes). On tiny-board (2x2 chips of
/// 4 cores) chip 0 is (0,0), 1 is (1,0), 2 is (0,1), 3 is (1,1).
/// Fixture, topology, allocator, extra arguments, figures.
type Case<'a> = (&'a str, &'a str, &'a str, &'a [&'a str], [f64; 7]);

#[test]
fn hand_worked_figures() {
    let cases: &[Case] = &[
        // Greedy: l1.*, l2.0 fill chip 0; l2.1, l3.0 go to chip 1. Crossing: l1.1->l2.1 (2),
        // l1.2->l2.1 (4), l2.0->l3.0 (3), all on link 0->1. Host: 3 x 10 in, 1 out.
        (
            "ff3.json",
            "fixtures/tiny-board.json",
            "greedy",
            &[],
            [2., 6., 9., 9., 9., 9., 31.],
        ),
        // Round-robin over 4 chips: l1.0 c0, l1.1 c1, l1.2 c2, l2.0 c3, l2.1 c0, l3.0 c1. Every edge
        // crosses; l1.0->l2.0 takes 2 hops (0->1->3). Link 0->1 carries 4 + 3 = 7.
        (
            "ff3.json",
            "fixtures/tiny-board.json",
            "round-robin",
            &[],
            [4., 6., 18., 22., 7., 18., 31.],
        ),
        // Round-robin over 2 chips: l1.0 c0, l1.1 c1, l1.2 c0, l2.0 c1, l2.1 c0, l3.0 c1. Crossing:
        // l1.0->l2.0 (4, 0->1), l1.1->l2.1 (2, 1->0), l2.1->l3.0 (3, 0->1).
        (
            "ff3.json",
            "fixtures/tiny-board.json",
            "round-robin",
            &["--chips", "2"],
            [2., 6., 9., 9., 7., 9., 31.],
        ),
        // On Nahuku32 everything fits chip 0 with greedy: no inter-chip traffic.
        (
            "ff3.json",
            "nahuku32",
            "greedy",
            &[],
            [1., 6., 0., 0., 0., 0., 31.],
        ),
        // Greedy: conv1.*, conv2.* on chip 0, add.* on chip 1; the four edges into add cross (4 x 25.6).
        (
            "conv-residual.json",
            "fixtures/tiny-board.json",
            "greedy",
            &[],
            [2., 6., 102.4, 102.4, 102.4, 102.4, 41.],
        ),
        // Round-robin: conv1.0 c0, conv1.1 c1, conv2.0 c2, conv2.1 c3, add.0 c0, add.1 c1. The residual
        // edges stay on chip; the diagonal 2.4s take 2 hops; links 0->2 and 1->3 carry 25.6 + 2.4.
        (
            "conv-residual.json",
            "fixtures/tiny-board.json",
            "round-robin",
            &[],
            [4., 6., 107.2, 112., 28., 107.2, 41.],
        ),
        // Host traffic: camera 51.2 + imu 0.6 in, 60 + 4 to the probes; imu -> probe.act never touches
        // a chip, and act's self-loop never leaves its core.
        (
            "host-io.json",
            "nahuku32",
            "greedy",
            &[],
            [1., 2., 0., 0., 0., 0., 115.8],
        ),
        (
            "host-io.json",
            "nahuku32",
            "round-robin",
            &[],
            [2., 2., 60., 60., 60., 60., 115.8],
        ),
        // Greedy-interchip: only l1.0, l1.1, l1.2 receive nothing on chip; the first chip starts at l1.0
        // and follows its largest connections: l2.0 (4), l3.0 (3), l2.1 (3). l1.1 and l1.2 share the
        // other chip: 2 + 2 + 4 cross, all one way over one link (the mapping makes the chips neighbours).
        (
            "ff3.json",
            "fixtures/tiny-board.json",
            "greedy-interchip",
            &[],
            [2., 6., 8., 8., 8., 6., 31.],
        ),
        // METIS finds the two triangles (conv1.i, conv2.i, add.i): only the 2.4 diagonals cross, one each
        // way; with FM on top nothing changes (it is optimal).
        (
            "conv-residual.json",
            "fixtures/tiny-board.json",
            "metis",
            &[],
            [2., 6., 4.8, 4.8, 2.4, 4.8, 41.],
        ),
        (
            "conv-residual.json",
            "fixtures/tiny-board.json",
            "metis",
            &["--refine", "fm"],
            [2., 6., 4.8, 4.8, 2.4, 4.8, 41.],
        ),
        // FM after greedy: greedy's chip 0 holds conv1.*, conv2.*; FM swaps to the triangles.
        (
            "conv-residual.json",
            "fixtures/tiny-board.json",
            "greedy",
            &["--refine", "fm"],
            [2., 6., 4.8, 4.8, 2.4, 4.8, 41.],
        ),
        // CRLF line endings read like any other file.
        (
            "crlf.json",
            "loihi",
            "greedy",
            &[],
            [1., 2., 0., 0., 0., 0., 0.],
        ),
    ];
    for (net, topo, alloc, extra, want) in cases {
        let path = fixture(net);
        let mut args = vec![
            path.to_str().unwrap(),
            "--topology",
            topo,
            "--allocator",
            alloc,
        ];
        args.extend_from_slice(extra);
        let r = report(&args);
        let [a, b, c, d, e, f, g] = *want;
        assert_eq!(
            figures(&r),
            expect(a, b, c, d, e, f, g),
            "{net} {topo} {alloc} {extra:?}"
        );
        assert_eq!(r["format"], "snn-report/1");
        let name = match extra {
            ["--refine", r] => format!("{alloc}+{r}"),
            _ => alloc.to_string(),
        };
        assert_eq!(r["allocator"], name.as_str());
        assert_eq!(r["time_per_step_us"], serde_json::Value::Null);
    }
}

#[test]
fn report_names_what_ran() {
    let r = report(&["fixtures/ff3.json", "--seed", "9"]);
    assert_eq!(r["network"], "ff3");
    assert_eq!(r["topology"], "nahuku32");
    assert_eq!(r["allocator"], "portfolio");
    assert_eq!(r["seed"], 9);
    assert_eq!(r["blocks"], 8);
    assert_eq!(r["edges"], 10);
}

#[test]
fn human_table_shows_the_figures() {
    snn_place()
        .args([
            "fixtures/ff3.json",
            "--topology",
            "fixtures/tiny-board.json",
            "-a",
            "round-robin",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("inter-chip spikes  18 /step"))
        .stdout(predicate::str::contains(
            "busiest link       7 /step  (chip 0 -> chip 1)",
        ))
        .stdout(predicate::str::contains("tiny-board: 4 chips x 4 cores"));
}

#[test]
fn reads_standard_input_and_gzip() {
    let text = std::fs::read(fixture("ff3.json")).unwrap();
    let from_stdin = snn_place()
        .args([
            "-",
            "--json",
            "-a",
            "round-robin",
            "-t",
            "fixtures/tiny-board.json",
        ])
        .write_stdin(text.clone())
        .output()
        .unwrap();
    assert!(from_stdin.status.success());
    let dir = tempfile::tempdir().unwrap();
    let gz = dir.path().join("ff3.json.gz");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut enc, &text).unwrap();
    std::fs::write(&gz, enc.finish().unwrap()).unwrap();
    let r1: serde_json::Value = serde_json::from_slice(&from_stdin.stdout).unwrap();
    let r2 = report(&[
        gz.to_str().unwrap(),
        "-a",
        "round-robin",
        "-t",
        "fixtures/tiny-board.json",
    ]);
    assert_eq!(figures(&r1), figures(&r2));
}

#[test]
fn writes_a_placement_that_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("p.json");
    snn_place()
        .args([
            "fixtures/conv-residual.json",
            "-t",
            "fixtures/tiny-board.json",
            "-a",
            "round-robin",
            "--seed",
            "3",
        ])
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    let text = std::fs::read_to_string(&out).unwrap();
    let p: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(p["format"], "snn-placement/1");
    assert_eq!(p["allocator"], "round-robin");
    assert_eq!(p["seed"], 3);
    assert_eq!(p["topology"], "tiny-board");
    let entries = p["placement"].as_array().unwrap();
    assert_eq!(entries.len(), 8);
    assert_eq!(
        entries[0],
        serde_json::json!({"block": "input", "host": true})
    );
    assert_eq!(
        entries[3],
        serde_json::json!({"block": "conv2.0", "chip": 2, "core": 0})
    );
    assert_eq!(
        entries[5],
        serde_json::json!({"block": "add.0", "chip": 0, "core": 1})
    );
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&out).unwrap().permissions().mode() & 0o777,
        0o644
    );
    // Only the output file is left in the folder: the temporary file was renamed.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["p.json"]);
}

#[test]
fn same_seed_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let run = |name: &str| {
        let out = dir.path().join(name);
        snn_place()
            .args([
                "fixtures/ff3.json",
                "-a",
                "round-robin",
                "--seed",
                "5",
                "--out",
            ])
            .arg(&out)
            .assert()
            .success();
        std::fs::read(out).unwrap()
    };
    assert_eq!(run("a.json"), run("b.json"));
}

/// A nengo-loihi model (`python/examples/ensemble_array_dense.py 32`) whose 2,176 on-chip blocks fill 17
/// Loihi chips exactly: no free core, so refinement can only exchange blocks. The default must beat
/// nengo-loihi's GreedyInterchip there (10,030 spikes per step, as in nengo-loihi's own order of
/// growth) and METIS with FM; it reaches about 8,906.
#[test]
fn default_beats_greedy_interchip_and_metis_at_zero_slack() {
    let net = "fixtures/nengo/ensemble-array-dense-32.net.json.gz";
    let ours = report(&[net]);
    assert_eq!(ours["allocator"], "portfolio");
    assert_eq!(ours["cores_used"], 17 * 128);
    assert_eq!(ours["chips_used"], 17);
    let greedy = report(&["-a", "greedy-interchip", net]);
    let metis = report(&["-a", "metis", "--refine", "fm", net]);
    assert_eq!(greedy["interchip_spikes"], 10_030.0);
    let ours = ours["interchip_spikes"].as_f64().unwrap();
    assert!(ours < 0.92 * 10_030.0, "portfolio: {ours}");
    assert!(
        ours < metis["interchip_spikes"].as_f64().unwrap(),
        "{metis}"
    );
    // Spread over all 32 chips (nengo-loihi's PartitionInterchip), the traffic falls further.
    let spread = report(&["--spread", net]);
    assert_eq!(spread["chips_used"], 32);
    assert!(spread["interchip_spikes"].as_f64().unwrap() < ours);
}

/// At zero slack the default also refines the cut again from the hop refinement's placement (the
/// recut), which reaches partitions with as little traffic that lie better on the mesh. Measured on the
/// dense ensemble array on Nahuku32 (4 x 8), seed 3: 8,908 inter-chip spikes and 18,544 hop-spikes
/// without it, 8,904 and 17,120 with it.
#[test]
fn the_recut_lowers_the_hops_at_zero_slack() {
    let net = "fixtures/nengo/ensemble-array-dense-32.net.json.gz";
    let ours = report(&["--seed", "3", net]);
    assert_eq!(ours["cores_used"], 17 * 128);
    let (cut, hops) = (&ours["interchip_spikes"], &ours["hop_spikes"]);
    assert!(cut.as_f64().unwrap() <= 8_906.0, "inter-chip spikes {cut}");
    assert!(
        hops.as_f64().unwrap() < 0.95 * 18_544.0,
        "hop-spikes {hops}"
    );
}

/// `gen layered --blocks BLOCKS --seed SEED` written to `dir`/net.json.
fn gen_layered(dir: &std::path::Path, blocks: &str, seed: &str) -> std::path::PathBuf {
    let net = dir.join("net.json");
    snn_place()
        .args(["gen", "layered", "--blocks", blocks, "--seed", seed, "-o"])
        .arg(&net)
        .assert()
        .success();
    net
}

#[test]
fn objective_hops_lowers_the_hops_on_the_same_chips() {
    let dir = tempfile::tempdir().unwrap();
    let net = gen_layered(dir.path(), "800", "1");
    let net = net.to_str().unwrap();
    let cut = report(&[net]);
    let hops = report(&["--objective", "hops", net]);
    assert_eq!(hops["allocator"], "portfolio+hops");
    assert_eq!(hops["chips_used"], cut["chips_used"]);
    // Measured (seed 0): 4,277 hop-spikes for interchip (4,378 before its flows between neighbouring
    // chips), 4,097 for hops (-4%).
    let hop_spikes = |r: &serde_json::Value| r["hop_spikes"].as_f64().unwrap();
    let (h, c) = (hop_spikes(&hops), hop_spikes(&cut));
    assert!(h < 0.97 * c, "hops {h} against interchip's {c}");
}

/// `--effort full` refines nets above 32,000 blocks further (every flow region, more turns; measured in
/// `Effort`'s docs); below, where the default's schedule is already the heavier one, it is the default.
/// Only `portfolio` takes it.
#[test]
fn effort_full_is_the_default_on_small_nets_and_portfolio_only() {
    let dir = tempfile::tempdir().unwrap();
    let net = gen_layered(dir.path(), "1200", "2");
    let net = net.to_str().unwrap();
    let default = report(&["--seed", "1", net]);
    let full = report(&["--seed", "1", "--effort", "full", net]);
    assert_eq!(full["allocator"], "portfolio");
    for figure in ["chips_used", "interchip_spikes", "hop_spikes"] {
        assert_eq!(full[figure], default[figure], "{figure}");
    }
    snn_place()
        .args(["-a", "metis", "--effort", "full", net])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "--effort full is run by --allocator portfolio only, not metis",
        ));
    snn_place()
        .args(["--effort", "fast", net])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("known: default, full"));
}

#[test]
fn objectives_an_allocator_does_not_minimise_are_refused() {
    let net = fixture("ff3.json");
    let net = net.to_str().unwrap();
    snn_place()
        .args(["--objective", "max-link", net])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "--objective max-link is not minimised by --allocator portfolio",
        ));
    snn_place()
        .args(["-a", "greedy", "--objective", "hops", net])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--allocator greedy"));
    // The ILP refiner takes any start.
    snn_place()
        .args([
            "-a",
            "greedy",
            "--refine",
            "ilp",
            "--objective",
            "hops",
            net,
        ])
        .args(["-t", "fixtures/tiny-board.json"])
        .assert()
        .success();
}
