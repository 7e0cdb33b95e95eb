use crate::snn_place;
use predicates::prelude::*;

#[test]
fn topologies_lists_every_preset_with_its_size() {
    let out = snn_place().arg("topologies").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for line in [
        "loihi                 1    1x1      128",
        "kapoho-bay            2    2x1      256",
        "nahuku8               8    2x4     1024",
        "nahuku32             32    4x8     4096",
        "pohoiki-beach        64    8x8     8192",
        "pohoiki-springs     768   12x64   98304",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
}

#[test]
fn topologies_json_reads_back_as_topology_files() {
    let out = snn_place().args(["topologies", "--json"]).output().unwrap();
    let all: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(all.len(), 6);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kapoho.json");
    std::fs::write(&path, all[1].to_string()).unwrap();
    snn_place()
        .args(["fixtures/ff3.json", "--json", "-t"])
        .arg(&path)
        .assert()
        .success()
        .stdout(predicate::str::contains("\"topology\": \"kapoho-bay\""));
}

#[test]
fn allocators_lists_the_registry() {
    snn_place()
        .arg("allocators")
        .assert()
        .success()
        .stdout(predicate::str::contains("greedy"))
        .stdout(predicate::str::contains("round-robin"));
}

#[test]
fn help_explains_every_flag_with_an_example() {
    let out = snn_place().arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for flag in ["--allocator", "--topology", "--chips", "--seed", "--out", "--json", "Exit codes"] {
        assert!(help.contains(flag), "--help lacks {flag}");
    }
    assert!(help.contains("e.g. --allocator round-robin"));
    assert!(help.contains("e.g. --topology loihi"));
    assert!(help.contains("e.g. --chips 8"));
    snn_place()
        .arg("--version")
        .assert()
        .success()
        .stdout(predicate::str::starts_with("snn-place 0."));
}
