"""ONNX export with the metadata the engine reads, and evaluation through `emotty eval`.

Fold results are not computed in Python: each fold's model is exported exactly as a shipped
model would be and scored by the product itself (`emotty eval --json` on the held-out
speakers' files), so the reported numbers include the real decoder, resampler, front end,
VAD gating, windowing and clip aggregation.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
from pathlib import Path

import onnx
import torch

from . import fold_onnx
from .data import CIRCUMPLEX
from .models import FusedPair, Pair, WithAffect

REPO = Path(__file__).resolve().parents[2]


def metadata(
    frontend: dict,
    schedule: dict,
    labels: list[str],
    name: str,
    version: str,
    description: str,
    training_data: str,
    metrics: dict,
    affect: bool = False,
    temperature: float | None = None,
    adaptation: dict | None = None,
) -> dict:
    """The `emotty` metadata entry the engine reads (src/model/meta.rs, `ModelMeta`);
    `labels` are the training archive's (the engine's vocabulary, in its order). With
    `affect`, the model has a second output, [batch, 2]: arousal and valence in [-1, 1],
    trained towards the circumplex placement recorded here."""
    extra = {}
    if affect:
        extra["affect"] = ["arousal", "valence"]
        extra["circumplex"] = {label: list(CIRCUMPLEX[label]) for label in labels}
    if temperature is not None:
        extra["temperature"] = temperature
    if adaptation is not None:
        # The training statistics the engine's per-stream adaptation starts from.
        extra["adaptation"] = adaptation
    return extra | {
        "format": 1,
        "name": name,
        "version": version,
        "description": description,
        "labels": labels,
        "sample_rate": frontend["sample_rate"],
        "frontend": frontend,
        # The window the model was trained on, as the training archive's schedule says.
        "window_s": schedule["window_s"],
        "min_window_s": schedule["min_window_s"],
        "output": "probabilities",
        "training_data": training_data,
        "metrics": metrics,
    }


def tanh_gelu(model: torch.nn.Module) -> torch.nn.Module:
    """A copy of `model` whose GELUs use the tanh approximation.

    Exported at opset 20 that is one `Gelu` node, which tract runs as a single fused
    kernel; the exact GELU becomes five element-wise nodes (Div, Erf, Add, Mul, Mul) and
    took 0.75 of the 2.4 ms a 3 s window cost. The two differ by at most 5e-4 per
    activation; the exported model's probabilities move by about 1e-4.
    """
    model = copy.deepcopy(model)
    for m in model.modules():
        if isinstance(m, torch.nn.GELU):
            m.approximate = "tanh"
    return model


def export_onnx(model: torch.nn.Module, dim: int, path: Path, meta: dict) -> None:
    model = tanh_gelu(model).eval()
    if isinstance(model, Pair):
        fused = FusedPair(model).eval()
        # The fused form must be the same function: checked on random windows.
        with torch.no_grad():
            x = torch.randn(2, 237, dim, generator=torch.Generator().manual_seed(0)) * 10
            gap = float((model(x) - fused(x)).abs().max())
        if gap > 1e-5:
            raise ValueError(f"{path}: the fused pair differs from the pair by {gap:g}")
        model = fused
    affect = getattr(model, "affect", None) is not None
    if affect:
        model = WithAffect(model).eval()
    # Batch 2 in the example, or the exporter freezes the batch axis to 1.
    example = torch.zeros(2, 200, dim)
    batch = torch.export.Dim("batch", min=1, max=512)
    time = torch.export.Dim("time", min=10, max=100_000)
    program = torch.onnx.export(
        model,
        (example,),
        dynamo=True,
        opset_version=20,
        input_names=["features"],
        output_names=["probabilities", "affect"] if affect else ["probabilities"],
        dynamic_shapes={"x": {0: batch, 1: time}},
        optimize=True,
        verbose=False,
    )
    proto = program.model_proto
    # The normalisation rewritten for tract's sake (fold_onnx.py): same function.
    fold_onnx.fold(proto)
    proto.doc_string = meta["description"]
    del proto.metadata_props[:]
    entry = proto.metadata_props.add()
    entry.key = "emotty"
    entry.value = json.dumps(meta, separators=(",", ":"))
    onnx.checker.check_model(proto, full_check=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".onnx.partial")
    onnx.save_model(proto, str(tmp), save_as_external_data=False)
    os.replace(tmp, path)


def emotty_binary() -> Path:
    for p in (REPO / "target/release/emotty", REPO / "target/debug/emotty"):
        if p.exists():
            return p
    raise FileNotFoundError("build emotty first: cargo build --release")


def emotty_eval(model_path: Path, files: list[str], jobs: int = 2, adapt: str | None = None) -> dict:
    """Scores a model on files with the product's own `emotty eval --json`; `adapt` is
    its per-stream adaptation (`--adapt`; None: the binary's default)."""
    # Linux allows about 2 MB of arguments: a few thousand paths fit.
    cmd = [str(emotty_binary()), "eval", "--json", "--jobs", str(jobs), "--model", str(model_path)]
    if adapt is not None:
        cmd += ["--adapt", adapt]
    cmd += files
    # Clip paths in the archive are as `emotty features` saw them, run from the repo root.
    out = subprocess.run(cmd, check=False, capture_output=True, text=True, cwd=REPO)
    if out.returncode not in (0, 1) or not out.stdout.strip():
        raise RuntimeError(f"emotty eval failed ({out.returncode}): {out.stderr.strip()[-2000:]}")
    return json.loads(out.stdout)
