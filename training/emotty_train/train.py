"""Training one model on one fold: windows as the engine cuts them, early stopping on
validation actors, nothing from the test speakers."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from .data import (
    LABELS,
    MIN_SPEECH_RATIO,
    MIN_WINDOW,
    WINDOW,
    FeatureSet,
    Instance,
    clip_verdict,
    engine_windows,
    uar,
)
from .models import MODELS


@dataclass
class Config:
    model: str = "ours"
    epochs: int = 40
    steps_per_epoch: int = 60
    batch: int = 64
    lr: float = 2e-3
    weight_decay: float = 1e-2
    label_smoothing: float = 0.1
    augment: bool = True  # use the augmented copies in the archive
    spec_augment: bool = True
    clean_share: float = 0.3  # share of draws from the clip as recorded when augmenting
    ravdess_share: float = 0.6  # share of draws from RAVDESS (the rest: other corpora)
    patience: int = 12
    # Average the weights of the last `swa` epochs (0: keep the best validation epoch).
    # Validation on two actors is noisy; an average of late weights generalises to new
    # speakers more reliably than the luckiest single epoch.
    swa: int = 0
    mixup: float = 0.0  # Beta(a, a) mixing of windows and their labels; 0 = off
    arch: dict = field(default_factory=dict)  # keyword arguments of the model
    seed: int = 1
    threads: int = 1
    log: list = field(default_factory=list)


def dct_matrix(n: int) -> torch.Tensor:
    """Orthonormal DCT-II matrix (rows = coefficients), as the front end uses; its transpose
    maps MFCCs back to log-mel when n_mfcc == n_mels."""
    k = torch.arange(n, dtype=torch.float64)[:, None]
    i = torch.arange(n, dtype=torch.float64)[None, :]
    m = torch.cos(math.pi / n * (i + 0.5) * k) * math.sqrt(2.0 / n)
    m[0] /= math.sqrt(2.0)
    return m.float()


class Sampler:
    """Draws training windows: balanced over classes within each corpus, RAVDESS-weighted,
    cropped to 1–3 s like the engine's windows, and only where the VAD hears speech."""

    def __init__(self, fs: FeatureSet, train: list[Instance], cfg: Config, rng: np.random.Generator):
        self.fs, self.cfg, self.rng = fs, cfg, rng
        by_clip: dict[int, list[Instance]] = {}
        for inst in train:
            if inst.variant == 0 or cfg.augment:
                by_clip.setdefault(inst.clip, []).append(inst)
        self.groups: dict[str, dict[int, list[list[Instance]]]] = {}
        for insts in by_clip.values():
            insts.sort(key=lambda i: i.variant)
            c = insts[0]
            corpus = "ravdess" if c.corpus == "ravdess" else "other"
            self.groups.setdefault(corpus, {}).setdefault(c.label, []).append(insts)

    def draw_instance(self) -> Instance:
        corpora = list(self.groups)
        if len(corpora) == 2:
            corpus = "ravdess" if self.rng.random() < self.cfg.ravdess_share else "other"
        else:
            corpus = corpora[0]
        classes = list(self.groups[corpus])
        label = classes[self.rng.integers(len(classes))]
        clips = self.groups[corpus][label]
        variants = clips[self.rng.integers(len(clips))]
        if len(variants) == 1 or self.rng.random() < self.cfg.clean_share:
            return variants[0]
        return variants[1 + self.rng.integers(len(variants) - 1)]

    def batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        insts = [self.draw_instance() for _ in range(self.cfg.batch)]
        lengths = [self.fs.length(i.row) for i in insts]
        length = int(self.rng.integers(MIN_WINDOW, WINDOW + 1))
        length = max(10, min(length, min(lengths)))
        xs = np.empty((len(insts), length, self.fs.dim), np.float32)
        for b, inst in enumerate(insts):
            frames = self.fs.frames(inst.row)
            speech = self.fs.speech_flags(inst.row)
            xs[b] = frames[self.crop(speech, length) :][:length]
        y = torch.tensor([i.label for i in insts])
        return torch.from_numpy(xs), y

    def crop(self, speech: np.ndarray, length: int) -> int:
        n = len(speech)
        if n <= length:
            return 0
        best, best_ratio = 0, -1.0
        for _ in range(8):
            s = int(self.rng.integers(0, n - length + 1))
            r = float(speech[s : s + length].mean())
            if r >= MIN_SPEECH_RATIO:
                return s
            if r > best_ratio:
                best, best_ratio = s, r
        return best


def spec_augment(x: torch.Tensor, rng: np.random.Generator, dct: torch.Tensor) -> torch.Tensor:
    """SpecAugment in the log-mel domain (the MFCCs are an orthonormal DCT of 40 log-mels),
    masking with the window's own mean so a mask never looks like silence. Values after
    the MFCCs (the pitch track) get the time masks only."""
    n = dct.shape[0]
    extra = x[:, :, n:].clone()
    mel = x[:, :, :n] @ dct  # [B, T, mels]
    b, t, m = mel.shape
    mean = mel.mean(dim=1, keepdim=True)
    for i in range(b):
        for _ in range(2):
            w = int(rng.integers(0, 7))
            f0 = int(rng.integers(0, m - w + 1))
            mel[i, :, f0 : f0 + w] = mean[i, :, f0 : f0 + w]
        for _ in range(2):
            w = int(rng.integers(0, min(25, t // 5) + 1))
            t0 = int(rng.integers(0, t - w + 1))
            mel[i, t0 : t0 + w, :] = mean[i, 0, :]
            if extra.shape[2]:
                extra[i, t0 : t0 + w, :] = extra[i].mean(dim=0)
    return torch.cat([mel @ dct.T, extra], dim=2)


def normalisation_stats(sampler: Sampler, per_window_mean: bool, select=None, batches: int = 20):
    """Mean and std of the model's input; `select` picks the values the model reads
    (the baselines read the MFCCs only)."""
    xs = []
    for _ in range(batches):
        x, _ = sampler.batch()
        if select is not None:
            x = select(x)
        if per_window_mean:
            x = x - x.mean(dim=1, keepdim=True)
        xs.append(x.reshape(-1, x.shape[-1]))
    allx = torch.cat(xs)
    return allx.mean(0), allx.std(0)


@torch.no_grad()
def predict_clips(model, fs: FeatureSet, insts: list[Instance]) -> np.ndarray:
    """Clip-level predictions through the engine's windows and speech gating; -1 = no speech."""
    model.eval()
    jobs: dict[int, list[tuple[int, int, int, float]]] = {}
    per_clip: list[list[tuple[np.ndarray, float]]] = [[] for _ in insts]
    for ci, inst in enumerate(insts):
        n = fs.length(inst.row)
        for s, e, r in engine_windows(n, fs.speech_flags(inst.row)):
            if r >= MIN_SPEECH_RATIO and r > 0:
                jobs.setdefault(e - s, []).append((ci, inst.row, s, r))
    for length, items in jobs.items():
        for k in range(0, len(items), 256):
            chunk = items[k : k + 256]
            x = np.stack([fs.frames(row)[s : s + length] for _, row, s, _ in chunk])
            p = model(torch.from_numpy(x)).numpy()
            for (ci, _, _, r), pi in zip(chunk, p):
                per_clip[ci].append((pi, r))
    preds = []
    for wp in per_clip:
        v = clip_verdict(wp)
        preds.append(-1 if v is None else int(np.argmax(v)))
    return np.array(preds)


def train_model(fs: FeatureSet, train: list[Instance], val: list[Instance], cfg: Config, verbose=True):
    """Trains and returns the model state with the best validation UAR."""
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    rng = np.random.default_rng(cfg.seed)
    model = MODELS[cfg.model](fs.dim, fs.n_mfcc, **cfg.arch)
    sampler = Sampler(fs, train, cfg, rng)
    mean, std = normalisation_stats(sampler, model.norm.per_window_mean, getattr(model, "mfcc", None))
    model.norm.set_stats(mean, std)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    total = cfg.epochs * cfg.steps_per_epoch
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=total, pct_start=0.15)
    fe = fs.frontend
    if fe["features"] == "mfcc" and fe["n_mfcc"] == fe["n_mels"]:
        dct = dct_matrix(fs.n_mfcc)
    else:
        # Log-mel input, or truncated MFCCs: mask in the feature domain itself.
        dct = torch.eye(fs.n_mfcc)
    val_clean = [i for i in val if i.variant == 0]
    val_truth = np.array([i.label for i in val_clean])
    best = (-1.0, None, 0)
    swa_state, swa_n = None, 0
    t0 = time.time()
    for epoch in range(cfg.epochs):
        model.train()
        losses = []
        for _ in range(cfg.steps_per_epoch):
            x, y = sampler.batch()
            if cfg.spec_augment:
                x = spec_augment(x, rng, dct)
            if cfg.mixup > 0:
                lam = float(rng.beta(cfg.mixup, cfg.mixup))
                perm = torch.from_numpy(rng.permutation(len(y)))
                logits = model.logits(lam * x + (1 - lam) * x[perm])
                loss = lam * F.cross_entropy(logits, y, label_smoothing=cfg.label_smoothing) + (
                    1 - lam
                ) * F.cross_entropy(logits, y[perm], label_smoothing=cfg.label_smoothing)
            else:
                loss = F.cross_entropy(model.logits(x), y, label_smoothing=cfg.label_smoothing)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
            sched.step()
            losses.append(loss.item())
        if cfg.swa and epoch >= cfg.epochs - cfg.swa:
            params = {k: v.detach().clone() for k, v in model.named_parameters()}
            if swa_state is None:
                swa_state = params
            else:
                for k, v in params.items():
                    swa_state[k] += (v - swa_state[k]) / (swa_n + 1)
            swa_n += 1
        score = uar(val_truth, predict_clips(model, fs, val_clean)) if val_clean else 0.0
        cfg.log.append({"epoch": epoch + 1, "loss": float(np.mean(losses)), "val_uar": score})
        if verbose:
            print(
                f"  epoch {epoch + 1:3d}  loss {np.mean(losses):.3f}  val UAR {score:.3f}  "
                f"({time.time() - t0:.0f} s)",
                flush=True,
            )
        if cfg.swa:
            continue
        if score > best[0]:
            best = (score, {k: v.clone() for k, v in model.state_dict().items()}, epoch + 1)
        elif epoch + 1 - best[2] >= cfg.patience:
            break
    if cfg.swa:
        with torch.no_grad():
            for k, p in model.named_parameters():
                p.copy_(swa_state[k])
        recalibrate_batch_norm(model, sampler)
        score = uar(val_truth, predict_clips(model, fs, val_clean)) if val_clean else 0.0
        best = (score, None, cfg.epochs)
        if verbose:
            print(f"  averaged the last {swa_n} epochs: val UAR {score:.3f}", flush=True)
    else:
        model.load_state_dict(best[1])
    model.eval()
    return model, {"val_uar": best[0], "best_epoch": best[2], "epochs_run": len(cfg.log), "seconds": time.time() - t0}


@torch.no_grad()
def recalibrate_batch_norm(model, sampler: Sampler, batches: int = 30) -> None:
    """Batch-norm statistics for averaged weights: the running means of the last epochs
    belong to other weights, so they are measured again on training windows."""
    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the batches below
    model.train()
    for _ in range(batches):
        x, _ = sampler.batch()
        model.logits(x)
    model.eval()


__all__ = ["Config", "train_model", "predict_clips", "LABELS"]
