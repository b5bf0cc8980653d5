"""Our recognizer and the published baselines, all with the same interface.

Every model takes the engine's raw features, shape [batch, time, dim], and returns class
probabilities [batch, 8]. Normalisation statistics live inside the model as buffers, so the
exported ONNX graph needs nothing from the engine but the features it already computes.
"""

from __future__ import annotations

import torch
from torch import nn


class Normalize(nn.Module):
    """Optional per-window mean removal, then a fixed standardisation learned from training data.

    Removing each window's mean per coefficient (cepstral mean normalisation) makes the model
    blind to a constant gain and to a microphone's fixed frequency response, which is what
    changes most between the studio corpora and a real USB microphone.
    """

    def __init__(
        self,
        dim: int,
        per_window_mean: bool,
        mean_dims: int | None = None,
        mean_from: int = 0,
        causal: bool = False,
        window: int = 300,
    ):
        super().__init__()
        self.per_window_mean = per_window_mean
        # Causal: each frame has the mean of the `window` frames up to it removed (what a
        # model that sees each frame once, in order, can know), not the whole window's.
        self.causal = causal
        self.window = window
        # How many leading values get the per-window mean removed (None: all of them).
        # c0 alone is the frame's log energy: removing only its mean makes the model
        # gain-invariant while keeping the window's average spectral shape (vocal effort).
        self.mean_dims = mean_dims
        # Values before this one keep their level (see `Ours`, cmn="spectral").
        self.mean_from = mean_from
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("std", torch.ones(dim))

    def set_stats(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        self.mean.copy_(mean)
        self.std.copy_(std.clamp_min(1e-3))

    def window_mean(self, x: torch.Tensor) -> torch.Tensor:
        """The window's mean over time, or (causal) the running mean up to each frame."""
        if self.causal:
            c = x.cumsum(dim=1)
            before = nn.functional.pad(c, (0, 0, self.window, 0))[:, : x.shape[1]]
            n = torch.arange(1, x.shape[1] + 1, dtype=x.dtype, device=x.device).clamp(max=self.window)
            return (c - before) / n[None, :, None]
        return x.mean(dim=1, keepdim=True)

    def centre(self, x: torch.Tensor) -> torch.Tensor:
        """The per-window mean removal alone."""
        if self.per_window_mean:
            if self.mean_from:
                a, b = self.mean_from, self.mean_dims
                x = torch.cat([x[:, :, :a], x[:, :, a:b] - self.window_mean(x[:, :, a:b]), x[:, :, b:]], dim=2)
            elif self.mean_dims is None:
                x = x - self.window_mean(x)
            else:
                d = self.mean_dims
                x = torch.cat([x[:, :, :d] - self.window_mean(x[:, :, :d]), x[:, :, d:]], dim=2)
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.centre(x) - self.mean) / self.std


class HalfInstanceNorm(nn.Module):
    """The first half of the channels instance-normalised over time (each window's own
    mean and variance per channel, with learned scale and shift), the rest batch-normalised."""

    def __init__(self, channels: int):
        super().__init__()
        self.split = channels // 2
        self.instance = nn.InstanceNorm1d(self.split, affine=True)
        self.batch = nn.BatchNorm1d(channels - self.split)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.instance(x[:, : self.split]), self.batch(x[:, self.split :])], dim=1)


class Ours(nn.Module):
    """Convolutional front end → bidirectional LSTM → attention pooling.

    The convolutions halve the frame rate three times (10 ms → 80 ms steps; `strides`),
    which is ample for prosody and makes the recurrent part eight times cheaper than at
    the frame rate — the engine runs this every half second. In the folds, 80 ms steps also
    scored better on the validation actors than 40 ms (0.595 vs 0.581 UAR, same
    settings) and 160 ms worse (0.547): coarser steps regularise, up to a point. The BiLSTM
    models the window's temporal shape; attention pooling lets the few steps that carry
    the emotion outweigh the rest.
    """

    def __init__(
        self,
        dim: int = 40,
        n_classes: int = 8,
        channels: int = 128,
        hidden: int = 96,
        dropout: float = 0.3,
        cmn: str = "all",
        strides: tuple[int, int, int] = (2, 2, 2),
        rnn: str = "lstm",
        affect: bool = False,
        n_mfcc: int = 40,
        causal: bool = False,
        window: int = 300,
        cepstra: int = 0,
        ibn: bool = False,
    ):
        super().__init__()
        if ibn and causal:
            raise ValueError("instance normalisation reads the whole window; a causal model cannot have it")
        # Causal: every output depends only on the frames before it (convolutions padded
        # on the left, a unidirectional LSTM, running means), so the same weights can run
        # as a streaming model that sees each frame once, its state carried from hop to
        # hop (the streaming issue). Pooling still covers the whole window.
        self.causal = causal
        # "spectral": the window's mean is removed from the cepstral shape (c1 onwards)
        # only; log energy (c0), the pitch track and voicing keep their level, which the
        # per-stream adaptation (adapt.py) makes relative to the voice and microphone
        # heard. Loudness and pitch relative to the speaker are arousal's first cues.
        mean_dims = {"all": None, "c0": 1, "none": 0, "spectral": n_mfcc}[cmn]
        self.norm = Normalize(
            dim,
            per_window_mean=cmn != "none",
            mean_dims=mean_dims,
            mean_from=1 if cmn == "spectral" else 0,
            causal=causal,
            window=window,
        )

        # With `cepstra` N > 0 the model reads c0 … c(N-1) and the pitch track only: the
        # higher cepstra are the spectrum's fine structure (harmonics, a voice's and a
        # microphone's detail), the lower ones its envelope (vocal effort, formants).
        keep = torch.ones(dim)
        if cepstra:
            keep[cepstra:n_mfcc] = 0.0
        self.register_buffer("keep", keep, persistent=False)

        def block(cin, cout, k, stride, norm=None):
            if causal:
                # Output j reads inputs j*stride-(k-1) … j*stride: none after its own step.
                conv = nn.Sequential(nn.ConstantPad1d((k - 1, 0), 0.0), nn.Conv1d(cin, cout, k, stride=stride))
            else:
                conv = nn.Conv1d(cin, cout, k, stride=stride, padding=k // 2)
            return nn.Sequential(conv, norm or nn.BatchNorm1d(cout), nn.GELU())

        # With `ibn`, half the first block's channels are normalised per window over time
        # (instance normalisation, as in IBN-Net, Pan et al., 2018) and half by batch
        # statistics: what a voice, a language or a room shifts about a whole window
        # leaves those channels, and the other half keeps it for what needs it.
        self.conv = nn.Sequential(
            block(dim, channels, 5, strides[0], HalfInstanceNorm(channels) if ibn else None),
            block(channels, channels, 5, strides[1]),
            block(channels, channels, 3, strides[2]),
        )
        # `rnn="gru"` is an experiment, not the product: the product is specified as
        # LSTM-based. tract runs an ONNX GRU over a window of known length as one fused
        # op, where an LSTM always becomes a Scan that dispatches its body once per step,
        # so the experiment measures what that would buy (`training/RESULTS.md`,
        # `ours-gru`). The attribute stays `lstm` so earlier runs' weights load unchanged.
        cell = {"lstm": nn.LSTM, "gru": nn.GRU}[rnn]
        self.lstm = cell(channels, hidden, batch_first=True, bidirectional=not causal)
        out = hidden if causal else 2 * hidden
        self.attention = nn.Linear(out, 1)
        self.head = nn.Sequential(
            nn.Dropout(dropout),
            nn.Linear(2 * out, 64),
            nn.GELU(),
            nn.Dropout(dropout / 2),
            nn.Linear(64, n_classes),
        )
        # Arousal and valence in [-1, 1], read off the same pooled summary as the classes.
        self.affect = (
            nn.Sequential(nn.Dropout(dropout), nn.Linear(2 * out, 32), nn.GELU(), nn.Linear(32, 2), nn.Tanh())
            if affect
            else None
        )
        # Training with context (causal models): each item's end and the window length;
        # only the window's outputs are pooled. None: pool every output.
        self.pool_span: tuple[torch.Tensor, int] | None = None
        self.stride = strides[0] * strides[1] * strides[2]
        # Divides the logits before the softmax; fitted after training on validation
        # speakers (`train.fit_temperature`) so the probabilities are calibrated.
        self.register_buffer("temperature", torch.ones(()))

    def pooled(self, x: torch.Tensor) -> torch.Tensor:
        x = self.norm(x) * self.keep
        h = self.conv(x.transpose(1, 2)).transpose(1, 2)
        h, _ = self.lstm(h)
        if self.pool_span is not None:
            # Each item's window: the last ceil(window / stride) steps before its end.
            ends, window = self.pool_span
            n = -(-window // self.stride)
            last = (ends - 1) // self.stride
            idx = last[:, None] - n + 1 + torch.arange(n)[None, :]
            h = torch.gather(h, 1, idx.clamp_min(0)[:, :, None].expand(-1, -1, h.shape[2]))
        a = torch.softmax(self.attention(h), dim=1)
        attended = (a * h).sum(dim=1)
        mean = h.mean(dim=1)
        return torch.cat([attended, mean], dim=-1)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.pooled(x))

    def logits_and_affect(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        p = self.pooled(x)
        return self.head(p), (self.affect(p) if self.affect is not None else None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.logits(x) / self.temperature, dim=-1)


def average_verdicts(outs, t: float = 1.0):
    """Several models' (logits, arousal/valence or None) as one: logits whose softmax at
    temperature `t` is the mean of theirs at `t`, and their mean arousal and valence."""
    probs = torch.stack([torch.softmax(lg / t, dim=-1) for lg, _ in outs]).mean(dim=0)
    affects = [a for _, a in outs if a is not None]
    affect = torch.stack(affects).mean(dim=0) if affects else None
    return t * probs.clamp_min(1e-12).log(), affect


class Pair(nn.Module):
    """Two `Ours` members that read each window through different normalisations, their
    class probabilities and their arousal and valence averaged.

    One member has the window's mean removed from every value (the model as shipped in
    1.x), the other from loudness (c0) only, so it keeps the window's spectral shape and
    pitch level. Each learns from its own loss and neither sees the other's gradients:
    they stay two views that err differently. Two full-size models of these kinds,
    averaged, read RAVDESS and the arousal of an unseen language better than either
    (`training/RESULTS.md`, "two normalisations averaged"); here they are one graph and
    one temperature, each member as wide as `channels` and `hidden` say.
    """

    def __init__(self, dim: int = 40, n_classes: int = 8, cmns: tuple[str, ...] = ("all", "c0"), **kw):
        super().__init__()
        if kw.get("causal"):
            # Its members would not see the training context's pooling span.
            raise ValueError("a pair is a window model; a causal one has no pair form")
        kw.pop("cmn", None)  # each member has its own
        self.members = nn.ModuleList([Ours(dim, n_classes, cmn=c, **kw) for c in cmns])
        first = self.members[0]
        self.stride = first.stride
        # Training code asks `affect is not None` of a model with an affect head.
        self.affect = first.affect
        self.pool_span: tuple[torch.Tensor, int] | None = None
        self.register_buffer("temperature", torch.ones(()))

    def logits_and_affect(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The log of the members' mean probabilities (so that a softmax of it is their
        average) and their mean arousal and valence."""
        return average_verdicts([m.logits_and_affect(x) for m in self.members])

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.logits_and_affect(x)[0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.logits(x) / self.temperature, dim=-1)


class FusedPair(nn.Module):
    """A trained `Pair` as one model of twice the width, for export: the same function,
    computed by grouped convolutions and one LSTM whose weights are block-diagonal.

    tract runs every LSTM as a loop that dispatches its cell once per step, so two
    members cost two loops; fused, the pair costs one loop of the width of both, about
    what one member of that width costs. Outputs match the pair's to float rounding.
    """

    def __init__(self, pair: Pair):
        super().__init__()
        a, b = pair.members
        # The normalisation is folded into the first convolution, as `fold_onnx` does for
        # one model: conv_W((x - c) / std) = conv_W'(pad_c(x)) - (W' summed over taps) c,
        # with W' = W * keep / std per input channel and c each member's centre (its
        # window mean where it removes one, plus its training mean). tract then never
        # broadcasts over a 42-wide frame, which cost about a sixth of a model's time.
        centre_masks, offsets, scales = [], [], []
        for member in (a, b):
            norm = member.norm
            if not norm.per_window_mean or norm.mean_from or norm.causal:
                raise ValueError("a fused pair needs members with CMN all or c0")
            mask = torch.zeros(norm.mean.shape[0])
            mask[: norm.mean_dims if norm.mean_dims is not None else mask.shape[0]] = 1.0
            centre_masks.append(mask)
            offsets.append(norm.mean.clone())
            scales.append(member.keep / norm.std)
        self.register_buffer("centre_mask", torch.cat(centre_masks))
        self.register_buffer("offset", torch.cat(offsets))
        self.pad = a.conv[0][0].padding[0]
        blocks = []
        for ba, bb in zip(a.conv, b.conv):
            ca, cb = ba[0], bb[0]
            conv = nn.Conv1d(
                ca.in_channels * 2, ca.out_channels * 2, ca.kernel_size[0], stride=ca.stride[0], padding=ca.padding[0], groups=2
            )
            conv.weight.data = torch.cat([ca.weight.data, cb.weight.data])
            conv.bias.data = torch.cat([ca.bias.data, cb.bias.data])
            bn = nn.BatchNorm1d(ca.out_channels * 2, eps=ba[1].eps)
            for name in ("weight", "bias", "running_mean", "running_var"):
                getattr(bn, name).data = torch.cat([getattr(ba[1], name).data, getattr(bb[1], name).data])
            blocks.append(nn.Sequential(conv, bn, nn.GELU(approximate=ba[2].approximate)))
        first = blocks[0][0]
        cout, dim = first.out_channels // 2, first.in_channels // 2
        first.weight.data = first.weight.data * torch.cat(scales).view(2, dim).repeat_interleave(cout, 0)[:, :, None]
        first.padding = (0,)
        tap = torch.zeros(2 * dim, 2 * cout)
        for g in range(2):
            w = first.weight.data[g * cout : (g + 1) * cout].sum(dim=2)  # [cout, dim]
            tap[g * dim : (g + 1) * dim, g * cout : (g + 1) * cout] = w.T
        self.register_buffer("tap_sum", tap)
        self.conv = nn.Sequential(*blocks)
        h, c = a.lstm.hidden_size, a.lstm.input_size
        self.hidden = h
        self.lstm = nn.LSTM(2 * c, 2 * h, batch_first=True, bidirectional=True)
        for suffix in ("_l0", "_l0_reverse"):
            w_ih = torch.zeros(8 * h, 2 * c)
            w_hh = torch.zeros(8 * h, 2 * h)
            b_ih = torch.zeros(8 * h)
            b_hh = torch.zeros(8 * h)
            for m, member in enumerate((a, b)):
                for g in range(4):  # gates i, f, g, o
                    rows = slice(g * 2 * h + m * h, g * 2 * h + (m + 1) * h)
                    src = slice(g * h, (g + 1) * h)
                    w_ih[rows, m * c : (m + 1) * c] = getattr(member.lstm, "weight_ih" + suffix).data[src]
                    w_hh[rows, m * h : (m + 1) * h] = getattr(member.lstm, "weight_hh" + suffix).data[src]
                    b_ih[rows] = getattr(member.lstm, "bias_ih" + suffix).data[src]
                    b_hh[rows] = getattr(member.lstm, "bias_hh" + suffix).data[src]
            for name, value in (("weight_ih", w_ih), ("weight_hh", w_hh), ("bias_ih", b_ih), ("bias_hh", b_hh)):
                getattr(self.lstm, name + suffix).data = value
        self.members = nn.ModuleList([a, b])  # their attention, heads and affect heads
        self.affect = pair.affect
        self.register_buffer("temperature", pair.temperature.clone())

    def logits_and_affect(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        both = torch.cat([x, x], dim=2)
        mean = x.mean(dim=1, keepdim=True)
        centre = torch.cat([mean, mean], dim=2) * self.centre_mask + self.offset  # [B, 1, 2 dim]
        if self.pad:
            edge = centre.expand(-1, self.pad, -1)
            both = torch.cat([edge, both, edge], dim=1)
        first = self.conv[0]
        y = first[0](both.transpose(1, 2)) - (centre @ self.tap_sum).transpose(1, 2)
        y = first[2](first[1](y))
        y = self.conv[2](self.conv[1](y)).transpose(1, 2)
        y, _ = self.lstm(y)
        h = self.hidden
        outs = []
        for m, member in enumerate(self.members):
            # This member's units of the forward and backward halves.
            part = torch.cat([y[:, :, m * h : (m + 1) * h], y[:, :, 2 * h + m * h : 2 * h + (m + 1) * h]], dim=2)
            att = torch.softmax(member.attention(part), dim=1)
            pooled = torch.cat([(att * part).sum(dim=1), part.mean(dim=1)], dim=-1)
            outs.append((member.head(pooled), member.affect(pooled) if member.affect is not None else None))
        return average_verdicts(outs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.logits_and_affect(x)[0] / self.temperature, dim=-1)


class WithAffect(nn.Module):
    """The exported form of a model with an affect head: calibrated probabilities and
    [arousal, valence], as two outputs."""

    def __init__(self, model: Ours):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logits, affect = self.model.logits_and_affect(x)
        return torch.softmax(logits / self.model.temperature, dim=-1), affect


class MfccOnly(nn.Module):
    """Keeps the first `n` values of each frame: the published baselines use MFCCs only,
    so they ignore the pitch track that our front end appends."""

    def __init__(self, n: int):
        super().__init__()
        self.n = n

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, :, : self.n]


class Baseline1(nn.Module):
    """The published real-time LSTM system: LSTM(128) over the MFCC sequence → Dense 64 →
    Dense 32 → Dense 8, with dropout."""

    def __init__(self, dim: int = 40, n_classes: int = 8, n_mfcc: int | None = None):
        super().__init__()
        dim = n_mfcc or dim
        self.mfcc = MfccOnly(dim)
        self.norm = Normalize(dim, per_window_mean=False)
        self.lstm = nn.LSTM(dim, 128, batch_first=True)
        self.head = nn.Sequential(
            nn.Dropout(0.3),
            nn.Linear(128, 64),
            nn.ReLU(),
            nn.Dropout(0.3),
            nn.Linear(64, 32),
            nn.ReLU(),
            nn.Linear(32, n_classes),
        )

    def logits(self, x):
        h, _ = self.lstm(self.norm(self.mfcc(x)))
        return self.head(h[:, -1])

    def forward(self, x):
        return torch.softmax(self.logits(x), dim=-1)


class Baseline2(nn.Module):
    """The published "LSTM approach" on TESS: two stacked LSTM(64) → Dense 8. With
    `mean_input` it feeds the clip's mean MFCC vector as a one-step sequence, as published;
    without, the full sequence."""

    def __init__(self, dim: int = 40, n_classes: int = 8, mean_input: bool = True, n_mfcc: int | None = None):
        super().__init__()
        dim = n_mfcc or dim
        self.mfcc = MfccOnly(dim)
        self.mean_input = mean_input
        self.norm = Normalize(dim, per_window_mean=False)
        self.lstm = nn.LSTM(dim, 64, num_layers=2, batch_first=True, dropout=0.2)
        self.head = nn.Sequential(nn.Dropout(0.2), nn.Linear(64, n_classes))

    def logits(self, x):
        x = self.norm(self.mfcc(x))
        if self.mean_input:
            x = x.mean(dim=1, keepdim=True)
        h, _ = self.lstm(x)
        return self.head(h[:, -1])

    def forward(self, x):
        return torch.softmax(self.logits(x), dim=-1)


class Baseline3(nn.Module):
    """What most public repositories do: mean and standard deviation of each MFCC over the
    clip → a small MLP."""

    def __init__(self, dim: int = 40, n_classes: int = 8, n_mfcc: int | None = None):
        super().__init__()
        dim = n_mfcc or dim
        self.mfcc = MfccOnly(dim)
        self.norm = Normalize(dim, per_window_mean=False)
        self.mlp = nn.Sequential(
            nn.Linear(2 * dim, 256),
            nn.ReLU(),
            nn.Dropout(0.3),
            nn.Linear(256, 128),
            nn.ReLU(),
            nn.Dropout(0.3),
            nn.Linear(128, n_classes),
        )

    def logits(self, x):
        x = self.norm(self.mfcc(x))
        stats = torch.cat([x.mean(dim=1), x.std(dim=1, unbiased=False)], dim=-1)
        return self.mlp(stats)

    def forward(self, x):
        return torch.softmax(self.logits(x), dim=-1)


MODELS = {
    "ours": lambda dim, n_mfcc, pair=False, **kw: (Pair(dim, n_mfcc=n_mfcc, **kw) if pair else Ours(dim, n_mfcc=n_mfcc, **kw)),
    "lstm128-dense": lambda dim, n_mfcc, **kw: Baseline1(dim, n_mfcc=n_mfcc),
    "lstm64x2-mean": lambda dim, n_mfcc, **kw: Baseline2(dim, mean_input=True, n_mfcc=n_mfcc),
    "lstm64x2-seq": lambda dim, n_mfcc, **kw: Baseline2(dim, mean_input=False, n_mfcc=n_mfcc),
    "mean-std-mlp": lambda dim, n_mfcc, **kw: Baseline3(dim, n_mfcc=n_mfcc),
}

DESCRIPTIONS = {
    "ours": "Conv1d×3 (128 ch, stride 8) → BiLSTM(96) → attention + mean pooling → MLP, over 40 MFCCs + pitch track; per-window CMN; augmentation, SpecAugment, weight averaging",
    "lstm128-dense": "LSTM(128) over the MFCC sequence → Dense 64 → Dense 32 → Dense 8 (published real-time LSTM system)",
    "lstm64x2-mean": "2 × LSTM(64) → Dense 8 on the mean MFCC vector as a one-step sequence (published TESS system)",
    "lstm64x2-seq": "2 × LSTM(64) → Dense 8 on the full MFCC sequence",
    "mean-std-mlp": "mean and std of MFCCs → MLP(256, 128) (typical public repository)",
}
