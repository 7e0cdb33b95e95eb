use crate::{fixture, snn_place};
use predicates::prelude::*;

/// Places ff3 on the tiny board with round-robin and saves the placement in `dir`.
fn placed(dir: &std::path::Path) -> std::path::PathBuf {
    let p = dir.join("p.json");
    snn_place()
        .args([
            "fixtures/ff3.json",
            "-t",
            "fixtures/tiny-board.json",
            "-a",
            "round-robin",
            "--out",
        ])
        .arg(&p)
        .assert()
        .success();
    p
}

fn emulate_json(args: &[&str], threads: &str) -> serde_json::Value {
    let out = snn_place()
        .args(args)
        .arg("--json")
        .env("RAYON_NUM_THREADS", threads)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn emulate_fills_the_time_and_the_emulation_object() {
    let dir = tempfile::tempdir().unwrap();
    let p = placed(dir.path());
    let args = [
        "emulate",
        "fixtures/ff3.json",
        "--placement",
        p.to_str().unwrap(),
        "-t",
        "fixtures/tiny-board.json",
        "--steps",
        "300",
        "--seed",
        "4",
    ];
    let r = emulate_json(&args, "2");
    assert_eq!(r["format"], "snn-report/1");
    assert_eq!(r["allocator"], "round-robin");
    let em = &r["emulation"];
    assert_eq!(em["steps"], 300);
    assert_eq!(em["seed"], 4);
    let mean = r["time_per_step_us"].as_f64().unwrap();
    assert_eq!(em["time_per_step_us"]["mean"].as_f64().unwrap(), mean);
    // The step time is a maximum of random loads: in expectation never below the time of the expected
    // loads. Here the host link (a sum, not a maximum) sets the pace, so a sample mean may dip a little.
    assert!(mean >= 0.99 * em["analytic_time_per_step_us"].as_f64().unwrap());
    // Same seed, same report at 1 and 2 threads.
    assert_eq!(emulate_json(&args, "1"), r);
}

#[test]
fn place_and_emulate_in_one_run() {
    let r = emulate_json(
        &[
            "fixtures/conv-residual.json",
            "--emulate",
            "--steps",
            "100",
            "-t",
            "kapoho-bay",
        ],
        "2",
    );
    assert!(r["time_per_step_us"].as_f64().unwrap() > 0.0);
    assert_eq!(r["emulation"]["steps"], 100);
    // Without --emulate the time stays null and there is no emulation object.
    let r = emulate_json(&["fixtures/conv-residual.json"], "2");
    assert_eq!(r["time_per_step_us"], serde_json::Value::Null);
    assert!(r.get("emulation").is_none());
}

#[test]
fn precompute_removes_input_traffic_from_the_host_link() {
    let run = |pre: bool| {
        let mut args = vec!["fixtures/host-io.json", "--emulate", "--steps", "200"];
        if pre {
            args.push("--precompute");
        }
        emulate_json(&args, "2")["emulation"]["host_messages_per_step"]
            .as_f64()
            .unwrap()
    };
    let (all, pre) = (run(false), run(true));
    // Inputs: camera 51.2 + imu 0.6 per step; outputs 60 + 4 to the probes stay.
    assert!((all - 115.8).abs() < 3.0, "{all}");
    assert!((pre - 64.0).abs() < 3.0, "{pre}");
}

#[test]
fn the_table_shows_time_and_pace() {
    snn_place()
        .args(["fixtures/ff3.json", "--emulate", "--steps", "100"])
        .assert()
        .success()
        .stdout(predicate::str::contains("time per step"))
        .stdout(predicate::str::contains("pace set by"));
}

#[test]
fn bad_emulation_input_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let p = placed(dir.path());
    let emulate = |extra: &[&str]| {
        let mut cmd = snn_place();
        cmd.args(["emulate", "fixtures/ff3.json", "--placement"])
            .arg(&p)
            .args(extra);
        cmd
    };
    // Zero steps.
    emulate(&["-t", "fixtures/tiny-board.json", "--steps", "0"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "option \"steps\" must be between 1 and",
        ));
    // The placement uses chips 0..4; Kapoho Bay has 2.
    emulate(&["-t", "kapoho-bay"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "is placed on chip 2, but only chips 0..2 may be used",
        ));
    // A placement for another network.
    snn_place()
        .args(["emulate", "fixtures/conv-residual.json", "--placement"])
        .arg(&p)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("is not in the network"));
    // A negative cost constant.
    let topo = dir.path().join("neg.json");
    let text = std::fs::read_to_string(fixture("tiny-board.json"))
        .unwrap()
        .replace("3.5", "-3.5");
    std::fs::write(&topo, text).unwrap();
    emulate(&["-t", topo.to_str().unwrap()])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "field \"cost.synop_ns\" must be a finite number >= 0 and at most 1e9 ns (a second), got -3.5",
        ));
    // No such placement file.
    snn_place()
        .args([
            "emulate",
            "fixtures/ff3.json",
            "--placement",
            "fixtures/none.json",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "fixtures/none.json: cannot read the file",
        ));
}
