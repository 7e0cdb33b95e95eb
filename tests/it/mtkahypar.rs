//! `--allocator mtkahypar` (the cargo feature `mtkahypar`). Without the feature: exit 2 and an error that
//! names the feature. With it (`cargo test --release --features mtkahypar`): every preset gives placements
//! the validator accepts (`place` validates every placement) under both traffic models, spread and
//! packed; the same seed gives the same bytes at 1 and 2 rayon threads; and the default allocator, which
//! then uses Mt-KaHyPar as one more start, is never worse than Mt-KaHyPar alone.

#[cfg(feature = "mtkahypar")]
use crate::report;
use crate::snn_place;

#[test]
fn an_unknown_preset_is_bad_input() {
    let out = snn_place()
        .args([
            "fixtures/ff3.json",
            "-a",
            "mtkahypar",
            "--mtk-preset",
            "fast",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("known: deterministic, default, quality"),
        "{err}"
    );
}

#[cfg(not(feature = "mtkahypar"))]
#[test]
fn without_the_feature_it_names_the_feature() {
    let out = snn_place()
        .args(["fixtures/ff3.json", "-a", "mtkahypar"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--features mtkahypar"), "{err}");
    // Nor is it listed.
    let list = snn_place().arg("allocators").output().unwrap();
    assert!(!String::from_utf8_lossy(&list.stdout).contains("mtkahypar"));
}

#[cfg(feature = "mtkahypar")]
const PRESETS: &[&str] = &[
    "deterministic",
    "default",
    "quality",
    "highest-quality",
    "large-k",
];

#[cfg(feature = "mtkahypar")]
#[test]
fn every_preset_places_validly() {
    for net in ["fixtures/ff3.json", "fixtures/conv-residual.json"] {
        for preset in PRESETS {
            for extra in [
                &[][..],
                &["--traffic", "multicast"],
                &["--spread"],
                &["--pack"],
                &["--refine", "fm"],
                &["--chips", "1"],
            ] {
                let mut args = vec![net, "-a", "mtkahypar", "--mtk-preset", preset];
                args.extend(extra);
                let r = report(&args);
                let name = r["allocator"].as_str().unwrap().to_string();
                assert!(name.starts_with("mtkahypar"), "{args:?}: {name}");
            }
        }
    }
}

#[cfg(feature = "mtkahypar")]
const ZERO_SLACK: &str = "fixtures/nengo/ensemble-array-dense-32.net.json.gz";

#[cfg(feature = "mtkahypar")]
#[test]
fn same_seed_same_bytes_at_1_and_2_threads() {
    let dir = tempfile::tempdir().unwrap();
    for (allocator, preset, traffic) in [
        ("mtkahypar", "deterministic", "unicast"),
        ("mtkahypar", "quality", "unicast"),
        ("mtkahypar", "quality", "multicast"),
        ("portfolio", "quality", "unicast"),
    ] {
        let mut files = Vec::new();
        for threads in ["1", "2"] {
            let out = dir
                .path()
                .join(format!("{allocator}-{preset}-{traffic}-{threads}.json"));
            snn_place()
                .args([
                    ZERO_SLACK,
                    "-a",
                    allocator,
                    "--mtk-preset",
                    preset,
                    "--seed",
                    "3",
                ])
                .args(["--traffic", traffic, "-o"])
                .arg(&out)
                .env("RAYON_NUM_THREADS", threads)
                .assert()
                .success();
            files.push(std::fs::read(out).unwrap());
        }
        assert!(
            files[0] == files[1],
            "{allocator} {preset} {traffic}: placements differ between 1 and 2 threads"
        );
    }
}

/// On the zero-slack ensemble array (2,176 blocks filling 17 chips), Mt-KaHyPar's quality preset beats
/// nengo-loihi's GreedyInterchip (10,030; issue 14 measured 8,912-9,134), and the default, which refines
/// the same partition among its starts, is never worse than it.
#[cfg(feature = "mtkahypar")]
#[test]
fn the_default_is_never_worse_than_mtkahypar() {
    for traffic in ["unicast", "multicast"] {
        let figure = if traffic == "unicast" {
            "interchip_spikes"
        } else {
            "multicast_spikes"
        };
        let mtk = report(&[ZERO_SLACK, "-a", "mtkahypar", "--traffic", traffic]);
        assert_eq!(mtk["cores_used"], 17 * 128);
        let mtk = mtk[figure].as_f64().unwrap();
        let ours = report(&[ZERO_SLACK, "--traffic", traffic])[figure]
            .as_f64()
            .unwrap();
        // The refiners work on integer weights (1e-6 spikes): allow that much per edge.
        assert!(
            ours <= mtk + 0.1,
            "{traffic}: portfolio {ours} > mtkahypar {mtk}"
        );
        if traffic == "unicast" {
            assert!(mtk < 10_030.0, "mtkahypar: {mtk}");
        }
    }
}
