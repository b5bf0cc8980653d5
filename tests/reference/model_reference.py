#!/usr/bin/env python3
"""Reference probabilities from onnxruntime, for the parity test in tests/model.rs.

Why: tract (the Rust runtime) must give the same probabilities as onnxruntime, the
de-facto reference ONNX runtime, on the same inputs. This script runs onnxruntime on
deterministic inputs and writes both the inputs and the expected probabilities to a
JSON file that the Rust test replays through `Model::predict`.

Inputs are stored compactly as integers `q` with `value = q * input_scale`, where
`input_scale` is a power of two. Those values are exactly representable in float32,
and they are exactly what onnxruntime is fed here, so both runtimes see bit-identical
inputs and the JSON stays small.

Default cases (seeded numpy): random frames for T = 7, 100 and 300, plus a
realistic input with MFCC-like magnitudes (c0 around -300...-100, the other
coefficients within about +-50, varying smoothly over time).

Alternatively `--npz PATH` takes real features, arrays `features` (float32,
total_frames x dim) and `offsets` (int64, the start row of each clip, length
n_clips + 1), and evaluates the first up-to-300 frames of each clip. Those inputs are
not written to the JSON (the Rust side recomputes them from the clips); each case
records the rows it used instead.

If a model's metadata says `"output": "logits"`, the expected values are the softmax
of onnxruntime's output (computed here in float64), since that is what the runner
must return.

`--stream` runs a streaming model (metadata format 2) on the MFCC-like input in chunks
of 24, 48, 8 and 160 frames, its state carried from call to call as the engine does,
and records the probabilities and arousal and valence after each call.

Usage (from the repository root, with the training venv):
  /work/main/training/.venv/bin/python tests/reference/model_reference.py
  ... --model tests/fixtures/test-model.onnx --model tests/fixtures/test-model-logits.onnx
      --out tests/fixtures/reference/model_test-model.json
  ... --npz features.npz --model models/emotty.onnx --out /tmp/model_clips.json
  ... --corpus tests/fixtures/corpus --model models/emotty.onnx
      --out tests/fixtures/reference/model_shipped.json   (the shipped model's CI test)
  ... --stream --model tests/fixtures/test-model-stream.onnx
      --out tests/fixtures/reference/model_stream.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort

REPO = Path(__file__).resolve().parents[2]
DEFAULT_MODELS = [
    REPO / "tests/fixtures/test-model.onnx",
    REPO / "tests/fixtures/test-model-logits.onnx",
]
DEFAULT_OUT = REPO / "tests/fixtures/reference/model_test-model.json"
MAX_CLIP_FRAMES = 300
SEED = 20240602


def emotty_meta(path: Path) -> dict:
    proto = onnx.load(str(path), load_external_data=False)
    for entry in proto.metadata_props:
        if entry.key == "emotty":
            return json.loads(entry.value)
    raise SystemExit(f"{path}: no emotty metadata")


# Values per frame that the pitch track adds (src/dsp/frontend.rs, PITCH_FEATURES).
PITCH_FEATURES = 2


def feature_dim(meta: dict) -> int:
    """Values per frame the model takes: the front end's, then the pitch track's."""
    fe = meta["frontend"]
    dim = fe.get("n_mfcc", 40) if fe.get("features", "mfcc") == "mfcc" else fe.get("n_mels", 40)
    return dim + (PITCH_FEATURES if fe.get("pitch", False) else 0)


def sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def softmax64(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.float64)
    e = np.exp(x - x.max())
    return e / e.sum()


class Runner:
    """One onnxruntime session, single-threaded and deterministic."""

    def __init__(self, path: Path):
        self.path = path
        self.meta = emotty_meta(path)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        self.session = ort.InferenceSession(
            str(path), sess_options=opts, providers=["CPUExecutionProvider"]
        )
        self.input_name = self.session.get_inputs()[0].name

    def probabilities(self, frames: np.ndarray) -> list[float]:
        x = frames.astype(np.float32)[None, :, :]
        (out,) = self.session.run(None, {self.input_name: x})
        row = out[0]
        if self.meta["output"] == "logits":
            row = softmax64(row)
        return [round(float(v), 9) for v in row]


def quantise(values: np.ndarray, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Integers q and the exact float32 values q * scale both runtimes will see."""
    q = np.round(values / scale).astype(np.int64)
    return q, (q.astype(np.float64) * scale).astype(np.float32)


def synthetic_cases(dim: int) -> list[dict]:
    rng = np.random.default_rng(SEED)
    cases = []
    # Random frames: unit-ish values, quantised to quarters (about 3 characters each).
    for t in (7, 100, 300):
        q, x = quantise(rng.normal(0.0, 2.0, size=(t, dim)), 0.25)
        cases.append({"name": f"random_t{t}", "frames": t, "scale": 0.25, "q": q, "x": x})
    # MFCC-like: c0 slowly varying in -300...-100, higher coefficients shrinking
    # with their index, within about +-50; quantised to whole numbers.
    t = 300
    time = np.arange(t)[:, None]
    k = np.arange(dim)[None, :]
    phase = rng.uniform(0, 2 * np.pi, size=(1, dim))
    rate = rng.uniform(0.01, 0.08, size=(1, dim))
    amp = 50.0 / (1.0 + 0.15 * k)
    values = amp * np.sin(rate * time + phase) + rng.normal(0.0, 3.0, size=(t, dim))
    values[:, 0] = -200.0 + 100.0 * np.sin(0.02 * np.arange(t) + phase[0, 0])
    values = np.clip(values, -300.0, 50.0)
    q, x = quantise(values, 1.0)
    cases.append({"name": "mfcc_like_t300", "frames": t, "scale": 1.0, "q": q, "x": x})
    return cases


def npz_cases(path: Path, dim: int) -> list[dict]:
    data = np.load(path)
    features = np.asarray(data["features"], dtype=np.float32)
    offsets = np.asarray(data["offsets"], dtype=np.int64)
    if features.ndim != 2 or features.shape[1] != dim:
        raise SystemExit(f"{path}: features shape {features.shape}, model wants (*, {dim})")
    if offsets.ndim != 1 or offsets[0] != 0 or offsets[-1] != len(features):
        raise SystemExit(f"{path}: offsets must run from 0 to {len(features)}")
    cases = []
    for i, (start, end) in enumerate(zip(offsets[:-1], offsets[1:])):
        end = min(int(end), int(start) + MAX_CLIP_FRAMES)
        if end <= start:
            raise SystemExit(f"{path}: clip {i} has no frames")
        cases.append(
            {
                "name": f"clip_{i}",
                "frames": end - int(start),
                "rows": [int(start), end],
                "x": features[start:end],
            }
        )
    return cases


def corpus_cases(corpus: Path, model: Path, dim: int) -> list[dict]:
    """Real clips through the product's own feature path: `emotty features` (release
    build) computes what the engine would feed the model, and up to 300 frames from the
    middle of each clip become a case. The Rust test recomputes the same frames from the
    clip with `emotty::dataset::features::clip_features` and checks `input_sum` first, so a
    changed front end is reported as stale inputs rather than as a runtime mismatch."""
    import subprocess
    import tempfile

    binary = REPO / "target/release/emotty"
    if not binary.exists():
        raise SystemExit("build the product first: cargo build --release")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "clips.npz"
        subprocess.run(
            [str(binary), "features", str(corpus), "--model", str(model), "--out", str(out)],
            check=True,
            cwd=REPO,
        )
        data = np.load(out)
        features = np.asarray(data["features"], dtype=np.float32)
        offsets = np.asarray(data["offsets"], dtype=np.int64)
        meta = json.loads(bytes(data["meta_json"]).decode("utf-8"))
    if features.shape[1] != dim:
        raise SystemExit(f"features have {features.shape[1]} values per frame, the model wants {dim}")
    cases = []
    for i, clip in enumerate(meta["clips"]):
        start, end = int(offsets[i]), int(offsets[i + 1])
        n = end - start
        take = min(n, MAX_CLIP_FRAMES)
        first = (n - take) // 2
        x = features[start + first : start + first + take]
        path = Path(clip["path"]).resolve().relative_to(REPO)
        cases.append(
            {
                "name": path.stem,
                "clip": str(path),
                "first_frame": first,
                "frames": take,
                "input_sum": round(float(x.astype(np.float64).sum()), 3),
                "x": x,
            }
        )
    return cases


STREAM_CHUNKS = [24, 48, 8, 160]


def write_stream_reference(path: Path, out: Path) -> None:
    """The streaming model's outputs after each chunk of the MFCC-like case."""
    meta = emotty_meta(path)
    dim = feature_dim(meta)
    (case,) = [c for c in synthetic_cases(dim) if c["name"] == "mfcc_like_t300"]
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    session = ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
    state = {s["name"]: np.zeros(s["shape"], dtype=np.float32) for s in meta["streaming"]["state"]}
    names = [o.name for o in session.get_outputs()]
    n_ours = 2 if meta.get("affect") else 1
    start, calls = 0, []
    for n in STREAM_CHUNKS:
        feeds = {"features": case["x"][None, start : start + n]} | state
        outs = session.run(None, feeds)
        state = {s["name"]: v for s, v in zip(meta["streaming"]["state"], outs[n_ours:])}
        call = {"frames": n, "probabilities": [round(float(v), 9) for v in outs[0][0]]}
        if n_ours == 2:
            call["affect"] = [round(float(v), 9) for v in outs[1][0]]
        calls.append(call)
        start += n
    doc = {
        "generator": "tests/reference/model_reference.py --stream",
        "onnxruntime": ort.__version__,
        "model": path.name,
        "model_sha256": sha256(path),
        "outputs": names,
        "input_scale": case["scale"],
        "input": case["q"][:start].reshape(-1).tolist(),
        "calls": calls,
    }
    out.write_text(json.dumps(doc, separators=(",", ":")) + "\n")
    print(f"wrote {out}: {len(calls)} calls")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, action="append", help="repeatable")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--npz", type=Path, help="real features instead of synthetic ones")
    parser.add_argument("--corpus", type=Path, help="labeled clips, through `emotty features`")
    parser.add_argument("--stream", action="store_true", help="a streaming model, fed in chunks")
    args = parser.parse_args()
    if args.stream:
        write_stream_reference(args.model[0].resolve(), args.out)
        return

    runners = [Runner(p.resolve()) for p in (args.model or DEFAULT_MODELS)]
    dims = {feature_dim(r.meta) for r in runners}
    if len(dims) != 1:
        raise SystemExit(f"models disagree on feature_dim: {sorted(dims)}")
    (dim,) = dims

    if args.corpus:
        if len(runners) != 1:
            raise SystemExit("--corpus takes one --model")
        cases = corpus_cases(args.corpus.resolve(), runners[0].path, dim)
    elif args.npz:
        cases = npz_cases(args.npz, dim)
    else:
        cases = synthetic_cases(dim)
    out_cases = []
    for case in cases:
        record = {"name": case["name"], "frames": case["frames"]}
        if "q" in case:
            record["input_scale"] = case["scale"]
            record["input"] = case["q"].reshape(-1).tolist()
        elif "clip" in case:
            record.update({k: case[k] for k in ("clip", "first_frame", "input_sum")})
        else:
            record["rows"] = case["rows"]
        record["expected"] = {r.path.name: r.probabilities(case["x"]) for r in runners}
        out_cases.append(record)

    doc = {
        "generator": "tests/reference/model_reference.py",
        "onnxruntime": ort.__version__,
        "source": (
            f"emotty features {args.corpus.resolve().relative_to(REPO)}"
            if args.corpus
            else str(args.npz) if args.npz else f"synthetic, numpy seed {SEED}"
        ),
        "feature_dim": dim,
        "models": [r.path.name for r in runners],
        "model_sha256": {r.path.name: sha256(r.path) for r in runners},
        "cases": out_cases,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    # One case per line keeps diffs readable without bloating the file.
    lines = [json.dumps({k: v for k, v in doc.items() if k != "cases"}, separators=(",", ":"))]
    body = ",\n".join(json.dumps(c, separators=(",", ":")) for c in out_cases)
    text = lines[0][:-1] + ',"cases":[\n' + body + "\n]}\n"
    json.loads(text)  # the hand-assembled document must still be valid JSON
    args.out.write_text(text)
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes, {len(out_cases)} cases)")


if __name__ == "__main__":
    main()
