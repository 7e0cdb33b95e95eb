"""Export a built nengo-loihi model (``sim.model``) to an ``snn-net/1`` dict."""

import numpy as np

FORMAT = "snn-net/1"


def _label(obj):
    label = getattr(obj, "label", None)
    return "" if label is None else str(label)


def block_ids(model):
    """Stable, unique ids: ``b{i}`` for ``model.blocks[i]``, ``in{i}`` for ``model.inputs[i]``,
    ``probe{i}`` for ``model.probes[i]``, each followed by ``:`` and the object's label (if any)."""

    def ident(prefix, i, obj):
        label = _label(obj)
        return f"{prefix}{i}:{label}" if label else f"{prefix}{i}"

    return (
        [ident("b", i, b) for i, b in enumerate(model.blocks)],
        [ident("in", i, x) for i, x in enumerate(model.inputs)],
        [ident("probe", i, p) for i, p in enumerate(model.probes)],
    )


def block_rates_from_ensemble_rates(model, ensemble_rates):
    """Turn ``{nengo.Ensemble: rates in Hz}`` into ``{LoihiBlock: spikes per timestep}`` with
    nengo-loihi's own ``ensemble_to_block_rates`` (the mapping ``GreedyInterchip`` uses)."""
    from nengo_loihi.hardware.allocators import ensemble_to_block_rates

    dt = float(getattr(model, "dt", 0.001))
    return {
        block: np.asarray(r, dtype=float) * dt
        for block, r in ensemble_to_block_rates(model, ensemble_rates).items()
    }


def _rate_array(rates, obj, n):
    """Per-compartment rates of ``obj`` (array of length n), or None when not given."""
    if rates is None or obj not in rates:
        return None
    r = np.asarray(rates[obj], dtype=float)
    if r.ndim == 0:
        r = np.full(n, float(r))
    if r.shape != (n,):
        raise ValueError(
            f"rates for {obj}: expected a scalar or {n} per-compartment values, got shape {r.shape}"
        )
    if not np.all(np.isfinite(r)) or np.any(r < 0):
        raise ValueError(f"rates for {obj}: must be finite and >= 0")
    return r


def _axon_activity(axon, n, r):
    """nengo-loihi's ``estimate_interblock_activity`` for one axon: every axon active
    (``axon.n_axons``) without rates, else the summed rates of the compartments that use it."""
    if r is None:
        return float(axon.n_axons)
    axon_ids = np.asarray(axon.map_axon(np.arange(n)))
    return float(np.sum(r[axon_ids >= 0]))


def export_model(model, rates=None, name="nengo-loihi"):
    """Export a built nengo-loihi model to an ``snn-net/1`` dict.

    Parameters
    ----------
    model : nengo_loihi.builder.Model
        The built model (``sim.model``).
    rates : dict, optional
        Measured rates: ``{LoihiBlock or LoihiInput: spikes per timestep}``, a scalar or one value
        per compartment (``block_rates_from_ensemble_rates`` makes one from ensemble rates in Hz).
        Blocks and inputs not in it count every axon as active, as nengo-loihi's
        ``estimate_interblock_activity`` does when it has no rates.

    Returns
    -------
    dict
        ``{"format": "snn-net/1", "name", "blocks", "edges"}``. On-chip block ``i`` is
        ``model.blocks[i]``; see ``block_ids`` for the ids.
    """
    bids, iids, pids = block_ids(model)
    blocks = []
    synapse_owner = {}
    for i, block in enumerate(model.blocks):
        n = int(block.compartment.n_compartments)
        entry = {
            "id": bids[i],
            "compartments": n,
            # counted exactly as nengo_loihi.builder.validate.validate_block counts them
            "in_axons": int(sum(s.n_axons for s in block.synapses)),
            "out_axons": int(sum(a.axon_slots() for a in block.axons)),
            "synapse_bits": int(sum(s.bits() for s in block.synapses)),
        }
        if _label(block):
            entry["layer"] = _label(block)
        r = _rate_array(rates, block, n)
        if r is not None:
            entry["rate"] = float(r.mean()) if n else 0.0
        blocks.append(entry)
        for synapse in block.synapses:
            synapse_owner[id(synapse)] = bids[i]

    edges = {}

    def add(src, dst, spikes):
        if src != dst:  # self connections cost no placement, as in nengo-loihi's estimate
            edges[(src, dst)] = edges.get((src, dst), 0.0) + spikes

    def target_of(axon, owner):
        dst = synapse_owner.get(id(axon.target))
        if dst is None:
            raise ValueError(f"{owner}: axon {axon} targets a synapse no block of the model holds")
        return dst

    for i, block in enumerate(model.blocks):
        n = int(block.compartment.n_compartments)
        r = _rate_array(rates, block, n)
        for axon in block.axons:
            add(bids[i], target_of(axon, block), _axon_activity(axon, n, r))

    for i, inp in enumerate(model.inputs):
        n = int(getattr(inp, "n_neurons", 0) or max([a.n_axons for a in inp.axons] or [1]))
        blocks.append({"id": iids[i], "host": True, "compartments": max(n, 1)})
        r = _rate_array(rates, inp, n)
        for axon in inp.axons:
            add(iids[i], target_of(axon, inp), _axon_activity(axon, n, r))

    index = {id(b): i for i, b in enumerate(model.blocks)}
    for k, probe in enumerate(model.probes):
        total = 0
        for target, sl in zip(probe.target, probe.slice):
            if target is None or id(target) not in index:
                continue
            n = int(target.compartment.n_compartments)
            idx = np.arange(n)[sl]
            total += len(idx)
            r = _rate_array(rates, target, n)
            spikes = float(len(idx)) if r is None else float(np.sum(r[idx]))
            add(bids[index[id(target)]], pids[k], spikes)
        blocks.append({"id": pids[k], "host": True, "compartments": max(total, 1)})

    return {
        "format": FORMAT,
        "name": name,
        "blocks": blocks,
        "edges": [{"src": s, "dst": d, "spikes": v} for (s, d), v in edges.items()],
    }
