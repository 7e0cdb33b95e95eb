"""``advise(model)``: ask snn-place what would make a built nengo-loihi model's timestep faster."""

import json
import os
import subprocess
import tempfile

from .allocator import SnnPlaceError, find_binary
from .export import export_model


def advise(
    model,
    topology="nahuku32",
    rates=None,
    precompute=None,
    steps=1000,
    seed=0,
    binary=None,
    extra_args=(),
):
    """Emulate a built nengo-loihi model as it runs and with each remedy applied; return snn-place's
    advice (``snn-place advise --json``) as a dict.

    Parameters
    ----------
    model : nengo_loihi.builder.Model
        The built model (``sim.model``).
    topology : str
        snn-place's ``--topology``: a preset or an snn-topology/1 file.
    rates : dict, optional
        ``{LoihiBlock or LoihiInput: spikes per timestep}``, as for ``export_model``.
    precompute : bool, optional
        How the model runs; default: as nengo-loihi decided (``model.split.precompute``: whenever the
        host is not in the loop).
    steps, seed : int
        snn-place's ``--steps`` and ``--seed``.
    binary : str, optional
        The snn-place binary; default ``$SNN_PLACE``, then ``snn-place`` on PATH.
    extra_args : sequence of str
        More arguments, e.g. ``("--allocator", "greedy")``.

    Returns
    -------
    dict
        ``{"format": "snn-advice/1", "before": {...}, "emulation": {...}, "remedies": [...]}``: the time
        and energy per step as the model runs, by phase, and every remedy (``name``, ``action``,
        ``reason``, ``after_us``, ``saved_us``), most time saved first. A host in the loop (an off-chip
        object between chip outputs and chip inputs) comes first, as ``host-loop``.
    """
    binary = find_binary(binary)
    if precompute is None:
        split = getattr(model, "split", None)
        precompute = bool(getattr(split, "precompute", False))
    net = export_model(model, rates=rates)
    with tempfile.TemporaryDirectory(prefix="snn-place-") as tmp:
        path = os.path.join(tmp, "net.json")
        with open(path, "w") as f:
            json.dump(net, f)
        cmd = [binary, "advise", path, "--topology", str(topology), "--steps", str(int(steps))]
        cmd += ["--seed", str(int(seed)), "--json"]
        if precompute:
            cmd.append("--precompute")
        cmd += [str(a) for a in extra_args]
        proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SnnPlaceError(
            f"snn-place advise failed (exit code {proc.returncode}): "
            f"{proc.stderr.strip() or proc.stdout.strip()}"
        )
    return json.loads(proc.stdout)
