//! The adversarial catalogue (`docs/adversarial.md`): inputs built to break a parser or exhaust memory, each
//! with its documented outcome: the exit code, one error line naming the item and the limit, no panic, and
//! no output or temporary file left. Big inputs are generated here in a temporary folder, never committed.

use std::ffi::OsStr;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::{fixture, snn_place};

/// Runs `snn-place ARGS` (with `OUT_FLAG DIR/out` appended when given) and checks: exit `code`; nothing on
/// standard output; standard error one line, `snn-place: error: ...` containing `msg`, no panic; and that
/// `dir` holds afterwards only the files it held before (no output, no `.snn-place-*.tmp`).
pub fn fails<S: AsRef<OsStr>>(
    dir: &Path,
    args: &[S],
    out_flag: Option<&str>,
    code: i32,
    msg: &str,
) {
    let before = files(dir);
    let mut cmd = snn_place();
    cmd.args(args);
    if let Some(flag) = out_flag {
        cmd.arg(flag).arg(dir.join("out"));
    }
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let shown: Vec<_> = args.iter().map(|a| a.as_ref().to_string_lossy()).collect();
    assert_eq!(out.status.code(), Some(code), "{shown:?}: {stderr}");
    assert!(out.stdout.is_empty(), "{shown:?} printed to stdout");
    assert_eq!(stderr.lines().count(), 1, "{shown:?}: {stderr}");
    assert!(stderr.starts_with("snn-place: error: "), "{stderr}");
    assert!(stderr.contains(msg), "{shown:?}: {stderr:?} lacks {msg:?}");
    assert!(!stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"));
    assert_eq!(files(dir), before, "{shown:?} left a file");
}

/// The names in `dir`, sorted.
fn files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Writes `bytes` to `dir/name` and returns the path.
fn file(dir: &Path, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// A network of the given blocks (JSON objects) and edges.
fn net(blocks: &str, edges: &str) -> String {
    format!(r#"{{"format": "snn-net/1", "blocks": [{blocks}], "edges": [{edges}]}}"#)
}

/// Runs `snn-place ARGS --json` and returns the report, checking exit 0 and an empty stderr.
fn succeeds<S: AsRef<OsStr>>(args: &[S]) -> serde_json::Value {
    let out = snn_place().args(args).arg("--json").output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && stderr.is_empty(), "{stderr}");
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Places `net` with `ARGS` (see [`succeeds`]).
fn places(net: &Path, args: &[&str]) -> serde_json::Value {
    let mut all = vec![net.as_os_str()];
    all.extend(args.iter().map(OsStr::new));
    succeeds(&all)
}

#[test]
fn empty_and_broken_gzip_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let empty = file(d, "empty.json", "");
    fails(
        d,
        &[&empty],
        Some("--out"),
        2,
        "empty.json: the input is empty",
    );
    let empty_gz = file(d, "empty.json.gz", "");
    fails(
        d,
        &[&empty_gz],
        Some("--out"),
        2,
        "empty.json.gz: the input is empty",
    );
    // Half of a gzip stream: the decoder's error, as a read error at the JSON position it stopped.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&std::fs::read(fixture("ff3.json")).unwrap())
        .unwrap();
    let bytes = gz.finish().unwrap();
    let cut = file(d, "cut.json.gz", &bytes[..bytes.len() / 2]);
    fails(d, &[&cut], Some("--out"), 2, "cut.json.gz: blocks[");
    fails(d, &[&cut], Some("--out"), 2, "cannot read the input: ");
    // A gzip stream of nothing is an empty document.
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let nothing = file(d, "nothing.json.gz", gz.finish().unwrap());
    fails(
        d,
        &[&nothing],
        Some("--out"),
        2,
        "EOF while parsing a value",
    );
}

#[test]
fn deep_nesting_never_overflows_the_stack() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    // A known field must have its type: the first nested array is the error.
    let edges = file(
        d,
        "edges.json",
        format!(r#"{{"format": "snn-net/1", "blocks": [], "edges": {deep}}}"#),
    );
    fails(
        d,
        &[&edges],
        Some("--out"),
        2,
        "edges[0][0]: invalid type: sequence",
    );
    // An unknown field is skipped whatever it holds (the format may grow), without recursion.
    let unknown = file(
        d,
        "unknown.json",
        format!(
            r#"{{"format": "snn-net/1", "blocks": [{{"id": "a", "compartments": 1}}], "x": {deep}}}"#
        ),
    );
    assert_eq!(places(&unknown, &["-a", "greedy"])["blocks"], 1);
    // Layer descriptions and Keras files are read as JSON values: serde_json's depth limit of 128.
    let layers = file(
        d,
        "layers.json",
        format!(r#"{{"format": "snn-layers/1", "layers": {deep}}}"#),
    );
    fails(
        d,
        &["build".as_ref(), layers.as_os_str()],
        Some("-o"),
        2,
        "recursion limit exceeded at line 1 column",
    );
    let keras = file(
        d,
        "keras.json",
        format!(r#"{{"class_name": "Sequential", "config": {deep}}}"#),
    );
    fails(
        d,
        &["import".as_ref(), "keras".as_ref(), keras.as_os_str()],
        Some("-o"),
        2,
        "recursion limit exceeded at line 1 column",
    );
    let topo = file(
        d,
        "topo.json",
        format!(r#"{{"format": "snn-topology/1", "chips": {deep}}}"#),
    );
    fails(
        d,
        &[
            fixture("ff3.json").as_os_str(),
            "-t".as_ref(),
            topo.as_os_str(),
        ],
        Some("--out"),
        2,
        "invalid type: sequence",
    );
}

#[test]
fn huge_and_out_of_range_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let big = file(
        d,
        "big.json",
        net(r#"{"id": "a", "compartments": 1099511627776}"#, ""),
    );
    fails(
        d,
        &[&big],
        Some("--out"),
        2,
        "block \"a\" does not fit one core: compartments 1099511627776 exceeds the core limit 1024",
    );
    let huge = file(
        d,
        "huge.json",
        net(r#"{"id": "a", "compartments": 1e300}"#, ""),
    );
    fails(
        d,
        &[&huge],
        Some("--out"),
        2,
        "blocks[0] (\"a\"): field \"compartments\" is too large (1e300; at most 2^53)",
    );
    let overflow = file(
        d,
        "overflow.json",
        net(r#"{"id": "a", "compartments": 1, "rate": 1e400}"#, ""),
    );
    fails(
        d,
        &[&overflow],
        Some("--out"),
        2,
        "blocks[0].rate: number out of range at line 1 column",
    );
    // Finite but so large that the emulated time would be infinite: capped at 2^53.
    let spikes = file(
        d,
        "spikes.json",
        net(
            r#"{"id": "a", "compartments": 1}, {"id": "b", "compartments": 1}"#,
            r#"{"src": "a", "dst": "b", "spikes": 1e300}"#,
        ),
    );
    fails(
        d,
        &[&spikes],
        Some("--out"),
        2,
        "edges[0] (\"a\" -> \"b\"): field \"spikes\" is too large (1e300; at most 2^53)",
    );
    let board = std::fs::read_to_string(fixture("tiny-board.json")).unwrap();
    let cost = file(d, "cost.json", board.replace("3.5", "1e300"));
    fails(
        d,
        &[fixture("ff3.json").as_os_str(), "-t".as_ref(), cost.as_os_str()],
        Some("--out"),
        2,
        "field \"cost.synop_ns\" must be a finite number >= 0 and at most 1e9 ns (a second), got 1e300",
    );
}

#[test]
fn duplicated_keys_are_errors_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let block = file(
        d,
        "block.json",
        net(r#"{"id": "a", "compartments": 1, "id": "b"}"#, ""),
    );
    fails(
        d,
        &[&block],
        Some("--out"),
        2,
        "blocks[0]: duplicate field `id` at line 1 column",
    );
    let top = file(
        d,
        "top.json",
        r#"{"format": "snn-net/1", "blocks": [], "blocks": []}"#,
    );
    fails(d, &[&top], Some("--out"), 2, "duplicate field `blocks`");
    let board = std::fs::read_to_string(fixture("tiny-board.json")).unwrap();
    let cost = file(
        d,
        "cost.json",
        board.replace(r#""synop_ns": 3.5"#, r#""synop_ns": 3.5, "synop_ns": 9"#),
    );
    fails(
        d,
        &[
            fixture("ff3.json").as_os_str(),
            "-t".as_ref(),
            cost.as_os_str(),
        ],
        Some("--out"),
        2,
        "cost: duplicate key \"synop_ns\"",
    );
    let keras = std::fs::read_to_string(fixture("keras/maxpool.keras.json")).unwrap();
    let keras = file(
        d,
        "keras.json",
        keras.replacen(
            r#""class_name": "#,
            r#""class_name": "X", "class_name": "#,
            1,
        ),
    );
    fails(
        d,
        &["import".as_ref(), "keras".as_ref(), keras.as_os_str()],
        Some("-o"),
        2,
        "duplicate key \"class_name\" in an object",
    );
}

#[test]
fn ids_with_control_characters_or_megabytes_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ctl = file(
        d,
        "ctl.json",
        net(r#"{"id": "a\u001b[31m\n", "compartments": 1}"#, ""),
    );
    fails(
        d,
        &[&ctl],
        Some("--out"),
        2,
        r#"blocks[0]: field "id" "a\u{1b}[31m\n" contains the control character U+001B; names must be printable"#,
    );
    let long = "x".repeat(10_000_000);
    let id = file(
        d,
        "id.json",
        net(&format!(r#"{{"id": "{long}", "compartments": 1}}"#), ""),
    );
    fails(
        d,
        &[&id],
        Some("--out"),
        2,
        "blocks[0]: field \"id\" is 10000000 bytes long; at most 4096 are supported",
    );
    let dst = file(
        d,
        "dst.json",
        net(
            r#"{"id": "a", "compartments": 1}"#,
            &format!(r#"{{"src": "a", "dst": "{long}", "spikes": 1}}"#),
        ),
    );
    fails(
        d,
        &[&dst],
        Some("--out"),
        2,
        "edges[0]: field \"dst\" names no block: it is 10000000 bytes long, and ids are at most 4096",
    );
    let layers = file(
        d,
        "layers.json",
        format!(
            r#"{{"format": "snn-layers/1", "layers": [{{"name": "{long}", "type": "input", "shape": [4]}}]}}"#
        ),
    );
    fails(
        d,
        &["build".as_ref(), layers.as_os_str()],
        Some("-o"),
        2,
        "a string of 10000000 bytes; strings are at most 1024 bytes at line 1 column",
    );
}

#[test]
fn layer_and_keras_files_are_read_up_to_64_mib() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Sparse: 65 MiB long, nothing written; refused by its size before any byte is read.
    let path = d.join("huge.json");
    std::fs::File::create(&path)
        .unwrap()
        .set_len(65 << 20)
        .unwrap();
    for cmd in [&["build"][..], &["import", "keras"]] {
        let mut args: Vec<&OsStr> = cmd.iter().map(OsStr::new).collect();
        args.push(path.as_os_str());
        fails(
            d,
            &args,
            Some("-o"),
            2,
            "huge.json: the file is larger than 67108864 bytes (64 MiB), the most read",
        );
    }
}

#[test]
fn self_loops_stay_on_their_core() {
    let dir = tempfile::tempdir().unwrap();
    let looped = file(
        dir.path(),
        "loop.json",
        net(
            r#"{"id": "a", "compartments": 1}, {"id": "b", "compartments": 1}"#,
            r#"{"src": "a", "dst": "a", "spikes": 3}, {"src": "a", "dst": "b", "spikes": 1}"#,
        ),
    );
    for alloc in ["greedy", "round-robin", "metis"] {
        let r = places(&looped, &["-a", alloc, "--emulate", "--steps", "10"]);
        assert_eq!(r["edges"], 2);
        // round-robin puts a and b on two chips: only the a -> b spike crosses.
        let expect = if alloc == "round-robin" { 1.0 } else { 0.0 };
        assert_eq!(r["interchip_spikes"], expect, "{alloc}: {r}");
    }
}

#[test]
fn a_million_parallel_edges_in_bounded_time() {
    let dir = tempfile::tempdir().unwrap();
    let edge = r#"{"src": "a", "dst": "b", "spikes": 0.5},"#;
    let mut text =
        String::from(r#"{"format": "snn-net/1", "blocks": [{"id": "a", "compartments": 1}, "#);
    text += r#"{"id": "b", "compartments": 1}], "edges": ["#;
    text += &edge.repeat(1_000_000);
    text.pop();
    text += "]}";
    let path = file(dir.path(), "parallel.json", text);
    let start = Instant::now();
    let r = places(&path, &["-a", "round-robin", "--emulate", "--steps", "10"]);
    // Parsing 33 MB dominates: about 6 s in a debug build on a loaded 2-core machine, far less in release.
    assert!(
        start.elapsed() < Duration::from_secs(60),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(r["edges"], 1_000_000);
    assert_eq!(r["interchip_spikes"], 500_000.0);
}

#[test]
fn boards_of_no_chips_or_a_billion_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let board = std::fs::read_to_string(fixture("tiny-board.json")).unwrap();
    let ff3 = fixture("ff3.json");
    let grid = |x: u64, y: u64| {
        board.replace(
            r#""chips": {"x": 2, "y": 2}"#,
            &format!(r#""chips": {{"x": {x}, "y": {y}}}"#),
        )
    };
    let none = file(d, "none.json", grid(0, 0));
    fails(
        d,
        &[ff3.as_os_str(), "-t".as_ref(), none.as_os_str()],
        Some("--out"),
        2,
        "field \"chips\" must be at least 1x1, got 0x0",
    );
    let billion = file(d, "billion.json", grid(1_000_000_000, 1));
    fails(
        d,
        &[ff3.as_os_str(), "-t".as_ref(), billion.as_os_str()],
        Some("--out"),
        2,
        "field \"chips\" has 1000000000 chips (1000000000x1); at most 1048576 are supported",
    );
    let too_wide = file(d, "wide.json", grid(1 << 32, 1));
    fails(
        d,
        &[ff3.as_os_str(), "-t".as_ref(), too_wide.as_os_str()],
        Some("--out"),
        2,
        "field \"chips.x\" is too large (4294967296)",
    );
    // The cap itself, 2^20 chips, places quickly: nothing is allocated per core of the board.
    let most = file(d, "most.json", grid(1024, 1024));
    let start = Instant::now();
    let r = places(
        &ff3,
        &[
            "-t",
            most.to_str().unwrap(),
            "-a",
            "greedy",
            "--emulate",
            "--steps",
            "10",
        ],
    );
    assert_eq!(r["chips_used"], 2);
    assert!(
        start.elapsed() < Duration::from_secs(30),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn one_core_named_twice() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let p = file(
        d,
        "p.json",
        r#"{"format": "snn-placement/1", "placement": [{"block": "input", "host": true},
        {"block": "l1.0", "chip": 0, "core": 0}, {"block": "l1.1", "chip": 0, "core": 0},
        {"block": "l1.2", "chip": 0, "core": 2}, {"block": "l2.0", "chip": 0, "core": 3},
        {"block": "l2.1", "chip": 1, "core": 0}, {"block": "l3.0", "chip": 1, "core": 1},
        {"block": "probe", "host": true}]}"#,
    );
    let board = std::fs::read_to_string(fixture("tiny-board.json")).unwrap();
    let no_packing = file(
        d,
        "one.json",
        board.replace(r#""max_blocks": 4"#, r#""max_blocks": 1"#),
    );
    let emulate = |topo: &Path| -> Vec<PathBuf> {
        [
            "emulate".into(),
            fixture("ff3.json"),
            "-t".into(),
            topo.into(),
            "--placement".into(),
            p.clone(),
        ]
        .to_vec()
    };
    fails(
        d,
        &emulate(&no_packing),
        None,
        2,
        "p.json: chip 0, core 0 holds 2 blocks (l1.0, l1.1); at most 1 may share a core (core.max_blocks)",
    );
    // With packing (the tiny board lets 4 blocks share a core) the two fit together and the run succeeds.
    succeeds(&emulate(&fixture("tiny-board.json")));
    let dup = file(
        d,
        "dup.json",
        r#"{"format": "snn-placement/1", "placement": [{"block": "input", "host": true}, {"block": "input", "host": true}]}"#,
    );
    let args: [PathBuf; 4] = [
        "emulate".into(),
        fixture("ff3.json"),
        "--placement".into(),
        dup,
    ];
    fails(
        d,
        &args,
        None,
        2,
        "placement[1]: block \"input\" is placed twice",
    );
}

/// Every command that writes a file writes it through a temporary file renamed into place: into a
/// folder that does not exist, each fails with exit 1 and leaves nothing.
#[test]
fn every_output_is_atomic() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let missing = d.join("missing");
    let ff3 = fixture("ff3.json");
    let layers = fixture("layers/residual.json");
    let keras = fixture("keras/maxpool.keras.json");
    let cases: [(Vec<&OsStr>, &str); 5] = [
        (
            vec![ff3.as_os_str(), "-a".as_ref(), "greedy".as_ref()],
            "--out",
        ),
        (
            vec![
                "gen".as_ref(),
                "random".as_ref(),
                "--blocks".as_ref(),
                "20".as_ref(),
            ],
            "-o",
        ),
        (vec!["build".as_ref(), layers.as_os_str()], "-o"),
        (
            vec!["import".as_ref(), "keras".as_ref(), keras.as_os_str()],
            "-o",
        ),
        (
            vec![
                "compare".as_ref(),
                ff3.as_os_str(),
                "--allocators".as_ref(),
                "greedy".as_ref(),
                "--html".as_ref(),
            ],
            "",
        ),
    ];
    for (args, flag) in cases {
        let mut cmd = snn_place();
        cmd.args(&args);
        if !flag.is_empty() {
            cmd.arg(flag);
        }
        let out = cmd.arg(missing.join("out")).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(
            stderr
                .lines()
                .any(|l| l.starts_with("snn-place: error: cannot write ")),
            "{stderr}"
        );
        assert!(files(d).is_empty(), "{args:?} left {:?}", files(d));
    }
}

/// Starts a long write (a 100,000-block network, gzip-compressed: several seconds of writing in a debug
/// build), sends `signal` once its temporary file appears, and checks exit 130 and an empty folder.
/// With `hup_ignored`, snn-place starts with SIGHUP ignored, as under `nohup`.
fn interrupt(signal: &str, hup_ignored: bool) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("net.json.gz");
    let bin = env!("CARGO_BIN_EXE_snn-place");
    let gen = ["gen", "layered", "--blocks", "100000", "--seed", "1", "-o"];
    let mut cmd = if hup_ignored {
        // `exec` keeps the pid, and the ignored disposition, for snn-place.
        let mut c = std::process::Command::new("sh");
        c.args(["-c", "trap '' HUP; exec \"$@\"", "sh", bin])
            .args(gen);
        c
    } else {
        let mut c = std::process::Command::new(bin);
        c.args(gen);
        c
    };
    let mut child = cmd
        .arg(&out)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !files(dir.path())
        .iter()
        .any(|f| f.starts_with(".snn-place-"))
    {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no temporary file appeared"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "finished before it was interrupted"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let kill = std::process::Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let done = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert_eq!(done.status.code(), Some(130), "{signal}: {stderr}");
    assert_eq!(
        stderr,
        "snn-place: error: interrupted; unfinished output files removed\n"
    );
    assert!(
        files(dir.path()).is_empty(),
        "{signal} left {:?}",
        files(dir.path())
    );
}

#[test]
fn ctrl_c_leaves_no_partial_or_temporary_file() {
    interrupt("-INT", false);
}

#[test]
fn sigterm_leaves_no_partial_or_temporary_file() {
    interrupt("-TERM", false);
}

#[test]
fn sigterm_under_nohup_still_cleans_up() {
    interrupt("-TERM", true);
}
