#!/bin/sh
# Reproduces the shipped model from the data: features from the engine, 5-fold
# speaker-independent CV of our model and the baselines, TESS cross-speaker runs, the
# final model on all of the data, and the model card's tables.
#
#   training/reproduce.sh                    everything (a few hours on 2 cores)
#   STEPS="features cv" training/reproduce.sh    only some steps
#   DATA=/path/to/shared/data EXTRA_DATA="~/recordings" training/reproduce.sh
#
# Steps already done are kept (results/*.json are resumed fold by fold); delete
# training/work/ to start over.
set -eu
cd "$(dirname "$0")/.."
REPO=$(pwd)
DATA=${DATA:-$REPO/../shared/data}
EXTRA_DATA=${EXTRA_DATA:-}
STEPS=${STEPS:-"env build features cv cross final report"}
JOBS=${JOBS:-2}
PATH="$HOME/.cargo/bin:$PATH"
PY=$REPO/training/.venv/bin/python
WORK=$REPO/training/work

# The front end the model is trained on: the engine's default MFCCs plus the pitch track.
FRONTEND='{"sample_rate":16000,"n_fft":512,"win_length":400,"hop_length":160,"n_mels":40,"n_mfcc":40,"fmin":0.0,"fmax":8000.0,"features":"mfcc","pitch":true}'
# Our model's training settings, chosen on the validation actors (training/README.md).
OURS="--cmn all --epochs 100 --swa 25 --channels 128 --hidden 96 --strides 2,2,2"

has() { case " $STEPS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
run() { (cd "$REPO/training" && PYTHONPATH=. PYTHONUNBUFFERED=1 "$PY" -W ignore -m emotty_train.run "$@"); }

if has env && [ ! -x "$PY" ]; then
    python3 -m venv "$REPO/training/.venv"
    "$PY" -m pip install -q -r "$REPO/training/requirements.txt"
fi
if has build; then
    cargo build --release --locked
fi
mkdir -p "$WORK"
if has features && [ ! -f "$WORK/features.npz" ]; then
    # shellcheck disable=SC2086
    "$REPO/target/release/emotty" features "$DATA/ravdess" "$DATA/tess" $EXTRA_DATA \
        --frontend "$FRONTEND" --augment 6 --seed 1 --out "$WORK/features.npz"
fi
if has cv; then
    # shellcheck disable=SC2086
    run cv --model ours $OURS --jobs "$JOBS"
    for m in lstm128-dense lstm64x2-mean lstm64x2-seq mean-std-mlp; do
        run cv --model "$m" --jobs "$JOBS"
    done
fi
if has cross; then
    # shellcheck disable=SC2086
    run cross --model ours $OURS
    for m in lstm128-dense lstm64x2-mean lstm64x2-seq mean-std-mlp; do
        run cross --model "$m"
    done
fi
if has final; then
    # shellcheck disable=SC2086
    run final $OURS --out "$REPO/models/emotty.onnx"
fi
if has report; then
    run report | tee "$WORK/results/report.md"
fi
