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


def _base(obj):
    """The ensemble or node behind a connection end (``Neurons``, slices)."""
    obj = getattr(obj, "obj", obj)  # ObjView
    return getattr(obj, "ensemble", obj)  # Neurons


def host_loop_paths(model):
    """The host's part in the loop, when nengo-loihi found that the model's inputs depend on its
    outputs (``model.split.precomputable()`` is False): ``(probe index, input index, labels)`` for every
    chip-to-host probe whose values reach a host-to-chip input through the host model, with the labels
    of the host objects on the way. Empty when the model is precomputable or was not split."""
    split = getattr(model, "split", None)
    if split is None or split.precomputable() or getattr(model, "host", None) is None:
        return []
    import nengo

    succ = {}
    for conn in model.host.params:
        if isinstance(conn, nengo.Connection):
            succ.setdefault(_base(conn.pre), []).append(_base(conn.post))
    probe_index = {id(p): k for k, p in enumerate(model.probes)}
    input_index = {id(x): i for i, x in enumerate(model.inputs)}
    sender_input = {}
    for sender, receiver in model.host2chip_senders.items():
        out = model.objs[receiver].get("out")
        if out is not None and id(out) in input_index:
            sender_input[sender] = input_index[id(out)]
    paths = []
    for probe, receiver in model.chip2host_receivers.items():
        loihi_probe = model.objs[probe].get("out")
        if loihi_probe is None or id(loihi_probe) not in probe_index:
            continue
        # Breadth-first from the receiving node, remembering the labelled host objects on the way.
        seen = {receiver: []}
        queue = [receiver]
        while queue:
            obj = queue.pop(0)
            for nxt in succ.get(obj, []):
                if nxt in seen:
                    continue
                label = getattr(nxt, "label", None)
                seen[nxt] = seen[obj] + ([str(label)] if label else [])
                queue.append(nxt)
        for sender, i in sender_input.items():
            if sender in seen:
                paths.append((probe_index[id(loihi_probe)], i, seen[sender]))
    return paths


def _fanout(synapse):
    """Mean synapses one spike on an axon of ``synapse`` reaches (its weight row's length; axons that
    share weights, as convolutions do, share the row), over the synapse's axons."""
    n = int(synapse.n_axons)
    if n == 0 or not synapse.weights:
        return 1.0
    total = 0
    for a in range(n):
        w = synapse.weights[synapse.axon_weight_idx(a)]
        total += w.shape[-1]
    return total / n


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
    synops = {}

    def add(src, dst, spikes, fanout=None):
        if src != dst:  # self connections cost no placement, as in nengo-loihi's estimate
            edges[(src, dst)] = edges.get((src, dst), 0.0) + spikes
            if fanout is not None:
                synops[(src, dst)] = synops.get((src, dst), 0.0) + spikes * fanout

    fanout = {}

    def target_of(axon, owner):
        dst = synapse_owner.get(id(axon.target))
        if dst is None:
            raise ValueError(f"{owner}: axon {axon} targets a synapse no block of the model holds")
        if id(axon.target) not in fanout:
            fanout[id(axon.target)] = _fanout(axon.target)
        return dst

    for i, block in enumerate(model.blocks):
        n = int(block.compartment.n_compartments)
        r = _rate_array(rates, block, n)
        for axon in block.axons:
            dst = target_of(axon, block)
            add(bids[i], dst, _axon_activity(axon, n, r), fanout[id(axon.target)])

    for i, inp in enumerate(model.inputs):
        n = int(getattr(inp, "n_neurons", 0) or max([a.n_axons for a in inp.axons] or [1]))
        blocks.append({"id": iids[i], "host": True, "compartments": max(n, 1)})
        r = _rate_array(rates, inp, n)
        for axon in inp.axons:
            dst = target_of(axon, inp)
            add(iids[i], dst, _axon_activity(axon, n, r), fanout[id(axon.target)])

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

    # A host in the loop: the probe's values reach an input through the host model. Host-to-host edges
    # carry no chip traffic (spikes 0); they let snn-place find the loop. Both ends are named after the
    # host objects on the way, so snn-place's advice names the host layers.
    host_blocks = {b["id"]: b for b in blocks if b.get("host")}
    for k, i, labels in host_loop_paths(model):
        add(pids[k], iids[i], 0.0)
        layer = "+".join(labels) or "host"
        for bid in (pids[k], iids[i]):
            host_blocks[bid].setdefault("layer", layer)

    return {
        "format": FORMAT,
        "name": name,
        "blocks": blocks,
        # synops: each message's synaptic events at its destination (the destination synapse's mean
        # weights per axon), so the emulator's synapse time and energy follow nengo-loihi's weights.
        "edges": [
            dict({"src": s, "dst": d, "spikes": v}, **({"synops": synops[(s, d)]} if (s, d) in synops else {}))
            for (s, d), v in edges.items()
        ],
    }
