//! CLI tests: each module drives the built `snn-place` binary on the fixtures in `fixtures/`.

/// The adversarial catalogue (docs/adversarial.md): hostile inputs, caps, atomic output, Ctrl-C.
mod adversarial;
/// The runtime model on the tutorial network and the off-chip-layer ResNet; `advise`.
mod advise;
/// Bad input of every kind: one clear line on stderr, the documented exit code, no output file.
mod bad_input;
/// `compare` and `--allocator auto`: tables, CSV, JSON, failures, the HTML report in Chromium.
mod compare;
/// Same seed, same output at 1 and 2 rayon threads: every allocator, FM, the emulator, `compare`.
mod determinism;
/// `emulate` and `--emulate`: time per timestep, determinism, bad input.
mod emulate;
/// `build` and `import keras`: Keras fixtures' shapes and fit, bundled nets, bad input.
mod frontend;
/// `gen`: seeded networks, same seed same bytes, and placing them.
mod gen;
/// `--allocator ilp`, `--refine ilp`: optima on the fixtures, never worse, time limits, bad flags.
mod ilp;
/// `topologies`, `allocators`, `--help`, `--version`.
mod listings;
/// `--allocator mtkahypar` (cargo feature `mtkahypar`): the feature named when missing; with it, valid
/// placements for every preset, determinism, and the default never worse than Mt-KaHyPar.
mod mtkahypar;
/// `import nir`: the NIR fixtures, an snnTorch export, Loihi 2 boards, broken files.
mod nir;
/// Placing the hand-made fixtures: figures worked out by hand for each allocator.
/// `--pack` and `--traffic multicast`: packed cores, the multicast figure and messages, bad options.
mod pack;
mod place;

use assert_cmd::Command;
use std::path::PathBuf;

/// The binary, run from the repository root so fixture paths are short.
pub fn snn_place() -> Command {
    let mut cmd = Command::cargo_bin("snn-place").expect("the binary is built");
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"));
    cmd
}

pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

/// Runs `snn-place ARGS --json` and returns the report, asserting exit 0.
pub fn report(args: &[&str]) -> serde_json::Value {
    let out = snn_place().args(args).arg("--json").output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The figures of a report that tests compare, spike figures rounded to 1e-9.
pub fn figures(r: &serde_json::Value) -> Vec<(String, f64)> {
    [
        "chips_used",
        "cores_used",
        "interchip_spikes",
        "hop_spikes",
        "max_link_spikes",
        "multicast_spikes",
        "host_spikes",
    ]
    .iter()
    .map(|k| {
        let v = r[k]
            .as_f64()
            .unwrap_or_else(|| panic!("{k} missing in {r}"));
        (k.to_string(), (v * 1e9).round() / 1e9)
    })
    .collect()
}

pub fn expect(
    chips: f64,
    cores: f64,
    inter: f64,
    hops: f64,
    max_link: f64,
    multicast: f64,
    host: f64,
) -> Vec<(String, f64)> {
    [
        ("chips_used", chips),
        ("cores_used", cores),
        ("interchip_spikes", inter),
        ("hop_spikes", hops),
        ("max_link_spikes", max_link),
        ("multicast_spikes", multicast),
        ("host_spikes", host),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), (v * 1e9).round() / 1e9))
    .collect()
}
