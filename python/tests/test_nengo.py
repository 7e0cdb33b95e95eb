"""The nengo-loihi bridge, through both of its import names: `snn_place.nengo` and the former
`snn_place_nengo`."""

import importlib
import json
import os
import warnings

import numpy as np
import pytest
from nengo_loihi.builder import Model
from nengo_loihi.hardware.allocators import GreedyInterchip, estimate_interchip_activity

import snn_place

N_CHIPS = 8

warnings.filterwarnings("ignore", category=UserWarning)


@pytest.fixture(params=["snn_place.nengo", "snn_place_nengo"], scope="module")
def bridge(request):
    return importlib.import_module(request.param)


def test_the_alias_is_the_same_bridge():
    import snn_place_nengo

    assert snn_place_nengo.SnnPlace is snn_place.nengo.SnnPlace
    assert snn_place_nengo.export_model is snn_place.nengo.export_model
    assert snn_place_nengo.DoesNotFitError is snn_place.DoesNotFitError
    assert set(snn_place_nengo.__all__) == set(snn_place.nengo.__all__)
    import snn_place_nengo.export

    assert snn_place_nengo.export.export_model is snn_place.nengo.export_model


@pytest.fixture(params=["ea", "conv"])
def model(request):
    return request.getfixturevalue(f"{request.param}_model")


def board_blocks(board):
    return [block for chip in board.chips for core in chip.cores for block in core.blocks]


def test_export_counts_as_nengo_loihi_validates(bridge, model):
    export_model = bridge.export_model
    net = export_model(model)
    json.dumps(net)  # plain JSON
    assert net["format"] == "snn-net/1"
    ids = [b["id"] for b in net["blocks"]]
    assert len(ids) == len(set(ids))
    on_chip = [b for b in net["blocks"] if not b.get("host")]
    assert len(on_chip) == len(model.blocks)
    assert len(net["blocks"]) == len(model.blocks) + len(model.inputs) + len(model.probes)
    for entry, block in zip(on_chip, model.blocks):
        u = block.utilization()
        assert entry["compartments"] == u["compartments"][0]
        assert entry["in_axons"] == u["in-axons"][0]
        assert entry["out_axons"] == u["out-axons"][0]
        assert entry["synapse_bits"] == u["synapses"][0]
    # without rates every axon counts as active, as in nengo-loihi's estimate
    total_axons = sum(a.n_axons for b in model.blocks for a in b.axons)
    total_inputs = sum(a.n_axons for i in model.inputs for a in i.axons)
    probe_ids = {b["id"] for b in net["blocks"] if b["id"].startswith("probe")}
    chip_spikes = sum(
        e["spikes"] for e in net["edges"] if e["dst"] not in probe_ids and not e["src"].startswith("in")
    )
    in_spikes = sum(e["spikes"] for e in net["edges"] if e["src"].startswith("in"))
    assert chip_spikes <= total_axons  # self connections are left out
    assert in_spikes == total_inputs
    assert export_model(model) == net  # stable


def test_export_with_measured_rates(bridge, conv_model):
    export_model = bridge.export_model
    rates = {block: 0.05 for block in conv_model.blocks}
    net = export_model(conv_model, rates=rates)
    on_chip = [b for b in net["blocks"] if not b.get("host")]
    assert all(b["rate"] == pytest.approx(0.05) for b in on_chip)
    # with rates, as in nengo-loihi's estimate: the summed rates of the compartments that use
    # each axon (population axons serve several compartments each)
    ids = [b["id"] for b in on_chip]
    owner = {id(s): ids[i] for i, b in enumerate(conv_model.blocks) for s in b.synapses}
    expected = {}
    for i, block in enumerate(conv_model.blocks):
        n = block.compartment.n_compartments
        for axon in block.axons:
            key = (ids[i], owner[id(axon.target)])
            used = np.sum(np.asarray(axon.map_axon(np.arange(n))) >= 0)
            expected[key] = expected.get(key, 0.0) + 0.05 * used
    got = {(e["src"], e["dst"]): e["spikes"] for e in net["edges"] if e["src"].startswith("b")}
    got = {k: v for k, v in got.items() if not k[1].startswith("probe")}
    assert got.keys() == {k for k in expected if k[0] != k[1]}
    for k, v in got.items():
        assert v == pytest.approx(expected[k])


def test_board_holds_every_block_once_and_beats_greedy_interchip(bridge, model):
    alloc = bridge.SnnPlace("metis")
    board = alloc(model, n_chips=N_CHIPS)
    blocks = board_blocks(board)
    assert len(blocks) == len(model.blocks)
    assert {id(b) for b in blocks} == {id(b) for b in model.blocks}
    assert 1 <= board.n_chips <= N_CHIPS
    assert all(len(chip.cores) <= 128 for chip in board.chips)
    assert all(len(core.blocks) == 1 for chip in board.chips for core in chip.cores)
    assert board.inputs == list(model.inputs)
    assert board.probes == list(model.probes)
    assert alloc.last_report["format"] == "snn-report/1"

    ours = estimate_interchip_activity(board)["interchip"]
    greedy = estimate_interchip_activity(GreedyInterchip()(model, n_chips=N_CHIPS))["interchip"]
    assert ours <= greedy, (ours, greedy)


def test_packed_board_shares_cores_and_passes_nengo_loihi_validation(bridge, model):
    from nengo_loihi.hardware.validate import validate_board

    plain = bridge.SnnPlace("metis")(model, n_chips=N_CHIPS)
    alloc = bridge.SnnPlace("metis", pack=True)
    board = alloc(model, n_chips=N_CHIPS)
    blocks = board_blocks(board)
    assert sorted(id(b) for b in blocks) == sorted(id(b) for b in model.blocks)
    cores = [core for chip in board.chips for core in chip.cores]
    plain_cores = [core for chip in plain.chips for core in chip.cores]
    assert len(cores) < len(plain_cores)
    assert any(len(core.blocks) > 1 for core in cores)
    for core in cores:
        assert len(core.blocks) <= 16
        assert sum(b.compartment.n_compartments for b in core.blocks) <= 1024
    validate_board(board)
    assert alloc.last_report["pack"] is True
    assert alloc.last_report["cores_used"] == len(cores)
    assert "+pack" in alloc.last_report["allocator"]


def test_board_follows_the_placement(bridge, conv_model):
    alloc = bridge.SnnPlace("greedy", chips="all")
    board = alloc(conv_model, n_chips=N_CHIPS)
    chip_of = {}
    for k, chip in enumerate(board.chips):
        for core in chip.cores:
            for block in core.blocks:
                chip_of[id(block)] = k
    placed = {e["block"]: e for e in alloc.last_placement["placement"] if not e.get("host")}
    ids = [b["id"] for b in bridge.export_model(conv_model)["blocks"] if not b.get("host")]
    for block, bid in zip(conv_model.blocks, ids):
        assert board.snn_place_chip_ids[chip_of[id(block)]] == placed[bid]["chip"]


def test_the_placement_is_the_packages_and_the_clis(bridge, conv_model, cli, tmp_path):
    """The allocator's placement is snn_place.place's on the exported model, which is the CLI's."""
    alloc = bridge.SnnPlace("metis", seed=3, extra_args=("--refine", "fm"))
    alloc(conv_model, n_chips=N_CHIPS)
    net = bridge.export_model(conv_model)
    placement, _ = snn_place.place(net, "nahuku32", "metis", refine=["fm"], seed=3)
    assert alloc.last_placement == placement
    path = tmp_path / "net.json"
    path.write_text(json.dumps(net))
    out = tmp_path / "p.json"
    code, _, err = cli("--allocator", "metis", "--refine", "fm", "--seed", 3, "--out", out, path)
    assert code == 0, err
    assert json.loads(out.read_text()) == placement


def test_options_reach_snn_place(bridge, conv_model):
    alloc = bridge.SnnPlace("metis", traffic="multicast", extra_args=["--time-limit", "30"])
    assert alloc.options == {"time_limit": 30.0, "traffic": "multicast"}
    alloc(conv_model, n_chips=N_CHIPS)
    assert alloc.last_report["traffic"] == "multicast"
    full = bridge.SnnPlace(extra_args=["--effort", "full"])
    assert full.options == {"effort": "full"}
    full(conv_model, n_chips=N_CHIPS)
    assert full.last_report["allocator"] == "portfolio"
    with pytest.raises(snn_place.BadInputError, match="--effort full is run by --allocator portfolio only"):
        bridge.SnnPlace("metis", effort="full")(conv_model, N_CHIPS)
    with pytest.raises(snn_place.BadInputError, match="'--chips' is not an option"):
        bridge.SnnPlace(extra_args=["--chips", "2"])
    with pytest.raises(TypeError, match="does not take emulate"):
        bridge.SnnPlace(emulate=True)
    packed = bridge.SnnPlace("metis", extra_args=["--pack", "--spread"])
    assert packed.pack and packed.chips == "all" and packed.options == {}
    board = packed(conv_model, n_chips=2)
    assert packed.last_report["pack"] is True and board.n_chips == 2
    with pytest.raises(snn_place.BadInputError, match="unknown allocator"):
        bridge.SnnPlace("nope")(conv_model, N_CHIPS)


def test_no_binary_is_needed(bridge, ea_model, tmp_path, monkeypatch):
    monkeypatch.delenv("SNN_PLACE", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.warns(DeprecationWarning, match="binary"):
        alloc = bridge.SnnPlace(binary=str(tmp_path / "snn-place"))
    board = alloc(ea_model, N_CHIPS)
    assert board.n_chips >= 1
    assert issubclass(bridge.BinaryNotFoundError, bridge.SnnPlaceError)


def test_model_without_blocks(bridge):
    with pytest.raises(bridge.SnnPlaceError, match="no on-chip blocks"):
        bridge.SnnPlace()(Model(), N_CHIPS)


def test_model_that_does_not_fit(bridge, conv_model):
    with pytest.raises(bridge.DoesNotFitError, match="does not fit") as info:
        bridge.SnnPlace("metis")(conv_model, n_chips=1)
    assert "snn-place says: does not fit" in str(info.value)
    assert "needs 2 chips" in str(info.value)
    assert isinstance(info.value, snn_place.DoesNotFitError)


def test_a_host_loop_is_exported_and_advise_names_it_first(bridge, loop_model):
    advise, host_loop_paths = bridge.advise, bridge.host_loop_paths

    assert not loop_model.split.precomputable()
    paths = host_loop_paths(loop_model)
    assert [labels for _, _, labels in paths] == [["offchip"]]
    adv = advise(loop_model, steps=50)
    assert adv["format"] == "snn-advice/1"
    assert adv["precompute"] is False  # nengo-loihi cannot precompute it either
    assert len(adv["emulation"]["host"]["in_loop"]) == 2  # the probe and the input it feeds
    first = adv["remedies"][0]
    assert first["name"] == "host-loop"
    assert "offchip" in first["action"]
    assert first["after_us"] < adv["before"]["time_per_step_us"]


def test_advise_on_a_precomputable_model(bridge, conv_model):
    advise, host_loop_paths = bridge.advise, bridge.host_loop_paths

    assert conv_model.split.precomputable()
    assert host_loop_paths(conv_model) == []
    adv = advise(conv_model, steps=50)
    assert adv["precompute"] is True  # as nengo-loihi runs it
    names = [r["name"] for r in adv["remedies"]]
    assert "host-loop" not in names and "precompute" not in names
    assert adv["emulation"]["host"]["round_trip"] is False
    # the same advice as the package's on the exported model
    net = bridge.export_model(conv_model)
    assert adv == snn_place.advise(net, steps=50, precompute=True)


def test_the_keras_to_loihi_fixture_is_what_the_example_exports():
    import importlib.util

    from conftest import REPO

    path = os.path.join(REPO, "python", "examples", "keras_to_loihi.py")
    spec = importlib.util.spec_from_file_location("keras_to_loihi", path)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    data, sim = example.export()
    assert len(sim.model.blocks) == 14  # the tutorial's 14 cores
    with open(os.path.join(REPO, "fixtures", "nengo", "keras-to-loihi.net.json")) as f:
        assert json.load(f) == json.loads(json.dumps(data))
