"""The package's API on the bundled fixtures: every function gives what the command line gives (same
seed, same placement bytes, same report but for the allocator's seconds), errors are exceptions with the
command line's message and kind, and long calls let other Python threads run."""

import gzip
import json
import os
import subprocess
import sys
import threading
import time
import warnings

import pytest
from conftest import REPO, fixture

import snn_place
from snn_place import BadInputError, DoesNotFitError, SnnPlaceError

FF3 = fixture("ff3.json")
CONV = fixture("conv-residual.json")
RESNET = fixture("resnet-offchip.net.json")
BOARD = fixture("tiny-board.json")


def without_timing(report):
    """A report without the one figure that changes from run to run."""
    return {k: v for k, v in report.items() if k != "elapsed_s"}


def cli_json(cli, *args):
    code, out, err = cli(*args)
    assert code == 0, err
    return json.loads(out)


def cli_error(cli, *args):
    """The command line's exit code and message (without its `snn-place: error: ` prefix)."""
    code, _, err = cli(*args)
    assert err.startswith("snn-place: error: "), err
    return code, err[len("snn-place: error: ") :].strip()


# The command line's options and the same as keyword arguments of `place`.
PLACE_CASES = [
    (FF3, ["--allocator", "round-robin", "--topology", BOARD], dict(topology=BOARD, allocator="round-robin")),
    (CONV, ["--seed", "3"], dict(seed=3)),
    (CONV, ["--allocator", "metis", "--refine", "fm", "--chips", "2"], dict(allocator="metis", refine=["fm"], chips=2)),
    (CONV, ["--allocator", "metis", "--pack", "--traffic", "multicast"], dict(allocator="metis", pack=True, traffic="multicast")),
    (RESNET, ["--allocator", "greedy-interchip", "--topology", "nahuku8"], dict(allocator="greedy-interchip", topology="nahuku8")),
    (CONV, ["--chips", "4", "--spread"], dict(chips=4, spread=True)),
    (CONV, ["--effort", "full", "--seed", "2"], dict(effort="full", seed=2)),
    (FF3, ["--allocator", "ilp", "--topology", BOARD, "--objective", "max-link"], dict(allocator="ilp", topology=BOARD, objective="max-link")),
]


@pytest.mark.parametrize("path,args,kwargs", PLACE_CASES)
def test_place_gives_the_clis_placement_bytes_and_report(cli, tmp_path, path, args, kwargs):
    cli_out, py_out = tmp_path / "cli.json", tmp_path / "py.json"
    expected = cli_json(cli, *args, "--json", "--out", cli_out, path)
    placement, report = snn_place.place(path, out=py_out, **kwargs)
    assert py_out.read_bytes() == cli_out.read_bytes()
    assert placement == json.loads(cli_out.read_text())
    assert without_timing(report) == without_timing(expected)
    assert report["format"] == "snn-report/1" and placement["format"] == "snn-placement/1"


def test_place_and_emulate_gives_the_clis_report(cli):
    args = ["--allocator", "metis", "--emulate", "--steps", "200", "--seed", "5", "--json", RESNET]
    expected = cli_json(cli, *args)
    calls = []
    _, report = snn_place.place(
        RESNET, allocator="metis", emulate=True, steps=200, seed=5, progress=lambda d, t: calls.append((d, t))
    )
    assert without_timing(report) == without_timing(expected)
    assert report["emulation"]["steps"] == 200
    assert calls and calls[-1] == (200, 200)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


def test_auto_gives_the_clis_choice(cli):
    expected = cli_json(cli, "--allocator", "auto", "--steps", "50", "--json", FF3)
    _, report = snn_place.place(FF3, allocator="auto", steps=50)
    assert report["allocator"].startswith("auto:")
    assert without_timing(report) == without_timing(expected)
    with pytest.raises(BadInputError, match="--refine does not apply to --allocator auto"):
        snn_place.place(FF3, allocator="auto", refine="fm")


def test_the_default_allocator_is_the_clis():
    placement, report = snn_place.place(FF3)
    assert placement["allocator"] == report["allocator"] == snn_place.DEFAULT_ALLOCATOR == "portfolio"


def test_the_same_seed_gives_the_same_placement():
    net = snn_place.generate("layered", 600, seed=2)
    a = snn_place.place(net, seed=9)
    b = snn_place.place(net, seed=9)
    assert a[0] == b[0] and without_timing(a[1]) == without_timing(b[1])


@pytest.mark.parametrize("as_what", ["dict", "path"])
def test_emulate_gives_the_clis_report(cli, tmp_path, as_what):
    placement, _ = snn_place.place(RESNET, allocator="metis", out=tmp_path / "p.json")
    expected = cli_json(
        cli, "emulate", RESNET, "--placement", tmp_path / "p.json", "--steps", "300", "--seed", "4", "--json"
    )
    source = placement if as_what == "dict" else tmp_path / "p.json"
    calls = []
    report = snn_place.emulate(RESNET, source, steps=300, seed=4, progress=lambda d, t: calls.append(d))
    assert report == expected
    assert report["time_per_step_us"] > 0 and "emulation" in report
    # Counted and reported under one lock: in increasing order, the last with the total.
    assert calls == sorted(calls) and calls[-1] == 300


def test_emulate_and_advise_take_the_placements_board(tmp_path):
    placement, _ = snn_place.place(FF3, "kapoho-bay", out=tmp_path / "p.json")
    report = snn_place.emulate(FF3, placement, steps=20)
    assert report["topology"] == "kapoho-bay"
    assert snn_place.emulate(FF3, tmp_path / "p.json", steps=20) == report
    assert snn_place.advise(FF3, placement, steps=20)["topology"] == "kapoho-bay"
    assert snn_place.advise(FF3, steps=20)["topology"] == "nahuku32"
    spread, _ = snn_place.place(FF3, "kapoho-bay", "round-robin")
    with pytest.raises(BadInputError, match="chip 1"):
        snn_place.emulate(FF3, spread, "loihi", steps=20)


def test_emulate_precomputed_per_inference(cli, tmp_path):
    snn_place.place(CONV, out=tmp_path / "p.json")
    args = ["--steps", "100", "--precompute", "--steps-per-inference", "20", "--traffic", "multicast"]
    expected = cli_json(cli, "emulate", CONV, "--placement", tmp_path / "p.json", *args, "--json")
    report = snn_place.emulate(
        CONV, tmp_path / "p.json", steps=100, precompute=True, steps_per_inference=20, traffic="multicast"
    )
    assert report == expected
    assert report["emulation"]["per_inference"]["steps"] == 20


def test_compare_gives_the_clis_rows_and_html(cli, tmp_path):
    args = ["--allocators", "greedy,metis,metis+fm", "--steps", "100", "--pack"]
    expected = cli_json(cli, "compare", CONV, *args, "--format", "json", "--no-timing", "--html", tmp_path / "c.html")
    seen = []
    rows, page = snn_place.compare(
        CONV,
        allocators=["greedy", "metis", "metis+fm"],
        steps=100,
        pack=True,
        timing=False,
        html=True,
        progress=lambda name, done, total: seen.append((name, done, total)),
    )
    assert rows == expected
    assert page == (tmp_path / "c.html").read_text()
    assert sorted(name for name, _, _ in seen) == sorted(["greedy", "metis", "metis+fm", "metis+pack", "metis+fm+pack"])
    assert [done for _, done, _ in seen] == [1, 2, 3, 4, 5] and {t for _, _, t in seen} == {5}
    assert rows[0]["best"] is True and rows[0]["rank"] == 1


def test_compare_all_and_its_default(cli):
    expected = cli_json(cli, "compare", FF3, "--topology", BOARD, "--steps", "20", "--format", "json", "--no-timing")
    rows = snn_place.compare(FF3, BOARD, steps=20, timing=False)
    assert rows == expected
    # `effort` reaches the portfolio row only (the others are placed, not refused); on a net this
    # small `full` is the default's schedule.
    assert snn_place.compare(FF3, BOARD, steps=20, timing=False, effort="full") == expected
    rows = snn_place.compare(FF3, BOARD, "all", steps=20)
    assert len(rows) == len(snn_place.allocators()) + 1
    assert all("elapsed_s" in r for r in rows if r.get("status", "placed") == "placed")
    with pytest.raises(BadInputError, match="all cannot be combined"):
        snn_place.compare(FF3, allocators=["all", "greedy"])


def test_advise_gives_the_clis_advice(cli, tmp_path):
    expected = cli_json(cli, "advise", RESNET, "--steps", "100", "--json")
    advice = snn_place.advise(RESNET, steps=100)
    assert advice == expected
    assert advice["format"] == "snn-advice/1" and advice["remedies"][0]["name"] == "host-loop"
    placement, _ = snn_place.place(RESNET, allocator="greedy", out=tmp_path / "p.json")
    args = ["--placement", tmp_path / "p.json", "--steps", "100", "--allocator", "metis", "--json"]
    expected = cli_json(cli, "advise", RESNET, *args)
    assert snn_place.advise(RESNET, placement, allocator="metis", steps=100) == expected


def test_build_layers_gives_the_clis_network(cli, tmp_path):
    layers = fixture("layers", "residual.json")
    code, _, err = cli("build", layers, "--topology", "loihi", "-o", tmp_path / "cli.json.gz")
    assert code == 0, err
    net = snn_place.build_layers(layers, "loihi")
    net.write(tmp_path / "py.json.gz")
    assert (tmp_path / "py.json.gz").read_bytes() == (tmp_path / "cli.json.gz").read_bytes()
    assert net.to_json() == gzip.decompress((tmp_path / "cli.json.gz").read_bytes()).decode()
    with open(layers) as f:
        assert snn_place.build_layers(json.load(f), "loihi").to_json() == net.to_json()
    code, out, err = cli("build", layers, "--axons", "discrete")
    assert code == 0, err
    assert snn_place.build_layers(layers, axons="discrete").to_json() == out != net.to_json()
    with pytest.raises(BadInputError, match="axons"):
        snn_place.build_layers(layers, axons="dense")


def test_import_keras_gives_the_clis_network_and_its_notes(cli, tmp_path):
    model = fixture("keras", "maxpool.keras.json")
    code, out, err = cli("import", "keras", model, "--rate", "0.05", "-o", tmp_path / "cli.json")
    assert code == 0, err
    notes = [line for line in err.splitlines() if line.startswith("snn-place: note: ")]
    assert notes
    with pytest.warns(snn_place.SnnPlaceWarning) as caught:
        net = snn_place.import_keras(model, rate=0.05)
    assert net.to_json() == (tmp_path / "cli.json").read_text()
    assert [f"snn-place: note: {w.message}" for w in caught] == notes
    with open(model) as f:
        text = f.read()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert snn_place.import_keras(text, rate=0.05).to_json() == net.to_json()


def test_import_nir_gives_the_clis_network_and_populations(cli, tmp_path):
    model = fixture("nir", "mlp.nir")
    code, out, err = cli("import", "nir", model, "-t", "kapoho-point", "-o", tmp_path / "cli.json")
    assert code == 0, err
    net, populations = snn_place.import_nir(model, "kapoho-point")
    assert net.to_json() == (tmp_path / "cli.json").read_text()
    printed = [line for line in err.splitlines() if ": population " in line]
    assert len(printed) == len(populations) > 0
    for p, line in zip(populations, printed):
        assert f"population {p['node']} ({p['kind']}): {p['neurons']} neurons in {p['blocks']} blocks" in line
    with pytest.raises(snn_place.BadInputError, match="broken"):
        snn_place.import_nir(fixture("nir", "broken", "truncated.nir"))


def test_generate_gives_the_clis_network(cli):
    code, out, err = cli("gen", "random", "--blocks", "300", "--seed", "4")
    assert code == 0, err
    net = snn_place.generate("random", 300, seed=4)
    assert net.to_json() == out
    assert net.n_blocks == 300 and net.name


def test_read_net_takes_a_path_a_dict_text_bytes_or_a_net(tmp_path):
    net = snn_place.read_net(FF3)
    text = net.to_json()
    with open(FF3) as f:
        as_dict = json.load(f)
    assert snn_place.read_net(as_dict).to_json() == text
    assert snn_place.read_net(text).to_json() == text
    assert snn_place.read_net(gzip.compress(text.encode())).to_json() == text
    assert snn_place.read_net(net) is net
    net.write(tmp_path / "n.json")
    assert snn_place.read_net(tmp_path / "n.json").to_json() == text
    assert (net.name, net.n_blocks, net.n_on_chip, net.n_edges) == ("ff3", 8, 6, 10)
    assert net.source == FF3 and snn_place.read_net(as_dict).source is None
    with pytest.raises(TypeError):
        snn_place.read_net(42)


def test_topologies_and_allocators_are_the_clis(cli):
    presets = snn_place.topologies()
    assert [{k: v for k, v in t.items() if k != "description"} for t in presets] == cli_json(cli, "topologies", "--json")
    assert all(t["description"] for t in presets)
    code, out, _ = cli("allocators")
    listed = [line.split()[0] for line in out.splitlines() if line.startswith("  ")]
    names = [a["name"] for a in snn_place.allocators()] + [r["name"] for r in snn_place.refiners()]
    assert names == listed
    assert [a["name"] for a in snn_place.allocators() if a["default"]] == ["portfolio"]
    topo = snn_place.load_topology(BOARD)
    assert (topo.name, topo.n_chips, topo.cores_per_chip) == ("tiny-board", 4, 4)
    assert snn_place.load_topology(json.loads(topo.to_json())).to_json() == topo.to_json()


# Bad input: the command line's arguments, the same as a call, and the exception.
ERROR_CASES = [
    ([fixture("broken", "truncated.json")], lambda: snn_place.read_net(fixture("broken", "truncated.json")), BadInputError),
    ([fixture("broken", "duplicate-id.json")], lambda: snn_place.place(fixture("broken", "duplicate-id.json")), BadInputError),
    ([fixture("broken", "too-big-block.json")], lambda: snn_place.place(fixture("broken", "too-big-block.json")), BadInputError),
    ([fixture("no-such-file.json")], lambda: snn_place.read_net(fixture("no-such-file.json")), BadInputError),
    (["--allocator", "nope", FF3], lambda: snn_place.place(FF3, allocator="nope"), BadInputError),
    (["--topology", "nope", FF3], lambda: snn_place.place(FF3, "nope"), BadInputError),
    (["--topology", fixture("broken", "zero-chips-topology.json"), FF3], lambda: snn_place.place(FF3, fixture("broken", "zero-chips-topology.json")), BadInputError),
    (["--chips", "40", FF3], lambda: snn_place.place(FF3, chips=40), BadInputError),
    (["build", fixture("no-such-layers.json")], lambda: snn_place.build_layers(fixture("no-such-layers.json")), BadInputError),
    (["build", fixture("broken", "layers-bad-add.json")], lambda: snn_place.build_layers(fixture("broken", "layers-bad-add.json")), BadInputError),
    (["import", "keras", fixture("broken", "keras-cycle.json")], lambda: snn_place.import_keras(fixture("broken", "keras-cycle.json")), BadInputError),
    (["--pack", "--allocator", "greedy", FF3], lambda: snn_place.place(FF3, allocator="greedy", pack=True), BadInputError),
    (["--spread", "--allocator", "round-robin", FF3], lambda: snn_place.place(FF3, allocator="round-robin", spread=True), BadInputError),
    (["--effort", "full", "--allocator", "metis", FF3], lambda: snn_place.place(FF3, allocator="metis", effort="full"), BadInputError),
    (["--emulate", "--precompute", RESNET], lambda: snn_place.place(RESNET, emulate=True, precompute=True), BadInputError),
    (["--topology", BOARD, "--chips", "1", FF3], lambda: snn_place.place(FF3, BOARD, chips=1), DoesNotFitError),
    (["--topology", BOARD, "--chips", "1", "--allocator", "greedy", FF3], lambda: snn_place.place(FF3, BOARD, "greedy", chips=1), DoesNotFitError),
    (["compare", FF3, "--topology", BOARD, "--chips", "1", "--allocators", "greedy,metis", "--steps", "10"], lambda: snn_place.compare(FF3, BOARD, ["greedy", "metis"], chips=1, steps=10), DoesNotFitError),
]


@pytest.mark.parametrize("args,call,kind", ERROR_CASES)
def test_errors_keep_the_clis_message_and_kind(cli, args, call, kind):
    code, message = cli_error(cli, *args)
    with pytest.raises(kind) as info:
        call()
    assert info.value.exit_code == code
    assert isinstance(info.value, SnnPlaceError)
    if args[0] == "compare":
        # the exception also says why each candidate failed
        assert str(info.value).startswith(message + " (greedy: does not fit")
    else:
        assert str(info.value) == message


def test_errors_of_python_arguments():
    with pytest.raises(BadInputError, match="time_limit: must be more than 0"):
        snn_place.place(FF3, time_limit=-1)
    with pytest.raises(BadInputError, match="traffic"):
        snn_place.place(FF3, traffic="broadcast")
    with pytest.raises(BadInputError, match="effort: unknown effort \"most\"; known: default, full"):
        snn_place.place(FF3, effort="most")
    with pytest.raises(BadInputError, match="window must be at least 1"):
        snn_place.place(FF3, window=0)
    with pytest.raises(BadInputError):
        snn_place.emulate(FF3, {"format": "snn-placement/1"}, steps=10)
    with pytest.raises(BadInputError, match="steps"):
        snn_place.emulate(FF3, snn_place.place(FF3)[0], steps=0)
    with pytest.raises(BadInputError, match="unknown kind|layered"):
        snn_place.generate("square", 100)
    with pytest.raises(OverflowError):
        snn_place.place(FF3, seed=-1)
    # a ValueError too, for code that catches those
    with pytest.raises(ValueError):
        snn_place.place(FF3, allocator="nope")


def test_a_panic_in_the_core_is_an_exception():
    with pytest.raises(SnnPlaceError, match="internal error .*: a bug on purpose"):
        snn_place._native._panic("a bug on purpose")
    assert snn_place.place(FF3)[1]["chips_used"] >= 1  # the interpreter and the core live on


def test_a_placement_for_another_network_says_so(cli, tmp_path):
    snn_place.place(FF3, BOARD, out=tmp_path / "p.json")
    code, message = cli_error(cli, "emulate", CONV, "--placement", tmp_path / "p.json")
    with pytest.raises(BadInputError) as info:
        snn_place.emulate(CONV, tmp_path / "p.json")
    assert code == 2 and str(info.value) == message
    assert 'the placement is for network "ff3"' in message


def test_a_progress_callback_that_raises_stops_the_call():
    placement, _ = snn_place.place(CONV)

    def progress(done, total):
        raise KeyError("stop")

    with pytest.raises(KeyError, match="stop"):
        snn_place.emulate(CONV, placement, steps=2000, progress=progress)


def test_two_threads_placing_at_once_give_what_one_at_a_time_gives():
    nets = [snn_place.generate("layered", 2500, seed=1), snn_place.generate("random", 2500, seed=2)]
    alone = [snn_place.place(net, seed=7) for net in nets]
    together, spans = [None, None], [None, None]
    barrier = threading.Barrier(2)

    def work(i):
        barrier.wait()
        start = time.perf_counter()
        together[i] = snn_place.place(nets[i], seed=7)
        spans[i] = (start, time.perf_counter())

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for (p1, r1), (p2, r2) in zip(alone, together):
        assert p1 == p2
        assert without_timing(r1) == without_timing(r2)
    # The GIL is released while placing: the two calls ran at the same time.
    assert max(s for s, _ in spans) < min(e for _, e in spans)


def test_the_gil_is_released_while_placing():
    """A Python thread keeps counting while another places."""
    net = snn_place.generate("layered", 4000, seed=1)
    ticks, done = [0], threading.Event()

    def count():
        while not done.is_set():
            ticks[0] += 1
            time.sleep(0.001)

    t = threading.Thread(target=count)
    t.start()
    start = time.perf_counter()
    snn_place.place(net, allocator="metis")
    elapsed = time.perf_counter() - start
    done.set()
    t.join()
    # at most one tick per ms; a held GIL would leave the counter at a few ticks
    assert ticks[0] >= min(20, elapsed * 1000 / 4), (ticks[0], elapsed)


def test_nothing_needs_the_binary_or_nengo(tmp_path):
    """With nothing on PATH and no $SNN_PLACE, a fresh interpreter places a network; importing the core
    package pulls in neither nengo nor numpy."""
    code = (
        "import sys, snn_place; "
        f"p, r = snn_place.place({FF3!r}, allocator='metis'); "
        "assert r['chips_used'] >= 1; "
        "assert 'nengo' not in sys.modules and 'numpy' not in sys.modules, sorted(sys.modules); "
        "print('placed', r['network'])"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("SNN_PLACE", "PATH", "SNN_PLACE_CLI")}
    env["PATH"] = str(tmp_path)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "placed ff3"


def test_the_nengo_bridge_without_nengo_loihi_says_what_to_install():
    code = "import sys; sys.modules['nengo_loihi'] = None; import snn_place.nengo"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode != 0
    assert 'snn_place.nengo needs nengo-loihi: pip install "./python[nengo]"' in proc.stderr


def test_the_package_is_the_installed_extension():
    assert snn_place.__version__ == "0.1.0"
    assert os.path.dirname(snn_place._native.__file__) == os.path.dirname(snn_place.__file__)
    assert not snn_place.__file__.startswith(os.path.join(REPO, "python")), "tests must use the installed package"
