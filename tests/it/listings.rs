use crate::snn_place;
use predicates::prelude::*;

#[test]
fn topologies_lists_every_preset_with_its_size() {
    let out = snn_place().arg("topologies").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for line in [
        "loihi                 1    1x1      128  one Loihi chip",
        "kapoho-bay            2    2x1      256  Kapoho Bay",
        "nahuku8               8    2x4     1024  Nahuku board, 8 chips",
        "nahuku32             32    4x8     4096  Nahuku board, 32 chips",
        "pohoiki-beach        64    8x8     8192  Pohoiki Beach, 64 chips",
        "pohoiki-springs     768  12x64    98304  Pohoiki Springs, 768 chips",
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
        .stdout(predicate::str::contains("round-robin"))
        .stdout(predicate::str::contains("greedy-interchip"))
        .stdout(predicate::str::contains("metis"))
        .stdout(predicate::str::contains("Refiners (--refine NAME"));
}

#[test]
fn help_explains_every_flag_with_an_example() {
    let out = snn_place().arg("--help").output().unwrap();
    assert!(out.status.success());
    // clap wraps help to the terminal's width: compare with white space folded.
    let help = String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    for flag in [
        "--allocator",
        "--topology",
        "--chips",
        "--seed",
        "--out",
        "--json",
        "Exit codes",
    ] {
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
