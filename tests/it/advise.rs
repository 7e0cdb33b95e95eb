//! The runtime model on the two reference networks and `advise`: nengo-loihi's keras-to-loihi tutorial
//! (exported from nengo-loihi by `python/examples/keras_to_loihi.py`) run with `--precompute` as
//! nengo-loihi runs it, about 1 ms per step on Loihi; the small ResNet with an off-chip conv after an add
//! (`fixtures/layers/resnet_offchip.json`), the host in the loop, tens of ms. The checks are properties
//! (the loop found, times within the published ranges) that survive modest changes of block counts.

use std::path::Path;

use crate::snn_place;

const TUTORIAL: &str = "fixtures/nengo/keras-to-loihi.net.json";
const RESNET: &str = "fixtures/resnet-offchip.net.json";

/// `snn-place ARGS --json`, exit 0, as JSON.
fn json(args: &[&str]) -> serde_json::Value {
    let out = snn_place().args(args).arg("--json").output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `snn-place ARGS`: asserts exit 2 and that stderr contains every one of `needles`.
fn fails_with(args: &[&str], needles: &[&str]) {
    let out = snn_place().args(args).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{args:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    for n in needles {
        assert!(err.contains(n), "{args:?}: {err:?} lacks {n:?}");
    }
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn the_tutorial_network_takes_about_a_millisecond_per_step() {
    // nengo-loihi precomputes the tutorial's inputs (its host is not in the loop): 0.5-2 ms per step
    // against users' ~1 ms (NxSDK's timePerTimestep). The host reads dense0's 100 neurons every step.
    let r = json(&[TUTORIAL, "--emulate", "--precompute", "--steps", "300"]);
    let em = &r["emulation"];
    let t = r["time_per_step_us"].as_f64().unwrap();
    assert!((500.0..=2000.0).contains(&t), "{t}");
    assert_eq!(em["host"]["in_loop"].as_array().unwrap().len(), 0);
    assert_eq!(em["host"]["round_trip"], false);
    assert_eq!(em["host"]["probed_values"], 100);
    assert_eq!(em["pace_phase"], "host");
    assert_eq!(r["cores_used"], 14);
    // The phases add up to the step; the energy's parts to its total.
    let p = &em["phases_us"];
    let sum: f64 = ["spiking", "interchip", "barrier", "host"]
        .iter()
        .map(|k| p[k].as_f64().unwrap())
        .sum();
    assert!((sum - t).abs() < 1e-6 * t, "{sum} {t}");
    let e = r["energy_per_step_uj"].as_f64().unwrap();
    assert!(e > 0.0 && e == em["energy_per_step_uj"]["mean"].as_f64().unwrap());
    // Streamed step by step instead, it pays a round trip: nengo-loihi PR 26's ~8 ms.
    let r = json(&[TUTORIAL, "--emulate", "--steps", "300"]);
    let t = r["time_per_step_us"].as_f64().unwrap();
    assert!((7_000.0..=10_000.0).contains(&t), "{t}");
}

#[test]
fn the_resnet_with_an_off_chip_conv_has_the_host_in_the_loop() {
    let r = json(&[RESNET, "--emulate", "--steps", "200"]);
    let em = &r["emulation"];
    assert_eq!(em["host"]["in_loop"], serde_json::json!(["b2_conv1"]));
    assert_eq!(em["host"]["round_trip"], true);
    let t = r["time_per_step_us"].as_f64().unwrap();
    // Tens of ms, as users report (~80 ms): 20-200 ms.
    assert!((20_000.0..=200_000.0).contains(&t), "{t}");
    assert_eq!(em["pace_phase"], "host");
    // Per inference: the step times the steps.
    let r = json(&[
        RESNET,
        "--emulate",
        "--steps",
        "20",
        "--steps-per-inference",
        "30",
    ]);
    let inf = &r["emulation"]["per_inference"];
    let t = r["time_per_step_us"].as_f64().unwrap();
    assert!((inf["time_us"].as_f64().unwrap() - 30.0 * t).abs() < 1e-6 * t);
}

#[test]
fn precompute_with_the_host_in_the_loop_is_an_error_naming_the_blocks() {
    let needles = [
        "inputs cannot be precomputed: the host is in the loop",
        "\"b2_conv1\"",
    ];
    fails_with(&[RESNET, "--emulate", "--precompute"], &needles);
    fails_with(
        &["compare", RESNET, "--precompute", "--steps", "5"],
        &needles,
    );
    fails_with(
        &["advise", RESNET, "--precompute", "--steps", "5"],
        &needles,
    );
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("p.json");
    snn_place()
        .args([RESNET, "--out"])
        .arg(&p)
        .assert()
        .success();
    fails_with(
        &[
            "emulate",
            RESNET,
            "--placement",
            p.to_str().unwrap(),
            "--precompute",
        ],
        &needles,
    );
    // Without --emulate the placing run does not care.
    snn_place()
        .args([RESNET, "--precompute"])
        .assert()
        .success();
}

/// `advise NET --save DIR --json` with 100 steps.
fn advise(net: &str, dir: &Path) -> serde_json::Value {
    json(&[
        "advise",
        net,
        "--steps",
        "100",
        "--save",
        dir.to_str().unwrap(),
    ])
}

/// Every saved remedy's `emulate` gives its `after_us`.
fn afters_reproduce(advice: &serde_json::Value) {
    for r in advice["remedies"].as_array().unwrap() {
        let Some(cmd) = r["emulate"].as_str() else {
            continue;
        };
        let args: Vec<&str> = cmd.split(' ').collect();
        let got = json(&args)["time_per_step_us"].as_f64().unwrap();
        assert_eq!(got, r["after_us"].as_f64().unwrap(), "{}: {cmd}", r["name"]);
    }
}

#[test]
fn advise_names_the_host_loop_first_on_the_resnet() {
    let dir = tempfile::tempdir().unwrap();
    let a = advise(RESNET, dir.path());
    assert_eq!(a["format"], "snn-advice/1");
    let first = &a["remedies"][0];
    assert_eq!(first["name"], "host-loop");
    assert!(first["reason"]
        .as_str()
        .unwrap()
        .starts_with("host round trip every step: 1 host layer in the loop"));
    assert!(first["action"].as_str().unwrap().contains("b2_conv1"));
    let (before, after) = (
        a["before"]["time_per_step_us"].as_f64().unwrap(),
        first["after_us"].as_f64().unwrap(),
    );
    assert!(after < before / 2.0, "{before} -> {after}");
    // The remedied network has no loop and runs precomputed.
    assert_eq!(first["precompute"], true);
    // Ranked by time saved.
    let saved: Vec<f64> = a["remedies"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["saved_us"].as_f64())
        .collect();
    assert!(saved.windows(2).all(|w| w[0] >= w[1]), "{saved:?}");
    afters_reproduce(&a);
    // The table: one line per remedy, the host loop first.
    let out = snn_place()
        .args(["advise", RESNET, "--steps", "50"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let first_line = text.lines().find(|l| l.starts_with(" 1.")).unwrap();
    assert!(
        first_line.contains("host-loop") && first_line.contains("->"),
        "{text}"
    );
}

#[test]
fn advise_on_the_tutorial_says_precompute() {
    let dir = tempfile::tempdir().unwrap();
    let a = advise(TUTORIAL, dir.path());
    let first = &a["remedies"][0];
    assert_eq!(first["name"], "precompute");
    let after = first["after_us"].as_f64().unwrap();
    assert!((500.0..=2000.0).contains(&after), "{after}");
    afters_reproduce(&a);
    // Already precomputed: no precompute remedy.
    let a = json(&["advise", TUTORIAL, "--steps", "50", "--precompute"]);
    assert!(a["remedies"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["name"] != "precompute" && r["name"] != "host-loop"));
}

#[test]
fn advise_refuses_a_placement_of_another_network() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("ff3.json");
    snn_place()
        .args(["fixtures/ff3.json", "--out"])
        .arg(&p)
        .assert()
        .success();
    fails_with(
        &["advise", RESNET, "--placement", p.to_str().unwrap()],
        &["the placement is for network \"ff3\", not \"resnet_offchip\""],
    );
    fails_with(&["advise", RESNET, "--steps", "0"], &["steps"]);
    fails_with(
        &["advise", RESNET, "--steps-per-inference", "0"],
        &["steps_per_inference"],
    );
}
