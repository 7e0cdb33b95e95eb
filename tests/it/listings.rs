use crate::snn_place;
use predicates::prelude::*;

#[test]
fn topologies_lists_every_preset_with_its_size() {
    let out = snn_place().arg("topologies").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for line in [
        "loihi                 1    1x1      128   unicast  one Loihi chip",
        "kapoho-bay            2    2x1      256   unicast  Kapoho Bay",
        "nahuku8               8    2x4     1024   unicast  Nahuku board, 8 chips",
        "nahuku32             32    4x8     4096   unicast  Nahuku board, 32 chips",
        "pohoiki-beach        64    8x8     8192   unicast  Pohoiki Beach, 64 chips",
        "pohoiki-springs     768  12x64    98304   unicast  Pohoiki Springs, 768 chips",
        "loihi2                1    1x1      128 multicast  one Loihi 2 chip",
        "kapoho-point          8    2x4     1024 multicast  Kapoho Point, 8 Loihi 2 chips",
        "hala-point         1152  32x36   147456 multicast  Hala Point, 1,152 Loihi 2 chips",
        "loihi, kapoho-bay, nahuku8, nahuku32, pohoiki-beach, pohoiki-springs: 128 cores per chip on a \
         8x4 tile mesh; each core: 1024 compartments, 4096 input axons, 4096 output axons, 1048576 \
         synapse bits; runtime model loihi.",
        "loihi2, kapoho-point, hala-point: 128 cores per chip on a 8x4 tile mesh; each core: 8192 \
         compartments, 8192 input axons, 8192 output axons, 1048576 synapse bits; runtime model loihi2.",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
}

#[test]
fn topologies_json_reads_back_as_topology_files() {
    let out = snn_place().args(["topologies", "--json"]).output().unwrap();
    let all: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(all.len(), 9);
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
