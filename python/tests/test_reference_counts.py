"""The reference counts the Rust front end is checked against (fixtures/nengo/reference-counts.json) are
what nengo-loihi 1.1 builds today, and `snn-place build` (here `snn_place.build_layers`, which
test_api.py checks gives the command line's bytes) agrees with them per layer."""
import importlib.util
import json
import os

from conftest import REPO

import snn_place


def _build(layers, out):
    """`snn-place build LAYERS -o OUT`."""
    snn_place.build_layers(layers).write(out)


def _script():
    path = os.path.join(REPO, "python", "examples", "reference_counts.py")
    spec = importlib.util.spec_from_file_location("reference_counts", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _fixture():
    with open(os.path.join(REPO, "fixtures", "nengo", "reference-counts.json")) as f:
        return json.load(f)


def test_reference_fixture_is_what_nengo_loihi_builds():
    ref = _script()
    fixture = _fixture()
    assert ref.counts(ref.tutorial()) == fixture["tutorial"]
    assert ref.counts(ref.resnet()) == fixture["resnet"]


def test_snn_place_build_counts_as_nengo_loihi(tmp_path):
    fixture = _fixture()
    for net, layers in [("tutorial", "nengo-tutorial"), ("resnet", "nengo-resnet")]:
        out = tmp_path / f"{net}.json"
        _build(os.path.join(REPO, "fixtures", "layers", f"{layers}.json"), out)
        assert _layer_counts(out) == fixture[net]


# The tiles `snn-place build` chooses for the two networks without their block shapes (the fewest blocks
# whose worst tile fits a core; `crates/frontend/src/split.rs`).
OWN_TILING = {
    "tutorial": {"conv0": (13, 7, 11), "conv1": (6, 6, 22), "dense0": (50,)},
    "resnet": {
        "stem": (7, 4, 32),
        "res1a": (28, 1, 32),
        "res1b": (28, 1, 32),
        "res2a": (7, 7, 16),
        "res2b": (14, 14, 5),
    },
}


def _layer_counts(path):
    got = {}
    for b in json.loads(path.read_text())["blocks"]:
        if b.get("host"):
            continue
        c = got.setdefault(
            b["layer"],
            {"blocks": 0, "compartments": 0, "in_axons": 0, "out_axons": 0, "synapse_bits": 0},
        )
        c["blocks"] += 1
        for key in ("compartments", "in_axons", "out_axons", "synapse_bits"):
            c[key] += b.get(key, 0)
    return got


def test_snn_place_own_tiling_builds_in_nengo_loihi_with_the_same_counts(tmp_path):
    """Without block shapes snn-place tiles the layers itself; nengo-loihi builds (and validates) those
    tiles, and counts them as snn-place does."""
    ref = _script()
    for net, layers in [("tutorial", "nengo-tutorial"), ("resnet", "nengo-resnet")]:
        with open(os.path.join(REPO, "fixtures", "layers", f"{layers}.json")) as f:
            spec = json.load(f)
        for layer in spec["layers"]:
            layer.pop("block_shape", None)
        spec_path = tmp_path / f"{net}-layers.json"
        spec_path.write_text(json.dumps(spec))
        out = tmp_path / f"{net}.json"
        _build(spec_path, out)
        build = getattr(ref, net)
        assert _layer_counts(out) == ref.counts(build(OWN_TILING[net]))


def _random_conv_net(seed):
    """A seeded chain of 1 to 3 convolutions (kernel 1, 2, 3 or 5, stride 1, 2 or 3, 'same' or 'valid',
    random block shapes) from a host image: the nengo network and the same network as snn-layers/1."""
    import random

    import nengo
    import nengo_loihi
    import numpy as np

    ref = _script()
    rng = random.Random(seed)
    h, w, c = rng.randint(4, 20), rng.randint(4, 20), rng.choice([1, 2, 3, 5, 8])
    layers = [{"name": "input", "type": "input", "shape": [h, w, c]}]
    with nengo.Network(seed=0) as net:
        nengo_loihi.add_params(net)
        inp = nengo.Node(np.random.RandomState(0).rand(h * w * c))
        prev = ref.ens(net, h * w * c, "input", on_chip=False)
        nengo.Connection(inp, prev.neurons)
        shape = (h, w, c)
        for i in range(rng.randint(1, 3)):
            k, s = rng.choice([1, 2, 3, 5]), rng.choice([1, 1, 2, 3])
            pad = rng.choice(["same", "valid"])
            if pad == "valid" and (k > shape[0] or k > shape[1]):
                pad = "same"
            t, shape = ref.conv(None, shape, rng.choice([1, 3, 4, 8, 16]), k, s, pad)
            block = tuple(rng.randint(1, d) for d in shape)
            if np.prod(block) > 1024:
                block = (block[0], block[1], max(1, 1024 // (block[0] * block[1])))
            e = ref.ens(net, int(np.prod(shape)), f"c{i}", block, shape)
            nengo.Connection(prev.neurons, e.neurons, transform=t)
            layers.append(
                {"name": f"c{i}", "type": "conv2d", "filters": t.n_filters, "kernel": [k, k],
                 "strides": [s, s], "padding": pad, "block_shape": list(block)}
            )
            prev = e
        nengo.Probe(prev.neurons)
    return net, {"format": "snn-layers/1", "name": f"random-{seed}", "layers": layers}


def test_random_conv_nets_count_as_nengo_loihi(tmp_path):
    ref = _script()
    # Seed 73: a one-block layer whose 'same' stride-3 field skips a whole row of source blocks, which
    # still spend their axons (nengo-loihi splits no synapse for a one-block layer).
    for seed in [*range(12), 73]:
        net, spec = _random_conv_net(seed)
        spec_path = tmp_path / f"{seed}.json"
        spec_path.write_text(json.dumps(spec))
        out = tmp_path / f"{seed}.net.json"
        _build(spec_path, out)
        assert _layer_counts(out) == ref.counts(net), spec
