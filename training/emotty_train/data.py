"""Features from `emotty features`, speaker-independent folds, and windows as the engine cuts them.

Nothing here computes audio features: every number comes from the engine's own front end
through `emotty features` (see src/dataset/features.rs for the .npz layout). What this module adds is
bookkeeping: which rows belong to which clip, speaker and fold, and how the live engine
slides its window over a clip, so training and validation see clips the way the product does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

# Where each emotion sits on the circumplex of affect (Russell, 1980), as (arousal, valence)
# in [-1, 1]: arousal from calm to excited, valence from negative to positive. The model's
# arousal and valence outputs are trained towards these points; the exported model carries
# them in its metadata, so the placement is declared here and nowhere else. The emotions
# themselves, and their order, are the engine's (src/emotion.rs): training reads them from
# the archive's metadata (`FeatureSet.label_names`), scoring from the model's or its output.
CIRCUMPLEX = {
    "neutral": (0.0, 0.0),
    "calm": (-0.6, 0.4),
    "happy": (0.5, 0.8),
    "sad": (-0.5, -0.7),
    "angry": (0.8, -0.6),
    "fearful": (0.7, -0.7),
    "disgust": (0.2, -0.7),
    "surprised": (0.8, 0.4),
}
# RAVDESS marks each clip's intensity (01 normal, 02 strong). A normally intense clip is
# placed this much of the way from neutral to its emotion's point; a strong one at the point.
NORMAL_INTENSITY = 0.7

# The arousal ranking the protocol scores: these emotions against sad and neutral.
HIGH_AROUSAL = ("angry", "fearful", "happy", "surprised")
LOW_AROUSAL = ("sad", "neutral")

# nEMO's nine speakers (four female, five male). One of them is the validation speaker of a
# fold whose training side holds nEMO (`validation_speakers`).
NEMO_SPEAKERS = ["EB0", "KS0", "IC0", "MP0", "KD0", "SM0", "MK0", "TP0", "WR0"]

# RAVDESS actors 01-20: odd male, even female. Five folds of four whole actors,
# two male and two female each. Actors 21-24 are held out by the data provider.
RAVDESS_FOLDS = [[1, 2, 11, 12], [3, 4, 13, 14], [5, 6, 15, 16], [7, 8, 17, 18], [9, 10, 19, 20]]

# Training crops run from this many frames up to the window. Shorter than the minimum
# window on purpose: a clip shorter than it gets one window of its whole length, and
# single words (0.6-0.9 s) must not be a length the model never saw.
MIN_CROP = 50


@dataclass
class Instance:
    """One row group of the archive: a clip as recorded (variant 0) or an augmented copy."""

    row: int
    clip: int
    variant: int
    label: int
    corpus: str
    speaker: str
    path: str
    # Where the clip sits on the circumplex: (arousal, valence), see `affect_target`.
    affect: tuple[float, float] = (0.0, 0.0)


class FeatureSet:
    """An `emotty features` archive in memory."""

    def __init__(self, path: str):
        z = np.load(path)
        self.features = z["features"].astype(np.float32)
        self.speech = z["speech"].astype(bool)
        self.offsets = z["offsets"].astype(np.int64)
        self.labels = z["labels"].astype(np.int64)
        n = len(self.labels)
        self.clip_index = z["clip_index"].astype(np.int64) if "clip_index" in z else np.arange(n)
        self.variant = z["variant"].astype(np.int64) if "variant" in z else np.zeros(n, np.int64)
        self.meta = json.loads(bytes(z["meta_json"]).decode("utf-8"))
        self.label_names: list[str] = list(self.meta["labels"])
        unplaced = [l for l in self.label_names if l not in CIRCUMPLEX]
        if unplaced:
            raise ValueError(f"{path}: no circumplex placement for the labels {unplaced}")
        self.clips = self.meta["clips"]
        self.frontend = self.meta["frontend"]
        # The engine's windows of every row and the schedule they follow
        # (src/engine/schedule.rs), as `emotty features` wrote them.
        if "window_row" not in z or "schedule" not in self.meta:
            raise ValueError(f"{path}: no windows in the archive; make it again with this emotty's `features`")
        self.schedule = self.meta["schedule"]
        fps = self.frontend["sample_rate"] / self.frontend["hop_length"]
        self.window_frames = int(round(self.schedule["window_s"] * fps))
        self.min_speech_ratio = float(self.schedule["min_speech_ratio"])
        self._window_row = z["window_row"].astype(np.int64)
        self._window_start = z["window_start"].astype(np.int64)
        self._window_end = z["window_end"].astype(np.int64)
        self._window_speech = z["window_speech"].astype(np.float64)
        self.dim = self.features.shape[1]
        # The MFCCs come first; a pitch track, if any, follows.
        self.n_mfcc = self.frontend["n_mfcc"] if self.frontend["features"] == "mfcc" else self.frontend["n_mels"]
        self.instances = [
            Instance(
                row=i,
                clip=int(self.clip_index[i]),
                variant=int(self.variant[i]),
                label=int(self.labels[i]),
                corpus=self.clips[self.clip_index[i]]["corpus"],
                speaker=self.clips[self.clip_index[i]]["speaker"],
                path=self.clips[self.clip_index[i]]["path"],
                affect=affect_target(
                    self.label_names[int(self.labels[i])],
                    self.clips[self.clip_index[i]]["corpus"],
                    self.clips[self.clip_index[i]]["path"],
                ),
            )
            for i in range(n)
        ]
        # The classes each corpus has: its clips are trained with the loss restricted to
        # them, so a class a corpus lacks is never learned as "not this corpus".
        self.corpus_classes: dict[str, list[int]] = {}
        for inst in self.instances:
            self.corpus_classes.setdefault(inst.corpus, set()).add(inst.label)
        self.corpus_classes = {c: sorted(v) for c, v in self.corpus_classes.items()}

    def windows(self, row: int) -> list[tuple[int, int, float]]:
        """The windows the engine scores in a row: (start, end, speech ratio)."""
        a, b = np.searchsorted(self._window_row, [row, row + 1])
        return list(zip(self._window_start[a:b].tolist(), self._window_end[a:b].tolist(), self._window_speech[a:b].tolist()))

    def frames(self, row: int) -> np.ndarray:
        return self.features[self.offsets[row] : self.offsets[row + 1]]

    def speech_flags(self, row: int) -> np.ndarray:
        return self.speech[self.offsets[row] : self.offsets[row + 1]]

    def length(self, row: int) -> int:
        return int(self.offsets[row + 1] - self.offsets[row])


def affect_target(label: str, corpus: str, path: str) -> tuple[float, float]:
    """The (arousal, valence) a clip is trained towards: its emotion's point on the
    circumplex, pulled towards neutral for RAVDESS's normal-intensity clips."""
    a, v = CIRCUMPLEX[label]
    if corpus == "ravdess":
        stem = path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
        fields = stem.split("-")
        if len(fields) == 7 and fields[3] == "01":
            a, v = a * NORMAL_INTENSITY, v * NORMAL_INTENSITY
    return (a, v)


def actor(inst: Instance) -> int | None:
    """RAVDESS actor number, or None for other corpora."""
    if inst.corpus != "ravdess":
        return None
    return int(inst.speaker.split(":")[1])


def tess_word(path: str) -> str:
    """The target word of a TESS file name `<SPK>_<word>_<emotion>.flac`."""
    stem = path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    return stem.split("_")[1].lower()


def tess_word_fold(path: str, k: int = 5) -> int:
    """Within-speaker TESS folds: the 200 words split into five fixed groups by their sorted
    order (words, not clips, so the same word spoken in another emotion never leaks)."""
    return _TESS_WORD_FOLD.get(tess_word(path), 0) % k


_TESS_WORD_FOLD: dict[str, int] = {}


def index_tess_words(fs: FeatureSet) -> None:
    words = sorted({tess_word(c["path"]) for c in fs.clips if c["corpus"] == "tess"})
    _TESS_WORD_FOLD.clear()
    for i, w in enumerate(words):
        _TESS_WORD_FOLD[w] = i % 5


def validation_speakers(test_fold: int) -> set[str]:
    """The validation speakers of RAVDESS fold k: its two validation actors and one nEMO
    speaker (a different one per fold), as namespaced speaker ids."""
    actors = {f"ravdess:{a:02d}" for a in validation_actors(test_fold)}
    return actors | {f"nemo:{NEMO_SPEAKERS[test_fold % len(NEMO_SPEAKERS)]}"}


def validation_actors(test_fold: int) -> list[int]:
    """Two actors (one male, one female) from the next fold, for early stopping and model
    selection. They are never the test actors."""
    nxt = RAVDESS_FOLDS[(test_fold + 1) % len(RAVDESS_FOLDS)]
    return [nxt[0], nxt[1]]


def clip_verdict(window_probs: list[tuple[np.ndarray, float]]) -> np.ndarray | None:
    """Speech-weighted mean of window outputs (src/emotion.rs, `verdict`)."""
    if not window_probs:
        return None
    w = np.array([max(r, 1e-3) for _, r in window_probs])
    p = np.stack([p for p, _ in window_probs])
    return (w[:, None] * p).sum(0) / w.sum()


def uar(truth: np.ndarray, pred: np.ndarray, n_classes: int = 8) -> float:
    """Unweighted average recall over the classes present; a None prediction (-1) is a miss."""
    recalls = []
    for c in range(n_classes):
        m = truth == c
        if m.any():
            recalls.append(float((pred[m] == c).mean()))
    return float(np.mean(recalls)) if recalls else 0.0


def restricted_predictions(probs: np.ndarray, classes: list[int]) -> np.ndarray:
    """The top class among `classes` only (how a corpus with fewer classes is scored when
    the prediction is restricted to its own set); a row of NaN (no speech) gives -1."""
    out = np.full(len(probs), -1)
    ok = ~np.isnan(probs).any(axis=1)
    sub = probs[ok][:, classes]
    out[ok] = np.array(classes)[sub.argmax(axis=1)]
    return out


def auc(pos: np.ndarray, neg: np.ndarray) -> float | None:
    """Area under the ROC curve: the chance that a random positive scores above a random
    negative (ties count a half)."""
    if len(pos) == 0 or len(neg) == 0:
        return None
    scores = np.concatenate([pos, neg])
    order = scores.argsort(kind="mergesort")
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    # average ranks of ties
    for v in np.unique(scores):
        m = scores == v
        if m.sum() > 1:
            ranks[m] = ranks[m].mean()
    return float((ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def expected_calibration_error(probs: np.ndarray, truth: np.ndarray, bins: int = 10) -> float | None:
    """ECE of the top class: confidence against accuracy in equal-width confidence bins,
    weighted by the clips in each bin. Clips with no speech (NaN rows) are left out."""
    ok = ~np.isnan(probs).any(axis=1)
    if not ok.any():
        return None
    p, t = probs[ok], truth[ok]
    conf = p.max(axis=1)
    correct = (p.argmax(axis=1) == t).astype(float)
    edges = np.linspace(0, 1, bins + 1)
    ece = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        m = (conf > lo) & (conf <= hi)
        if m.any():
            ece += m.mean() * abs(conf[m].mean() - correct[m].mean())
    return float(ece)
