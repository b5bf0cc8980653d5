#!/bin/sh
# Prints the engine's speed and memory figures against the floors of the engine issue,
# all measured in one run on one core (taskset -c 0), so the ratios compare like with like.
#
#   benches/report.sh [CORPUS_DIR...]     default corpora: ../shared/data/ravdess ../shared/data/tess
#
# 1. criterion: front end per frame, inference per 3 s window (shipped model, and the
#    seeded test model for comparison), the whole classify pipeline on the 8 fixture
#    sentences; figures are criterion's mean estimates.
# 2. `emotty classify --jobs 1` over every clip of the corpora: wall time, real-time
#    factor (seconds of audio per second of wall time) and peak resident memory.
# 3. the share of CPU 0's time the hypervisor stole during each part, so that a slow
#    run on a shared VM can be told from a slow engine.
#
# Machines here are noisy: run it on an otherwise idle machine, and read the figures as
# one run's, not as a guarantee. Timed unit tests are deliberately not used.
set -eu
cd "$(dirname "$0")/.."
PATH="$HOME/.cargo/bin:$PATH"

command -v taskset >/dev/null || { echo "report.sh: needs taskset (util-linux)" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "report.sh: needs GNU time (apt-get install time)" >&2; exit 2; }
[ -f models/emotty.onnx ] || { echo "report.sh: models/emotty.onnx is missing" >&2; exit 2; }

one="taskset -c 0"
# Share of CPU 0's time the hypervisor gave to other guests ("steal" in /proc/stat)
# since the last mark: on a shared VM the figures are only as good as this is small.
steal_mark() { awk '/^cpu0 / {t = 0; for (i = 2; i <= 9; i++) t += $i; print $9, t}' /proc/stat; }
steal_since() {
    # shellcheck disable=SC2046,SC2086
    set -- $1 $(steal_mark)
    awk -v s="$(($3 - $1))" -v t="$(($4 - $2))" 'BEGIN { printf "%.0f", (t > 0 ? 100 * s / t : 0) }'
}
cargo build --release --locked --quiet
# Build the benches on every core first: under taskset the first build of a fresh
# checkout compiles tract with LTO on one core (over half an hour instead of 10 minutes).
cargo bench --locked --quiet --no-run --bench frontend --bench model --bench pipeline
mark=$(steal_mark)
$one cargo bench --locked --quiet --bench frontend --bench model --bench pipeline -- --noplot \
    >target/bench-report.log 2>&1 || { cat target/bench-report.log; exit 1; }

steal_bench=$(steal_since "$mark")

# criterion's mean point estimate in nanoseconds.
mean_ns() {
    sed -n 's/.*"mean":{"confidence_interval":{[^}]*},"point_estimate":\([0-9.e+-]*\).*/\1/p' \
        "target/criterion/$1/new/estimates.json"
}

# An empty figure would print as 0 or inf: stop instead.
need() { [ -n "$1" ] || { echo "report.sh: no criterion estimate for $2" >&2; exit 1; }; }
fe=$(mean_ns "frontend/Mfcc_one_frame_per_push_of_one_hop")
inf=$(mean_ns "model_predict/shipped/300")
inf_test=$(mean_ns "model_predict/test/300")
pipe=$(mean_ns "pipeline/classify-8-clips-shipped")
need "$fe" frontend; need "$inf" "shipped model"; need "$inf_test" "test model"; need "$pipe" pipeline
# Seconds of audio in the 8 fixture sentences (what one pipeline iteration analyses).
fixture_json=$(./target/release/emotty classify --format json tests/fixtures/corpus/*/*/*.flac)
fixture_s=$(echo "$fixture_json" | sed -n 's/.*"duration_s":\([0-9.]*\).*/\1/p' | awk '{s += $1} END {printf "%.3f", s}')
# Windows the model ran on in one pipeline iteration, to show inference's share of it.
fixture_w=$(echo "$fixture_json" | sed -n 's/.*"windows":\([0-9]*\).*/\1/p' | awk '{s += $1} END {print s}')

if [ "$#" -eq 0 ]; then set -- ../shared/data/ravdess ../shared/data/tess; fi
list=target/bench-corpus.txt
find "$@" -type f \( -name '*.flac' -o -name '*.wav' -o -name '*.aiff' \) | sort >"$list"
clips=$(wc -l <"$list")
out=target/bench-corpus.jsonl
mark=$(steal_mark)
# shellcheck disable=SC2046
$one /usr/bin/time -f '%e %M' -o target/bench-time.txt \
    ./target/release/emotty classify --jobs 1 --format json $(cat "$list") >"$out" || true
steal_corpus=$(steal_since "$mark")
read -r wall rss_kib <target/bench-time.txt
audio_s=$(sed -n 's/.*"duration_s":\([0-9.]*\).*/\1/p' "$out" | awk '{s += $1} END {printf "%.1f", s}')

awk -v day="$(date +%F)" -v fe="$fe" -v inf="$inf" -v inf_test="$inf_test" -v pipe="$pipe" -v fs="$fixture_s" -v fw="$fixture_w" \
    -v wall="$wall" -v rss="$rss_kib" -v audio="$audio_s" -v clips="$clips" \
    -v steal_bench="$steal_bench" -v steal_corpus="$steal_corpus" 'BEGIN {
    printf "emotty speed and memory, one core (taskset -c 0), %s\n\n", day
    printf "%-52s %12s %12s\n", "figure", "measured", "floor"
    printf "%-52s %9.2f us %9s us\n", "front end per 10 ms frame (MFCC)", fe / 1e3, "<= 3"
    printf "%-52s %9.2f ms %9s ms\n", "inference per 3 s window, shipped model", inf / 1e6, "<= 5"
    printf "%-52s %9.2f ms %12s\n", "inference per 3 s window, seeded test model", inf_test / 1e6, "-"
    printf "%-52s %10.0f x %10s x\n", "classify pipeline, 8 fixture clips (" fs " s)", fs / (pipe / 1e9), ">= 500"
    printf "%-52s %10.0f %% %12s\n", "  of which inference (" fw " windows x inference)", 100 * fw * inf / pipe, "-"
    printf "%-52s %10.0f x %12s\n", "  the same pipeline without inference (derived)", fs / ((pipe - fw * inf) / 1e9), "-"
    printf "%-52s %10.0f x %10s x\n", "classify, " clips " corpus clips (" audio " s), wall " wall " s", audio / wall, ">= 500"
    printf "%-52s %9.1f MB %9s MB\n", "classify peak resident memory over the corpus", rss / 1024, "<= 100"
    printf "\nCPU 0 time stolen by the hypervisor: %s %% during criterion, %s %% during the corpus run\n", steal_bench, steal_corpus
}'

# emotty against the typical Python pipeline, same files, one core each (benches/peer/).
echo
sh benches/peer/run.sh "$@"
