//! The same input and seed give the same output at any thread count (STYLE.md section 4): every allocator
//! `snn-place allocators` lists, `metis --refine fm`, the emulator and `compare` run with
//! `RAYON_NUM_THREADS=1` and `=2`; their `--json` reports must match apart from `elapsed_s` (the one
//! wall-clock figure) and their `--out` placement files byte for byte.
//!
//! The net is generated with 2,000 blocks so that the parallel parts really split: METIS's four tries,
//! the emulator's timesteps and `compare`'s candidates each go to both threads. The ILP runs on `ff3`
//! instead, small enough that it proves its optimum well inside the time limit: at the limit its answer
//! would depend on how far the solver got, that is on wall time, so the test checks the status too.

use std::path::{Path, PathBuf};

use crate::snn_place;

/// Runs `snn-place ARGS` with `threads` rayon threads, asserts exit 0 (assert_cmd prints stderr when
/// not), and returns standard output.
fn run(args: &[&str], threads: &str) -> Vec<u8> {
    let ran = snn_place()
        .args(args)
        .env("RAYON_NUM_THREADS", threads)
        .assert();
    ran.success().get_output().stdout.clone()
}

/// A JSON report (or an array of them) with the wall-clock `elapsed_s` removed from each.
fn without_timing(stdout: &[u8]) -> serde_json::Value {
    let mut v: serde_json::Value = serde_json::from_slice(stdout).unwrap();
    let strip = |r: &mut serde_json::Value| {
        let obj = r.as_object_mut().expect("a report object");
        assert!(obj.remove("elapsed_s").is_some(), "no elapsed_s in {obj:?}");
    };
    match v.as_array_mut() {
        Some(rows) => rows.iter_mut().for_each(strip),
        None => strip(&mut v),
    }
    v
}

/// Runs `snn-place ARGS --json [--out FILE]` at 1 and 2 threads and asserts that the reports (without
/// `elapsed_s`) and the placement files are the same; returns the report.
fn same_at_1_and_2_threads(args: &[&str], out: Option<&Path>) -> serde_json::Value {
    let mut runs = Vec::new();
    for threads in ["1", "2"] {
        let mut all: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        all.push("--json".into());
        let file = out.map(|o| o.with_extension(format!("{threads}.json")));
        if let Some(f) = &file {
            all.extend(["--out".into(), f.to_string_lossy().into_owned()]);
        }
        let all: Vec<&str> = all.iter().map(String::as_str).collect();
        let report = without_timing(&run(&all, threads));
        runs.push((report, file.map(|f| std::fs::read(f).unwrap())));
    }
    let (two, one) = (runs.pop().unwrap(), runs.pop().unwrap());
    assert_eq!(
        one.0, two.0,
        "{args:?}: reports differ between 1 and 2 threads"
    );
    assert!(
        one.1 == two.1,
        "{args:?}: placement files differ between 1 and 2 threads"
    );
    one.0
}

/// The allocator names `snn-place allocators` lists.
fn listed_allocators() -> Vec<String> {
    let text = String::from_utf8(run(&["allocators"], "1")).unwrap();
    text.lines()
        .skip_while(|l| !l.starts_with("Allocators"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect()
}

fn generated(dir: &Path) -> PathBuf {
    let net = dir.join("net.json");
    let gen = ["gen", "layered", "--blocks", "2000", "--seed", "1", "-o"];
    let mut args: Vec<&str> = gen.to_vec();
    args.push(net.to_str().unwrap());
    run(&args, "1");
    net
}

#[test]
fn every_allocator_refiner_emulator_and_compare_is_thread_count_independent() {
    let dir = tempfile::tempdir().unwrap();
    let net = generated(dir.path());
    let net = net.to_str().unwrap();
    let allocators = listed_allocators();
    for name in ["greedy", "round-robin", "greedy-interchip", "metis", "ilp"] {
        assert!(allocators.iter().any(|a| a == name), "{name} not listed");
    }
    for name in &allocators {
        let out = dir.path().join(format!("p-{name}"));
        if name == "ilp" {
            let args = [
                "-a",
                "ilp",
                "--time-limit",
                "60",
                "-t",
                "fixtures/tiny-board.json",
                "fixtures/ff3.json",
            ];
            let r = same_at_1_and_2_threads(&args, Some(&out));
            assert_eq!(r["ilp"]["status"], "optimal", "{r}");
        } else {
            let r = same_at_1_and_2_threads(&["-a", name, "--seed", "3", net], Some(&out));
            assert_eq!(r["blocks"], 2000);
        }
    }
    // METIS's tries refined in parallel, and FM after an allocator that runs none.
    let fm = dir.path().join("p-fm");
    same_at_1_and_2_threads(
        &["-a", "metis", "--refine", "fm", "--seed", "3", net],
        Some(&fm),
    );
    let gfm = dir.path().join("p-gfm");
    same_at_1_and_2_threads(
        &["-a", "greedy-interchip", "--refine", "fm", net],
        Some(&gfm),
    );
    // The default's starts run in parallel, and its flow refinement runs disjoint pairs of chips in
    // parallel; spread over every chip and under multicast too.
    let spread = dir.path().join("p-spread");
    same_at_1_and_2_threads(
        &["--spread", "--traffic", "multicast", "--seed", "2", net],
        Some(&spread),
    );
    // `--effort full` through the CLI: on 2,000 blocks the default's schedule (more turns only above
    // 32,000 blocks, too large for this test), its starts in parallel.
    let full = dir.path().join("p-full");
    same_at_1_and_2_threads(&["--effort", "full", "--seed", "2", net], Some(&full));
    // `--objective hops`: its two annealing seeds run in parallel.
    let hops = dir.path().join("p-hops");
    same_at_1_and_2_threads(&["--objective", "hops", "--seed", "2", net], Some(&hops));
    // And its four on the nengo ensemble array, whose GreedyInterchip chips are a second start.
    let ea_hops = dir.path().join("p-ea-hops");
    let ea = "fixtures/nengo/ensemble-array-dense-32.net.json.gz";
    same_at_1_and_2_threads(&["--objective", "hops", "--seed", "2", ea], Some(&ea_hops));
    // The default there, at zero slack: four starts (METIS's best three tries and GreedyInterchip's).
    let ea_cut = dir.path().join("p-ea-cut");
    same_at_1_and_2_threads(&["--seed", "2", ea], Some(&ea_cut));
    // Packing and the multicast model: the local search and METIS's two graphs, in parallel tries.
    let packed = dir.path().join("p-pack");
    same_at_1_and_2_threads(
        &[
            "-a",
            "metis",
            "--refine",
            "fm",
            "--pack",
            "--traffic",
            "multicast",
            net,
        ],
        Some(&packed),
    );
    let r = same_at_1_and_2_threads(
        &[
            "-a",
            "metis",
            "--traffic",
            "multicast",
            "--emulate",
            "--steps",
            "50",
            net,
        ],
        None,
    );
    assert_eq!(r["traffic"], "multicast");

    // The emulator, on a saved placement and in the placing run.
    let placement = fm.with_extension("1.json");
    let r = same_at_1_and_2_threads(
        &[
            "emulate",
            net,
            "--placement",
            placement.to_str().unwrap(),
            "--steps",
            "50",
            "--seed",
            "5",
        ],
        None,
    );
    assert_eq!(r["emulation"]["steps"], 50);
    let r = same_at_1_and_2_threads(&["-a", "metis", "--emulate", "--steps", "50", net], None);
    assert_eq!(r["emulation"]["steps"], 50);
    // The Loihi 2 time model on Hala Point (multicast by the preset).
    let r = same_at_1_and_2_threads(
        &[
            "-a",
            "metis",
            "-t",
            "hala-point",
            "--emulate",
            "--steps",
            "50",
            net,
        ],
        None,
    );
    assert_eq!(r["traffic"], "multicast");

    // `compare` runs its candidates in parallel and ranks them by emulated time.
    let out = |threads| {
        let args = ["compare", net, "--steps", "50", "--format", "json"];
        without_timing(&run(&args, threads))
    };
    let one = out("1");
    assert!(one.as_array().is_some_and(|rows| rows.len() >= 5), "{one}");
    assert_eq!(one, out("2"));
}

#[test]
fn advise_is_thread_count_independent() {
    // advise runs compare's candidates in parallel and emulates every remedy.
    let out = |threads| {
        run(
            &[
                "advise",
                "fixtures/resnet-offchip.net.json",
                "--steps",
                "30",
                "--json",
            ],
            threads,
        )
    };
    assert_eq!(out("1"), out("2"));
}
