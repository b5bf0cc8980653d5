#!/bin/sh
# Measures the full-screen monitor while it analyses a paced speech file in tmux, at
# 80x24 and at 200x60, 60 s each: average CPU (% of one core), peak resident memory,
# and the time from the end of each analysis window's audio to the frame that showed
# its bars (from the monitor's --latency-log).
#   scripts/bench-monitor.sh                      release build, shipped model, 60 s
#   EMOTTY_BENCH_SECONDS=20 scripts/bench-monitor.sh
#   EMOTTY_BENCH_MODEL=tests/fixtures/test-model.onnx scripts/bench-monitor.sh
# Needs tmux (scripts/bootstrap.sh --test installs it).
set -eu
cd "$(dirname "$0")/.."
exec cargo bench --bench monitor
