#!/usr/bin/env bash
# Compare snn-place's allocators with METIS, KaHIP and Mt-KaHyPar on generated nets; prints markdown.
#
#   bash benches/anchors/run.sh [--large] [--more] [--allocators LIST] [--timeout SECONDS]
#
#   --large            also place `snn-place gen layered --blocks 97983 --seed 1` (766 chips; slow)
#   --more             also the hop table (steiner.py: Mt-KaHyPar's Steiner-tree mapping against
#                      `portfolio` and `--objective hops`) and the multicast table (multicast.py:
#                      Mt-KaHyPar's KM1 partition against `portfolio --traffic multicast`) of the
#                      three small nets, on 4 x 8, 4 x 8 and 16 x 8 chip meshes
#   --allocators LIST  snn-place allocators, comma-separated, each may carry flags
#                      (default: anchors.py's "greedy-interchip,metis,metis --refine fm,portfolio")
#   --timeout SECONDS  stop any external partitioner that runs longer (default: none)
#
# Sets up benches/anchors/.venv (python3 -m venv; pip install numpy kahip mtkahypar pymetis) if
# needed, builds snn-place (cargo build --release --locked), generates the nets in a temporary
# folder and runs anchors.py on each. Tables go to standard output, progress to standard error.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="$here/.venv"
py="$venv/bin/python"
exe="$root/target/release/snn-place"

large=0
more=0
extra=()
while [ $# -gt 0 ]; do
    case "$1" in
        --large) large=1 ;;
        --more) more=1 ;;
        --allocators|--timeout)
            [ $# -ge 2 ] || { echo "run.sh: $1 needs a value" >&2; exit 2; }
            extra+=("$1" "$2"); shift ;;
        -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "run.sh: unknown argument: $1 (try --help)" >&2; exit 2 ;;
    esac
    shift
done

say() { echo "run.sh: $*" >&2; }

# 1. Python environment. Each partitioner is installed on its own: one that fails to install is
#    noted here and its rows say "skipped" instead of stopping the benchmark.
if [ ! -x "$py" ]; then
    say "creating $venv"
    python3 -m venv "$venv"
fi
pip_log="$(mktemp)"
if ! "$py" -m pip install --quiet --disable-pip-version-check numpy >"$pip_log" 2>&1; then
    cat "$pip_log" >&2
    say "error: pip install numpy failed; anchors.py needs it"
    exit 1
fi
for pkg in pymetis kahip mtkahypar; do
    if ! "$py" -m pip install --quiet --disable-pip-version-check "$pkg" >"$pip_log" 2>&1; then
        say "warning: pip install $pkg failed, its rows will say skipped: $(grep -m1 -i error "$pip_log" || tail -n1 "$pip_log")"
    fi
done
rm -f "$pip_log"

# 2. snn-place, release build.
#    If the build fails but an older binary exists (others editing the tree), say so loudly in the
#    output header and use it.
say "building snn-place (cargo build --release --locked)"
stale=""
if ! (cd "$root" && cargo build --release --locked >&2); then
    if [ -x "$exe" ]; then
        stale=", STALE BINARY: the build failed, using target/release/snn-place of $(date -u -r "$exe" '+%Y-%m-%d %H:%M UTC')"
        say "warning: cargo build failed; using the existing $exe"
    else
        say "error: cargo build failed and there is no $exe"
        exit 1
    fi
fi

# 3. Nets, in a temporary folder removed on exit.
tmp="$(mktemp -d "${TMPDIR:-/tmp}/anchors.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
"$exe" gen layered --blocks 3910 --seed 1 -o "$tmp/layered.json"
"$exe" gen random --blocks 3900 --seed 1 -o "$tmp/random.json"
"$py" "$here/anchors.py" --gen-grid 25 -o "$tmp/grid.json"
nets=("$tmp/layered.json" "$tmp/random.json" "$tmp/grid.json")
if [ "$large" = 1 ]; then
    "$exe" gen layered --blocks 97983 --seed 1 -o "$tmp/large.json"
    nets+=("$tmp/large.json")  # anchors.py writes the board: a grid of >= 766 chips of 128 cores
fi

# 4. One table per net. Everything single-threaded.
cores="$(nproc)"  # before the export: GNU nproc honours OMP_NUM_THREADS
export OMP_NUM_THREADS=1 RAYON_NUM_THREADS=1 PYTHONDONTWRITEBYTECODE=1
commit="$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [ -n "$(git -C "$root" status --porcelain --untracked-files=no 2>/dev/null)" ]; then
    commit="$commit + uncommitted changes"
fi
echo "## snn-place anchors ($(date -u +%Y-%m-%d), snn-place $commit$stale, $(PYTHONPATH="$here" "$py" -c 'import anchors; print(anchors.tool_versions())' 2>/dev/null || echo 'tool versions unknown'); $cores cores, all single-threaded, seed 1)"
echo
for net in "${nets[@]}"; do
    "$py" "$here/anchors.py" "$net" --cap 128 --snn-place "$exe" ${extra[@]+"${extra[@]}"}
done
if [ "$more" = 1 ]; then
    for spec in "layered 4 8" "random 4 8" "grid 16 8"; do
        set -- $spec
        echo "### $1: hop-spikes on a $2 x $3 mesh"
        "$py" "$here/steiner.py" "$tmp/$1.json" --mesh "$2" "$3" --snn-place "$exe" \
            --allocators "portfolio,portfolio --objective hops"
        echo
        echo "### $1: multicast spikes"
        "$py" "$here/multicast.py" "$tmp/$1.json" --mesh "$2" "$3" --snn-place "$exe" \
            --allocators "metis --refine fm,portfolio"
        echo
    done
fi
