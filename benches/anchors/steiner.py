"""Hop-spikes of Mt-KaHyPar's Steiner-tree mapping against snn-place's, on the chip mesh of a board.

    steiner.py NET --mesh X Y [--cap 128] [--snn-place PATH] [--allocators LIST] [--preset QUALITY]

Mt-KaHyPar maps the on-chip blocks (the undirected graph anchors.py builds) onto the X x Y mesh as a
target graph (one node per chip, unit edges between mesh neighbours: hops under dimension-order
routing equal mesh distance), with epsilon making `cap` blocks per chip the limit, single-threaded,
seed 1. Its hop-spikes are the file's directed on-chip edges' spikes times the Manhattan distance
between their chips (snn-place's `hop_spikes`), and its inter-chip spikes as anchors.py counts them.
snn-place runs on the same mesh (a generated snn-topology/1 of X x Y chips of 8x4 tiles x 4 cores),
seed 1, and its report's `hop_spikes` and `interchip_spikes` are printed beside.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from anchors import Net  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("net")
    ap.add_argument("--mesh", nargs=2, type=int, required=True)
    ap.add_argument("--cap", type=int, default=128)
    ap.add_argument("--snn-place", default="target/release/snn-place")
    ap.add_argument("--allocators", default="metis --refine fm,portfolio")
    ap.add_argument("--preset", default="QUALITY")
    a = ap.parse_args()
    import mtkahypar

    net = Net(a.net)
    x, y = a.mesh
    k = x * y
    eps = max(a.cap * k / net.n - 1.0, 0.0)
    init = mtkahypar.initialize(1, False)
    mtkahypar.set_seed(1)
    ctx = init.context_from_preset(getattr(mtkahypar.PresetType, a.preset))
    # map_onto_graph minimises the Steiner-tree objective itself (for 2-pin edges: weight x distance).
    ctx.set_partitioning_parameters(k, eps, mtkahypar.Objective.CUT)
    ctx.logging = False
    mesh = []
    for cy in range(y):
        for cx in range(x):
            c = cy * x + cx
            if cx + 1 < x:
                mesh.append((c, c + 1))
            if cy + 1 < y:
                mesh.append((c, c + x))
    target = init.create_target_graph(ctx, k, len(mesh), mesh, [1] * len(mesh))
    edges = list(zip(net.ua.tolist(), net.ub.tolist()))
    graph = init.create_graph(ctx, net.n, len(edges), edges, [1] * net.n, net.iw.tolist())
    t0 = time.perf_counter()
    phg = graph.map_onto_graph(target, ctx)
    dt = time.perf_counter() - t0
    part = np.asarray(phg.get_partition(), dtype=np.int64)
    sizes = np.bincount(part, minlength=k)
    px, py = part % x, part // x
    dist = np.abs(px[net.src] - px[net.dst]) + np.abs(py[net.src] - py[net.dst])
    hops = float((net.spikes * dist).sum())
    print(f"| method | hop spikes | inter-chip spikes | largest chip | seconds |")
    print(f"| --- | ---: | ---: | ---: | ---: |")
    print(f"| Mt-KaHyPar {a.preset} map_onto_graph (Steiner tree) | {hops:,.1f} | "
          f"{net.interchip(part):,.1f} | {sizes.max()} | {dt:.3f} |")
    for entry, r in snn_place_reports(a.snn_place, a.net, x, y, a.cap, a.allocators, 1):
        print(f"| snn-place `{entry}` | {r['hop_spikes']:,.1f} | {r['interchip_spikes']:,.1f} | "
              f"- | {r['elapsed_s']:.3f} |")


def snn_place_reports(exe, net, x, y, cap, allocators, seed, extra=()):
    """(entry, JSON report) of `exe --json --seed SEED -t MESH [extra] -a ENTRY NET` for each
    comma-separated entry of `allocators`, on a generated X x Y mesh of 8x4-tile chips of `cap` cores."""
    with tempfile.TemporaryDirectory() as tmp:
        topo = os.path.join(tmp, "mesh.json")
        with open(topo, "w") as f:
            json.dump({"format": "snn-topology/1", "name": f"mesh-{x}x{y}",
                       "chips": {"x": x, "y": y}, "tiles": {"x": 8, "y": 4}, "cores_per_tile": cap // 32,
                       "core": {"compartments": 1 << 20, "in_axons": 1 << 20, "out_axons": 1 << 20,
                                "synapse_bits": 1 << 40}}, f)
        for entry in allocators.split(","):
            cmd = [exe, "--json", "--seed", str(seed), "-t", topo, *extra, "-a", *entry.split(), net]
            yield entry, json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)


if __name__ == "__main__":
    main()
