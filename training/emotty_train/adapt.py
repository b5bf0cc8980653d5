"""Per-stream feature adaptation, the same arithmetic as the engine's (src/engine/adapt.rs).

A live stream is one voice through one microphone for minutes. The engine keeps running
sums of the speech frames it has heard in the stream and maps each feature so that the
stream's statistics land on the training data's:

    x' = (x - m) * sqrt(v_train / v) + m_train

where m and v are the stream's mean and variance blended with the training statistics as
if those had been heard for `prior_frames` speech frames first. With nothing heard yet the
map is the identity, so the first seconds behave as without adaptation; after a minute of
speech the stream's own statistics dominate. Pitch level, loudness and the microphone's
response are then read relative to this voice and this channel, not to the training
corpora's.

Training applies the same map per (speaker, augmented variant), a stand-in for one stream,
with a random amount of speech "heard", so the model is trained for every point between
no adaptation and full adaptation. Evaluation replays the engine: the statistics of a
window ending at frame e are those of the stream's speech frames up to e.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# How many speech frames the training statistics count for (5 s of speech).
PRIOR_FRAMES = 500
# A stream's variance is never taken below this share of the training variance: a
# stretch of one steady tone must not blow a feature up.
MIN_VARIANCE_RATIO = 0.05


@dataclass
class Prior:
    mean: np.ndarray  # [dim], float64
    var: np.ndarray  # [dim], float64
    frames: float = PRIOR_FRAMES

    def to_json(self) -> dict:
        return {
            "mean": [round(float(v), 6) for v in self.mean],
            "std": [round(float(np.sqrt(v)), 6) for v in self.var],
            "prior_frames": self.frames,
        }

    @classmethod
    def from_json(cls, j: dict) -> "Prior":
        """The statistics as `to_json` wrote them (to six decimals)."""
        return cls(np.array(j["mean"], np.float64), np.square(np.array(j["std"], np.float64)), j["prior_frames"])


def prior_from(fs, insts, max_frames: int = 2_000_000, seed: int = 0) -> Prior:
    """Mean and variance of the speech frames of `insts` (every variant they include)."""
    rows = sorted({i.row for i in insts})
    rng = np.random.default_rng(seed)
    if len(rows) > 4000:
        rows = sorted(rng.choice(rows, 4000, replace=False).tolist())
    frames = np.concatenate([fs.frames(r)[fs.speech_flags(r)] for r in rows]).astype(np.float64)
    if len(frames) > max_frames:
        frames = frames[rng.choice(len(frames), max_frames, replace=False)]
    return Prior(frames.mean(0), frames.var(0))


def affine(prior: Prior, n, s1, s2):
    """Scale and shift (x' = x * scale + shift) for streams that heard `n` speech frames
    with sums `s1` and sums of squares `s2`. Broadcasts over leading axes."""
    n = np.asarray(n, np.float64)[..., None]
    w = prior.frames + n
    m = (prior.frames * prior.mean + s1) / w
    e2 = (prior.frames * (prior.var + prior.mean**2) + s2) / w
    v = np.maximum(e2 - m**2, MIN_VARIANCE_RATIO * prior.var)
    v = np.maximum(v, 1e-12)
    scale = np.sqrt(np.maximum(prior.var, 1e-12) / v)
    shift = prior.mean - m * scale
    return scale.astype(np.float32), shift.astype(np.float32)


class StreamSums:
    """Per archive row: sums over its speech frames; per (speaker, variant): the same
    summed over the speaker's rows (one training "stream")."""

    def __init__(self, fs):
        n_rows = len(fs.offsets) - 1
        d = fs.dim
        self.n = np.zeros(n_rows)
        self.s1 = np.zeros((n_rows, d))
        self.s2 = np.zeros((n_rows, d))
        for r in range(n_rows):
            f = fs.frames(r)[fs.speech_flags(r)].astype(np.float64)
            self.n[r] = len(f)
            self.s1[r] = f.sum(0)
            self.s2[r] = (f * f).sum(0)
        self.stream: dict[tuple[str, int], tuple[float, np.ndarray, np.ndarray]] = {}
        for inst in fs.instances:
            key = (inst.speaker, inst.variant)
            n, s1, s2 = self.stream.get(key, (0.0, 0.0, 0.0))
            self.stream[key] = (n + self.n[inst.row], s1 + self.s1[inst.row], s2 + self.s2[inst.row])


def training_affines(prior: Prior, sums: StreamSums, insts, rng: np.random.Generator):
    """One map per drawn training instance: none (a fifth of the draws), the clip's own
    statistics (three tenths: a file classified on its own), or its speaker-and-variant
    stream after a random share of that stream's speech (the rest: a session under way)."""
    d = len(prior.mean)
    n = np.zeros(len(insts))
    s1 = np.zeros((len(insts), d))
    s2 = np.zeros((len(insts), d))
    for b, inst in enumerate(insts):
        u = rng.random()
        if u < 0.2:
            continue
        if u < 0.5:
            n[b], s1[b], s2[b] = sums.n[inst.row], sums.s1[inst.row], sums.s2[inst.row]
        else:
            sn, ss1, ss2 = sums.stream[(inst.speaker, inst.variant)]
            share = rng.random()
            n[b], s1[b], s2[b] = share * sn, share * ss1, share * ss2
    return affine(prior, n, s1, s2)


class Replay:
    """The engine's adaptation replayed over a set of clips, built once per scoring pass:
    `mode` "file" makes each clip its own stream, "speaker" a speaker's clips one stream,
    one after another in path order. The statistics at each window end of a row are
    computed the first time a window of that row asks."""

    def __init__(self, prior: Prior, fs, insts, mode: str):
        if mode not in ("file", "speaker"):
            raise ValueError(f"unknown adaptation mode {mode!r}")
        self.prior, self.fs = prior, fs
        d = len(prior.mean)
        # What a clip's stream heard before it: nothing, or its speaker's earlier clips.
        self.carried: dict[int, tuple[float, np.ndarray, np.ndarray]] = {}
        if mode == "speaker":
            sums = stream_sums(fs)
            order = sorted(range(len(insts)), key=lambda i: (insts[i].speaker, insts[i].path))
            totals: dict[str, tuple[float, np.ndarray, np.ndarray]] = {}
            for ci in order:
                inst = insts[ci]
                t = totals.get(inst.speaker, (0.0, np.zeros(d), np.zeros(d)))
                self.carried[ci] = t
                r = inst.row
                totals[inst.speaker] = (t[0] + sums.n[r], t[1] + sums.s1[r], t[2] + sums.s2[r])
        # Per row: window end → (frames, sums, sums of squares) of its speech up to there.
        self._at_end: dict[int, dict[int, tuple[float, np.ndarray, np.ndarray]]] = {}

    def _row(self, row: int) -> dict[int, tuple[float, np.ndarray, np.ndarray]]:
        if row not in self._at_end:
            speech = self.fs.speech_flags(row)
            f = self.fs.frames(row).astype(np.float64) * speech[:, None]
            cn, c1, c2 = np.cumsum(speech.astype(np.float64)), np.cumsum(f, axis=0), np.cumsum(f * f, axis=0)
            self._at_end[row] = {e: (cn[e - 1], c1[e - 1], c2[e - 1]) for _, e, _ in self.fs.windows(row)}
        return self._at_end[row]

    def affines(self, windows):
        """Maps for windows given as (clip index, row, start, end)."""
        d = len(self.prior.mean)
        n = np.zeros(len(windows))
        s1 = np.zeros((len(windows), d))
        s2 = np.zeros((len(windows), d))
        for k, (ci, row, _start, end) in enumerate(windows):
            wn, w1, w2 = self._row(row)[end]
            base = self.carried.get(ci, (0.0, 0.0, 0.0))
            n[k], s1[k], s2[k] = base[0] + wn, base[1] + w1, base[2] + w2
        return affine(self.prior, n, s1, s2)


def stream_sums(fs) -> StreamSums:
    """The archive's `StreamSums`, computed once per process."""
    sums = getattr(fs, "_stream_sums", None)
    if sums is None:
        sums = StreamSums(fs)
        fs._stream_sums = sums
    return sums
