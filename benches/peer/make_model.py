#!/usr/bin/env python3
"""Builds the peer pipeline's model, `peer-model.onnx`: the typical small speech emotion
classifier of public repositories, Conv1d(40→128, k5) → BiLSTM(128) → attention pooling
→ Linear(256→8), over 40 MFCCs of the whole clip. Weights are random (seeded): the
benchmark times the pipeline, not its accuracy.

Run with the training environment (torch, onnx, onnxscript):
    training/.venv/bin/python benches/peer/make_model.py
"""

from pathlib import Path

import torch
from torch import nn


class Peer(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Sequential(nn.Conv1d(40, 128, 5, padding=2), nn.ReLU())
        self.lstm = nn.LSTM(128, 128, batch_first=True, bidirectional=True)
        self.attention = nn.Linear(256, 1)
        self.head = nn.Linear(256, 8)

    def forward(self, mfcc):  # [batch, time, 40]
        h = self.conv(mfcc.transpose(1, 2)).transpose(1, 2)
        h, _ = self.lstm(h)
        a = torch.softmax(self.attention(h), dim=1)
        return torch.softmax(self.head((a * h).sum(dim=1)), dim=-1)


def main():
    torch.manual_seed(7)
    model = Peer().eval()
    out = Path(__file__).resolve().parent / "peer-model.onnx"
    batch = torch.export.Dim("batch", min=1, max=64)
    time = torch.export.Dim("time", min=10, max=100_000)
    program = torch.onnx.export(
        model,
        (torch.zeros(2, 300, 40),),
        dynamo=True,
        opset_version=18,
        input_names=["mfcc"],
        output_names=["probabilities"],
        dynamic_shapes={"mfcc": {0: batch, 1: time}},
    )
    program.save(str(out))
    print(f"wrote {out} ({out.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
