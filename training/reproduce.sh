#!/bin/sh
# Reproduces the shipped model from the data: features from the engine, 5-fold
# speaker-independent CV of our model and the baselines, TESS cross-speaker runs,
# leave-one-corpus-out runs, the final model on all of the data, and the model card's
# tables.
#
#   training/reproduce.sh                    everything (a few hours on 2 cores)
#   STEPS="features cv" training/reproduce.sh    only some steps
#   DATA=/path/to/shared/data EXTRA_DATA="~/recordings" training/reproduce.sh
#   NEMO=/path/to/nEMO training/reproduce.sh     nEMO from elsewhere (default: training/work/corpora/nemo)
#
# Steps already done are kept (results/*.json are resumed fold by fold); delete
# training/work/ to start over.
set -eu
cd "$(dirname "$0")/.."
REPO=$(pwd)
DATA=${DATA:-$REPO/../shared/data}
EXTRA_DATA=${EXTRA_DATA:-}
NEMO=${NEMO:-$REPO/training/work/corpora/nemo}
STEPS=${STEPS:-"env build nemo features cv cross loco final report"}
JOBS=${JOBS:-2}
PATH="$HOME/.cargo/bin:$PATH"
PY=$REPO/training/.venv/bin/python
WORK=$REPO/training/work

# The front end the model is trained on: the engine's default MFCCs plus the pitch track.
FRONTEND='{"sample_rate":16000,"n_fft":512,"win_length":400,"hop_length":160,"n_mels":40,"n_mfcc":40,"fmin":0.0,"fmax":8000.0,"features":"mfcc","pitch":true}'
# Our model's training settings, chosen on the validation actors (training/README.md).
OURS="--cmn all --epochs 100 --swa 25 --channels 128 --hidden 96 --strides 2,2,2 --exclude nemo"
# The generalisation runs (training/RESULTS.md, "The generalisation protocol"): nEMO in
# training, the loss restricted to each corpus's classes, 0.5-3 s crops, the arousal and
# valence head, draws per corpus. Tagged, so they sit beside the shipped model's runs.
GEN="--cmn all --epochs 100 --swa 25 --channels 128 --hidden 96 --strides 2,2,2 --shares ravdess=0.6,nemo=0.3,tess=0.1 --min-crop 50 --affect-weight 0.5 --val-every 10 --tag=-b"

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
if has nemo && [ ! -d "$NEMO/samples" ]; then
    # nEMO (CC BY-NC-SA 4.0) is about 500 MB: never committed, fetched at a fixed commit.
    git clone -q https://github.com/amu-cai/nEMO "$NEMO"
    git -C "$NEMO" checkout -q 66de999
fi
if has features && [ ! -f "$WORK/features.npz" ]; then
    # shellcheck disable=SC2086
    "$REPO/target/release/emotty" features "$DATA/ravdess" "$DATA/tess" "$NEMO" $EXTRA_DATA \
        --frontend "$FRONTEND" --augment 6 --seed 1 --out "$WORK/features.npz"
fi
if has cv; then
    # shellcheck disable=SC2086
    run cv --model ours $OURS --jobs "$JOBS"
    # shellcheck disable=SC2086
    run cv --model ours $GEN --jobs "$JOBS"
    for m in lstm128-dense lstm64x2-mean lstm64x2-seq mean-std-mlp; do
        run cv --model "$m" --exclude nemo --jobs "$JOBS"
    done
fi
if has cross; then
    # shellcheck disable=SC2086
    run cross --model ours $OURS
    # shellcheck disable=SC2086
    run cross --model ours $GEN
    for m in lstm128-dense lstm64x2-mean lstm64x2-seq mean-std-mlp; do
        run cross --model "$m" --exclude nemo
    done
fi
if has loco; then
    # shellcheck disable=SC2086
    run loco $GEN --jobs "$JOBS"
fi
if has final; then
    # shellcheck disable=SC2086
    run final $OURS --out "$REPO/models/emotty.onnx"
fi
if has report; then
    run report | tee "$WORK/results/report.md"
fi
