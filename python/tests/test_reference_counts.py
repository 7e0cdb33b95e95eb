"""The reference counts the Rust front end is checked against (fixtures/nengo/reference-counts.json) are
what nengo-loihi 1.1 builds today, and `snn-place build` agrees with them per layer."""
import importlib.util
import json
import os
import subprocess

from conftest import REPO


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


def test_snn_place_build_counts_as_nengo_loihi(tmp_path, snn_place_binary):
    fixture = _fixture()
    for net, layers in [("tutorial", "nengo-tutorial"), ("resnet", "nengo-resnet")]:
        out = tmp_path / f"{net}.json"
        subprocess.run(
            [snn_place_binary, "build", os.path.join(REPO, "fixtures", "layers", f"{layers}.json"),
             "-o", str(out)],
            check=True,
        )
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


def test_snn_place_own_tiling_builds_in_nengo_loihi_with_the_same_counts(tmp_path, snn_place_binary):
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
        subprocess.run([snn_place_binary, "build", str(spec_path), "-o", str(out)], check=True)
        build = getattr(ref, net)
        assert _layer_counts(out) == ref.counts(build(OWN_TILING[net]))
