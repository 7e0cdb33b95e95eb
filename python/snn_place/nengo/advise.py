"""``advise(model)``: ask snn-place what would make a built nengo-loihi model's timestep faster."""

import warnings

import snn_place

from .allocator import options_from_args
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
    allocator=None,
):
    """Emulate a built nengo-loihi model as it runs and with each remedy applied; return snn-place's
    advice (``snn_place.advise``, the ``snn-advice/1`` object) as a dict.

    Parameters
    ----------
    model : nengo_loihi.builder.Model
        The built model (``sim.model``).
    topology : str or dict
        A preset, an snn-topology/1 file or dict.
    rates : dict, optional
        ``{LoihiBlock or LoihiInput: spikes per timestep}``, as for ``export_model``.
    precompute : bool, optional
        How the model runs; default: as nengo-loihi decided (``model.split.precompute``: whenever the
        host is not in the loop).
    steps, seed : int
        Timesteps to emulate and the seed of the allocators and the emulator.
    binary : str, optional
        Ignored: kept so that code written for the binary keeps working.
    extra_args : sequence of str
        ``("--allocator", NAME)`` or ``("--traffic", MODEL)``, for code written for the binary.
    allocator : str, optional
        The allocator that places the model and the remedied models (default ``portfolio``).

    Returns
    -------
    dict
        ``{"format": "snn-advice/1", "before": {...}, "emulation": {...}, "remedies": [...]}``: the time
        and energy per step as the model runs, by phase, and every remedy (``name``, ``action``,
        ``reason``, ``after_us``, ``saved_us``), most time saved first. A host in the loop (an off-chip
        object between chip outputs and chip inputs) comes first, as ``host-loop``.
    """
    if binary is not None:
        warnings.warn("advise(binary=...) is ignored: snn-place now runs in-process", DeprecationWarning, 2)
    args = [str(a) for a in extra_args]
    if "--allocator" in args:
        i = args.index("--allocator")
        allocator = args[i + 1] if i + 1 < len(args) else allocator
        del args[i : i + 2]
    traffic = options_from_args(args).get("traffic", "unicast")
    if precompute is None:
        split = getattr(model, "split", None)
        precompute = bool(getattr(split, "precompute", False))
    net = export_model(model, rates=rates)
    return snn_place.advise(
        net,
        topology=topology,
        allocator=allocator,
        seed=seed,
        steps=steps,
        precompute=precompute,
        traffic=traffic,
    )
