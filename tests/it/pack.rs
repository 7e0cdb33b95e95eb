//! `--pack` (several blocks per core) and `--traffic unicast|multicast`: hand-worked packings, the
//! multicast figure, the emulator's message count, `compare --pack` rows, and bad input.

use crate::{expect, figures, report, snn_place};
use predicates::prelude::*;

#[test]
fn packing_ff3_on_the_tiny_board() {
    // Tiny-board cores hold 512 compartments and 524,288 synapse bits. Pairs by traffic: l1.0-l2.0 (4)
    // and l1.2-l2.1 (4) overflow the synapse bits (640,000); l2.0-l3.0 (3) share a core (504,000
    // bits); nothing else fits with them. First-fit by fullest resource: {l2.0, l3.0}, {l2.1}, then
    // l1.0 and l1.1 share a core (400 compartments), l1.2 takes the fourth. One chip of 4 cores.
    let r = report(&[
        "-t",
        "fixtures/tiny-board.json",
        "-a",
        "metis",
        "--pack",
        "fixtures/ff3.json",
    ]);
    assert_eq!(figures(&r), expect(1., 4., 0., 0., 0., 0., 31.));
    assert_eq!(r["allocator"], "metis+pack");
    assert_eq!(r["pack"], true);
    assert_eq!(r["traffic"], "unicast");
    // Unpacked, the six blocks need two chips of four cores (see place.rs).
    let plain = report(&["-t", "fixtures/tiny-board.json", "fixtures/ff3.json"]);
    assert_eq!(plain["cores_used"], 6);
    assert_eq!(plain["pack"], false);
}

#[test]
fn every_packable_allocator_packs_and_the_placement_file_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    for (alloc, refine) in [
        ("greedy-interchip", None),
        ("metis", Some("fm")),
        ("ilp", None),
    ] {
        let out = dir.path().join(format!("{alloc}.json"));
        let mut args = vec![
            "-t",
            "fixtures/tiny-board.json",
            "-a",
            alloc,
            "--pack",
            "--out",
            out.to_str().unwrap(),
        ];
        if let Some(r) = refine {
            args.extend(["--refine", r]);
        }
        args.push("fixtures/ff3.json");
        let r = report(&args);
        assert_eq!(r["cores_used"], 4, "{alloc}");
        assert_eq!(r["interchip_spikes"], 0.0, "{alloc}");
        // `emulate` reads the packed placement back and accepts cores that hold several blocks.
        let e = report(&[
            "emulate",
            "fixtures/ff3.json",
            "--placement",
            out.to_str().unwrap(),
            "-t",
            "fixtures/tiny-board.json",
            "--steps",
            "20",
        ]);
        assert_eq!(e["cores_used"], 4, "{alloc}");
        assert_eq!(e["pack"], true, "{alloc}");
    }
}

#[test]
fn multicast_figures_and_emulated_messages() {
    // Round-robin spreads ff3 over the 4 chips: every source reaches each other chip through one
    // edge, so multicast equals unicast (18).
    let r = report(&[
        "-t",
        "fixtures/tiny-board.json",
        "-a",
        "round-robin",
        "--traffic",
        "multicast",
        "fixtures/ff3.json",
    ]);
    assert_eq!(r["multicast_spikes"], 18.0);
    assert_eq!(r["interchip_spikes"], 18.0);
    assert_eq!(r["traffic"], "multicast");
    // fanout: src sends 5 spikes to each of d0..d7 (500 compartments: one per core, 4 cores per chip).
    // Greedy: src, d0, d1, d2 on chip 0, d3..d6 on chip 1, d7 on chip 2: unicast 5 x 5 = 25, multicast
    // one message per chip: 2 x 5 = 10.
    let args = |traffic: &'static str| {
        [
            "-t",
            "fixtures/tiny-board.json",
            "-a",
            "greedy",
            "--emulate",
            "--steps",
            "200",
            "--traffic",
            traffic,
            "fixtures/fanout.json",
        ]
    };
    let uni = report(&args("unicast"));
    let multi = report(&args("multicast"));
    assert_eq!(figures(&uni), expect(3., 9., 25., 25., 20., 10., 10.));
    assert_eq!(figures(&multi), figures(&uni));
    let msgs = |r: &serde_json::Value| {
        r["emulation"]["interchip_messages_per_step"]
            .as_f64()
            .unwrap()
    };
    // The same draws: the emulator sends 10/25 of the unicast messages between chips.
    assert!((msgs(&uni) / msgs(&multi) - 2.5).abs() < 1e-9);
}

/// `compare NET` on the tiny board, 20 steps, no timing, with ARGS; asserts exit 0, returns stdout.
fn compare(net: &str, args: &[&str]) -> String {
    let out = snn_place()
        .args(["compare", net, "-t", "fixtures/tiny-board.json"])
        .args(["--steps", "20", "--no-timing"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn compare_shows_packed_and_unpacked_side_by_side() {
    let text = compare(
        "fixtures/ff3.json",
        &[
            "--format",
            "csv",
            "--pack",
            "--allocators",
            "greedy,metis,metis+fm",
        ],
    );
    let mut names: Vec<&str> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(2).unwrap())
        .collect();
    names.sort_unstable();
    // greedy keeps one block per core: no packed row for it.
    assert_eq!(
        names,
        ["greedy", "metis", "metis+fm", "metis+fm+pack", "metis+pack"]
    );
}

#[test]
fn bad_pack_and_traffic_options() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["-a", "greedy", "--pack"],
            "--pack does not apply to greedy: it keeps nengo-loihi's one block per core",
        ),
        (
            &["-a", "round-robin", "--pack"],
            "--pack does not apply to round-robin",
        ),
        (
            &["--traffic", "broadcast"],
            "unknown traffic model \"broadcast\"; known: unicast, multicast",
        ),
        (
            &["-a", "ilp", "--objective", "hops", "--traffic", "multicast"],
            "--objective hops counts one message per edge",
        ),
    ];
    for (args, msg) in cases {
        snn_place()
            .args(*args)
            .arg("fixtures/ff3.json")
            .assert()
            .code(2)
            .stderr(predicate::str::contains(*msg));
    }
    // max_blocks of 0 or below in a topology file.
    let dir = tempfile::tempdir().unwrap();
    for (value, msg) in [
        ("0", "field \"core.max_blocks\" must be at least 1, got 0"),
        ("-3", "core.max_blocks: invalid value: integer `-3`"),
    ] {
        let path = dir.path().join("board.json");
        std::fs::write(
            &path,
            format!(
                r#"{{"format": "snn-topology/1", "chips": {{"x": 1, "y": 1}}, "tiles": {{"x": 1, "y": 1}},
                "cores_per_tile": 4, "core": {{"compartments": 1024, "in_axons": 4096,
                "out_axons": 4096, "synapse_bits": 1048576, "max_blocks": {value}}}}}"#
            ),
        )
        .unwrap();
        snn_place()
            .args(["-t", path.to_str().unwrap(), "--pack", "fixtures/ff3.json"])
            .assert()
            .code(2)
            .stderr(predicate::str::contains(msg));
    }
}

#[test]
fn compare_under_multicast_shows_the_multicast_cut() {
    let text = compare(
        "fixtures/fanout.json",
        &["--traffic", "multicast", "--allocators", "greedy"],
    );
    let mut lines = text.lines();
    let head: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(
        &head[..5],
        ["allocator", "chips", "cores", "multicast", "hops"]
    );
    // Greedy's fanout placement (see above): multicast 10, not the unicast 25.
    let row: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(&row[..5], ["*", "greedy", "3", "9", "10"]);
}

#[test]
fn packing_a_nengo_ensemble_array() {
    // Exported by python/examples/ensemble_array.py: 256 ensembles of 100 neurons, 255 decode blocks
    // of 20 compartments, 64 on-chip probe blocks of 2 (575 on-chip blocks), and host blocks. One block
    // per core takes 575 cores on 5 chips; packed, at most a fifth of the cores on one chip, and no
    // spike leaves it.
    let net = "fixtures/nengo/ensemble-array-128.net.json.gz";
    let plain = report(&["-a", "metis", net]);
    assert_eq!(
        (plain["chips_used"].as_u64(), plain["cores_used"].as_u64()),
        (Some(5), Some(575))
    );
    for alloc in ["metis", "greedy-interchip"] {
        let packed = report(&["-a", alloc, "--pack", net]);
        let cores = packed["cores_used"].as_u64().unwrap();
        assert!(cores * 5 <= 575, "{alloc}: {cores} cores");
        assert_eq!(packed["chips_used"], 1, "{alloc}");
        assert_eq!(packed["interchip_spikes"], 0.0, "{alloc}");
    }
}
