#!/usr/bin/env python3
"""Multicast traffic of Mt-KaHyPar's connectivity partition against snn-place's, on one snn-net/1 network.

    multicast.py NET --mesh X Y [--cap 128] [--snn-place PATH] [--allocators LIST] [--preset QUALITY]
                 [--seed 1]

Under multicast a source block sends one message per chip, other than its own, that holds one of its
destinations, and snn-place's `multicast_spikes` charges, per such chip, the largest spikes the source
sends to a destination there (a pin's spikes: the sum of the file's edges from the source to it). That
is exactly the connectivity (lambda - 1) metric of nested hyperedges: for each distinct pin weight
w_1 > ... > w_m of a source, the source and its pins of weight >= w_j, weighing w_j - w_{j+1}
(w_{m+1} = 0). Mt-KaHyPar partitions that hypergraph (objective KM1, weights scaled to integers) into
ceil(n / cap) parts of at most `cap` blocks; its figure is recomputed exactly in spikes from the file.
snn-place runs on an X x Y mesh (the generated topology of steiner.py) with `--traffic multicast`.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from anchors import Net  # noqa: E402
from steiner import snn_place_reports  # noqa: E402


def multicast_spikes(src, dst, spikes, part) -> float:
    """snn-place's multicast figure of `part` over the directed on-chip edges."""
    pins: dict[tuple[int, int], float] = {}
    for s, d, w in zip(src.tolist(), dst.tolist(), spikes.tolist()):
        if s != d:
            pins[(s, d)] = pins.get((s, d), 0.0) + w
    best: dict[tuple[int, int], float] = {}
    for (s, d), w in pins.items():
        p = int(part[d])
        if p != part[s]:
            best[(s, p)] = max(best.get((s, p), 0.0), w)
    return float(sum(best.values()))


def nested_hyperedges(n, src, dst, spikes):
    """The nested hyperedges (pins, float weight) of every source, as in the module docs."""
    pins: dict[int, dict[int, float]] = {}
    for s, d, w in zip(src.tolist(), dst.tolist(), spikes.tolist()):
        if s != d:
            pins.setdefault(s, {})
            pins[s][d] = pins[s].get(d, 0.0) + w
    edges, weights = [], []
    for s in sorted(pins):
        by_weight = sorted(pins[s].items(), key=lambda t: (-t[1], t[0]))
        members = [s]
        i = 0
        while i < len(by_weight):
            w = by_weight[i][1]
            while i < len(by_weight) and by_weight[i][1] == w:
                members.append(by_weight[i][0])
                i += 1
            below = by_weight[i][1] if i < len(by_weight) else 0.0
            edges.append(list(members))
            weights.append(w - below)
    return edges, weights


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("net")
    ap.add_argument("--mesh", nargs=2, type=int, required=True, metavar=("X", "Y"))
    ap.add_argument("--cap", type=int, default=128)
    ap.add_argument("--snn-place", default="target/release/snn-place")
    ap.add_argument("--allocators", default="metis --refine fm,portfolio")
    ap.add_argument("--preset", default="QUALITY")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    import mtkahypar

    net = Net(a.net)
    x, y = a.mesh
    k = -(-net.n // a.cap)
    edges, weights = nested_hyperedges(net.n, net.src, net.dst, net.spikes)
    total = float(sum(weights)) or 1.0
    scale = min(2**30 / total, 1e6)
    iw = [max(1, round(w * scale)) for w in weights]
    init = mtkahypar.initialize(1, False)
    mtkahypar.set_seed(a.seed)
    ctx = init.context_from_preset(getattr(mtkahypar.PresetType, a.preset))
    eps = max(a.cap * k / net.n - 1.0, 0.0)
    ctx.set_partitioning_parameters(k, eps, mtkahypar.Objective.KM1)
    ctx.logging = False
    hg = init.create_hypergraph(ctx, net.n, len(edges), edges, [1] * net.n, iw)
    t0 = time.perf_counter()
    phg = hg.partition(ctx)
    dt = time.perf_counter() - t0
    part = np.asarray(phg.get_partition(), dtype=np.int64)
    sizes = np.bincount(part, minlength=k)
    print("| method | multicast spikes | inter-chip spikes | largest chip | seconds |")
    print("| --- | ---: | ---: | ---: | ---: |")
    mc = multicast_spikes(net.src, net.dst, net.spikes, part)
    print(f"| Mt-KaHyPar {a.preset} KM1, seed {a.seed} ({k} parts) | {mc:,.1f} | {net.interchip(part):,.1f} | "
          f"{sizes.max()} | {dt:.3f} |")
    for entry, r in snn_place_reports(a.snn_place, a.net, x, y, a.cap, a.allocators, a.seed,
                                      ["--traffic", "multicast"]):
        print(f"| snn-place `{entry}` | {r['multicast_spikes']:,.1f} | {r['interchip_spikes']:,.1f} | "
              f"- | {r['elapsed_s']:.3f} |")


if __name__ == "__main__":
    main()
