"""Learned first guesses x₀ = G(y, Ω): where the solver starts instead of "y, zeros in the gaps".

* :class:`BiGRUSmoother`: a bidirectional convolutional GRU run along the first spatial axis
  (time), with convolutions (periodic or zero padded) along the other axes. The forward pass
  is a learned filter, the backward pass its smoother; a small head maps both hidden states
  (and the observations) to the state. Time is processed in blocks of ``chunk`` steps (the
  observation cadence, say), so the recurrence runs T / chunk sequential steps.

A first guess is trained on its own (``fit(mode="first_guess")``) and then held fixed while
the prior and solver train from its output: see :class:`varda.core.model.VarModel`.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from varda.core.fastmath import tanh, tanh_
from varda.core.components import FirstGuess
from varda.core.nn import PaddedConv
from varda.core.kernel_guess import KernelCascade
from varda.errors import unknown_choice


class _ConvGRU(nn.Module):
    """One direction of a convolutional GRU: h ← n + z (h − n), gates from [x, h]."""

    def __init__(self, ndim: int, c_in: int, hidden: int, kernel, periodic) -> None:
        super().__init__()
        self.hidden = hidden
        self.inp = PaddedConv(ndim, c_in, 3 * hidden, kernel, periodic)
        self.rec = PaddedConv(ndim, hidden, 3 * hidden, kernel, periodic, bias=False)

    def forward(self, x: torch.Tensor, reverse: bool) -> torch.Tensor:
        """``x``: ``(T, B, C, *space)`` → hidden states ``(T, B, hidden, *space)``."""
        t_len, b = x.shape[:2]
        hd = self.hidden
        gx = self.inp(x.flatten(0, 1)).unflatten(0, (t_len, b))  # all input projections at once
        h = x.new_zeros((b, hd) + tuple(x.shape[3:]))
        out: list[torch.Tensor] = [h] * t_len
        for t in (range(t_len - 1, -1, -1) if reverse else range(t_len)):
            gh = self.rec(h)
            if gh.requires_grad:
                zr = torch.sigmoid(gx[t, :, :2 * hd] + gh[:, :2 * hd])
                n = tanh(gx[t, :, 2 * hd:] + zr[:, hd:] * gh[:, 2 * hd:])
                h = n + zr[:, :hd] * (h - n)
            else:   # inference: the same values with fewer fresh buffers
                zr = torch.add(gx[t, :, :2 * hd], gh[:, :2 * hd]).sigmoid_()
                n = tanh_(torch.addcmul(gx[t, :, 2 * hd:], zr[:, hd:], gh[:, 2 * hd:]))
                h = torch.sub(h, n).mul_(zr[:, :hd]).add_(n)
            out[t] = h
        return torch.stack(out, 0)


class BiGRUSmoother(FirstGuess):
    """x₀ = G(y·Ω, Ω): stacked bidirectional ConvGRUs along time, then a convolutional head.

    Args:
        ndim: spatial axes of the model's tensors ``(B, C, time, *space)``, ≥ 2 (time first).
        channels: state channels C.
        hidden: hidden channels per direction.
        layers: stacked bidirectional layers (each also sees the observations).
        kernel: kernel of the convolutions over the non-time axes.
        periodic: per non-time axis, periodic (True) or zero (False) padding.
        chunk: time steps per recurrence step (the time length is zero-padded, unobserved,
            to a multiple of it).
    """

    def __init__(self, *, ndim: int = 2, channels: int = 1, hidden: int = 32, layers: int = 2,
                 kernel: "int | Sequence[int]" = 5, periodic: "bool | Sequence[bool]" = True,
                 chunk: int = 4) -> None:
        super().__init__()
        if ndim < 2:
            raise ValueError(f"BiGRUSmoother needs a time axis and at least one other axis "
                             f"(ndim >= 2), got ndim={ndim}")
        if hidden < 1 or layers < 1 or chunk < 1:
            raise ValueError(f"hidden, layers and chunk must be >= 1, got {hidden}, {layers}, {chunk}")
        sdim = ndim - 1
        per = [bool(periodic)] * sdim if isinstance(periodic, bool) else [bool(p) for p in periodic]
        if len(per) != sdim:
            raise ValueError(f"periodic needs {sdim} flags (one per non-time axis), got {per}")
        self.channels, self.hidden, self.chunk = int(channels), int(hidden), int(chunk)
        c_obs = 2 * self.channels * self.chunk
        self.fwd = nn.ModuleList()
        self.bwd = nn.ModuleList()
        for i in range(layers):
            c_in = c_obs if i == 0 else 2 * hidden + c_obs
            self.fwd.append(_ConvGRU(sdim, c_in, hidden, kernel, per))
            self.bwd.append(_ConvGRU(sdim, c_in, hidden, kernel, per))
        self.head = nn.Sequential(PaddedConv(sdim, 2 * hidden + c_obs, 2 * hidden, 3, per),
                                  nn.ReLU(), PaddedConv(sdim, 2 * hidden, self.channels * self.chunk, 1, per))
        self.config = {"ndim": ndim, "channels": channels, "hidden": hidden, "layers": layers,
                       "kernel": kernel, "periodic": periodic, "chunk": chunk}
        self._periodic = tuple(per)

    def fixed_axes(self, ndim: int) -> tuple[bool, ...]:
        """Per spatial axis, whether fields cannot be tiled along it: the periodic non-time
        axes (time is a recurrence of any length)."""
        return (False, *self._periodic)

    def forward(self, y: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``y``, ``mask``: ``(B, C, T, *space)`` (normalised units) → x₀ of the same shape."""
        mask = mask.to(y.dtype).expand_as(y)
        y = torch.where(mask > 0, y, torch.zeros_like(y))
        b, c, t_len = y.shape[:3]
        space = tuple(y.shape[3:])
        k = self.chunk
        pad = (-t_len) % k
        obs = torch.cat([y, mask], 1)
        if pad:
            obs = torch.cat([obs, obs.new_zeros((b, 2 * c, pad) + space)], 2)
        nt = obs.shape[2] // k
        # (B, 2C, nt·k, *space) → (nt, B, 2C·k, *space): one recurrence step per block
        obs = obs.unflatten(2, (nt, k)).movedim(2, 0).flatten(2, 3)
        z = obs
        for f, r in zip(self.fwd, self.bwd):
            z = torch.cat([f(z, False), r(z, True), obs], 2)
        out = self.head(z.flatten(0, 1)).unflatten(0, (nt, b))      # (nt, B, C·k, *space)
        out = out.unflatten(2, (c, k)).movedim(0, 2).flatten(2, 3)  # (B, C, nt·k, *space)
        return out[:, :, :t_len]


FIRST_GUESSES: dict[str, type[FirstGuess]] = {"bigru": BiGRUSmoother, "cascade": KernelCascade}


def build_first_guess(config: "dict | None") -> "FirstGuess | None":
    """Build a first guess from ``{"type": name, **options}`` (None: no first guess)."""
    if config is None:
        return None
    cfg = dict(config)
    kind = cfg.pop("type", None)
    if kind not in FIRST_GUESSES:
        raise unknown_choice("first guess", kind, list(FIRST_GUESSES))
    return FIRST_GUESSES[kind](**cfg)
