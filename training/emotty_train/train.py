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
    MIN_CROP,
    FeatureSet,
    Instance,
    uar,
)
from . import adapt as adaptation
from .models import MODELS, average_verdicts


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
    # Shares of draws per corpus, renormalised over the corpora in the training side; when
    # empty, `ravdess_share` for RAVDESS and the rest for all others together.
    corpus_shares: dict = field(default_factory=dict)
    min_crop: int = 100  # shortest training crop, in frames (data.MIN_CROP in new runs)
    # Causal models: up to this many frames of the same clip before each training window,
    # run through the state first and not pooled, as a streaming engine's state has run
    # through the stream before each verdict (0: every window from a fresh state).
    context: int = 0
    affect_weight: float = 0.0  # weight of the arousal/valence loss (0: no affect head)
    # Per-stream feature adaptation (adapt.py): trained with a random amount heard, and
    # validated with each clip as its own stream, as `emotty classify` does by default.
    adapt: bool = False
    # Weight of a corpus classifier trained through a gradient reversal on the pooled
    # summary (0: none): the summary is pushed to carry nothing that tells the
    # training corpora apart (language, studio, microphone), only what the labels need.
    adversary: float = 0.0
    # The adversary is also told each window's class (a conditional adversary, as in
    # CDAN, Long et al., 2018): corpora hold different classes (calm only in RAVDESS) and
    # in different shares, so a blind adversary also pushes the summary to forget what
    # tells those classes apart. Told the class, it can only use what is left.
    adversary_given_class: bool = False
    # In corpora without calm (TESS, nEMO), a neutral clip may be heard as calm and no
    # other clip may (`restricted_cross_entropy`); off: calm is left out of those
    # corpora's loss entirely.
    calm_within_neutral: bool = False
    # Share of training windows whose voice is swapped: the spectral shape (c1 onwards of
    # the MFCCs) is moved by part of the difference between another training stream's
    # mean and the window's own stream's mean (a speaker through one microphone and room,
    # over all its emotions). What tells voices and channels apart becomes noise; what an
    # emotion changes within a voice stays. Only useful where the model keeps the window's
    # spectral shape (`cmn` c0 or none).
    voice_swap: float = 0.0
    # A window model's weights (`.pt`) trained on the same split: the student's class
    # probabilities are pulled towards the teacher's on the same window (weight `distill`
    # of the class loss; the rest stays on the labels), and its arousal and valence
    # towards the teacher's by the same share where both rate them. A causal model sees
    # less of each window than a bidirectional one; the teacher's soft verdicts tell it
    # what the window as a whole says (Hinton et al., 2015).
    teacher: str = ""
    distill: float = 0.5
    val_every: int = 1  # validate every N epochs (and after the last)
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
            corpus = self.group_of(c.corpus)
            self.groups.setdefault(corpus, {}).setdefault(c.label, []).append(insts)
        self.corpora = sorted(self.groups)
        if cfg.corpus_shares:
            w = np.array([cfg.corpus_shares.get(c, 0.0) for c in self.corpora])
        elif len(self.corpora) == 2 and "ravdess" in self.groups:
            w = np.array([cfg.ravdess_share if c == "ravdess" else 1 - cfg.ravdess_share for c in self.corpora])
        else:
            w = np.ones(len(self.corpora))
        if w.sum() <= 0:
            w = np.ones(len(self.corpora))
        self.shares = w / w.sum()
        # Per instance: the classes its corpus has (the loss is restricted to them).
        self.masks = {
            c: torch.tensor([i in fs.corpus_classes[c] for i in range(len(fs.label_names))]) for c in fs.corpus_classes
        }
        # Each training corpus's index, for the corpus adversary.
        self.corpus_ids = {c: k for k, c in enumerate(sorted({i.corpus for i in train}))}
        self.last_corpora = torch.zeros(0, dtype=torch.long)
        # With context: each item's end in the batch's time axis, and the window length.
        self.last_span: tuple[torch.Tensor, int] | None = None
        # With adaptation: the training statistics and each stream's sums.
        self.prior: adaptation.Prior | None = None
        self.sums: adaptation.StreamSums | None = None
        if cfg.adapt:
            self.prior = adaptation.prior_from(fs, train)
            self.sums = adaptation.stream_sums(fs)
        # With voice swaps: each training stream's mean speech frame.
        self.voice_means: dict[tuple[str, int], np.ndarray] = {}
        if cfg.voice_swap > 0:
            sums = adaptation.stream_sums(fs)
            for key in sorted({(i.speaker, i.variant) for i in train if i.variant == 0 or cfg.augment}):
                n, s1, _ = sums.stream[key]
                if n > 0:
                    self.voice_means[key] = (s1 / n).astype(np.float32)
            self.voice_keys = sorted(self.voice_means)

    def group_of(self, corpus: str) -> str:
        if self.cfg.corpus_shares:
            return corpus if corpus in self.cfg.corpus_shares else "other"
        return "ravdess" if corpus == "ravdess" else "other"

    def draw_instance(self) -> Instance:
        if not self.cfg.corpus_shares and len(self.corpora) == 2 and "ravdess" in self.groups:
            # The draw 1.x models were trained with, kept so their runs reproduce exactly.
            corpus = "ravdess" if self.rng.random() < self.cfg.ravdess_share else "other"
        elif len(self.corpora) == 1:
            corpus = self.corpora[0]
        else:
            corpus = self.corpora[self.rng.choice(len(self.corpora), p=self.shares)]
        classes = list(self.groups[corpus])
        label = classes[self.rng.integers(len(classes))]
        clips = self.groups[corpus][label]
        variants = clips[self.rng.integers(len(clips))]
        if len(variants) == 1 or self.rng.random() < self.cfg.clean_share:
            return variants[0]
        return variants[1 + self.rng.integers(len(variants) - 1)]

    def batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        x, y, _, _ = self.batch_full()
        return x, y

    def batch_full(self):
        """A batch: windows, labels, each window's class mask and (arousal, valence) target."""
        insts = [self.draw_instance() for _ in range(self.cfg.batch)]
        lengths = [self.fs.length(i.row) for i in insts]
        length = int(self.rng.integers(self.cfg.min_crop, self.fs.window_frames + 1))
        length = max(10, min(length, min(lengths)))
        if self.cfg.context:
            xs = self.with_context(insts, lengths, length)
        else:
            xs = np.empty((len(insts), length, self.fs.dim), np.float32)
            for b, inst in enumerate(insts):
                frames = self.fs.frames(inst.row)
                speech = self.fs.speech_flags(inst.row)
                xs[b] = frames[self.crop(speech, length) :][:length]
        if self.voice_means:
            self.swap_voices(xs, insts)
        if self.prior is not None:
            scale, shift = adaptation.training_affines(self.prior, self.sums, insts, self.rng)
            xs = xs * scale[:, None, :] + shift[:, None, :]
        y = torch.tensor([i.label for i in insts])
        mask = torch.stack([self.masks[i.corpus] for i in insts])
        affect = torch.tensor([i.affect for i in insts], dtype=torch.float32)
        self.last_corpora = torch.tensor([self.corpus_ids[i.corpus] for i in insts])
        return torch.from_numpy(xs), y, mask, affect

    def swap_voices(self, xs: np.ndarray, insts: list[Instance]) -> None:
        """Moves a `voice_swap` share of the windows towards another training stream's
        spectral shape, by a uniform share of the way (in place)."""
        lo, hi = 1, self.fs.n_mfcc
        for b, inst in enumerate(insts):
            own = self.voice_means.get((inst.speaker, inst.variant))
            if own is None or self.rng.random() >= self.cfg.voice_swap:
                continue
            other = self.voice_means[self.voice_keys[self.rng.integers(len(self.voice_keys))]]
            xs[b, :, lo:hi] += self.rng.random() * (other[lo:hi] - own[lo:hi])

    def with_context(self, insts, lengths, length: int) -> np.ndarray:
        """Windows of `length` frames, each after a random stretch of its clip (up to
        `context` frames, as much as the clip has before it), left-aligned and padded at
        the end: a causal model's outputs never see what follows them."""
        ctx = [int(self.rng.integers(0, min(self.cfg.context, n - length) + 1)) for n in lengths]
        xs = np.zeros((len(insts), max(ctx) + length, self.fs.dim), np.float32)
        for b, inst in enumerate(insts):
            frames = self.fs.frames(inst.row)
            speech = self.fs.speech_flags(inst.row)
            start = ctx[b] + self.crop(speech[ctx[b] :], length)
            xs[b, : ctx[b] + length] = frames[start - ctx[b] : start + length]
        self.last_span = (torch.tensor([c + length for c in ctx]), length)
        return xs

    def crop(self, speech: np.ndarray, length: int) -> int:
        n = len(speech)
        if n <= length:
            return 0
        best, best_ratio = 0, -1.0
        for _ in range(8):
            s = int(self.rng.integers(0, n - length + 1))
            r = float(speech[s : s + length].mean())
            if r >= self.fs.min_speech_ratio:
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


def normalisation_stats(sampler: Sampler, norm, select=None, batches: int = 20):
    """Mean and std of the model's input after `norm`'s per-window mean removal; `select`
    picks the values the model reads (the baselines read the MFCCs only)."""
    xs = []
    for _ in range(batches):
        x, _ = sampler.batch()
        if select is not None:
            x = select(x)
        x = norm.centre(x)
        xs.append(x.reshape(-1, x.shape[-1]))
    allx = torch.cat(xs)
    return allx.mean(0), allx.std(0)


def restricted_cross_entropy(logits, y, mask, smoothing: float, calm_within: tuple[int, int] | None = None):
    """Cross-entropy with the softmax over each row's allowed classes only, and label
    smoothing spread over those classes: a corpus without "calm" neither pushes calm down
    nor gets smoothing mass on it.

    With `calm_within` (calm's and neutral's indices), a row whose corpus has neutral
    but not calm keeps calm in its softmax, as part of neutral: a neutral clip is right
    to be heard as neutral or calm (their sum is its target), any other clip is wrong to
    be heard as calm. Calm is then still never learned as "not this corpus", but sad
    speech of a corpus without calm no longer leaves calm free."""
    merged = None
    if calm_within is not None:
        calm, neutral = calm_within
        merged = ~mask[:, calm] & mask[:, neutral]
        mask = mask.clone()
        mask[merged, calm] = True
    logits = logits.masked_fill(~mask, -1e4)
    logp = F.log_softmax(logits, dim=-1)
    target_mask = mask
    if merged is not None and bool(merged.any()):
        # The neutral entry of those rows reads log(p_neutral + p_calm); calm itself has
        # no target mass there.
        both = torch.logsumexp(torch.stack([logp[:, neutral], logp[:, calm]]), dim=0)
        logp = logp.clone()
        logp[merged, neutral] = both[merged]
        target_mask = mask.clone()
        target_mask[merged, calm] = False
    n = target_mask.sum(dim=1, keepdim=True).float()
    target = target_mask.float() * (smoothing / n)
    target = target + F.one_hot(y, logits.shape[1]).float() * (1 - smoothing)
    return -(target * logp.masked_fill(~target_mask, 0.0)).sum(dim=1).mean()


class _Reverse(torch.autograd.Function):
    """Identity forward, gradient times -scale backward (Ganin & Lempitsky, 2015)."""

    @staticmethod
    def forward(ctx, x, scale: float):
        ctx.scale = scale
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad):
        return -ctx.scale * grad, None


def adversarial_loss(model, adversary, x, y, mask, affect, corpora, cfg: Config, progress: float, calm_within=None):
    """The task losses plus the corpus adversary's, its reversal ramped from 0 to 1 over
    training as in DANN, so the classes are learned before the corpora are unlearned."""
    pooled = model.pooled(x)
    logits = model.head(pooled)
    loss = restricted_cross_entropy(logits, y, mask, cfg.label_smoothing, calm_within)
    if cfg.affect_weight > 0 and model.affect is not None:
        loss = loss + cfg.affect_weight * F.mse_loss(model.affect(pooled), affect)
    ramp = 2.0 / (1.0 + math.exp(-10.0 * progress)) - 1.0
    summary = _Reverse.apply(pooled, ramp)
    if cfg.adversary_given_class:
        summary = torch.cat([summary, F.one_hot(y, mask.shape[1]).float()], dim=1)
    guess = adversary(summary)
    return loss + cfg.adversary * F.cross_entropy(guess, corpora)


# Softening of both sides' probabilities in distillation.
DISTILL_TEMPERATURE = 2.0


def training_loss(model, x, y, mask, affect, cfg: Config, soft=None, calm_within=None):
    """The class loss on the labels plus the arousal/valence loss on the targets, each
    blended with the teacher's (`soft`: its logits and its arousal/valence or None)
    where given."""
    if hasattr(model, "members"):
        # A pair: each member learns from its own loss, as if trained alone.
        return sum(training_loss(m, x, y, mask, affect, cfg, soft, calm_within) for m in model.members)
    logits, out = model.logits_and_affect(x) if cfg.affect_weight > 0 else (model.logits(x), None)
    loss = restricted_cross_entropy(logits, y, mask, cfg.label_smoothing, calm_within)
    soft_logits, soft_affect = soft if soft is not None else (None, None)
    if soft_logits is not None:
        loss = (1 - cfg.distill) * loss + cfg.distill * distillation_loss(logits, soft_logits, mask)
    if out is not None:
        affect_loss = F.mse_loss(out, affect)
        if soft_affect is not None:
            affect_loss = (1 - cfg.distill) * affect_loss + cfg.distill * F.mse_loss(out, soft_affect)
        loss = loss + cfg.affect_weight * affect_loss
    return loss


def distillation_loss(logits, teacher_logits, mask):
    """KL divergence from the teacher's softened probabilities to the student's, over each
    row's allowed classes, scaled by T^2 so its gradients weigh as the label loss's."""
    t = DISTILL_TEMPERATURE
    target = F.softmax(teacher_logits.masked_fill(~mask, -1e4) / t, dim=-1)
    logp = F.log_softmax(logits.masked_fill(~mask, -1e4) / t, dim=-1)
    kl = (target * (target.clamp_min(1e-8).log() - logp)).masked_fill(~mask, 0.0)
    return kl.sum(dim=1).mean() * t * t


def load_weights(path: str, fs: FeatureSet):
    """A fold's saved model (`run` writes `.pt` beside each `.onnx`), in eval mode, and
    its training configuration."""
    saved = torch.load(path, weights_only=False)
    config = saved["info"]["config"]
    window = {"window": fs.window_frames} if config["arch"].get("causal") else {}
    model = MODELS[config["model"]](fs.dim, fs.n_mfcc, **config["arch"], **window)
    model.load_state_dict(saved["state"])
    model.eval()
    return model, config


def load_teacher(path: str, fs: FeatureSet):
    """A window model's fold weights, frozen, for `Config.teacher`; several paths joined
    by commas make an `Ensemble` of them."""
    paths = [p for p in path.split(",") if p]
    teachers = []
    for p in paths:
        teacher, config = load_weights(p, fs)
        if config["arch"].get("causal") or config.get("adapt"):
            raise SystemExit(f"{p}: a teacher must be a window model without adaptation")
        for param in teacher.parameters():
            param.requires_grad_(False)
        teachers.append(teacher)
    return teachers[0] if len(teachers) == 1 else Ensemble(teachers)


class Ensemble(torch.nn.Module):
    """Several teachers as one: their class probabilities at the distillation temperature
    averaged (`models.average_verdicts`), and their arousal and valence. Models trained
    differently err differently, and their average is right more often than either
    (`training/RESULTS.md`, "two normalisations averaged")."""

    def __init__(self, teachers):
        super().__init__()
        self.teachers = torch.nn.ModuleList(teachers)

    def logits_and_affect(self, x: torch.Tensor):
        return average_verdicts([m.logits_and_affect(x) for m in self.teachers], DISTILL_TEMPERATURE)


@torch.no_grad()
def teacher_outputs(teacher, x: torch.Tensor, span):
    """The teacher's logits and arousal/valence (None without an affect head) on each
    row's window: with context, the `length` frames before each row's end; otherwise the
    whole row."""
    if span is not None:
        ends, length = span
        idx = ends[:, None] - length + torch.arange(length)[None, :]
        x = torch.gather(x, 1, idx[:, :, None].expand(-1, -1, x.shape[2]))
    return teacher.logits_and_affect(x)


@torch.no_grad()
def predict_clips(model, fs: FeatureSet, insts: list[Instance], outputs=None) -> np.ndarray:
    """Clip-level predictions through the engine's windows and speech gating; -1 = no speech.
    `outputs` computes the windows' logits (`window_outputs` unless given)."""
    probs, _ = clip_outputs(model, fs, insts, outputs=outputs)
    return np.array([-1 if np.isnan(p).any() else int(np.argmax(p)) for p in probs])


@torch.no_grad()
def window_outputs(model, fs: FeatureSet, insts: list[Instance]):
    """Every speech window the engine would score in each clip, through the model: logits
    before temperature [W, 8], [arousal, valence] [W, 2] (None without an affect head),
    and each window's clip (index into `insts`) and weight (its speech ratio)."""
    model.eval()
    has_affect = getattr(model, "affect", None) is not None
    # Per-stream adaptation as the engine would run it: the model's training statistics
    # (None: no adaptation) and the mode ("file" or "speaker") set on the model.
    prior = getattr(model, "adapt_prior", None)
    mode = getattr(model, "adapt_mode", None)
    replay = adaptation.Replay(prior, fs, insts, mode) if prior is not None and mode is not None else None
    jobs: dict[int, list[tuple[int, int, int, float]]] = {}
    for ci, inst in enumerate(insts):
        for s, e, r in fs.windows(inst.row):
            if r >= fs.min_speech_ratio and r > 0:
                jobs.setdefault(e - s, []).append((ci, inst.row, s, r))
    logits, affects, clips, weights = [], [], [], []
    for length, items in jobs.items():
        for k in range(0, len(items), 256):
            chunk = items[k : k + 256]
            x = np.stack([fs.frames(row)[s : s + length] for _, row, s, _ in chunk])
            if replay is not None:
                scale, shift = replay.affines([(ci, row, s, s + length) for ci, row, s, _ in chunk])
                x = x * scale[:, None, :] + shift[:, None, :]
            x = torch.from_numpy(x)
            if has_affect:
                lg, af = model.logits_and_affect(x)
                affects.append(af.numpy())
            else:
                lg = model.logits(x)
            logits.append(lg.numpy())
            clips.extend(ci for ci, _, _, _ in chunk)
            weights.extend(max(r, 1e-3) for _, _, _, r in chunk)
    n = len(fs.label_names)
    lg = np.concatenate(logits) if logits else np.zeros((0, n), np.float32)
    af = (np.concatenate(affects) if affects else np.zeros((0, 2), np.float32)) if has_affect else None
    return lg, af, np.array(clips, dtype=np.int64), np.array(weights, dtype=np.float64)


def pool_clips(values: np.ndarray, clips: np.ndarray, weights: np.ndarray, n_clips: int) -> np.ndarray:
    """Speech-weighted mean of window rows per clip (data.clip_verdict, vectorised); NaN
    rows for clips without a window."""
    out = np.zeros((n_clips, values.shape[1]))
    np.add.at(out, clips, values * weights[:, None])
    total = np.zeros(n_clips)
    np.add.at(total, clips, weights)
    with np.errstate(invalid="ignore", divide="ignore"):
        out /= total[:, None]
    out[total == 0] = np.nan
    return out


@torch.no_grad()
def clip_outputs(model, fs: FeatureSet, insts: list[Instance], temperature: float | None = None, outputs=None):
    """Per clip, the engine's verdict: the speech-weighted mean of its windows'
    probabilities, and of their [arousal, valence] (None without an affect head); a clip
    with no speech window gets NaN rows. `temperature` overrides the model's own."""
    lg, af, clips, w = (outputs or window_outputs)(model, fs, insts)
    t = float(getattr(model, "temperature", 1.0)) if temperature is None else temperature
    probs = torch.softmax(torch.from_numpy(lg) / t, dim=-1).numpy()
    p = pool_clips(probs, clips, w, len(insts))
    return p, (pool_clips(af, clips, w, len(insts)) if af is not None else None)


def validation_score(model, fs: FeatureSet, val: list[Instance]) -> float:
    """Mean over the validation corpora of each one's UAR (a corpus with more validation
    clips must not outvote another)."""
    by_corpus: dict[str, list[Instance]] = {}
    for i in val:
        by_corpus.setdefault(i.corpus, []).append(i)
    scores = [
        uar(np.array([i.label for i in insts]), predict_clips(model, fs, insts)) for insts in by_corpus.values()
    ]
    return float(np.mean(scores)) if scores else 0.0


@torch.no_grad()
def fit_temperature(model, fs: FeatureSet, val: list[Instance]) -> float | None:
    """The temperature that minimises the validation clips' negative log-likelihood, as the
    engine computes a clip's probabilities (speech-weighted mean of the windows' softmax),
    each corpus's clips scored over that corpus's classes. One scalar divides the logits,
    so every window's ranking and every verdict stay as they are. None without validation
    clips."""
    if not val:
        return None
    lg, _, clips, w = window_outputs(model, fs, val)
    if len(lg) == 0:
        return None
    truth = np.array([i.label for i in val])
    mask = np.array([[c in fs.corpus_classes[i.corpus] for c in range(len(fs.label_names))] for i in val])
    best = (float("inf"), 1.0)
    for t in np.arange(0.5, 4.001, 0.05):
        probs = torch.softmax(torch.from_numpy(lg) / float(t), dim=-1).numpy()
        p = pool_clips(probs, clips, w, len(val))
        ok = ~np.isnan(p).any(axis=1)
        p = np.where(mask, p, 0.0)[ok]
        p /= p.sum(axis=1, keepdims=True)
        nll = -np.log(np.clip(p[np.arange(len(p)), truth[ok]], 1e-12, None)).mean()
        if nll < best[0]:
            best = (nll, float(t))
    return best[1]


def train_model(fs: FeatureSet, train: list[Instance], val: list[Instance], cfg: Config, verbose=True):
    """Trains and returns the model state with the best validation UAR."""
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    rng = np.random.default_rng(cfg.seed)
    if cfg.context and not cfg.arch.get("causal"):
        raise ValueError("context is for causal models (--causal)")
    # A causal model's running window mean spans the archive's window.
    window = {"window": fs.window_frames} if cfg.arch.get("causal") else {}
    model = MODELS[cfg.model](fs.dim, fs.n_mfcc, **cfg.arch, **window)
    sampler = Sampler(fs, train, cfg, rng)
    teacher = load_teacher(cfg.teacher, fs) if cfg.teacher else None
    if sampler.prior is not None:
        model.adapt_prior, model.adapt_mode = sampler.prior, "file"
    for m in getattr(model, "members", [model]):
        mean, std = normalisation_stats(sampler, m.norm, getattr(m, "mfcc", None))
        m.norm.set_stats(mean, std)
    if cfg.adversary > 0 and hasattr(model, "members"):
        raise ValueError("the corpus adversary reads one model's pooled summary, not a pair's")
    calm_within = (fs.label_names.index("calm"), fs.label_names.index("neutral")) if cfg.calm_within_neutral else None
    adversary = None
    params = list(model.parameters())
    if cfg.adversary > 0:
        width = model.head[1].in_features + (len(fs.label_names) if cfg.adversary_given_class else 0)
        adversary = torch.nn.Sequential(
            torch.nn.Linear(width, 64), torch.nn.GELU(), torch.nn.Linear(64, len(sampler.corpus_ids))
        )
        params += list(adversary.parameters())
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    total = cfg.epochs * cfg.steps_per_epoch
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=total, pct_start=0.15)
    fe = fs.frontend
    if fe["features"] == "mfcc" and fe["n_mfcc"] == fe["n_mels"]:
        dct = dct_matrix(fs.n_mfcc)
    else:
        # Log-mel input, or truncated MFCCs: mask in the feature domain itself.
        dct = torch.eye(fs.n_mfcc)
    val_clean = [i for i in val if i.variant == 0]
    best = (-1.0, None, 0)
    swa_state, swa_n = None, 0
    t0 = time.time()
    for epoch in range(cfg.epochs):
        model.train()
        losses = []
        for _ in range(cfg.steps_per_epoch):
            x, y, mask, affect = sampler.batch_full()
            model.pool_span = sampler.last_span
            if cfg.spec_augment:
                x = spec_augment(x, rng, dct)
            if adversary is not None:
                progress = (epoch * cfg.steps_per_epoch + len(losses)) / total
                loss = adversarial_loss(model, adversary, x, y, mask, affect, sampler.last_corpora, cfg, progress, calm_within)
            elif cfg.corpus_shares or cfg.affect_weight > 0 or teacher is not None or calm_within is not None:
                soft = teacher_outputs(teacher, x, sampler.last_span if cfg.context else None) if teacher else None
                loss = training_loss(model, x, y, mask, affect, cfg, soft, calm_within)
            elif cfg.mixup > 0:
                lam = float(rng.beta(cfg.mixup, cfg.mixup))
                perm = torch.from_numpy(rng.permutation(len(y)))
                logits = model.logits(lam * x + (1 - lam) * x[perm])
                loss = lam * F.cross_entropy(logits, y, label_smoothing=cfg.label_smoothing) + (
                    1 - lam
                ) * F.cross_entropy(logits, y[perm], label_smoothing=cfg.label_smoothing)
            else:
                loss = F.cross_entropy(model.logits(x), y, label_smoothing=cfg.label_smoothing)
            model.pool_span = None
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
        check = (epoch + 1) % cfg.val_every == 0 or epoch + 1 == cfg.epochs
        score = validation_score(model, fs, val_clean) if val_clean and check else float("nan")
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
        score = validation_score(model, fs, val_clean) if val_clean else 0.0
        best = (score, None, cfg.epochs)
        if verbose:
            print(f"  averaged the last {swa_n} epochs: val UAR {score:.3f}", flush=True)
    else:
        model.load_state_dict(best[1])
    model.eval()
    info = {"val_uar": best[0], "best_epoch": best[2], "epochs_run": len(cfg.log), "seconds": time.time() - t0}
    if hasattr(model, "temperature"):
        t = fit_temperature(model, fs, val_clean)
        if t is not None:
            model.temperature.fill_(t)
            info["temperature"] = t
    return model, info


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


__all__ = ["Config", "train_model", "predict_clips", "clip_outputs"]
