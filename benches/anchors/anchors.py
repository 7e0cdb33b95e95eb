#!/usr/bin/env python3
"""Compare snn-place's allocators with external graph partitioners on one snn-net/1 network.

    anchors.py NET [--chips K] [--cap 128] [--snn-place PATH] [--allocators LIST]
                   [--topology FILE] [--externals LIST]
    anchors.py --gen-grid SIDE -o OUT.json      write a SIDE^3 grid net (6-neighbour edges)

Every method splits the on-chip blocks (`host: true` excluded) into K parts of at most `cap` blocks
(one part = one chip of `cap` cores, one block per core). The table reports, per method, the
inter-chip spikes (sum of `spikes` of the file's directed edges whose two on-chip ends are in
different parts), that figure relative to METIS k-way, whether every part holds <= cap blocks,
and the wall seconds of the partition call alone (for snn-place: the report's `elapsed_s`).

The external partitioners see the undirected graph: one edge per pair of on-chip blocks joined in
either direction, weight = sum of the `spikes` of the edges between them (both directions), self
loops dropped, scaled to integers (so that the total adjacency weight fits int32; minimum 1).
All tools run single-threaded with seed 1. See README.md next to this file.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

# Methods run in this order; names usable in --externals.
EXTERNALS = [
    "file-order",
    "metis-kway",
    "metis-rb",
    "kahip-strong",
    "mtkahypar-quality",
    "mtkahypar-highest-quality",
]
DEFAULT_ALLOCATORS = "greedy-interchip,metis,metis --refine fm,portfolio"
REFERENCE = "metis-kway"
INT32_MAX = 2**31 - 1


def log(msg: str) -> None:
    print(f"anchors: {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# The network


def read_json(path: str):
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":  # gzip, recognised by content like snn-place does
        data = gzip.decompress(data)
    return json.loads(data)


class Net:
    """The on-chip part of an snn-net/1 network, as numpy arrays."""

    def __init__(self, path: str):
        doc = read_json(path)
        if doc.get("format") != "snn-net/1":
            raise SystemExit(f"anchors: error: {path}: format is {doc.get('format')!r}, not 'snn-net/1'")
        self.name = doc.get("name") or os.path.basename(path)
        self.n_blocks = len(doc["blocks"])
        self.ids = [b["id"] for b in doc["blocks"] if not b.get("host", False)]
        index = {bid: i for i, bid in enumerate(self.ids)}
        self.n = len(self.ids)
        src, dst, spk = [], [], []
        for e in doc["edges"]:
            s = index.get(e["src"])
            d = index.get(e["dst"])
            if s is None or d is None:  # a host block at one end (or both)
                continue
            src.append(s)
            dst.append(d)
            spk.append(float(e["spikes"]))
        self.n_edges = len(doc["edges"])
        # Directed on-chip edges as in the file: what inter-chip spikes are computed from.
        self.src = np.asarray(src, dtype=np.int64)
        self.dst = np.asarray(dst, dtype=np.int64)
        self.spikes = np.asarray(spk, dtype=np.float64)
        self._undirected()

    def _undirected(self) -> None:
        n = self.n
        keep = self.src != self.dst  # self-loops never cross chips
        a = np.minimum(self.src[keep], self.dst[keep])
        b = np.maximum(self.src[keep], self.dst[keep])
        key = a * n + b
        uniq, inv = np.unique(key, return_inverse=True)
        w = np.bincount(inv, weights=self.spikes[keep], minlength=len(uniq))
        self.ua = (uniq // n).astype(np.int64)  # undirected pairs, a < b
        self.ub = (uniq % n).astype(np.int64)
        self.uw = w  # float weights, spikes/step both directions
        m = len(uniq)
        total = float(w.sum())
        # Integer weights: the adjacency (each pair twice) must sum to <= 2^30, leaving int32 headroom.
        # round(x) <= x + 1, so sum(2 * iw) <= 2 * scale * total + 2 * m.
        if total > 0:
            self.scale = max((2**30 - 2 * m) / (2.0 * total), 0.0)
        else:
            self.scale = 1.0
        iw = np.maximum(np.rint(w * self.scale), 1).astype(np.int64)
        assert 2 * int(iw.sum()) <= INT32_MAX, "integer edge weights overflow int32"
        self.iw = iw
        # CSR (both directions), sorted by source then target, as METIS and KaHIP want it.
        s2 = np.concatenate([self.ua, self.ub])
        d2 = np.concatenate([self.ub, self.ua])
        w2 = np.concatenate([iw, iw])
        order = np.lexsort((d2, s2))
        self.adjncy = d2[order]
        self.adjwgt = w2[order]
        self.xadj = np.concatenate([[0], np.cumsum(np.bincount(s2, minlength=n))]).astype(np.int64)

    def interchip(self, part: np.ndarray) -> float:
        cross = part[self.src] != part[self.dst]
        return float(self.spikes[cross].sum())


# ---------------------------------------------------------------------------------------------
# External partitioners: each returns (part array over on-chip blocks, seconds of the call)


def run_file_order(net: Net, k: int, cap: int, eps: float):
    t0 = time.perf_counter()
    part = np.arange(net.n, dtype=np.int64) // cap
    return part, time.perf_counter() - t0


def metis_options(eps: float, seed: int):
    import pymetis

    # METIS' balance bound is (1 + ufactor/1000) * n/k; ceil keeps the bound >= cap*k/n (a feasible
    # bound) and < cap + 1 for n/k < ~950, so in blocks it is exactly cap.
    ufactor = max(1, math.ceil(eps * 1000 - 1e-9))
    return pymetis.Options(seed=seed, ufactor=ufactor)


def run_metis(net: Net, k: int, cap: int, eps: float, recursive: bool):
    import pymetis

    adj = pymetis.CSRAdjacency(net.xadj.tolist(), net.adjncy.tolist())
    ew = net.adjwgt.tolist()
    opts = metis_options(eps, seed=1)
    t0 = time.perf_counter()
    res = pymetis.part_graph(k, adjacency=adj, eweights=ew, recursive=recursive, options=opts)
    dt = time.perf_counter() - t0
    return np.asarray(res.vertex_part, dtype=np.int64), dt


def run_kahip(net: Net, k: int, cap: int, eps: float):
    import kahip

    vwgt = [1] * net.n
    xadj = net.xadj.tolist()
    adjcwgt = net.adjwgt.tolist()
    adjncy = net.adjncy.tolist()
    t0 = time.perf_counter()
    # kaffpa(vwgt, xadj, adjcwgt, adjncy, nblocks, imbalance, suppress_output, seed, mode)
    _cut, blocks = kahip.kaffpa(vwgt, xadj, adjcwgt, adjncy, k, eps, True, 1, kahip.STRONG)
    dt = time.perf_counter() - t0
    return np.asarray(blocks, dtype=np.int64), dt


_MTK_INIT = None


def run_mtkahypar(net: Net, k: int, cap: int, eps: float, preset_name: str):
    global _MTK_INIT
    import mtkahypar

    if _MTK_INIT is None:  # once per process
        _MTK_INIT = mtkahypar.initialize(1, False)  # 1 thread, no warnings
    mtkahypar.set_seed(1)
    init = _MTK_INIT
    ctx = init.context_from_preset(getattr(mtkahypar.PresetType, preset_name))
    ctx.set_partitioning_parameters(k, eps, mtkahypar.Objective.CUT)
    ctx.logging = False
    edges = list(zip(net.ua.tolist(), net.ub.tolist()))  # each undirected edge once
    graph = init.create_graph(ctx, net.n, len(edges), edges, [1] * net.n, net.iw.tolist())
    t0 = time.perf_counter()
    phg = graph.partition(ctx)
    dt = time.perf_counter() - t0
    return np.asarray(phg.get_partition(), dtype=np.int64), dt


def _worker(conn, name: str, net: Net, k: int, cap: int, eps: float) -> None:
    try:
        part, dt = run_external(name, net, k, cap, eps)
        conn.send(("ok", part, dt))
    except BaseException as e:  # reported as the row's error
        conn.send(("error", f"{type(e).__name__}: {e}", None))
    conn.close()


def run_isolated(name: str, net: Net, k: int, cap: int, eps: float, timeout):
    """Runs one external method in a fresh process: results do not depend on what ran before in
    the same process (Mt-KaHyPar keeps state across calls even after set_seed), a crash in a C
    extension becomes a row, and --timeout can stop a method."""
    ctx = multiprocessing.get_context("spawn")
    recv_end, send_end = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_worker, args=(send_end, name, net, k, cap, eps), daemon=True)
    proc.start()
    send_end.close()
    try:
        if not recv_end.poll(timeout):
            proc.kill()
            proc.join()
            raise RuntimeError(f"timed out after {timeout:g} s")
        try:
            status, payload, dt = recv_end.recv()
        except EOFError:
            proc.join()
            raise RuntimeError(f"crashed (exit code {proc.exitcode})") from None
    finally:
        recv_end.close()
    proc.join()
    if status != "ok":
        raise RuntimeError(payload)
    return payload, dt


def run_external(name: str, net: Net, k: int, cap: int, eps: float):
    if name == "file-order":
        return run_file_order(net, k, cap, eps)
    if name == "metis-kway":
        return run_metis(net, k, cap, eps, recursive=False)
    if name == "metis-rb":
        return run_metis(net, k, cap, eps, recursive=True)
    if name == "kahip-strong":
        return run_kahip(net, k, cap, eps)
    if name == "mtkahypar-quality":
        return run_mtkahypar(net, k, cap, eps, "QUALITY")
    if name == "mtkahypar-highest-quality":
        return run_mtkahypar(net, k, cap, eps, "HIGHEST_QUALITY")
    raise ValueError(name)


LABELS = {
    "file-order": "blocks in file order",
    "metis-kway": "METIS k-way (pymetis)",
    "metis-rb": "METIS recursive bisection (pymetis)",
    "kahip-strong": "KaHIP kaffpa STRONG",
    "mtkahypar-quality": "Mt-KaHyPar QUALITY",
    "mtkahypar-highest-quality": "Mt-KaHyPar HIGHEST_QUALITY",
}
MODULES = {
    "metis-kway": "pymetis",
    "metis-rb": "pymetis",
    "kahip-strong": "kahip",
    "mtkahypar-quality": "mtkahypar",
    "mtkahypar-highest-quality": "mtkahypar",
}


def tool_versions() -> str:
    out = []
    for mod in ("pymetis", "kahip", "mtkahypar"):
        try:
            from importlib.metadata import version

            out.append(f"{mod} {version(mod)}")
        except Exception:
            out.append(f"{mod} not installed")
    return ", ".join(out)


# ---------------------------------------------------------------------------------------------
# snn-place


def write_topology(path: str, k: int, cap: int) -> None:
    """A grid of >= k chips with `cap` cores each (8x4 tiles x 4 cores = 128 for cap 128)."""
    if cap % 4 == 0:
        per_tile, tiles = 4, cap // 4
    else:
        per_tile, tiles = 1, cap
    ty = max(d for d in range(1, int(math.isqrt(tiles)) + 1) if tiles % d == 0)
    tx = tiles // ty
    cx = math.ceil(math.sqrt(k))
    cy = math.ceil(k / cx)
    topo = {
        "format": "snn-topology/1",
        "name": f"anchors-{cx}x{cy}-cap{cap}",
        "chips": {"x": cx, "y": cy},
        "tiles": {"x": tx, "y": ty},
        "cores_per_tile": per_tile,
        "core": {"compartments": 1024, "in_axons": 4096, "out_axons": 4096, "synapse_bits": 1048576},
    }
    with open(path, "w") as f:
        json.dump(topo, f, indent=1)


def run_snn_place(exe: str, entry: str, net_path: str, net: Net, topo: str, k: int, tmp: str):
    """Returns a row dict for one allocator entry ("NAME [flags...]")."""
    words = entry.split()
    name, flags = words[0], words[1:]
    out = os.path.join(tmp, "placement.json")
    if os.path.exists(out):
        os.remove(out)
    cmd = [exe, "--json", "--allocator", name, *flags, "--topology", topo, "--chips", str(k),
           "--seed", "1", "--out", out, net_path]
    env = dict(os.environ, RAYON_NUM_THREADS="1", OMP_NUM_THREADS="1")
    row = {"method": f"snn-place `{entry}`"}
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    except OSError as e:
        row["error"] = f"could not run {exe}: {e}"
        return row
    if proc.returncode != 0:
        first = next((ln for ln in proc.stderr.splitlines() if ln.strip()), "(no stderr)")
        row["error"] = f"failed (exit {proc.returncode}): {first.strip()}"
        return row
    try:
        rep = json.loads(proc.stdout)
        row["spikes"] = float(rep["interchip_spikes"])
        row["seconds"] = float(rep["elapsed_s"])
    except (ValueError, KeyError, TypeError) as e:
        row["error"] = f"unreadable report ({e})"
        return row
    # Check the report against the placement file, with the same arithmetic as the external rows.
    try:
        pl = read_json(out)
        chip = {p["block"]: p.get("chip") for p in pl["placement"] if not p.get("host", False)}
        part = np.asarray([chip[b] for b in net.ids], dtype=np.int64)
        row["part"] = part
        mine = net.interchip(part)
        if not math.isclose(mine, row["spikes"], rel_tol=1e-6, abs_tol=1e-6):
            row["note"] = f"placement file gives {mine:,.1f}"
    except Exception as e:  # the report still stands; say the check could not be made
        row["note"] = f"placement not checked ({type(e).__name__}: {e})"
    return row


# ---------------------------------------------------------------------------------------------
# The table


def capacity_cell(part, k: int, cap: int) -> str:
    if part is None:
        return "—"
    counts = np.bincount(part)
    biggest = int(counts.max()) if len(counts) else 0
    if biggest <= cap:
        return "yes"
    over = int((counts > cap).sum())
    return f"no ({over} parts over; largest {biggest})"


def fmt_spikes(v: float) -> str:
    return f"{v:,.1f}"


def esc(s: str) -> str:
    return s.replace("|", "\\|").replace("\n", " ")


def print_table(net: Net, k: int, cap: int, eps: float, rows) -> None:
    ref = next((r for r in rows if r.get("key") == REFERENCE and "spikes" in r), None)
    print(f"### {esc(net.name)}: {net.n:,} on-chip blocks ({net.n_blocks - net.n} host), "
          f"{len(net.spikes):,} on-chip edges; K = {k} chips x {cap} cores, epsilon = {eps:.5f}")
    print()
    print("| method | inter-chip spikes | relative to METIS k-way | capacity respected | seconds |")
    print("| --- | ---: | ---: | --- | ---: |")
    for r in rows:
        if "error" in r:
            print(f"| {esc(r['method'])} | {esc(r['error'])} | — | — | — |")
            continue
        rel = "—"
        if ref is not None and ref["spikes"] > 0:
            rel = f"{r['spikes'] / ref['spikes']:.3f}"
        spikes = fmt_spikes(r["spikes"])
        if r.get("note"):
            spikes += f" ({esc(r['note'])})"
        print(f"| {esc(r['method'])} | {spikes} | {rel} | {r['capacity']} | {r['seconds']:.3f} |")
    print()
    sys.stdout.flush()


# ---------------------------------------------------------------------------------------------


def gen_grid(side: int, out: str) -> None:
    def bid(x, y, z):
        return f"g{x}.{y}.{z}"

    blocks, edges = [], []
    for x in range(side):
        for y in range(side):
            for z in range(side):
                blocks.append({"id": bid(x, y, z), "layer": "grid", "compartments": 100})
                for dx, dy, dz in ((1, 0, 0), (-1, 0, 0), (0, 1, 0), (0, -1, 0), (0, 0, 1), (0, 0, -1)):
                    nx, ny, nz = x + dx, y + dy, z + dz
                    if 0 <= nx < side and 0 <= ny < side and 0 <= nz < side:
                        edges.append({"src": bid(x, y, z), "dst": bid(nx, ny, nz), "spikes": 1.0})
    doc = {"format": "snn-net/1", "name": f"grid{side}x{side}x{side}", "blocks": blocks, "edges": edges}
    tmp = out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
    os.replace(tmp, out)
    log(f"wrote {out}: {len(blocks)} blocks, {len(edges)} edges")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("net", nargs="?", help="snn-net/1 file (JSON or gzip JSON)")
    ap.add_argument("--chips", type=int, help="parts K (default ceil(on-chip blocks / cap))")
    ap.add_argument("--cap", type=int, default=128, help="blocks per part, i.e. cores per chip (default 128)")
    ap.add_argument("--snn-place", dest="exe", help="snn-place binary (default: none, no snn-place rows)")
    ap.add_argument("--allocators", default=DEFAULT_ALLOCATORS,
                    help=f"comma-separated snn-place allocators, each may carry flags (default {DEFAULT_ALLOCATORS!r}; '' for none)")
    ap.add_argument("--topology", help="snn-topology/1 file for snn-place (default: a generated grid of >= K chips)")
    ap.add_argument("--externals", default=",".join(EXTERNALS),
                    help=f"comma-separated external methods (default all: {','.join(EXTERNALS)})")
    ap.add_argument("--timeout", type=float, help="seconds after which an external method is stopped (default: none)")
    ap.add_argument("--gen-grid", type=int, metavar="SIDE", help="write a SIDE^3 grid net to -o and exit")
    ap.add_argument("-o", "--out", help="output of --gen-grid")
    args = ap.parse_args(argv)

    if args.gen_grid is not None:
        if not args.out:
            ap.error("--gen-grid needs -o OUT")
        gen_grid(args.gen_grid, args.out)
        return 0
    if not args.net:
        ap.error("NET is required")
    externals = [e.strip() for e in args.externals.split(",") if e.strip()]
    for e in externals:
        if e not in EXTERNALS:
            ap.error(f"unknown external method {e!r}; known: {', '.join(EXTERNALS)}")

    net = Net(args.net)
    cap = args.cap
    k = args.chips or max(1, math.ceil(net.n / cap))
    eps = max(cap * k / net.n - 1.0, 0.0) if net.n else 0.0
    log(f"{net.name}: {net.n} on-chip blocks, {len(net.ua)} undirected pairs, K={k}, eps={eps:.5f}")

    rows = []
    for key in externals:
        row = {"key": key, "method": LABELS[key]}
        mod = MODULES.get(key)
        if mod is not None:
            try:
                __import__(mod)
            except ImportError as e:
                row["error"] = f"skipped: {mod} not importable ({e})"
                rows.append(row)
                continue
        log(f"{net.name}: {LABELS[key]} ...")
        try:
            part, dt = run_isolated(key, net, k, cap, eps, args.timeout)
        except Exception as e:
            row["error"] = f"failed: {e}"
            rows.append(row)
            continue
        row.update(spikes=net.interchip(part), seconds=dt, capacity=capacity_cell(part, k, cap))
        log(f"{net.name}: {LABELS[key]}: {row['spikes']:,.1f} spikes, {dt:.2f} s")
        rows.append(row)

    entries = [a.strip() for a in args.allocators.split(",") if a.strip()]
    if entries and args.exe:
        with tempfile.TemporaryDirectory(prefix="anchors-") as tmp:
            topo = args.topology
            if not topo:
                topo = os.path.join(tmp, "topology.json")
                write_topology(topo, k, cap)
            for entry in entries:
                log(f"{net.name}: snn-place {entry} ...")
                row = run_snn_place(args.exe, entry, args.net, net, topo, k, tmp)
                if "error" not in row:
                    part = row.pop("part", None)
                    row["capacity"] = capacity_cell(part, k, cap) if part is not None else "— (not checked)"
                rows.append(row)
    elif entries:
        log("no --snn-place given: snn-place rows left out")

    print_table(net, k, cap, eps, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
