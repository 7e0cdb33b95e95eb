//! `build` and `import keras`: the Keras fixtures in `../shared/fixtures/keras/` (the shared folder sits
//! next to the repository, here and in CI) imported with their shapes checked against `summary.txt`,
//! every block checked by the placement crate's validator, the bundled nets kept in sync, and bad input.

use std::collections::BTreeMap;
use std::path::PathBuf;

use predicates::prelude::*;
use snn_place::frontend::{
    build, import_keras, keras_to_layers, FrontendError, KerasOptions, Limits,
};
use snn_place::graph::{read_net_file, Network};
use snn_place::hardware::{CoreLimits, Grid, Topology};
use snn_place::placement::check_blocks_fit;

use crate::{fixture, report, snn_place};

fn shared(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/fixtures/keras")
        .join(name)
}

/// The fixtures that fit Loihi cores, and those with a neuron whose receptive field alone exceeds a
/// core's 4,096 input axons (a 3x3 convolution over 512 channels reads 4,608 neurons).
const FITS: [&str; 5] = [
    "keras_to_loihi",
    "keras_to_loihi_small",
    "resnet_small_same",
    "mobilenet_v2",
    "mlp",
];
const TOO_WIDE: [(&str, &str, u64); 2] = [
    ("resnet18_cifar", "stage4_block1_out", 4864),
    ("resnet50", "conv5_block1_2_relu", 4608),
];

fn limits(topo: &Topology) -> Limits {
    let c = topo.core_limits();
    Limits {
        compartments: c.compartments,
        in_axons: c.in_axons,
        out_axons: c.out_axons,
        synapse_bits: c.synapse_bits,
    }
}

fn read(name: &str) -> String {
    std::fs::read_to_string(shared(&format!("{name}.json"))).unwrap()
}

/// `summary.txt`: per file, every layer's (name, class, output shape as Keras prints it).
fn summary() -> BTreeMap<String, Vec<(String, String, String)>> {
    let text = std::fs::read_to_string(shared("summary.txt")).unwrap();
    let mut all: BTreeMap<String, Vec<_>> = BTreeMap::new();
    let mut current = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("=== ") {
            let file = rest.split_whitespace().next().unwrap();
            current = Some(file.trim_end_matches(".json").to_string());
            continue;
        }
        let (Some(file), Some(open), Some(close)) = (&current, line.find('('), line.find(')'))
        else {
            continue;
        };
        let words: Vec<&str> = line[..open].split_whitespace().collect();
        if words.len() != 3 || words[0].parse::<usize>().is_err() {
            continue;
        }
        all.entry(file.clone()).or_default().push((
            words[1].to_string(),
            words[2].to_string(),
            line[open..=close].to_string(),
        ));
    }
    all
}

#[test]
fn shapes_match_the_summary_and_layers_hold_their_neurons() {
    let summary = summary();
    assert_eq!(summary.len(), 7);
    for (file, layers) in &summary {
        let import = keras_to_layers(&read(file), &KerasOptions::default()).unwrap();
        let got: Vec<_> = import
            .layers
            .iter()
            .map(|l| {
                let dims: Vec<String> = l.shape.iter().map(u64::to_string).collect();
                (
                    l.name.clone(),
                    l.class.clone(),
                    format!("(None, {})", dims.join(", ")),
                )
            })
            .collect();
        // Keras leaves a Sequential model's InputLayer out of its layer list, and so does the summary.
        let skip = usize::from(layers[0].1 != "InputLayer");
        assert_eq!(&got[skip..], layers, "{file}");
        if !FITS.contains(&file.as_str()) {
            continue;
        }
        // Every layer that holds blocks holds exactly its output shape's neurons.
        let net = build(&import.spec, &Limits::LOIHI).unwrap();
        let mut neurons: BTreeMap<&str, u64> = BTreeMap::new();
        for b in net.blocks() {
            *neurons.entry(b.layer.as_deref().unwrap()).or_default() += b.compartments;
        }
        for (layer, n) in neurons {
            let shape = &import
                .layers
                .iter()
                .find(|l| l.name == layer)
                .unwrap()
                .shape;
            assert_eq!(n, shape.iter().product::<u64>(), "{file}: {layer}");
        }
    }
}

#[test]
fn every_block_of_every_fixture_fits() {
    let topo = Topology::preset("nahuku32").unwrap();
    for name in FITS {
        let net = import_keras(&read(name), &limits(&topo), &KerasOptions::default()).unwrap();
        check_blocks_fit(&net, &topo).unwrap();
        assert!(net.blocks()[0].host, "{name}: the input is a host block");
        assert!(
            net.blocks().last().unwrap().host,
            "{name}: the probe is a host block"
        );
    }
    for (name, layer, needed) in TOO_WIDE {
        match import_keras(&read(name), &limits(&topo), &KerasOptions::default()) {
            Err(FrontendError::DoesNotFit {
                layer: l,
                field: "in_axons",
                needed: n,
                limit: 4096,
            }) => assert_eq!((l.as_str(), n), (layer, needed), "{name}"),
            other => panic!("{name}: {other:?}"),
        }
        // With twice the input axons every block fits. (ResNet-50 then has 47,336 blocks and 4.3 million
        // edges: too slow for a debug-build test, so only ResNet-18 is built.)
        if name == "resnet50" {
            continue;
        }
        let wide = Topology::new(
            "wide",
            Grid { x: 1, y: 1 },
            Grid { x: 1, y: 1 },
            1,
            CoreLimits {
                in_axons: 8192,
                ..CoreLimits::LOIHI
            },
            Default::default(),
        )
        .unwrap();
        let net = import_keras(&read(name), &limits(&wide), &KerasOptions::default()).unwrap();
        check_blocks_fit(&net, &wide).unwrap();
    }
}

#[test]
fn bundled_nets_are_what_import_writes() {
    let dir = tempfile::tempdir().unwrap();
    for name in FITS {
        let out = dir.path().join(format!("{name}.json"));
        snn_place()
            .args(["import", "keras"])
            .arg(shared(&format!("{name}.json")))
            .arg("-o")
            .arg(&out)
            .assert()
            .success();
        let bundled = fixture(&format!("keras/{name}.net.json"));
        assert_eq!(
            std::fs::read(&out).unwrap(),
            std::fs::read(&bundled).unwrap(),
            "{name}: regenerate with `snn-place import keras ../shared/fixtures/keras/{name}.json -o fixtures/keras/{name}.net.json`"
        );
    }
}

#[test]
fn imported_nets_place() {
    // keras_to_loihi: 28x28x1 input on the host; to-spikes 28x28x3 in 3 blocks, conv0 13x13x32 in 6,
    // conv1 6x6x64 in 3, dense0 (100) in 2 (2,304 x 50 synapses x 8 bits fill 921,600 of 1,048,576
    // bits), the linear dense1 read by a host probe: 16 blocks, 14 cores on one chip.
    let r = report(&["fixtures/keras/keras_to_loihi.net.json", "-a", "greedy"]);
    assert_eq!(
        (r["blocks"].as_u64(), r["cores_used"].as_u64()),
        (Some(16), Some(14))
    );
    assert_eq!(r["chips_used"], 1);
    let r = report(&["fixtures/keras/mobilenet_v2.net.json", "-a", "greedy"]);
    assert!(r["chips_used"].as_u64().unwrap() >= 4);
}

#[test]
fn maxpool_is_reported_and_gzip_written() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("net.json.gz");
    snn_place()
        .args(["import", "keras", "fixtures/keras/maxpool.keras.json", "-o"])
        .arg(&out)
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "layer \"pool\" (MaxPooling2D) is approximated by average pooling",
        ));
    assert_eq!(&std::fs::read(&out).unwrap()[..2], &[0x1f, 0x8b]);
    let net: Network = read_net_file(&out).unwrap();
    assert_eq!(net.find("pool.0"), None, "a pool has no neurons of its own");
}

#[test]
fn build_writes_a_network_that_places() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("net.json");
    snn_place()
        .args(["build", "fixtures/layers/residual.json", "-o"])
        .arg(&out)
        .assert()
        .success()
        .stdout("");
    let net = read_net_file(&out).unwrap();
    // The input, the on_chip: false layer and the linear output layer are host blocks.
    let hosts: Vec<&str> = net
        .blocks()
        .iter()
        .filter(|b| b.host)
        .map(|b| b.name.as_str())
        .collect();
    assert_eq!(hosts, ["input", "host_conv", "out"]);
    let r = report(&[out.to_str().unwrap(), "-a", "greedy"]);
    assert_eq!(r["chips_used"], 1);
    // Smaller cores, more blocks.
    let small = dir.path().join("small.json");
    snn_place()
        .args([
            "build",
            "fixtures/layers/residual.json",
            "--topology",
            "fixtures/tiny-board.json",
            "-o",
        ])
        .arg(&small)
        .assert()
        .success();
    assert!(read_net_file(&small).unwrap().n_blocks() > net.n_blocks());
}

/// Runs a front-end command that must fail with exit 2 and one line naming `msg`, writing nothing.
fn check_bad(args: &[&str], msg: &str) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("net.json");
    let assert = snn_place()
        .args(args)
        .arg("-o")
        .arg(&out)
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains(msg));
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
    assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn bad_input_is_exit_2() {
    check_bad(
        &["build", "fixtures/broken/layers-bad-add.json"],
        "layer \"add\": the shape does not compute: cannot add inputs of shapes [8, 8, 4] and [8, 8, 3]",
    );
    check_bad(
        &["build", "fixtures/broken/layers-big-kernel.json"],
        "layer \"conv\": the kernel's height 5 is larger than the 'valid' input's height 4",
    );
    check_bad(
        &[
            "import",
            "keras",
            "fixtures/broken/keras-unknown-class.json",
        ],
        "layer \"lstm\": unsupported layer class \"LSTM\"",
    );
    check_bad(
        &["import", "keras", "fixtures/broken/keras-cycle.json"],
        "the functional graph has a cycle through layer \"a\"",
    );
    check_bad(
        &[
            "import",
            "keras",
            "fixtures/broken/keras-missing-input.json",
        ],
        "layer \"hidden\" takes input from \"input\", which is not a layer before it",
    );
    check_bad(
        &["import", "keras", "fixtures/ff3.json"],
        "unsupported model class \"\"",
    );
    check_bad(
        &["build", "fixtures/broken/truncated.json"],
        "fixtures/broken/truncated.json: EOF while parsing",
    );
    check_bad(
        &["build", "fixtures/ff3.json"],
        "unknown format \"snn-net/1\"",
    );
    check_bad(&["build", "fixtures/nope.json"], "fixtures/nope.json");
    check_bad(
        &["import", "keras", "../shared/fixtures/keras/resnet50.json"],
        "layer \"conv5_block1_2_relu\" cannot be split to fit one core: a block of one neuron needs 4608 in_axons, the core limit is 4096",
    );
}
