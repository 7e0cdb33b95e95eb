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
        got = {}
        for b in json.loads(out.read_text())["blocks"]:
            if b.get("host"):
                continue
            c = got.setdefault(
                b["layer"],
                {"blocks": 0, "compartments": 0, "in_axons": 0, "out_axons": 0, "synapse_bits": 0},
            )
            c["blocks"] += 1
            for key in ("compartments", "in_axons", "out_axons", "synapse_bits"):
                c[key] += b.get(key, 0)
        assert got == fixture[net]
