"""The protocol: speaker-independent folds, per corpus, for our model and the baselines.

    python -m emotty_train.run cv    --features F.npz --model ours
    python -m emotty_train.run cross --features F.npz --model ours
    python -m emotty_train.run final --features F.npz --out ../models/emotty.onnx
    python -m emotty_train.run report

(run from training/, see training/README.md). Results go to training/work/results/*.json.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from .data import (
    LABELS,
    RAVDESS_FOLDS,
    FeatureSet,
    actor,
    index_tess_words,
    tess_word_fold,
    uar,
    validation_actors,
)
from .export import REPO, emotty_eval, export_onnx, metadata
from .models import DESCRIPTIONS, MODELS
from .train import Config, predict_clips, train_model

WORK = REPO / "training" / "work"
RESULTS = WORK / "results"


def split_fold(fs: FeatureSet, k: int):
    """Train / validation / test instances for RAVDESS fold k (and TESS word fold k)."""
    test_actors = set(RAVDESS_FOLDS[k])
    val_actors = set(validation_actors(k))
    train, val, test = [], [], []
    for inst in fs.instances:
        a = actor(inst)
        if a is not None:
            if a in test_actors:
                test.append(inst)
            elif a in val_actors:
                val.append(inst)
            else:
                train.append(inst)
        elif inst.corpus == "tess":
            (test if tess_word_fold(inst.path) == k else train).append(inst)
        else:
            train.append(inst)
    return train, val, test


def scores_from_eval(report: dict, corpus: str) -> dict | None:
    c = report["corpora"].get(corpus)
    if c is None:
        return None
    return {
        "clips": c["clips"],
        "no_speech": c["no_speech"],
        "accuracy": c["accuracy"],
        "uar": c["uar"],
        "macro_f1": c["macro_f1"],
        "recall": c["recall"],
        "confusion": c["confusion"],
    }


def test_files(insts) -> dict[str, list[str]]:
    files: dict[str, list[str]] = {}
    for i in insts:
        if i.variant == 0:
            files.setdefault(i.corpus, []).append(i.path)
    return files


def evaluate(model, fs: FeatureSet, test, onnx_path: Path, name: str, train_info: dict) -> dict:
    meta = metadata(
        fs.frontend,
        name=name,
        version="fold",
        description=f"cross-validation fold model ({name}); not for shipping",
        training_data="fold training split",
        metrics={},
    )
    export_onnx(model, fs.dim, onnx_path, meta)
    out = {"train": train_info, "onnx_bytes": onnx_path.stat().st_size}
    if getattr(fs, "speaker_normed", False):
        # Experiment only: the engine does not normalise per speaker, so only the Python
        # replica of its windowing can score this.
        for corpus in test_files(test):
            clean = [i for i in test if i.variant == 0 and i.corpus == corpus]
            u = uar(np.array([i.label for i in clean]), predict_clips(model, fs, clean))
            out[corpus] = {"uar": u, "python_uar": u, "accuracy": float("nan")}
        return out
    for corpus, files in test_files(test).items():
        report = emotty_eval(onnx_path, files)
        out[corpus] = scores_from_eval(report, corpus)
        # Cross-check: the Python replica of the engine's windowing should agree closely.
        clean = [i for i in test if i.variant == 0 and i.corpus == corpus]
        preds = predict_clips(model, fs, clean)
        out[corpus]["python_uar"] = uar(np.array([i.label for i in clean]), preds)
    return out


def make_config(args, model: str | None = None, **overrides) -> Config:
    """The training settings the command line asks for. Baselines train as published:
    no augmentation, no SpecAugment, no mixup, best validation epoch."""
    model = model or args.model
    ours = model == "ours"
    cfg = Config(
        model=model,
        augment=ours and not args.no_augment,
        spec_augment=ours and not args.no_augment,
        epochs=args.epochs,
        steps_per_epoch=args.steps,
        seed=args.seed,
        swa=args.swa if ours else 0,
        mixup=args.mixup if ours else 0.0,
        arch={"cmn": args.cmn, "channels": args.channels, "hidden": args.hidden, "strides": args.strides}
        | ({"rnn": args.rnn} if args.rnn != "lstm" else {})
        if ours
        else {},
        ravdess_share=args.ravdess_share,
    )
    for k, v in overrides.items():
        setattr(cfg, k, v)
    return cfg


_FS: FeatureSet | None = None


def speaker_normalise(fs: FeatureSet) -> None:
    """Experiment: subtract each (speaker, variant)'s mean feature vector over its speech
    frames, as a session-long running mean would in the live engine."""
    groups: dict[tuple[str, int], list[int]] = {}
    for inst in fs.instances:
        groups.setdefault((inst.speaker, inst.variant), []).append(inst.row)
    for rows in groups.values():
        frames = np.concatenate([fs.frames(r)[fs.speech_flags(r)] for r in rows])
        mean = frames.mean(0)
        for r in rows:
            fs.features[fs.offsets[r] : fs.offsets[r + 1]] -= mean
    fs.speaker_normed = True


def _cv_fold(job):
    """One fold, in a worker process (the archive is shared copy-on-write after fork)."""
    args, k = job
    fs = _FS
    train, val, test = split_fold(fs, k)
    print(f"fold {k}: train {len(train)} rows, val {len(val)}, test {len(test)}; model {args.model}", flush=True)
    cfg = make_config(args)
    model, info = train_model(fs, train, val, cfg, verbose=args.jobs == 1)
    info["log"] = cfg.log
    info["config"] = {k2: v for k2, v in vars(cfg).items() if k2 != "log"}
    r = evaluate(model, fs, test, WORK / "folds" / f"{args.model}{args.tag}-fold{k}.onnx", f"{args.model}-fold{k}", info)
    print(f"fold {k}: val UAR {info['val_uar']:.3f}; test RAVDESS UAR {r['ravdess']['uar']:.3f} "
          f"(python {r['ravdess']['python_uar']:.3f}), TESS acc {r['tess']['accuracy']:.3f}", flush=True)
    return k, r


def cmd_cv(args):
    global _FS
    fs = FeatureSet(args.features)
    index_tess_words(fs)
    if args.speaker_norm:
        speaker_normalise(fs)
    _FS = fs
    folds = [int(f) for f in args.folds.split(",")]
    results = {"model": args.model, "description": DESCRIPTIONS[args.model], "features": args.features, "folds": {}}
    out_path = RESULTS / f"cv-{args.model}{args.tag}.json"
    if out_path.exists() and not args.fresh:
        results = json.loads(out_path.read_text())
    todo = [k for k in folds if str(k) not in results["folds"]]
    for k in set(folds) - set(todo):
        print(f"fold {k}: done already", flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    if args.jobs > 1 and len(todo) > 1:
        import multiprocessing as mp

        with mp.get_context("fork").Pool(min(args.jobs, len(todo))) as pool:
            for k, r in pool.imap_unordered(_cv_fold, [(args, k) for k in todo]):
                results["folds"][str(k)] = r
                out_path.write_text(json.dumps(results, indent=1))
    else:
        for k in todo:
            _, r = _cv_fold((args, k))
            results["folds"][str(k)] = r
            out_path.write_text(json.dumps(results, indent=1))
    results["folds"] = dict(sorted(results["folds"].items()))
    summarize(results)
    out_path.write_text(json.dumps(results, indent=1))


def cmd_cross(args):
    """TESS cross-speaker: train on RAVDESS and one TESS speaker, test on the other."""
    fs = FeatureSet(args.features)
    out_path = RESULTS / f"cross-{args.model}{args.tag}.json"
    results = json.loads(out_path.read_text()) if out_path.exists() and not args.fresh else {"model": args.model, "runs": {}}
    val_actors = set(validation_actors(len(RAVDESS_FOLDS) - 1))
    for held in ("tess:OAF", "tess:YAF"):
        if held in results["runs"]:
            continue
        train, val, test = [], [], []
        for inst in fs.instances:
            a = actor(inst)
            if a is not None:
                (val if a in val_actors else train).append(inst)
            elif inst.speaker == held:
                test.append(inst)
            else:
                train.append(inst)
        cfg = make_config(args)
        print(f"cross-speaker, test {held}: train {len(train)} rows", flush=True)
        model, info = train_model(fs, train, val, cfg)
        r = evaluate(model, fs, test, WORK / "folds" / f"{args.model}{args.tag}-cross-{held[5:]}.onnx", f"{args.model}-cross", info)
        results["runs"][held] = r
        print(f"test {held}: accuracy {r['tess']['accuracy']:.3f}, UAR {r['tess']['uar']:.3f}", flush=True)
        RESULTS.mkdir(parents=True, exist_ok=True)
        out_path.write_text(json.dumps(results, indent=1))


def mean_std(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"mean": statistics.fmean(values), "std": statistics.pstdev(values) if len(values) > 1 else 0.0, "n": len(values)}


def summarize(results: dict) -> dict:
    folds = results["folds"].values()
    summary = {}
    for corpus in ("ravdess", "tess"):
        rows = [f[corpus] for f in folds if f.get(corpus)]
        if not rows:
            continue
        summary[corpus] = {m: mean_std([r[m] for r in rows]) for m in ("accuracy", "uar", "macro_f1")}
        summary[corpus]["recall"] = {
            l: mean_std([r["recall"][l] for r in rows if r["recall"][l] is not None]) for l in LABELS
        }
        n = len(LABELS) + 1
        pooled = np.zeros((len(LABELS), n), int)
        for r in rows:
            pooled += np.array(r["confusion"])
        summary[corpus]["confusion"] = pooled.tolist()
        s = summary[corpus]
        print(f"{results['model']:>16} {corpus:8} UAR {s['uar']['mean']:.3f} ± {s['uar']['std']:.3f}  "
              f"acc {s['accuracy']['mean']:.3f} ± {s['accuracy']['std']:.3f}  "
              f"F1 {s['macro_f1']['mean']:.3f}  ({s['uar']['n']} folds)")
    results["summary"] = summary
    return summary


def cmd_final(args):
    """Trains the shipped model on all of the data and exports it with the fold results.

    With weight averaging the number of epochs is fixed (`--epochs`); otherwise it is the
    median best epoch of the folds. The trained weights are kept in training/work/, so
    the model can be exported again (when more fold results are in) without retraining.
    """
    import torch

    fs = FeatureSet(args.features)
    cv_path = RESULTS / f"cv-ours{args.tag}.json"
    cv = json.loads(cv_path.read_text()) if cv_path.exists() else None
    if args.swa:
        epochs = args.epochs
    elif cv:
        epochs = int(round(statistics.median(f["train"]["best_epoch"] for f in cv["folds"].values())))
    else:
        raise SystemExit(f"{cv_path}: run `cv --model ours` first (it chooses the epochs)")
    cfg = make_config(args, epochs=epochs, patience=10**6)
    fingerprint = json.dumps({k: v for k, v in vars(cfg).items() if k != "log"}, sort_keys=True)
    cache = WORK / f"final{args.tag}.pt"
    model = MODELS["ours"](fs.dim, fs.n_mfcc, **cfg.arch)
    if cache.exists() and torch.load(cache)["config"] == fingerprint:
        model.load_state_dict(torch.load(cache)["state"])
        model.eval()
        print(f"final model: trained weights from {cache}", flush=True)
    else:
        print(f"final model: all {len(fs.instances)} rows, {epochs} epochs", flush=True)
        model, info = train_model(fs, fs.instances, [], cfg)
        torch.save({"config": fingerprint, "state": model.state_dict(), "info": info}, cache)
    metrics = {
        "protocol": "speaker-independent: RAVDESS 5 folds of 4 whole actors (2 male, 2 female), "
        "validation on 2 actors of the training folds; TESS within-speaker: 5 folds of 40 words; "
        "TESS cross-speaker: train on RAVDESS and one speaker, test the other; "
        "scored by emotty eval (VAD gating, windows, clip aggregation)",
    }
    if cv:
        summary = summarize(cv)
        metrics["ravdess_cv"] = {m: summary["ravdess"][m] for m in ("uar", "accuracy", "macro_f1")}
        metrics["ravdess_cv_recall"] = summary["ravdess"]["recall"]
        metrics["tess_within_speaker_cv"] = {m: summary["tess"][m] for m in ("uar", "accuracy", "macro_f1")}
    cross = RESULTS / f"cross-ours{args.tag}.json"
    if cross.exists():
        c = json.loads(cross.read_text())
        metrics["tess_cross_speaker"] = {
            k: {"accuracy": v["tess"]["accuracy"], "uar": v["tess"]["uar"]} for k, v in c["runs"].items()
        }
    baselines = {}
    for name in REPORT_ORDER[1:]:
        path = RESULTS / f"cv-{name}{args.tag}.json"
        if path.exists():
            baselines[name] = summarize(json.loads(path.read_text()))["ravdess"]["uar"]
    if baselines:
        metrics["baselines_ravdess_uar"] = baselines
    meta = metadata(
        fs.frontend,
        name="emotty-crnn",
        version=args.version,
        description=f"Speech emotion recognizer: Conv1d front end ({cfg.arch['channels']} channels, "
        f"{10 * math.prod(cfg.arch['strides'])} ms steps), bidirectional {cfg.arch.get('rnn', 'lstm').upper()}({cfg.arch['hidden']}), attention and "
        "mean pooling, over 40 MFCCs and a pitch track of 1-3 s windows. Trained with noise, reverb, speed, pitch, "
        "EQ and gain augmentation, SpecAugment and weight averaging.",
        training_data="RAVDESS speech actors 01-20 (CC BY-NC-SA 4.0) + TESS OAF/YAF (CC BY-NC-ND 4.0); "
        "non-commercial use only",
        metrics=metrics,
    )
    export_onnx(model, fs.dim, Path(args.out), meta)
    print(f"wrote {args.out} ({Path(args.out).stat().st_size} bytes)")


REPORT_ORDER = ["ours", "lstm128-dense", "lstm64x2-mean", "lstm64x2-seq", "mean-std-mlp"]


def fmt(ms: dict | None) -> str:
    return "–" if ms is None else f"{ms['mean']:.3f} ± {ms['std']:.3f}"


def cmd_report(args):
    """The model card's tables, in Markdown, from the results of `cv` and `cross`."""
    lines = [
        "| model | RAVDESS UAR | RAVDESS accuracy | RAVDESS macro-F1 | TESS within-speaker accuracy | "
        "TESS cross-speaker accuracy (test OAF / YAF) |",
        "|---|---|---|---|---|---|",
    ]
    cards = {}
    for name in REPORT_ORDER:
        path = RESULTS / f"cv-{name}{args.tag}.json"
        if not path.exists():
            continue
        cv = json.loads(path.read_text())
        s = summarize(cv)
        cross_path = RESULTS / f"cross-{name}{args.tag}.json"
        cross = "–"
        if cross_path.exists():
            runs = json.loads(cross_path.read_text())["runs"]
            cross = " / ".join(
                f"{runs[k]['tess']['accuracy']:.3f}" if k in runs else "–" for k in ("tess:OAF", "tess:YAF")
            )
        r, t = s.get("ravdess", {}), s.get("tess", {})
        lines.append(
            f"| {name}: {DESCRIPTIONS[name]} | {fmt(r.get('uar'))} | {fmt(r.get('accuracy'))} | "
            f"{fmt(r.get('macro_f1'))} | {fmt(t.get('accuracy'))} | {cross} |"
        )
        cards[name] = s
    print("\n".join(lines))
    ours = cards.get("ours")
    if ours:
        for corpus in ("ravdess", "tess"):
            c = ours.get(corpus)
            if not c:
                continue
            print(f"\nours, {corpus}: recall per class, mean ± std over folds\n")
            print("| " + " | ".join(LABELS) + " |")
            print("|" + "---|" * len(LABELS))
            print("| " + " | ".join(fmt(c["recall"][l]) for l in LABELS) + " |")
            print(f"\nours, {corpus}: confusion matrix pooled over the folds (rows: true, columns: predicted)\n")
            print("| | " + " | ".join(LABELS) + " | no speech |")
            print("|---|" + "---|" * (len(LABELS) + 1))
            for label, row in zip(LABELS, c["confusion"]):
                if sum(row):
                    print(f"| {label} | " + " | ".join(str(v) for v in row) + " |")
    (RESULTS / f"summary{args.tag}.json").write_text(json.dumps(cards, indent=1))
    print("\n" + development_runs())


def development_runs() -> str:
    """Every cross-validation run of our model kept in the results, with what it changed and
    both scores: the choice between runs was made on the validation actors' UAR; the test
    actors' UAR is shown so that anyone can see what the choice would have been on it."""
    lines = [
        "| run | settings | validation UAR (2 actors/fold) | test UAR (4 actors/fold) | folds |",
        "|---|---|---|---|---|",
    ]
    for path in sorted(RESULTS.glob("cv-ours*.json")):
        cv = json.loads(path.read_text())
        folds = list(cv["folds"].values())
        if not folds or "config" not in folds[0]["train"]:
            continue
        c = folds[0]["train"]["config"]
        arch = c.get("arch", {})
        settings = (
            f"{arch.get('channels')} ch, {arch.get('rnn', 'lstm').upper()} {arch.get('hidden')}, strides {arch.get('strides', [1, 2, 2])}, "
            f"CMN {arch.get('cmn')}, {c['epochs']} epochs, SWA {c['swa']}, mixup {c['mixup']}"
        )
        val = mean_std([f["train"]["val_uar"] for f in folds])
        test = mean_std([f["ravdess"]["uar"] for f in folds if f.get("ravdess")])
        lines.append(f"| {path.stem[3:]} | {settings} | {fmt(val)} | {fmt(test)} | {len(folds)} |")
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(prog="emotty_train.run")
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("cv", "cross", "final", "report"):
        s = sub.add_parser(name)
        s.add_argument("--features", default=str(WORK / "features.npz"))
        s.add_argument("--model", default="ours", choices=sorted(DESCRIPTIONS))
        s.add_argument("--folds", default="0,1,2,3,4")
        s.add_argument("--epochs", type=int, default=40)
        s.add_argument("--seed", type=int, default=1)
        s.add_argument("--tag", default="")
        s.add_argument("--fresh", action="store_true")
        s.add_argument("--no-augment", action="store_true")
        s.add_argument("--out", default=str(REPO / "models" / "emotty.onnx"))
        s.add_argument("--version", default="1.1.1")
        s.add_argument("--steps", type=int, default=60, help="training steps per epoch")
        s.add_argument("--jobs", type=int, default=1, help="folds trained in parallel (one core each)")
        s.add_argument("--swa", type=int, default=0, help="average the weights of the last N epochs")
        s.add_argument("--mixup", type=float, default=0.0, help="mixup Beta(a, a); 0 = off")
        s.add_argument("--cmn", default="all", choices=["all", "c0", "none"], help="per-window mean removal")
        s.add_argument("--channels", type=int, default=128)
        s.add_argument("--speaker-norm", action="store_true", help="experiment: per-speaker mean removal")
        s.add_argument("--ravdess-share", type=float, default=0.6)
        s.add_argument("--hidden", type=int, default=96)
        s.add_argument("--rnn", default="lstm", choices=["lstm", "gru"], help="recurrent cell of our model (gru: an experiment; the product is LSTM-based)")
        s.add_argument(
            "--strides",
            type=lambda v: tuple(int(x) for x in v.split(",")),
            default=(2, 2, 2),
            help="time strides of the three convolutions, e.g. 2,2,2 (80 ms LSTM steps)",
        )
    args = p.parse_args(argv)
    t0 = time.time()
    {"cv": cmd_cv, "cross": cmd_cross, "final": cmd_final, "report": cmd_report}[args.cmd](args)
    print(f"done in {time.time() - t0:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
