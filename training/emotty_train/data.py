"""Features from `emotty features`, speaker-independent folds, and windows as the engine cuts them.

Nothing here computes audio features: every number comes from the engine's own front end
through `emotty features` (see src/features.rs for the .npz layout). What this module adds is
bookkeeping: which rows belong to which clip, speaker and fold, and how the live engine
slides its window over a clip, so training and validation see clips the way the product does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

LABELS = ["neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised"]

# RAVDESS actors 01-20: odd male, even female. Five folds of four whole actors,
# two male and two female each. Actors 21-24 are held out by the data provider.
RAVDESS_FOLDS = [[1, 2, 11, 12], [3, 4, 13, 14], [5, 6, 15, 16], [7, 8, 17, 18], [9, 10, 19, 20]]

# Engine defaults (src/engine/analyzer.rs): 10 ms frames, 3 s window, 0.5 s hop, partial
# windows from 1 s, no-speech below a 0.2 speech ratio.
WINDOW = 300
HOP = 50
MIN_WINDOW = 100
MIN_SPEECH_RATIO = 0.2


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
        if self.meta["labels"] != LABELS:
            raise ValueError(f"{path}: label set {self.meta['labels']} is not {LABELS}")
        self.clips = self.meta["clips"]
        self.frontend = self.meta["frontend"]
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
            )
            for i in range(n)
        ]

    def frames(self, row: int) -> np.ndarray:
        return self.features[self.offsets[row] : self.offsets[row + 1]]

    def speech_flags(self, row: int) -> np.ndarray:
        return self.speech[self.offsets[row] : self.offsets[row + 1]]

    def length(self, row: int) -> int:
        return int(self.offsets[row + 1] - self.offsets[row])


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


def validation_actors(test_fold: int) -> list[int]:
    """Two actors (one male, one female) from the next fold, for early stopping and model
    selection. They are never the test actors."""
    nxt = RAVDESS_FOLDS[(test_fold + 1) % len(RAVDESS_FOLDS)]
    return [nxt[0], nxt[1]]


def engine_windows(n: int, speech: np.ndarray) -> list[tuple[int, int, float]]:
    """The windows the engine sends for a clip of n frames: (start, end, speech ratio).

    Mirrors Windows::on_frame/final_window in src/engine/analyzer.rs: regular windows end
    at multiples of the hop from the first multiple >= the minimum window; a tail longer
    than a quarter hop gets one more window; a clip shorter than the minimum window still
    gets one window if it has at least 10 frames. The speech ratio here is taken from the
    per-frame VAD flags (the engine counts 16 ms VAD frames; the two agree to a frame or so).
    """
    out = []
    end = -(-MIN_WINDOW // HOP) * HOP
    last = 0
    while end <= n:
        start = max(0, end - WINDOW)
        out.append((start, end, float(speech[start:end].mean())))
        last = end
        end += HOP
    tail = n - last
    worth = (n >= max(MIN_WINDOW // 10, 10)) if last == 0 else (tail * 4 >= HOP)
    if worth and tail > 0:
        start = max(0, n - WINDOW)
        out.append((start, n, float(speech[start:n].mean())))
    return out


def clip_verdict(window_probs: list[tuple[np.ndarray, float]]) -> np.ndarray | None:
    """Speech-weighted mean of window probabilities (src/classify.rs::summarize)."""
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
