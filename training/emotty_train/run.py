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
    HIGH_AROUSAL,
    LOW_AROUSAL,
    NEMO_SPEAKERS,
    RAVDESS_FOLDS,
    CIRCUMPLEX,
    FeatureSet,
    actor,
    auc,
    expected_calibration_error,
    index_tess_words,
    restricted_predictions,
    tess_word_fold,
    uar,
    validation_actors,
    validation_speakers,
)
from .adapt import Prior
from .export import REPO, emotty_eval, export_onnx, metadata
from .models import DESCRIPTIONS, MODELS
from .train import Config, clip_outputs, predict_clips, train_model

WORK = REPO / "training" / "work"
RESULTS = WORK / "results"


def split_fold(fs: FeatureSet, k: int):
    """Train / validation / test instances for RAVDESS fold k (and TESS word fold k). nEMO,
    when the archive has it, trains in every fold but for one validation speaker; it is
    tested by leaving the whole corpus out (`loco`)."""
    test_actors = set(RAVDESS_FOLDS[k])
    val_speakers = validation_speakers(k)
    train, val, test = [], [], []
    for inst in fs.instances:
        a = actor(inst)
        if a is not None and a in test_actors:
            test.append(inst)
        elif inst.speaker in val_speakers:
            val.append(inst)
        elif inst.corpus == "tess":
            (test if tess_word_fold(inst.path) == k else train).append(inst)
        else:
            train.append(inst)
    return train, val, test


def split_loco(fs: FeatureSet, held: str):
    """Leave one corpus out: test on all of `held`, train on the rest, validate on the
    validation speakers of the last RAVDESS fold (actors 01 and 02, nEMO's WR0) that are in
    the training corpora."""
    val_speakers = validation_speakers(len(RAVDESS_FOLDS) - 1)
    train, val, test = [], [], []
    for inst in fs.instances:
        if inst.corpus == held:
            test.append(inst)
        elif inst.speaker in val_speakers:
            val.append(inst)
        else:
            train.append(inst)
    return train, val, test


def test_split(fs: FeatureSet, kind: str, key: str):
    """The test instances of a saved split and the split's name in fold file names:
    `cv K` (RAVDESS fold K, TESS by word as `cv` splits it) or `loco C` (corpus C left out)."""
    if kind == "cv":
        index_tess_words(fs)
        return split_fold(fs, int(key))[2], f"fold{key}"
    return split_loco(fs, key)[2], f"loco-{key}"


def scores_from_eval(report: dict, corpus: str) -> dict | None:
    c = report["corpora"].get(corpus)
    if c is None:
        return None
    return {
        # The model's labels in its order: the order of the confusion matrix.
        "labels": report["labels"],
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


def python_scores(model, fs: FeatureSet, test, temperature_before: float = 1.0) -> dict:
    """`corpus_scores` for each way the model can run: with per-stream adaptation, each
    clip as its own stream (the default, under the corpus's name), no adaptation
    (`<corpus>:off`) and each speaker's clips as one stream (`<corpus>:speaker`); without
    adaptation, once."""
    prior = getattr(model, "adapt_prior", None)
    if prior is None:
        return corpus_scores(model, fs, test, temperature_before)
    out = {}
    for mode, suffix in (("file", ""), (None, ":off"), ("speaker", ":speaker")):
        model.adapt_mode = mode
        for corpus, r in corpus_scores(model, fs, test, temperature_before).items():
            out[corpus + suffix] = r
    model.adapt_mode = "file"
    return out


def corpus_scores(model, fs: FeatureSet, test, temperature_before: float = 1.0) -> dict:
    """What the Python replica of the engine adds to `emotty eval`, per corpus: the UAR with
    the prediction restricted to the corpus's own classes, the arousal ranking (AUC of
    high- against low-arousal clips, from the arousal output where the model has one and
    from the probabilities placed on the circumplex), and the expected calibration error
    with and without the fitted temperature."""
    out = {}
    names = fs.label_names
    for corpus in sorted({i.corpus for i in test}):
        clean = [i for i in test if i.variant == 0 and i.corpus == corpus]
        truth = np.array([i.label for i in clean])
        probs, affect = clip_outputs(model, fs, clean)
        raw, _ = clip_outputs(model, fs, clean, temperature=temperature_before)
        classes = fs.corpus_classes[corpus]
        preds = np.array([-1 if np.isnan(p).any() else int(np.argmax(p)) for p in probs])
        high = np.isin(truth, [names.index(l) for l in HIGH_AROUSAL])
        low = np.isin(truth, [names.index(l) for l in LOW_AROUSAL])
        placed = probs @ np.array([CIRCUMPLEX[l][0] for l in names])
        r = {
            "python_uar": uar(truth, preds),
            "restricted_uar": uar(truth, restricted_predictions(probs, classes)),
            "classes": [names[c] for c in classes],
            "arousal_auc_from_probabilities": auc(placed[high & ~np.isnan(placed)], placed[low & ~np.isnan(placed)]),
            "ece": expected_calibration_error(probs, truth),
            "ece_before_temperature": expected_calibration_error(raw, truth),
        }
        if affect is not None:
            ar = affect[:, 0]
            r["arousal_auc"] = auc(ar[high & ~np.isnan(ar)], ar[low & ~np.isnan(ar)])
            va = affect[:, 1]
            pos, neg = np.isin(truth, [names.index("happy")]), np.isin(truth, [names.index(l) for l in ("sad", "angry", "fearful", "disgust")])
            r["valence_auc_happy"] = auc(va[pos & ~np.isnan(va)], va[neg & ~np.isnan(va)])
        out[corpus] = r
    return out


def evaluate(model, fs: FeatureSet, test, onnx_path: Path, name: str, train_info: dict) -> dict:
    """Scores a trained model on its test clips: exported and run by `emotty eval` (the
    product's own figures), and by the Python replica for what eval does not report. The
    weights are saved beside the ONNX file first, so a failed scoring can be redone
    (`rescore`) without training again."""
    import torch

    onnx_path.parent.mkdir(parents=True, exist_ok=True)
    prior = getattr(model, "adapt_prior", None)
    torch.save(
        {"state": model.state_dict(), "info": train_info, "adapt": prior.to_json() if prior else None},
        onnx_path.with_suffix(".pt"),
    )
    affect = getattr(model, "affect", None) is not None
    meta = metadata(
        fs.frontend,
        fs.schedule,
        fs.label_names,
        name=name,
        version="fold",
        description=f"cross-validation fold model ({name}); not for shipping",
        training_data="fold training split",
        metrics={},
        affect=affect,
        temperature=train_info.get("temperature"),
        adaptation=prior.to_json() if prior else None,
    )
    export_onnx(model, fs.dim, onnx_path, meta)
    out = {"train": train_info, "onnx_bytes": onnx_path.stat().st_size}
    replica = python_scores(model, fs, test)
    for corpus, files in test_files(test).items():
        try:
            report = emotty_eval(onnx_path, files, adapt="stream" if prior else None)
            out[corpus] = scores_from_eval(report, corpus)
        except RuntimeError as e:
            # The binary may predate the model's format; `rescore` fills this in later.
            out[corpus] = {"eval_error": str(e)[-500:]}
        out[corpus].update(replica[corpus])
    for key, r in replica.items():
        out.setdefault(key, r)
    return out


def make_config(args, model: str | None = None, split: str | None = None, **overrides) -> Config:
    """The training settings the command line asks for. Baselines train as published:
    no augmentation, no SpecAugment, no mixup, best validation epoch. `split` names the
    training split (`fold2`, `loco-nemo`) where a teacher is asked for: each split's
    student learns from the teacher trained on that same split, never one that heard
    its test speakers."""
    model = model or args.model
    teacher = ""
    if args.teacher:
        if split is None:
            raise SystemExit(f"--teacher: `{args.cmd}` does not train with a teacher (cv, loco, cross and final do)")
        if args.adversary:
            raise SystemExit("--teacher: not with --adversary (the adversary's loss has no teacher term)")
        teacher = args.teacher.format(split=split)
        for path in teacher.split(","):
            if not Path(path).is_file():
                raise SystemExit(f"--teacher: {path}: no such weights file")
    if args.adversary_given_class and not args.adversary:
        raise SystemExit("--adversary-given-class: needs --adversary W (there is no adversary to tell)")
    if args.ibn and args.causal:
        raise SystemExit("--ibn: not with --causal (instance normalisation reads the whole window)")
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
        | ({"causal": True} if args.causal else {})
        | ({"cepstra": args.cepstra} if args.cepstra else {})
        | ({"dropout": args.dropout} if args.dropout is not None else {})
        | ({"ibn": True} if args.ibn else {})
        | ({"pair": True} if args.pair else {})
        | ({"affect": True} if args.affect_weight > 0 else {})
        if ours
        else {},
        ravdess_share=args.ravdess_share,
        corpus_shares=parse_shares(args.shares),
        min_crop=args.min_crop,
        affect_weight=args.affect_weight if ours else 0.0,
        val_every=args.val_every,
        adapt=ours and args.adapt,
        adversary=args.adversary if ours else 0.0,
        adversary_given_class=ours and args.adversary_given_class,
        calm_within_neutral=ours and args.calm_within_neutral,
        voice_swap=args.voice_swap if ours else 0.0,
        context=args.context if ours else 0,
        teacher=teacher,
        distill=args.distill,
    )
    for k, v in overrides.items():
        setattr(cfg, k, v)
    return cfg


def load_features(args) -> FeatureSet:
    """The archive, without the corpora `--exclude` names (how 1.1.1, trained before nEMO,
    is reproduced from an archive that holds nEMO)."""
    fs = FeatureSet(args.features)
    drop = set(filter(None, args.exclude.split(",")))
    if drop:
        fs.instances = [i for i in fs.instances if i.corpus not in drop]
        fs.corpus_classes = {c: v for c, v in fs.corpus_classes.items() if c not in drop}
    return fs


def store(path: Path, section: str, key: str, value: dict, header: dict) -> dict:
    """Adds one fold or run to a results file and returns the file's whole content.

    Several `run` processes may train folds of the same run side by side (one core each);
    the file is read again and written under an exclusive lock, so none of them loses
    another's result."""
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        results = json.loads(path.read_text()) if path.exists() else dict(header, **{section: {}})
        results.setdefault(section, {})[key] = value
        tmp = path.with_suffix(".partial")
        tmp.write_text(json.dumps(results, indent=1))
        tmp.replace(path)
    return results


def parse_shares(text: str) -> dict:
    """`ravdess=0.45,nemo=0.4,tess=0.15` → a dict; empty text → {} (the old RAVDESS share)."""
    shares = {}
    for part in filter(None, text.split(",")):
        name, _, value = part.partition("=")
        shares[name.strip()] = float(value)
    return shares


_FS: FeatureSet | None = None


def record_config(info: dict, cfg: Config) -> None:
    """Keeps a run's training log and settings with its results and weights: the report
    reads the settings, and `load_weights` rebuilds the model (a teacher) from them."""
    info["log"] = cfg.log
    info["config"] = {k: v for k, v in vars(cfg).items() if k != "log"}


def _cv_fold(job):
    """One fold, in a worker process (the archive is shared copy-on-write after fork)."""
    args, k = job
    fs = _FS
    train, val, test = split_fold(fs, k)
    print(f"fold {k}: train {len(train)} rows, val {len(val)}, test {len(test)}; model {args.model}", flush=True)
    cfg = make_config(args, split=f"fold{k}")
    model, info = train_model(fs, train, val, cfg, verbose=args.jobs == 1)
    record_config(info, cfg)
    r = evaluate(model, fs, test, WORK / "folds" / f"{args.model}{args.tag}-fold{k}.onnx", f"{args.model}-fold{k}", info)
    rav, tess = r.get("ravdess", {}), r.get("tess", {})
    print(f"fold {k}: val UAR {info['val_uar']:.3f}; test RAVDESS UAR {rav.get('uar', float('nan')):.3f} "
          f"(python {rav.get('python_uar', float('nan')):.3f}), TESS acc {tess.get('accuracy', float('nan')):.3f}", flush=True)
    return k, r


def cmd_cv(args):
    global _FS
    fs = load_features(args)
    index_tess_words(fs)
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
                results = store(out_path, "folds", str(k), r, results)
    else:
        for k in todo:
            _, r = _cv_fold((args, k))
            results = store(out_path, "folds", str(k), r, results)
    results["folds"] = dict(sorted(results["folds"].items()))
    summarize(results)


def cmd_cross(args):
    """TESS cross-speaker: train on RAVDESS and one TESS speaker, test on the other."""
    fs = load_features(args)
    out_path = RESULTS / f"cross-{args.model}{args.tag}.json"
    results = json.loads(out_path.read_text()) if out_path.exists() and not args.fresh else {"model": args.model, "runs": {}}
    val_speakers = validation_speakers(len(RAVDESS_FOLDS) - 1)
    for held in args.held.split(","):
        if held in results["runs"]:
            continue
        train, val, test = [], [], []
        for inst in fs.instances:
            if inst.speaker in val_speakers:
                val.append(inst)
            elif inst.speaker == held:
                test.append(inst)
            else:
                train.append(inst)
        cfg = make_config(args, split=f"cross-{held[5:]}")
        print(f"cross-speaker, test {held}: train {len(train)} rows", flush=True)
        model, info = train_model(fs, train, val, cfg)
        record_config(info, cfg)
        r = evaluate(model, fs, test, WORK / "folds" / f"{args.model}{args.tag}-cross-{held[5:]}.onnx", f"{args.model}-cross", info)
        results = store(out_path, "runs", held, r, results)
        print(f"test {held}: accuracy {r['tess'].get('accuracy', float('nan')):.3f}, UAR {r['tess'].get('uar', float('nan')):.3f}", flush=True)


LOCO_CORPORA = ("ravdess", "tess", "nemo")


def _loco_run(job):
    args, held = job
    fs = _FS
    train, val, test = split_loco(fs, held)
    print(f"leave {held} out: train {len(train)} rows, val {len(val)}, test {len(test)}", flush=True)
    cfg = make_config(args, split=f"loco-{held}")
    model, info = train_model(fs, train, val, cfg, verbose=args.jobs == 1)
    record_config(info, cfg)
    r = evaluate(model, fs, test, WORK / "folds" / f"{args.model}{args.tag}-loco-{held}.onnx", f"{args.model}-loco", info)
    c = r[held]
    print(f"leave {held} out: UAR {c.get('uar', float('nan')):.3f}, restricted {c['restricted_uar']:.3f}, "
          f"arousal AUC {c.get('arousal_auc') or float('nan'):.3f}", flush=True)
    return held, r


def cmd_loco(args):
    """Leave one corpus out: train on all corpora but one, test on the whole left-out one
    (RAVDESS, TESS and nEMO in turn): how the model does on voices, a language and a
    recording setup it never heard."""
    global _FS
    fs = load_features(args)
    _FS = fs
    out_path = RESULTS / f"loco-{args.model}{args.tag}.json"
    results = json.loads(out_path.read_text()) if out_path.exists() and not args.fresh else {"model": args.model, "runs": {}}
    present = {i.corpus for i in fs.instances}
    todo = [c for c in args.corpora.split(",") if c in present and c not in results["runs"]]
    RESULTS.mkdir(parents=True, exist_ok=True)
    jobs = [(args, held) for held in todo]
    if args.jobs > 1 and len(jobs) > 1:
        import multiprocessing as mp

        with mp.get_context("fork").Pool(min(args.jobs, len(jobs))) as pool:
            for held, r in pool.imap_unordered(_loco_run, jobs):
                results = store(out_path, "runs", held, r, results)
    else:
        for job in jobs:
            held, r = _loco_run(job)
            results = store(out_path, "runs", held, r, results)


def cmd_rescore(args):
    """Scores saved fold models again with `emotty eval` (after the binary learned a new
    model format, say), without training: fills in every corpus entry of the results that
    holds an `eval_error`."""
    for path in sorted(RESULTS.glob(f"*-{args.model}{args.tag}.json")):
        results = json.loads(path.read_text())
        runs = results.get("folds") or results.get("runs") or {}
        kind = path.stem.split("-", 1)[0]
        changed = False
        fs = None
        for key, run in runs.items():
            for corpus, c in run.items():
                if not isinstance(c, dict) or "eval_error" not in c:
                    continue
                if fs is None:
                    fs = load_features(args)
                    index_tess_words(fs)
                if kind == "cv":
                    _, _, test = split_fold(fs, int(key))
                    onnx_path = WORK / "folds" / f"{args.model}{args.tag}-fold{key}.onnx"
                elif kind == "loco":
                    _, _, test = split_loco(fs, key)
                    onnx_path = WORK / "folds" / f"{args.model}{args.tag}-loco-{key}.onnx"
                else:
                    test = [i for i in fs.instances if i.speaker == key]
                    onnx_path = WORK / "folds" / f"{args.model}{args.tag}-cross-{key[5:]}.onnx"
                files = test_files(test)[corpus]
                # A model with adaptation is scored with it, each file its own stream.
                report = emotty_eval(onnx_path, files, adapt="stream" if f"{corpus}:off" in run else None)
                del c["eval_error"]
                c.update(scores_from_eval(report, corpus))
                changed = True
                print(f"{path.name} {key} {corpus}: UAR {c['uar']:.3f}", flush=True)
        if changed:
            path.write_text(json.dumps(results, indent=1))


def mean_std(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"mean": statistics.fmean(values), "std": statistics.pstdev(values) if len(values) > 1 else 0.0, "n": len(values)}


def summarize(results: dict) -> dict:
    folds = results["folds"].values()
    summary = {}
    for corpus in ("ravdess", "tess"):
        # A fold the engine has not scored yet (`eval_error`) waits for `rescore`.
        rows = [f[corpus] for f in folds if f.get(corpus) and "eval_error" not in f[corpus]]
        if not rows:
            continue
        summary[corpus] = {m: mean_std([r[m] for r in rows]) for m in ("accuracy", "uar", "macro_f1")}
        labels = rows[0]["labels"]
        if any(r["labels"] != labels for r in rows):
            raise ValueError(f"{results['model']}: the folds' models have different labels")
        summary[corpus]["labels"] = labels
        summary[corpus]["recall"] = {
            l: mean_std([r["recall"][l] for r in rows if r["recall"][l] is not None]) for l in labels
        }
        pooled = np.zeros((len(labels), len(labels) + 1), int)
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

    fs = load_features(args)
    cv_path = RESULTS / f"cv-ours{args.tag}.json"
    cv = json.loads(cv_path.read_text()) if cv_path.exists() else None
    if args.swa:
        epochs = args.epochs
    elif cv:
        epochs = int(round(statistics.median(f["train"]["best_epoch"] for f in cv["folds"].values())))
    else:
        raise SystemExit(f"{cv_path}: run `cv --model ours` first (it chooses the epochs)")
    cfg = make_config(args, split="final", epochs=epochs, patience=10**6)
    fingerprint = json.dumps({k: v for k, v in vars(cfg).items() if k != "log"}, sort_keys=True)
    cache = WORK / f"final{args.tag}.pt"
    model = MODELS["ours"](fs.dim, fs.n_mfcc, **cfg.arch, **({"window": fs.window_frames} if cfg.arch.get("causal") else {}))
    if cache.exists() and torch.load(cache)["config"] == fingerprint:
        saved = torch.load(cache)
        model.load_state_dict(saved["state"])
        model.eval()
        if saved.get("adapt"):
            model.adapt_prior = Prior.from_json(saved["adapt"])
        print(f"final model: trained weights from {cache}", flush=True)
    else:
        print(f"final model: all {len(fs.instances)} rows, {epochs} epochs", flush=True)
        model, info = train_model(fs, fs.instances, [], cfg)
        prior = getattr(model, "adapt_prior", None)
        record_config(info, cfg)
        saved = {"config": fingerprint, "state": model.state_dict(), "info": info, "adapt": prior.to_json() if prior else None}
        torch.save(saved, cache)
        # The same weights where a teacher's are looked for (`--teacher …-{split}.pt`
        # with split `final`), so a final model can be distilled from final models.
        torch.save(saved, WORK / "folds" / f"{args.model}{args.tag}-final.pt")
    prior = getattr(model, "adapt_prior", None)
    corpora = sorted({i.corpus for i in fs.instances})
    metrics = {
        "protocol": "speaker-independent: RAVDESS 5 folds of 4 whole actors (2 male, 2 female), "
        "validation on 2 actors of the training folds and one nEMO speaker; TESS within-speaker: 5 folds of 40 words; "
        "TESS cross-speaker: train on the other corpora and one speaker, test the other; "
        "leave-one-corpus-out: train on all corpora but one, test on the whole left-out corpus; "
        "scored by emotty eval (VAD gating, windows, clip aggregation)",
    }
    temperatures = []
    if cv:
        summary = summarize(cv)
        metrics["ravdess_cv"] = {m: summary["ravdess"][m] for m in ("uar", "accuracy", "macro_f1")}
        metrics["ravdess_cv_recall"] = summary["ravdess"]["recall"]
        metrics["tess_within_speaker_cv"] = {m: summary["tess"][m] for m in ("uar", "accuracy", "macro_f1")}
        temperatures = [f["train"]["temperature"] for f in cv["folds"].values() if f["train"].get("temperature")]
    cross = RESULTS / f"cross-ours{args.tag}.json"
    if cross.exists():
        c = json.loads(cross.read_text())
        metrics["tess_cross_speaker"] = {
            k: {"accuracy": v["tess"].get("accuracy"), "uar": v["tess"].get("uar")} for k, v in c["runs"].items()
        }
    loco = RESULTS / f"loco-ours{args.tag}.json"
    if loco.exists():
        runs = json.loads(loco.read_text())["runs"]
        metrics["leave_one_corpus_out"] = {
            held: {
                k: r[held].get(k)
                for k in ("uar", "accuracy", "macro_f1", "restricted_uar", "arousal_auc", "ece", "ece_before_temperature")
            }
            for held, r in runs.items()
        }
    baselines = {}
    for name in REPORT_ORDER[1:]:
        path = RESULTS / f"cv-{name}{args.tag}.json"
        if path.exists():
            baselines[name] = summarize(json.loads(path.read_text()))["ravdess"]["uar"]
    if baselines:
        metrics["baselines_ravdess_uar"] = baselines
    # No speaker is left for validation here: the temperature is the median of the folds'.
    temperature = statistics.median(temperatures) if temperatures and hasattr(model, "temperature") else None
    if temperature is not None:
        model.temperature.fill_(temperature)
    names = {
        "ravdess": "RAVDESS speech actors 01-20 (CC BY-NC-SA 4.0)",
        "tess": "TESS OAF/YAF (CC BY-NC-ND 4.0)",
        "nemo": "nEMO, 9 Polish speakers (CC BY-NC-SA 4.0)",
    }
    meta = metadata(
        fs.frontend,
        fs.schedule,
        fs.label_names,
        name="emotty-crnn",
        version=args.version,
        description=f"Speech emotion recognizer: Conv1d front end ({cfg.arch['channels']} channels, "
        f"{10 * math.prod(cfg.arch['strides'])} ms steps), {'unidirectional (causal)' if cfg.arch.get('causal') else 'bidirectional'} {cfg.arch.get('rnn', 'lstm').upper()}({cfg.arch['hidden']}), attention and "
        "mean pooling, over 40 MFCCs and a pitch track"
        + (" of the last 3 s of a stream, fed each frame once" if cfg.arch.get("causal") else " of 0.5-3 s windows")
        + ("; eight emotion probabilities (temperature-calibrated) and arousal and valence in [-1, 1]" if cfg.affect_weight > 0 else "")
        + ". Trained with noise, reverb, speed, pitch, EQ and gain augmentation, SpecAugment and weight averaging.",
        training_data=" + ".join(names.get(c, c) for c in corpora) + "; non-commercial use only",
        metrics=metrics,
        affect=cfg.affect_weight > 0,
        temperature=temperature,
        # The training statistics the engine's per-stream adaptation starts from.
        adaptation=prior.to_json() if prior else None,
    )
    if cfg.arch.get("causal"):
        # A causal model ships in its streaming form: every frame through it once.
        from .stream import export_streaming

        export_streaming(model, fs.dim, fs.window_frames, args.out, meta)
    else:
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
            labels = c["labels"]
            print("| " + " | ".join(labels) + " |")
            print("|" + "---|" * len(labels))
            print("| " + " | ".join(fmt(c["recall"][l]) for l in labels) + " |")
            print(f"\nours, {corpus}: confusion matrix pooled over the folds (rows: true, columns: predicted)\n")
            print("| | " + " | ".join(labels) + " | no speech |")
            print("|---|" + "---|" * (len(labels) + 1))
            for label, row in zip(labels, c["confusion"]):
                if sum(row):
                    print(f"| {label} | " + " | ".join(str(v) for v in row) + " |")
    (RESULTS / f"summary{args.tag}.json").write_text(json.dumps(cards, indent=1))
    print("\n" + development_runs())
    tags = sorted({p.stem[len("cv-ours"):] for p in RESULTS.glob("cv-ours*.json")})
    print("\n## The generalisation protocol\n\n" + generalisation_report(tags))


def run_settings(c: dict) -> str:
    """One line of a run's training settings, from its recorded configuration."""
    arch = c.get("arch", {})
    shares = c.get("corpus_shares") or {"ravdess": c.get("ravdess_share", 0.6), "other": 1 - c.get("ravdess_share", 0.6)}
    return (
        ("a pair (CMN all and c0) of " if arch.get("pair") else "")
        + f"{arch.get('channels')} ch, {'causal ' if arch.get('causal') else ''}{arch.get('rnn', 'lstm').upper()} {arch.get('hidden')}, strides {arch.get('strides', [1, 2, 2])}, "
        + ("" if arch.get("pair") else f"CMN {arch.get('cmn')}, ")
        + (f"cepstra c0-c{arch['cepstra'] - 1}, " if arch.get("cepstra") else "")
        + (f"dropout {arch['dropout']:g}, " if "dropout" in arch else "")
        + ("half instance-normalised first block, " if arch.get("ibn") else "")
        + f"{c['epochs']} epochs, SWA {c['swa']}, draws "
        + " ".join(f"{k} {v:g}" for k, v in shares.items())
        + f", crops {c.get('min_crop', 100)}-300 frames, affect loss {c.get('affect_weight', 0.0):g}"
        + (", per-stream adaptation" if c.get("adapt") else "")
        + (f", corpus adversary {c['adversary']:g}" if c.get("adversary") else "")
        + (" given the class" if c.get("adversary_given_class") else "")
        + (", calm within neutral" if c.get("calm_within_neutral") else "")
        + (f", voice swaps {c['voice_swap']:g}" if c.get("voice_swap") else "")
        + (f", context {c['context']} frames" if c.get("context") else "")
        + (
            f", distilled from {' + '.join(Path(t).name for t in c['teacher'].split(','))} (weight {c['distill']:g})"
            if c.get("teacher")
            else ""
        )
    )


def generalisation_report(tags: list[str]) -> str:
    """The generalisation protocol's tables for each run tag: the RAVDESS folds, TESS
    within and across speakers, and every left-out corpus, with the arousal ranking and
    the calibration error."""
    out = []
    for tag in tags:
        cv_path = RESULTS / f"cv-ours{tag}.json"
        if not cv_path.exists():
            continue
        cv = json.loads(cv_path.read_text())
        folds = list(cv["folds"].values())
        s = summarize(cv)
        c = folds[0]["train"]["config"]
        out.append(f"### ours{tag}: {run_settings(c)}\n")
        val = mean_std([f["train"]["val_uar"] for f in folds])
        temps = [f["train"].get("temperature") for f in folds if f["train"].get("temperature")]
        r, t = s.get("ravdess", {}), s.get("tess", {})
        out.append("| protocol | clips scored | UAR | accuracy | macro-F1 |")
        out.append("|---|---|---|---|---|")
        out.append(f"| validation (2 RAVDESS actors + 1 nEMO speaker per fold; mean of the two corpora's UAR) | – | {fmt(val)} | – | – |")
        out.append(
            f"| RAVDESS, 5 folds of 4 unseen actors ({len(folds)} folds) | {sum(f['ravdess']['clips'] for f in folds)} | "
            f"{fmt(r.get('uar'))} | {fmt(r.get('accuracy'))} | {fmt(r.get('macro_f1'))} |"
        )
        out.append(
            f"| TESS within-speaker, 5 folds of 40 unseen words | {sum(f['tess']['clips'] for f in folds if f.get('tess'))} | "
            f"{fmt(t.get('uar'))} | {fmt(t.get('accuracy'))} | {fmt(t.get('macro_f1'))} |"
        )
        cross_path = RESULTS / f"cross-ours{tag}.json"
        if cross_path.exists():
            for held, run in sorted(json.loads(cross_path.read_text())["runs"].items()):
                x = run["tess"]
                out.append(
                    f"| TESS cross-speaker, test {held[5:]} | {x.get('clips', '–')} | {x.get('uar', float('nan')):.3f} | "
                    f"{x.get('accuracy', float('nan')):.3f} | {x.get('macro_f1', float('nan')):.3f} |"
                )
        loco_path = RESULTS / f"loco-ours{tag}.json"
        loco = json.loads(loco_path.read_text())["runs"] if loco_path.exists() else {}
        for held in LOCO_CORPORA:
            if held not in loco:
                continue
            x = loco[held][held]
            out.append(
                f"| leave {held} out: train on the rest, test all of {held} | {x.get('clips', '–')} | "
                f"{x.get('uar', float('nan')):.3f} (restricted to its {len(x['classes'])} classes: {x['restricted_uar']:.3f}) | "
                f"{x.get('accuracy', float('nan')):.3f} | {x.get('macro_f1', float('nan')):.3f} |"
            )
        if loco:
            out.append("\n| left-out corpus | arousal AUC (output) | arousal AUC (probabilities on the circumplex) | valence AUC (happy vs negative) | ECE before → after temperature | temperature |")
            out.append("|---|---|---|---|---|---|")
            for held in LOCO_CORPORA:
                if held not in loco:
                    continue
                x = loco[held][held]
                f3 = lambda v: "–" if v is None else f"{v:.3f}"
                out.append(
                    f"| {held} | {f3(x.get('arousal_auc'))} | {f3(x.get('arousal_auc_from_probabilities'))} | "
                    f"{f3(x.get('valence_auc_happy'))} | {f3(x.get('ece_before_temperature'))} → {f3(x.get('ece'))} | "
                    f"{f3(loco[held]['train'].get('temperature'))} |"
                )
            labels = next(loco[h][h]["labels"] for h in LOCO_CORPORA if h in loco)
            out.append("\nRecall per class on each left-out corpus (engine verdicts over all eight classes):\n")
            out.append("| left-out corpus | " + " | ".join(labels) + " |")
            out.append("|---|" + "---|" * len(labels))
            for held in LOCO_CORPORA:
                if held in loco:
                    rec = loco[held][held].get("recall", {})
                    out.append(f"| {held} | " + " | ".join("–" if rec.get(l) is None else f"{rec[l]:.2f}" for l in labels) + " |")
        modes = [("", "each clip its own stream"), (":off", "no adaptation"), (":speaker", "each speaker one stream")]
        if all(f"ravdess{m}" in f for f in folds for m, _ in modes):
            out.append("\nWith per-stream adaptation, by what one stream is (Python replica of the engine):\n")
            out.append("| stream | RAVDESS UAR | leave-nEMO-out UAR restricted to its classes | arousal AUC on nEMO |")
            out.append("|---|---|---|---|")
            for m, what in modes:
                rav = mean_std([f[f"ravdess{m}"]["python_uar"] for f in folds])
                x = loco.get("nemo", {}).get(f"nemo{m}")
                nemo = "–" if x is None else f"{x['restricted_uar']:.3f}"
                aro = "–" if x is None or x.get("arousal_auc") is None else f"{x['arousal_auc']:.3f}"
                out.append(f"| {what} | {fmt(rav)} | {nemo} | {aro} |")
        if temps:
            out.append(f"\nFold temperatures: {', '.join(f'{x:.2f}' for x in temps)} (the final model uses their median).")
        fold_ece = [(f["ravdess"].get("ece_before_temperature"), f["ravdess"].get("ece")) for f in folds if f.get("ravdess")]
        if fold_ece and all(a is not None for a, _ in fold_ece):
            out.append(
                f"RAVDESS test folds, expected calibration error (10 bins, clip verdicts): "
                f"{statistics.fmean(a for a, _ in fold_ece):.3f} before temperature, {statistics.fmean(b for _, b in fold_ece):.3f} after."
            )
        out.append("")
    return "\n".join(out)


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
        settings = run_settings(c) + f", mixup {c['mixup']}"
        val = mean_std([f["train"]["val_uar"] for f in folds])
        test = mean_std([f["ravdess"]["uar"] for f in folds if f.get("ravdess")])
        lines.append(f"| {path.stem[3:]} | {settings} | {fmt(val)} | {fmt(test)} | {len(folds)} |")
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(prog="emotty_train.run")
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("cv", "cross", "loco", "rescore", "final", "report"):
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
        s.add_argument("--cmn", default="all", choices=["all", "c0", "none", "spectral"], help="per-window mean removal")
        s.add_argument("--adapt", action="store_true", help="per-stream feature adaptation (adapt.py)")
        s.add_argument("--adversary", type=float, default=0.0, help="corpus adversary loss weight (0: none)")
        s.add_argument(
            "--adversary-given-class",
            action="store_true",
            help="the corpus adversary is told each window's class (conditional: only corpus cues beyond the class are unlearned)",
        )
        s.add_argument(
            "--voice-swap",
            type=float,
            default=0.0,
            help="share of training windows moved towards another training voice's spectral shape (with --cmn c0 or none)",
        )
        s.add_argument("--cepstra", type=int, default=0, help="our model reads only the first N MFCCs (and the pitch track); 0: all")
        s.add_argument(
            "--pair",
            action="store_true",
            help="our model as two members, window mean removed from all values and from c0 only, averaged",
        )
        s.add_argument(
            "--calm-within-neutral",
            action="store_true",
            help="corpora without calm: a neutral clip may be heard as calm, no other clip may (default: calm left out of their loss)",
        )
        s.add_argument("--channels", type=int, default=128)
        s.add_argument("--ibn", action="store_true", help="half the first block's channels instance-normalised over each window")
        s.add_argument("--dropout", type=float, default=None, help="our model's dropout (default: the model's, 0.3)")
        s.add_argument("--ravdess-share", type=float, default=0.6)
        s.add_argument("--shares", default="", help="draws per corpus, e.g. ravdess=0.45,nemo=0.4,tess=0.15")
        s.add_argument("--min-crop", type=int, default=100, help="shortest training crop in frames")
        s.add_argument("--affect-weight", type=float, default=0.0, help="arousal/valence loss weight (0: no affect head)")
        s.add_argument("--val-every", type=int, default=1, help="validate every N epochs")
        s.add_argument("--exclude", default="", help="corpora to leave out of the archive entirely, e.g. nemo")
        s.add_argument("--held", default="tess:OAF,tess:YAF", help="cross: the TESS speakers to test in turn")
        s.add_argument("--corpora", default=",".join(LOCO_CORPORA), help="loco: the corpora to leave out in turn")
        s.add_argument("--hidden", type=int, default=96)
        s.add_argument("--context", type=int, default=0, help="causal models: up to N frames of the clip before each training window")
        s.add_argument(
            "--teacher",
            default="",
            help="cv/loco/cross/final: a window model's weights per split to distil from, {split} standing for fold0…, "
            "loco-nemo…, cross-OAF… or final, "
            "e.g. work/folds/ours-b-{split}.pt; several joined by commas are averaged",
        )
        s.add_argument("--distill", type=float, default=0.5, help="weight of the teacher's verdicts in the class loss")
        s.add_argument("--causal", action="store_true", help="causal convolutions and a unidirectional LSTM (a model that can stream)")
        s.add_argument("--rnn", default="lstm", choices=["lstm", "gru"], help="recurrent cell of our model (gru: an experiment; the product is LSTM-based)")
        s.add_argument(
            "--strides",
            type=lambda v: tuple(int(x) for x in v.split(",")),
            default=(2, 2, 2),
            help="time strides of the three convolutions, e.g. 2,2,2 (80 ms LSTM steps)",
        )
    args = p.parse_args(argv)
    t0 = time.time()
    {
        "cv": cmd_cv,
        "cross": cmd_cross,
        "loco": cmd_loco,
        "rescore": cmd_rescore,
        "final": cmd_final,
        "report": cmd_report,
    }[args.cmd](args)
    print(f"done in {time.time() - t0:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
