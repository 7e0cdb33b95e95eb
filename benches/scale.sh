#!/usr/bin/env bash
# Scale runs (issue 9): generated nets of 100k, 300k and 1M blocks, placed by the release binary with
# greedy, greedy-interchip, metis and metis --refine fm, then emulated for 100 steps; wall seconds and
# peak resident memory from /usr/bin/time -v. Not run in CI: the 1M runs take minutes and gigabytes.
#
#   bash benches/scale.sh                      # layered nets of 100000 300000 1000000 blocks
#   KIND=random SIZES="100000" bash benches/scale.sh
#
# Environment: KIND (layered|random, default layered), SIZES (block counts), DIR (scratch folder for the
# nets, boards and placements, default /tmp/snn-scale; never inside the repository), LIMIT (seconds per
# run before it is stopped, default 1800), REPEAT_BELOW (runs on nets up to this many blocks are timed
# twice and the lower time kept, default 100000), STEPS (emulated timesteps, default 100).
# Prints one markdown table row per run and writes them to $DIR/scale-$KIND.md.
set -euo pipefail

KIND=${KIND:-layered}
SIZES=${SIZES:-"100000 300000 1000000"}
DIR=${DIR:-/tmp/snn-scale}
LIMIT=${LIMIT:-1800}
REPEAT_BELOW=${REPEAT_BELOW:-100000}
STEPS=${STEPS:-100}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=$CARGO_TARGET_DIR/release/snn-place

command -v /usr/bin/time >/dev/null || { echo "needs GNU time: apt-get install time" >&2; exit 1; }
mkdir -p "$DIR"
(cd "$ROOT" && cargo build --release --locked --quiet)

# Boards of Loihi chips (128 cores on an 8 x 4 tile mesh, Loihi's per-core limits; Loihi 2's limits are
# not sourced yet): a Hala-Point-sized 36 x 32 mesh (1,152 chips, 147,456 cores) for nets it holds, and a
# 100 x 100 mesh (10,000 chips, 1,280,000 cores) for larger ones. Pohoiki Springs (98,304 cores) holds
# neither 300k nor 1M blocks.
board() {
  local name=$1 x=$2 y=$3
  printf '{"format": "snn-topology/1", "name": "%s",\n "chips": {"x": %d, "y": %d},\n "tiles": {"x": 8, "y": 4},\n "cores_per_tile": 4,\n "core": {"compartments": 1024, "in_axons": 4096, "out_axons": 4096, "synapse_bits": 1048576}}\n' \
    "$name" "$x" "$y" >"$DIR/$name.json"
}
board hala-36x32 36 32
board mesh-100x100 100 100

OUT=$DIR/scale-$KIND.md
echo "| blocks | edges | file MB | board | step | wall s | peak MiB | allocator s | inter-chip spikes/step |" | tee "$OUT"
echo "| ---: | ---: | ---: | --- | --- | ---: | ---: | ---: | ---: |" | tee -a "$OUT"

# measure LABEL ARGS...: runs the binary (twice on small nets, the lower wall time kept), sets WALL, RSS
# (MiB, of the kept run) and REPORT (its JSON report, or empty when it was stopped at $LIMIT).
measure() {
  local label=$1
  shift
  local runs=1 best=""
  [ "$N" -le "$REPEAT_BELOW" ] && runs=2
  for _ in $(seq "$runs"); do
    local rc=0
    timeout "$LIMIT" /usr/bin/time -v -o "$DIR/time.txt" "$BIN" "$@" --json >"$DIR/report.json" 2>"$DIR/stderr.txt" || rc=$?
    if [ "$rc" -ne 0 ]; then
      echo "$label: exit $rc (stopped after ${LIMIT} s if 124): $(tail -n 2 "$DIR/stderr.txt")" >&2
      WALL=">$LIMIT" RSS="-" REPORT=""
      return
    fi
    local wall rss
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; print s}' "$DIR/time.txt")
    rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2 / 1024}' "$DIR/time.txt")
    if [ -z "$best" ] || awk -v a="$wall" -v b="$best" 'BEGIN {exit !(a < b)}'; then
      best=$wall WALL=$wall RSS=$rss REPORT=$(cat "$DIR/report.json")
    fi
  done
}

field() { python3 -c 'import json, sys; r = json.loads(sys.argv[1]); v = r; [v := v[k] for k in sys.argv[2].split(".")]; print(v)' "$REPORT" "$1"; }

row() {
  local step=$1 alloc_s=$2 inter=$3
  printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$N" "$EDGES" "$MB" "$BOARD" "$step" "$WALL" "$RSS" "$alloc_s" "$inter" | tee -a "$OUT"
}

for N in $SIZES; do
  NET=$DIR/$KIND-$N.json
  [ -s "$NET" ] || "$BIN" gen "$KIND" --blocks "$N" --seed 1 -o "$NET"
  MB=$(awk -v b="$(stat -L -c %s "$NET")" 'BEGIN {printf "%.0f", b / 1e6}')
  if [ "$N" -le 147000 ]; then BOARD=hala-36x32; else BOARD=mesh-100x100; fi
  TOPO=$DIR/$BOARD.json

  # Reading and validating alone: greedy's wall time minus its allocator seconds (greedy is a single pass
  # over the blocks; what is left is reading, validating, the metrics and printing the report).
  measure greedy -a greedy -t "$TOPO" --out "$DIR/p-greedy.json" "$NET"
  EDGES=$(field edges)
  G=$(field elapsed_s)
  row greedy "$(printf '%.2f' "$G")" "$(printf '%.0f' "$(field interchip_spikes)")"
  READ=$(awk -v w="$WALL" -v g="$G" 'BEGIN {printf "%.2f", w - g}')
  WALL=$READ row "read + validate (greedy wall - allocator s)" - -

  for alloc in greedy-interchip metis "metis --refine fm"; do
    # shellcheck disable=SC2086 # $alloc holds the allocator and its refiner as separate words
    measure "$alloc" -a $alloc -t "$TOPO" --out "$DIR/p-${alloc// /}.json" "$NET"
    if [ -n "$REPORT" ]; then
      row "\`$alloc\`" "$(printf '%.2f' "$(field elapsed_s)")" "$(printf '%.0f' "$(field interchip_spikes)")"
    else
      row "\`$alloc\`" - -
    fi
  done

  # The emulator on metis --refine fm's placement (greedy's when that run was stopped).
  P=$DIR/p-metis--refinefm.json
  [ -s "$P" ] || P=$DIR/p-greedy.json
  measure emulate emulate "$NET" --placement "$P" -t "$TOPO" --steps "$STEPS"
  if [ -n "$REPORT" ]; then
    row "emulate $STEPS steps ($(field allocator))" - "$(printf "%.0f" "$(field interchip_spikes)")"
  else
    row "emulate $STEPS steps" - -
  fi
  rm -f "$DIR"/p-*.json
done
