//! `build` and `import keras`: the Keras fixtures in `../shared/fixtures/keras/` (the shared folder sits
//! next to the repository, here and in CI) imported with their shapes checked against `summary.txt`,
//! every block checked by the placement crate's validator, the bundled nets kept in sync, ResNet-18
//! placed across chips, the two reference networks against nengo-loihi's own counts, and bad input.

use std::collections::BTreeMap;
use std::path::PathBuf;

use predicates::prelude::*;
use snn_place::frontend::{
    build, build_with, import_keras, keras_to_layers, parse_layers, AxonModel, KerasOptions, Limits,
};
use snn_place::graph::{read_net_file, Network};
use snn_place::hardware::Topology;
use snn_place::placement::check_blocks_fit;

use crate::{fixture, report, snn_place};

fn shared(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/fixtures/keras")
        .join(name)
}

/// The fixtures bundled as `fixtures/keras/NAME.net.json` (ResNet-18's and ResNet-50's networks, 92 and
/// 724 MB of JSON, are built by the tests instead).
const BUNDLED: [&str; 5] = [
    "keras_to_loihi",
    "keras_to_loihi_small",
    "resnet_small_same",
    "mobilenet_v2",
    "mlp",
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
    let topo = Topology::preset("nahuku32").unwrap();
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
        // Every layer that holds blocks holds exactly its output shape's neurons, and every block
        // fits a Loihi core (population axons: a neuron of ResNet-50's 3x3 convolutions over 512
        // channels reads 9 positions, where one discrete axon per source neuron needed 4,608).
        let net = build(&import.spec, &Limits::LOIHI).unwrap();
        check_blocks_fit(&net, &topo).unwrap();
        assert!(net.blocks()[0].host, "{file}: the input is a host block");
        assert!(
            net.blocks().last().unwrap().host,
            "{file}: the probe is a host block"
        );
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
fn resnet18_spans_chips_and_the_discrete_model_refuses_it() {
    // Under nengo-loihi's model ResNet-18 splits into 4,248 on-chip blocks, more than Nahuku32's 4,096
    // cores: 34 chips of Pohoiki Beach with nengo-loihi's greedy order.
    let topo = Topology::preset("pohoiki-beach").unwrap();
    let net = import_keras(
        &read("resnet18_cifar"),
        &limits(&topo),
        &KerasOptions::default(),
    )
    .unwrap();
    assert_eq!(net.blocks().iter().filter(|b| !b.host).count(), 4248);
    let opts = snn_place::Options {
        allocator: "greedy".into(),
        ..Default::default()
    };
    let (_, report) = snn_place::place(&net, &topo, &opts).unwrap();
    assert_eq!(report.chips_used, 34);
    // snn-place's earlier model counts one axon per source neuron: a neuron after a 3x3 convolution
    // over 512 channels and its shortcut reads 4,864 neurons, more than a core's 4,096 input axons.
    let spec = keras_to_layers(&read("resnet18_cifar"), &KerasOptions::default())
        .unwrap()
        .spec;
    assert_eq!(
        build_with(&spec, &limits(&topo), AxonModel::Discrete)
            .unwrap_err()
            .to_string(),
        "layer \"stage4_block1_out\" cannot be split to fit one core: a block of one neuron needs 4864 \
         in_axons, the core limit is 4096"
    );
}

/// nengo-loihi 1.1's own counts of the two reference networks (`fixtures/nengo/reference-counts.json`,
/// made by `python/examples/reference_counts.py`, which `python/tests` checks against a fresh build):
/// per on-chip layer, blocks, compartments, input axons, output axon slots and synapse bits.
#[test]
fn reference_networks_count_as_nengo_loihi_does() {
    let reference: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("nengo/reference-counts.json")).unwrap(),
    )
    .unwrap();
    for (net_name, file) in [("tutorial", "nengo-tutorial"), ("resnet", "nengo-resnet")] {
        let text = std::fs::read_to_string(fixture(&format!("layers/{file}.json"))).unwrap();
        let net = build(&parse_layers(&text).unwrap(), &Limits::LOIHI).unwrap();
        let mut got: BTreeMap<String, [u64; 5]> = BTreeMap::new();
        for b in net.blocks().iter().filter(|b| !b.host) {
            let c = got.entry(b.layer.clone().unwrap()).or_default();
            for (x, v) in
                c.iter_mut()
                    .zip([1, b.compartments, b.in_axons, b.out_axons, b.synapse_bits])
            {
                *x += v;
            }
        }
        let layers = reference[net_name].as_object().unwrap();
        assert_eq!(
            got.keys().collect::<Vec<_>>(),
            layers.keys().collect::<Vec<_>>(),
            "{net_name}"
        );
        for (layer, want) in layers {
            let want = [
                "blocks",
                "compartments",
                "in_axons",
                "out_axons",
                "synapse_bits",
            ]
            .map(|k| want[k].as_u64().unwrap());
            let have = got[layer];
            // Blocks and compartments exactly; the others within 2% (today they agree exactly).
            assert_eq!(have[..2], want[..2], "{net_name} {layer}");
            for k in 2..5 {
                let err = have[k].abs_diff(want[k]) as f64 / want[k].max(1) as f64;
                assert!(
                    err <= 0.02,
                    "{net_name} {layer}: {have:?} vs nengo-loihi {want:?}"
                );
            }
        }
    }
}

#[test]
fn bundled_nets_are_what_import_writes() {
    let dir = tempfile::tempdir().unwrap();
    for name in BUNDLED {
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
    // conv1 6x6x64 in 3, dense0 (100) in 2 (2,304 discrete axons, each with 50 weights of 8 bits in
    // 7 words: 1,032,192 of 1,048,576 bits), the linear dense1 read by a host probe: 16 blocks, 14
    // cores on one chip.
    let r = report(&["fixtures/keras/keras_to_loihi.net.json", "-a", "greedy"]);
    assert_eq!(
        (r["blocks"].as_u64(), r["cores_used"].as_u64()),
        (Some(16), Some(14))
    );
    assert_eq!(r["chips_used"], 1);
    let r = report(&["fixtures/keras/mobilenet_v2.net.json", "-a", "greedy"]);
    assert_eq!(r["chips_used"], 7);
    // The README's main job: the small ResNet's 134 on-chip blocks need two chips.
    let r = report(&["fixtures/keras/resnet_small_same.net.json"]);
    assert_eq!(r["chips_used"], 2);
    assert!(r["interchip_spikes"].as_f64().unwrap() > 0.0);
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
        &["import", "keras", "../shared/fixtures/keras/resnet50.json", "--axons", "discrete"],
        "layer \"conv5_block1_2_relu\" cannot be split to fit one core: a block of one neuron needs 4608 in_axons, the core limit is 4096",
    );
    check_bad(
        &["build", "fixtures/broken/layers-wide-dense.json"],
        "layer \"fc\" cannot be split to fit one core: each of its neurons reads 8192 source neurons \
         through a dense connection, one discrete input axon each, more than the core limit 4096",
    );
    check_bad(
        &["build", "fixtures/broken/layers-block-shape.json"],
        "layer \"conv\": block_shape [4, 4, 64] does not fit one core: block \"conv.0\" needs 6848512 \
         synapse_bits, the core limit is 1048576",
    );
    // nengo-loihi's own block shapes do not fit under the discrete model: one axon per source neuron.
    check_bad(
        &["build", "fixtures/layers/nengo-tutorial.json", "--axons", "discrete"],
        "layer \"conv1\": block_shape [8, 8, 16] does not fit one core: block \"conv1.0\" needs 5408 \
         in_axons, the core limit is 4096",
    );
    snn_place()
        .args(["build", "fixtures/layers/residual.json", "--axons", "pop16"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains(
            "invalid value 'pop16' for '--axons <MODEL>'",
        ));
}
