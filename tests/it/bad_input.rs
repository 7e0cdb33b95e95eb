use crate::snn_place;
use predicates::prelude::*;

/// Runs `snn-place ARGS --out OUT` and checks the exit code, that stderr is one line containing `msg`,
/// that nothing went to stdout, and that no output file (or temporary file) was left behind.
fn check(args: &[&str], code: i32, msg: &str) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("placement.json");
    let assert = snn_place()
        .args(args)
        .arg("--out")
        .arg(&out)
        .assert()
        .code(code)
        .stdout("")
        .stderr(predicate::str::contains(msg));
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
    assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
    assert!(stderr.starts_with("snn-place: error: "), "{stderr}");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "{args:?} left a file"
    );
}

#[test]
fn malformed_json_names_the_file_and_position() {
    check(
        &["fixtures/broken/truncated.json"],
        2,
        "fixtures/broken/truncated.json: blocks[1]: EOF while parsing a string at line 3 column 20",
    );
}

#[test]
fn wrong_format() {
    check(
        &["fixtures/broken/wrong-format.json"],
        2,
        "fixtures/broken/wrong-format.json: unknown format \"snn-net/2\", expected \"snn-net/1\"",
    );
}

#[test]
fn duplicate_block_id() {
    check(
        &["fixtures/broken/duplicate-id.json"],
        2,
        "block \"a\" appears twice (blocks[0] and blocks[2])",
    );
}

#[test]
fn edge_to_an_unknown_block() {
    check(
        &["fixtures/broken/unknown-block.json"],
        2,
        "edges[0]: field \"dst\" names unknown block \"ghost\"",
    );
}

#[test]
fn negative_nan_and_infinite_numbers() {
    check(
        &["fixtures/broken/negative-spikes.json"],
        2,
        "edges[0] (\"a\" -> \"b\"): field \"spikes\" must be >= 0, got -0.5",
    );
    check(
        &["fixtures/broken/id-overflow.json"],
        2,
        "blocks[0] (\"a\"): field \"compartments\" is too large",
    );
    // JSON has no NaN or infinity: such tokens are syntax errors, and 1e400 overflows.
    for (text, msg) in [
        (
            r#"{"format": "snn-net/1", "blocks": [{"id": "a", "compartments": 1, "rate": NaN}]}"#,
            "blocks[0].rate: expected value",
        ),
        (
            r#"{"format": "snn-net/1", "blocks": [{"id": "a", "compartments": 1, "rate": 1e400}]}"#,
            "blocks[0].rate: number out of range",
        ),
        (
            r#"{"format": "snn-net/1", "blocks": [{"id": "a", "compartments": 1, "rate": -1}]}"#,
            "blocks[0] (\"a\"): field \"rate\" must be >= 0, got -1",
        ),
    ] {
        snn_place()
            .arg("-")
            .write_stdin(text)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(format!("<stdin>: {msg}")));
    }
}

#[test]
fn block_bigger_than_one_core() {
    check(
        &["fixtures/broken/too-big-block.json"],
        2,
        "block \"conv9.3\" does not fit one core: in_axons 5000 exceeds the core limit 4096",
    );
    // The tiny board's cores hold 512 compartments: ff3 fits, but not on a board of 64-compartment cores.
    check(
        &[
            "fixtures/ff3.json",
            "-t",
            "fixtures/broken/small-cores-topology.json",
        ],
        2,
        "block \"l1.0\" does not fit one core: compartments 200 exceeds the core limit 64",
    );
}

#[test]
fn more_blocks_than_cores_does_not_fit() {
    // 129 on-chip blocks on one 128-core chip.
    let blocks: Vec<String> = (0..129)
        .map(|i| format!(r#"{{"id": "b{i}", "compartments": 1}}"#))
        .collect();
    let text = format!(
        r#"{{"format": "snn-net/1", "blocks": [{}]}}"#,
        blocks.join(",")
    );
    for alloc in ["greedy", "round-robin", "greedy-interchip", "metis"] {
        snn_place()
            .args(["-", "-t", "loihi", "-a", alloc])
            .write_stdin(text.clone())
            .assert()
            .code(3)
            .stderr(predicate::str::contains(
                "does not fit: needs 2 chips (129 on-chip blocks, 128 cores per chip), 1 available (loihi has 1)",
            ));
    }
    check(
        &["fixtures/ff3.json", "-t", "fixtures/tiny-board.json", "--chips", "1"],
        3,
        "does not fit: needs 2 chips (6 on-chip blocks, 4 cores per chip), 1 available (limited to 1 of tiny-board's 4 chips)",
    );
}

#[test]
fn bad_topologies() {
    check(
        &[
            "fixtures/ff3.json",
            "-t",
            "fixtures/broken/zero-chips-topology.json",
        ],
        2,
        "fixtures/broken/zero-chips-topology.json: field \"chips\" must be at least 1x1, got 0x4",
    );
    check(
        &["fixtures/ff3.json", "-t", "nahuku64"],
        2,
        "unknown topology \"nahuku64\": not a preset (loihi, kapoho-bay, nahuku8, nahuku32, pohoiki-beach, pohoiki-springs) and no such file",
    );
    check(
        &["fixtures/ff3.json", "--chips", "33"],
        2,
        "--chips 33 is more than nahuku32 has (32)",
    );
    check(
        &["fixtures/ff3.json", "--chips", "0"],
        2,
        "--chips must be at least 1",
    );
}

#[test]
fn unreadable_and_missing_files() {
    check(
        &["fixtures/no-such-net.json"],
        2,
        "fixtures/no-such-net.json: cannot read the file: No such file or directory",
    );
    check(&["fixtures"], 2, "fixtures: ");
    check(
        &["fixtures/broken/empty.json"],
        2,
        "fixtures/broken/empty.json: the input is empty",
    );
}

#[test]
fn unknown_allocator_lists_the_known_ones() {
    check(
        &["fixtures/ff3.json", "-a", "metis-ish"],
        2,
        "unknown allocator \"metis-ish\"; known: portfolio, greedy, round-robin, greedy-interchip, metis",
    );
}

#[test]
fn metis_with_too_few_chips_says_how_many_it_needs() {
    check(
        &[
            "fixtures/ff3.json",
            "-t",
            "fixtures/tiny-board.json",
            "-a",
            "metis",
            "--refine",
            "fm",
            "--chips",
            "1",
        ],
        3,
        "does not fit: needs 2 chips (6 on-chip blocks, 4 cores per chip), 1 available",
    );
}

#[test]
fn unknown_refiner_lists_the_known_ones() {
    check(
        &["fixtures/ff3.json", "-a", "metis", "--refine", "kl"],
        2,
        "unknown refiner \"kl\"; known: fm",
    );
}

#[test]
fn usage_errors_exit_2() {
    snn_place()
        .assert()
        .code(2)
        .stderr(predicate::str::contains("<NET>"));
    snn_place()
        .args(["fixtures/ff3.json", "--seed", "minus-one"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("invalid value 'minus-one'"));
}

#[test]
fn an_unwritable_output_exits_1_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("missing-folder").join("p.json");
    snn_place()
        .args(["fixtures/ff3.json", "--out"])
        .arg(&out)
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicate::str::contains("cannot write"));
    assert!(!out.exists());
}
