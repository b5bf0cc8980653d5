#!/bin/sh
# emotty against what a user would otherwise run, side by side in one run:
# `emotty classify --jobs 1` and the peer Python pipeline (benches/peer/peer.py) on the
# same files, each pinned to one core (taskset -c 0), three alternating rounds. Prints
# every round's times and the median ratio. emotty is timed as a whole process; the peer
# both as a whole process and from after its imports (its own clock), and the ratio uses
# the latter, which favours the peer: Python's imports and librosa's JIT take seconds.
#
#   benches/peer/run.sh [CORPUS_DIR...]     default: ../shared/data/ravdess ../shared/data/tess
#   PEER_FILES=240          how many files, spread evenly over the sorted list
#   PEER_PYTHON=...         a Python that has benches/peer/requirements.txt (default: a
#                           venv made in benches/peer/.venv on first use)
#   PEER_MODELS="A.onnx B.onnx"   emotty models to time, each in every round (default:
#                           the default model), e.g. a window and a streaming model
set -eu
cd "$(dirname "$0")/../.."
PATH="$HOME/.cargo/bin:$PATH"
command -v taskset >/dev/null || { echo "peer/run.sh: needs taskset (util-linux)" >&2; exit 2; }
PY=${PEER_PYTHON:-benches/peer/.venv/bin/python}
if [ ! -x "$PY" ]; then
    python3 -m venv benches/peer/.venv
    PY=benches/peer/.venv/bin/python
    "$PY" -m pip install -q -r benches/peer/requirements.txt
fi
cargo build --release --locked --quiet
if [ "$#" -eq 0 ]; then set -- ../shared/data/ravdess ../shared/data/tess; fi
n=${PEER_FILES:-240}
list=target/peer-files.txt
find "$@" -type f \( -name '*.flac' -o -name '*.wav' \) | sort >target/peer-all.txt
total=$(wc -l <target/peer-all.txt)
[ "$total" -ge "$n" ] || { echo "peer/run.sh: $total files found, $n wanted" >&2; exit 2; }
awk -v n="$n" -v t="$total" 'NR == int((k * t) / n) + 1 { print; k++ }' target/peer-all.txt >"$list"
audio_s=$(xargs ./target/release/emotty classify --format json <"$list" \
    | sed -n 's/.*"duration_s":\([0-9.]*\).*/\1/p' | awk '{s += $1} END {printf "%.0f", s}')
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
# librosa compiles its kernels (numba) on first use and caches them: not timed.
head -n 2 "$list" | xargs "$PY" benches/peer/peer.py >/dev/null 2>&1
echo "$(wc -l <"$list") files, $audio_s s of audio; one core each, alternating"
models=${PEER_MODELS:-default}
# The peer slows down far more than emotty when other work shares the machine (on a
# loaded host its time doubled while emotty's did not): quote figures from an idle one.
load() { cut -d' ' -f1 /proc/loadavg; }
echo "load average (1 min) before: $(load)"
for round in 1 2 3; do
    line="$round"
    for m in $models; do
        if [ "$m" = default ]; then set --; else set -- --model "$m"; fi
        t0=$(now)
        xargs taskset -c 0 ./target/release/emotty classify --jobs 1 "$@" <"$list" >/dev/null
        t1=$(now)
        line="$line $(elapsed "$t0" "$t1")"
    done
    t0=$(now)
    inner=$(xargs taskset -c 0 "$PY" benches/peer/peer.py <"$list" 2>&1 >/dev/null \
        | sed -n 's/^peer: .* in \([0-9.]*\) s$/\1/p')
    t1=$(now)
    echo "$line $(elapsed "$t0" "$t1") $inner"
done | awk -v models="$models" '
function median(a, b, c) { return (a > b) ? ((b > c) ? b : ((a > c) ? c : a)) : ((a > c) ? a : ((b > c) ? c : b)) }
BEGIN { n = split(models, name, " ") }
{
    inner = $(n + 3); all = $(n + 2)
    printf "round %d:", $1
    for (i = 1; i <= n; i++) { r[i, NR] = inner / $(i + 1); printf " emotty (%s) %.2f s;", name[i], $(i + 1) }
    printf " peer %.2f s after its imports (%.2f s in all)\n", inner, all
} END {
    for (i = 1; i <= n; i++)
        printf "median: emotty (%s) is %.2f times as fast as the peer pipeline\n", name[i], median(r[i, 1], r[i, 2], r[i, 3])
}'
echo "load average (1 min) after: $(load)"
