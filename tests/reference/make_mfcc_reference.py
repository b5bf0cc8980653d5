#!/usr/bin/env python3
"""Write the librosa reference values that `tests/frontend_parity.rs` checks the Rust
front end (`src/dsp/frontend.rs`) against.

Why a script and not hand-typed numbers: the parity test is only worth something if
its expected values come from an independent implementation. This script produces
them with the pinned librosa 0.11.0 from the same 16-bit WAV files the Rust test
reads, states every librosa setting explicitly (no reliance on defaults that change
between librosa versions, e.g. `pad_mode` was 'reflect' before 0.10), and rounds the
values to 4 decimal places (an absolute resolution of 5e-5, far inside the 1e-3
tolerance, which is absolute too).

Run from the repository root:

    /work/main/training/.venv/bin/python tests/reference/make_mfcc_reference.py

It rewrites everything in tests/fixtures/reference/. The output is deterministic:
rerunning it must leave `git status` clean.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import librosa
import numpy as np
import soundfile as sf

if librosa.__version__ != "0.11.0":
    sys.exit(f"librosa 0.11.0 is required for the reference, found {librosa.__version__}")

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "fixtures" / "reference"
SR = 16000

# The real clip: RAVDESS actor 19, angry (strong). Its first second is room noise at
# about -100 dBFS and speech starts near 1.0 s, so the excerpt below holds near-silence,
# onset and loud speech. 32093 samples is deliberately not a multiple of any hop used
# here, so the last frames see librosa's end padding mid-hop.
SPEECH_SOURCE = ROOT / "tests/fixtures/corpus/ravdess/Actor_19/03-01-05-02-01-01-19.flac"
SPEECH_START = 14400  # samples (0.9 s)
SPEECH_LEN = 32093  # samples (about 2.006 s)

SYNTH_LEN = 16000  # samples: exactly 1 s, a multiple of the default hop
SYNTH_SEED = 20260522

# The settings the product ships with (FrontendConfig::default() in Rust).
DEFAULT = {
    "sample_rate": SR,
    "n_fft": 512,
    "win_length": 400,
    "hop_length": 160,
    "n_mels": 40,
    "n_mfcc": 40,
    "fmin": 0.0,
    "fmax": 8000.0,
    "features": "mfcc",
}

# A deliberately different front end, as another model's metadata might declare it:
# non-power-of-two FFT, different hop, more mel bands, fewer coefficients, fmin > 0
# and fmax below Nyquist.
OTHER = {
    "sample_rate": SR,
    "n_fft": 480,
    "win_length": 400,
    "hop_length": 120,
    "n_mels": 64,
    "n_mfcc": 20,
    "fmin": 20.0,
    "fmax": 7600.0,
    "features": "mfcc",
}


def make_speech_wav(path: Path) -> None:
    """Cut the real excerpt with sox: 16-bit signed PCM, no dither (the source is
    16-bit already, so samples are copied unchanged)."""
    subprocess.run(
        [
            "sox", "-D", str(SPEECH_SOURCE),
            "-b", "16", "-e", "signed-integer", str(path),
            "trim", f"{SPEECH_START}s", f"{SPEECH_LEN}s",
        ],
        check=True,
    )


def make_synth_wav(path: Path) -> None:
    """A deterministic 1 s test signal with a very wide dynamic range.

    - 0.00-0.15 s: digital silence, so whole frames have zero power and must land
      exactly on the amin floor (-100 dB);
    - 0.15-0.35 s: +-1 LSB noise, a few dB above the floor;
    - 0.35-0.65 s: a loud linear chirp 50 Hz -> 7.9 kHz (0.9 full scale) plus noise
      at -40 dB;
    - 0.65-0.85 s: a pure 200 Hz tone at 0.9 full scale: its frames span about
      120 dB between the tone and the int16 quantisation noise in the top bands,
      which an f32 FFT gets wrong by ~0.015 dB (librosa's FFT runs in float64);
    - 0.85-1.00 s: a 440 Hz tone at -60 dBFS that runs into the end padding.
    """
    rng = np.random.default_rng(SYNTH_SEED)
    t = np.arange(SYNTH_LEN) / SR
    y = np.zeros(SYNTH_LEN)
    a, b, c, d = int(0.15 * SR), int(0.35 * SR), int(0.65 * SR), int(0.85 * SR)
    y[a:b] = rng.integers(-1, 2, size=b - a) / 32768.0
    tc = t[b:c] - t[b]
    dur = tc[-1]
    f0, f1 = 50.0, 7900.0
    y[b:c] = 0.9 * np.sin(2 * np.pi * (f0 * tc + (f1 - f0) * tc**2 / (2 * dur)))
    y[b:c] += 0.01 * rng.standard_normal(c - b)
    y[c:d] = 0.9 * np.sin(2 * np.pi * 200.0 * t[c:d])
    y[d:] = 1e-3 * np.sin(2 * np.pi * 440.0 * t[d:])
    y = np.clip(np.round(y * 32768.0), -32768, 32767).astype(np.int16)
    sf.write(path, y, SR, subtype="PCM_16", format="WAV")


def read_wav(path: Path) -> np.ndarray:
    """int16 / 32768 as float32, exactly what the Rust test computes from hound."""
    y, sr = sf.read(path, dtype="int16")
    assert sr == SR and y.ndim == 1, (path, sr, y.shape)
    return y.astype(np.float32) / np.float32(32768.0)


def reference(y: np.ndarray, cfg: dict) -> tuple[np.ndarray, np.ndarray]:
    """(mel_db, mfcc), each frames x dims, with every librosa setting spelled out."""
    mel = librosa.feature.melspectrogram(
        y=y,
        sr=cfg["sample_rate"],
        n_fft=cfg["n_fft"],
        hop_length=cfg["hop_length"],
        win_length=cfg["win_length"],
        window="hann",
        center=True,
        pad_mode="constant",
        power=2.0,
        n_mels=cfg["n_mels"],
        fmin=cfg["fmin"],
        fmax=cfg["fmax"],
        htk=False,
        norm="slaney",
        dtype=np.float32,
    )
    # top_db=None: a stream cannot know a clip's peak, so the product never clamps.
    mel_db = librosa.power_to_db(mel, ref=1.0, amin=1e-10, top_db=None)
    mfcc = librosa.feature.mfcc(
        S=mel_db, n_mfcc=cfg["n_mfcc"], dct_type=2, norm="ortho", lifter=0
    )
    return mel_db.T, mfcc.T


def select_frames(n: int, stride: int) -> list[int]:
    """Every `stride`-th frame, plus the first and last four (start and end padding)."""
    keep = set(range(0, n, stride)) | set(range(min(4, n))) | set(range(max(0, n - 4), n))
    return sorted(keep)


def rounded(rows: np.ndarray) -> list[list[float]]:
    return [[round(float(v), 4) for v in row] for row in rows]


def clip_entry(wav: str, y: np.ndarray, cfg: dict, stride: int) -> dict:
    mel_db, mfcc = reference(y, cfg)
    # The float32 reference is itself approximate; report how far it is from the same
    # computation in float64 so a failing Rust test can be judged against it.
    mel64, mfcc64 = reference(y.astype(np.float64), cfg)
    print(
        f"  {wav}: {len(y)} samples, {mfcc.shape[0]} frames, stride {stride}; "
        f"librosa float32 vs float64: mel_db {np.max(np.abs(mel_db - mel64)):.2e}, "
        f"mfcc {np.max(np.abs(mfcc - mfcc64)):.2e}; "
        f"mel_db range [{mel_db.min():.2f}, {mel_db.max():.2f}], "
        f"|mfcc| max {np.abs(mfcc).max():.2f}"
    )
    idx = select_frames(mfcc.shape[0], stride)
    return {
        "wav": wav,
        "num_samples": int(len(y)),
        "num_frames": int(mfcc.shape[0]),
        "frame_indices": idx,
        "mel_db": rounded(mel_db[idx]),
        "mfcc": rounded(mfcc[idx]),
    }


def write_reference(name: str, cfg: dict, clips: list[tuple[str, np.ndarray, int]]) -> None:
    print(f"{name}:")
    centers = librosa.mel_frequencies(
        n_mels=cfg["n_mels"] + 2, fmin=cfg["fmin"], fmax=cfg["fmax"], htk=False
    )[1:-1]
    doc = {
        "generator": "tests/reference/make_mfcc_reference.py",
        "librosa_version": librosa.__version__,
        "note": "values rounded to 4 decimal places; frames x dims, rows listed in frame_indices",
        "frontend": cfg,
        "mel_center_frequencies": [round(float(f), 4) for f in centers],
        "clips": [clip_entry(wav, y, cfg, stride) for wav, y, stride in clips],
    }
    text = json.dumps(doc, separators=(",", ":"))
    (OUT / name).write_text(text + "\n")
    print(f"  wrote {len(text) / 1024:.1f} KiB")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    make_speech_wav(OUT / "speech.wav")
    make_synth_wav(OUT / "synth.wav")
    speech = read_wav(OUT / "speech.wav")
    synth = read_wav(OUT / "synth.wav")
    assert len(speech) == SPEECH_LEN and len(synth) == SYNTH_LEN

    # Every frame of the synthetic clip (end padding included), every 4th frame of
    # the speech; the fixture budget (250 KB for this folder) does not allow more.
    write_reference(
        "default.json", DEFAULT, [("synth.wav", synth, 1), ("speech.wav", speech, 4)]
    )
    write_reference("other.json", OTHER, [("speech.wav", speech, 6)])
    total = sum(p.stat().st_size for p in OUT.iterdir())
    print(f"tests/fixtures/reference: {total / 1024:.1f} KiB in total")


if __name__ == "__main__":
    main()
