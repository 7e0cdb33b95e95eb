use std::time::{Duration, Instant};

use crate::{fixture, report, snn_place};
use predicates::prelude::*;
use snn_place::graph::read_net_file;
use snn_place::hardware::load_topology;
use snn_place::placement::{read_placement_file, Rules};

/// The fixtures that fit tiny-board (host-io's `fuse` is too big for its cores).
const FIXTURES: &[&str] = &["ff3.json", "conv-residual.json"];
const BOARD: &str = "fixtures/tiny-board.json";

/// The report figure each objective minimises.
fn figure(objective: &str) -> &'static str {
    match objective {
        "interchip" => "interchip_spikes",
        "hops" => "hop_spikes",
        _ => "max_link_spikes",
    }
}

/// Runs `snn-place ARGS --out FILE --json`, checks the saved placement with the shared validator, and
/// returns the report.
fn place_and_validate(net: &str, args: &[&str]) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("p.json");
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--out", out.to_str().unwrap(), net]);
    let r = report(&all);
    let network = read_net_file(&fixture_or_path(net)).unwrap();
    let topo = load_topology(&fixture_or_path(BOARD).to_string_lossy()).unwrap();
    let p = read_placement_file(&out, &network).unwrap();
    p.validate(&network, &topo, &Rules::for_topology(&topo))
        .unwrap_or_else(|e| panic!("{args:?} {net}: {e}"));
    r
}

fn fixture_or_path(p: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
}

#[test]
fn refine_ilp_never_raises_the_objective_on_the_fixtures() {
    for f in FIXTURES {
        let net = format!("fixtures/{f}");
        for alloc in ["greedy", "round-robin", "greedy-interchip", "metis"] {
            for objective in ["interchip", "hops", "max-link"] {
                let key = figure(objective);
                let before = report(&["--allocator", alloc, "--topology", BOARD, &net])[key]
                    .as_f64()
                    .unwrap();
                let r = place_and_validate(
                    &net,
                    &[
                        "--allocator",
                        alloc,
                        "--refine",
                        "ilp",
                        "--objective",
                        objective,
                        "--topology",
                        BOARD,
                    ],
                );
                let after = r[key].as_f64().unwrap();
                assert!(
                    after <= before + 1e-9,
                    "{f} {alloc}+ilp {objective}: {before} -> {after}"
                );
                assert_eq!(r["ilp"]["status"], "windows");
                assert_eq!(r["ilp"]["objective"], objective);
                assert!((r["ilp"]["value"].as_f64().unwrap() - after).abs() < 1e-9);
            }
        }
    }
}

#[test]
fn exact_ilp_proves_the_optimum_on_the_fixtures() {
    // ff3 on tiny-board: six blocks, four chips of four cores; conv-residual: six blocks.
    for f in FIXTURES {
        let net = format!("fixtures/{f}");
        for objective in ["interchip", "hops", "max-link"] {
            let r = place_and_validate(
                &net,
                &[
                    "--allocator",
                    "ilp",
                    "--objective",
                    objective,
                    "--topology",
                    BOARD,
                ],
            );
            let ilp = &r["ilp"];
            assert_eq!(ilp["status"], "optimal", "{f} {objective}: {ilp}");
            assert_eq!(ilp["gap"], 0.0);
            let value = r[figure(objective)].as_f64().unwrap();
            assert!((ilp["value"].as_f64().unwrap() - value).abs() < 1e-9);
            assert!((ilp["bound"].as_f64().unwrap() - value).abs() < 1e-9);
            // No heuristic beats the proven optimum.
            for alloc in ["greedy", "round-robin", "greedy-interchip", "metis"] {
                let other = report(&["--allocator", alloc, "--topology", BOARD, &net]);
                assert!(
                    value <= other[figure(objective)].as_f64().unwrap() + 1e-9,
                    "{f} {objective}: ilp {value} vs {alloc} {other}"
                );
            }
        }
    }
    // ff3's optimum by hand: six blocks, at most four per chip, so some chip holds two to four of them.
    // A lone block would cut 4 or more but leaves five for the other chip; the best pairs apart are
    // {l1.0, l2.0} or {l1.2, l2.1}, cutting 2 + 3 = 5 (every other split cuts more).
    let r = report(&[
        "--allocator",
        "ilp",
        "--topology",
        BOARD,
        "fixtures/ff3.json",
    ]);
    assert!(
        (r["interchip_spikes"].as_f64().unwrap() - 5.0).abs() < 1e-9,
        "{r}"
    );
}

#[test]
fn time_limit_returns_a_valid_placement_in_time() {
    // 60 random blocks on four chips of 16 cores: the exact model does not finish in 2 s.
    let dir = tempfile::tempdir().unwrap();
    let net = dir.path().join("net.json");
    let board = dir.path().join("board.json");
    std::fs::write(
        &board,
        r#"{"format": "snn-topology/1", "name": "quad", "chips": {"x": 2, "y": 2},
            "tiles": {"x": 16, "y": 1}, "cores_per_tile": 1,
            "core": {"compartments": 1024, "in_axons": 4096, "out_axons": 4096,
                     "synapse_bits": 1048576, "max_blocks": 16}}"#,
    )
    .unwrap();
    snn_place()
        .args(["gen", "random", "--blocks", "60", "--seed", "1", "-o"])
        .arg(&net)
        .assert()
        .success();
    let start = Instant::now();
    let out = snn_place()
        .args([
            "--allocator",
            "ilp",
            "--time-limit",
            "2",
            "--json",
            "--topology",
        ])
        .arg(&board)
        .arg(&net)
        .output()
        .unwrap();
    let took = start.elapsed();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Generous: 2 s of solving plus METIS, the model build and a debug build's slowness.
    assert!(took < Duration::from_secs(20), "took {took:?}");
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ilp = &r["ilp"];
    assert!(
        ilp["status"] == "time-limited" || ilp["status"] == "optimal",
        "{ilp}"
    );
    let (value, bound) = (
        ilp["value"].as_f64().unwrap(),
        ilp["bound"].as_f64().unwrap_or(0.0),
    );
    assert!(bound <= value + 1e-9, "{ilp}");
    assert!((value - r["interchip_spikes"].as_f64().unwrap()).abs() < 1e-9);
}

/// Runs `snn-place ARGS` and checks exit 2, an empty standard output and `msg` on standard error.
fn check_bad(args: &[&str], msg: &str) {
    snn_place()
        .args(args)
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains(msg));
}

#[test]
fn bad_flags_exit_2_with_a_clear_message() {
    let ff3 = fixture("ff3.json");
    let ff3 = ff3.to_str().unwrap();
    let limit = "must be more than 0 and at most 86400 seconds (a day)";
    check_bad(&["--time-limit", "-1", ff3], limit);
    check_bad(&["--time-limit", "0", ff3], limit);
    check_bad(&["--time-limit", "1e9", ff3], limit);
    check_bad(&["--time-limit", "inf", ff3], limit);
    check_bad(
        &["--time-limit", "soon", ff3],
        "\"soon\" is not a number of seconds",
    );
    check_bad(
        &["--allocator", "ilp", "--objective", "cut", ff3],
        "unknown objective \"cut\"; known: interchip, hops, max-link",
    );
    check_bad(
        &["--refine", "ilp", "--window", "0", ff3],
        "must be at least 1 block, got 0",
    );
    check_bad(
        &["--refine", "lns", ff3],
        "unknown refiner \"lns\"; known: fm, ilp",
    );
}

#[test]
fn a_solver_this_build_lacks_names_the_feature() {
    let out = snn_place()
        .args(["fixtures/ff3.json", "-a", "ilp", "--solver", "highs"])
        .output()
        .unwrap();
    if cfg!(feature = "highs") {
        assert!(out.status.success());
    } else {
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--features highs"), "{err}");
    }
    snn_place()
        .args(["fixtures/ff3.json", "-a", "ilp", "--solver", "cbc"])
        .assert()
        .code(2);
}
