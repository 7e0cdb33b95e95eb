"""What a Python `snn_place.place` call costs beyond the allocator, against the command line.

    snn-place gen layered --blocks 4000 --seed 1 -o /tmp/layered-4000.json
    python python/benches/overhead.py /tmp/layered-4000.json --cli target/release/snn-place

Both run the default allocator with the same seed on the same file and write the placement; the report's
`elapsed_s` is the allocator's own time, so wall time minus `elapsed_s` is what each way adds: for the
CLI, starting the process, reading the file, validating, computing the report and writing both; for
Python, the same in-process plus turning the results into dicts. Prints the median of `--runs` runs.
"""

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time

import snn_place


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("net")
    ap.add_argument("--cli", required=True, help="the snn-place binary")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--allocator", default=None)
    args = ap.parse_args()
    alloc = args.allocator or snn_place.DEFAULT_ALLOCATOR
    rows = {"cli": [], "python": [], "python (read + place)": []}
    with tempfile.TemporaryDirectory() as tmp:
        out_cli, out_py = os.path.join(tmp, "cli.json"), os.path.join(tmp, "py.json")
        for _ in range(args.runs):
            start = time.perf_counter()
            proc = subprocess.run(
                [args.cli, "--allocator", alloc, "--seed", "1", "--json", "--out", out_cli, args.net],
                capture_output=True,
                text=True,
                check=True,
            )
            wall = time.perf_counter() - start
            rows["cli"].append((wall, json.loads(proc.stdout)["elapsed_s"]))

            start = time.perf_counter()
            net = snn_place.read_net(args.net)
            read = time.perf_counter() - start
            start = time.perf_counter()
            _, report = snn_place.place(net, allocator=alloc, seed=1, out=out_py)
            wall = time.perf_counter() - start
            rows["python"].append((wall, report["elapsed_s"]))
            rows["python (read + place)"].append((read + wall, report["elapsed_s"]))
        with open(out_cli, "rb") as a, open(out_py, "rb") as b:
            same = a.read() == b.read()
    net = snn_place.read_net(args.net)
    print(f"{net.name}: {net.n_blocks} blocks, {net.n_edges} edges; allocator {alloc}, seed 1, {args.runs} runs")
    print(f"placement files identical: {same}")
    print(f"{'':24} {'wall s':>8} {'allocator s':>12} {'overhead ms':>12}")
    for name, runs in rows.items():
        wall = statistics.median(w for w, _ in runs)
        alloc_s = statistics.median(e for _, e in runs)
        over = statistics.median(w - e for w, e in runs)
        print(f"{name:24} {wall:8.3f} {alloc_s:12.3f} {1000 * over:12.1f}")


if __name__ == "__main__":
    main()
