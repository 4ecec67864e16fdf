"""Layers shared by priors, solvers and first guesses: per-axis padding (periodic or zero),
padded n-d convolutions, n-d layer factories, and folding a spatial axis into the channels."""
from __future__ import annotations

from typing import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.modules.conv import _ConvNd

#: n-d layer classes by number of spatial axes
CONV: dict[int, Callable[..., _ConvNd]] = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}
CONV_T: dict[int, Callable[..., _ConvNd]] = {1: nn.ConvTranspose1d, 2: nn.ConvTranspose2d,
                                             3: nn.ConvTranspose3d}
AVG_POOL: dict[int, Callable[..., nn.Module]] = {1: nn.AvgPool1d, 2: nn.AvgPool2d,
                                                 3: nn.AvgPool3d}


def as_tuple(value: "int | bool | Sequence", ndim: int, name: str) -> tuple:
    """Broadcast a scalar option to one value per spatial axis, checking the length."""
    if isinstance(value, (int, bool, float)):
        return (value,) * ndim
    value = tuple(value)
    if len(value) != ndim:
        raise ValueError(f"{name} needs one value per spatial axis ({ndim}), got {value}")
    return value


def pad_axes(x: torch.Tensor, pads: Sequence[int], periodic: Sequence[bool]) -> torch.Tensor:
    """Pad each spatial axis i of ``x`` ``(N, C, *spatial)`` by ``pads[i]`` on both sides,
    circularly where ``periodic[i]`` and with zeros elsewhere."""
    ndim = x.ndim - 2
    for i in range(ndim):
        p = pads[i]
        if p == 0:
            continue
        dim = 2 + i
        if periodic[i]:
            n = x.shape[dim]
            if p > n:
                raise ValueError(f"periodic padding {p} exceeds axis length {n}")
            x = torch.cat([x.narrow(dim, n - p, p), x, x.narrow(dim, 0, p)], dim=dim)
        else:
            spec = [0, 0] * ndim
            j = ndim - 1 - i  # F.pad lists the last axis first
            spec[2 * j] = spec[2 * j + 1] = p
            x = F.pad(x, spec)
    return x


# The native (im2col) 2-D convolution. For one input channel on CPU its input gradient is
# much faster than oneDNN's (whose backward-data path for C_in = 1 costs ~8× its forward):
# the prior-gradient ∇ₓλ‖x − Φ(x)‖² of a one-channel U-Net runs 1.5–2.3× faster with it
# (benchmarks/bench_conv_backend.py measures it side by side). Same values to float rounding.
_NATIVE_CONV2D = getattr(torch._C._nn, "thnn_conv2d", None)


def use_native_conv(x: torch.Tensor, conv: _ConvNd) -> bool:
    """Whether :class:`PaddedConv` computes ``conv`` on ``x`` with the native kernel: a plain
    2-D convolution with one input channel, on CPU."""
    return (_NATIVE_CONV2D is not None and NATIVE_SINGLE_CHANNEL_CONV and x.ndim == 4
            and x.device.type == "cpu" and conv.in_channels == 1 and conv.groups == 1
            and tuple(conv.stride) == (1, 1) and tuple(conv.dilation) == (1, 1))


# switch for the side-by-side benchmark (and a way out should a torch build lack the kernel)
NATIVE_SINGLE_CHANNEL_CONV = True


class PaddedConv(nn.Module):
    """An n-d convolution with 'same' output size and per-axis periodic/zero padding."""

    tap_mask: torch.Tensor

    def __init__(self, ndim: int, c_in: int, c_out: int, kernel: "int | Sequence[int]",
                 periodic: Sequence[bool], bias: bool = True, blind: bool = False) -> None:
        super().__init__()
        k = as_tuple(kernel, ndim, "kernel")
        if any(kk % 2 == 0 for kk in k):
            raise ValueError(f"kernel sizes must be odd, got {k}")
        self.pads = tuple(kk // 2 for kk in k)
        self.periodic = tuple(bool(p) for p in periodic)
        self.conv = CONV[ndim](c_in, c_out, k, bias=bias)
        self.blind = bool(blind)
        if self.blind:  # the output at a point does not see the input at that point
            mask = torch.ones_like(self.conv.weight)
            centre = (slice(None), slice(None)) + self.pads
            mask[centre] = 0.0
            self.register_buffer("tap_mask", mask, persistent=False)

    def weight(self) -> torch.Tensor:
        """The convolution weight as applied (centre taps zeroed for a blind convolution)."""
        return self.conv.weight * self.tap_mask if self.blind else self.conv.weight

    def _conv(self, xp: torch.Tensor, w: torch.Tensor, b: "torch.Tensor | None") -> torch.Tensor:
        if _NATIVE_CONV2D is not None and use_native_conv(xp, self.conv):
            return _NATIVE_CONV2D(xp, w, list(w.shape[2:]), b, [1, 1], [0, 0])
        return self.conv._conv_forward(xp, w, b)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._conv(pad_axes(x, self.pads, self.periodic), self.weight(), self.conv.bias)

    @staticmethod
    def stacked(convs: "Sequence[PaddedConv]", x: torch.Tensor) -> "tuple[torch.Tensor, ...]":
        """``tuple(c(x) for c in convs)`` computed as one convolution with the weights stacked
        along the output channels (the convolutions must share input channels, kernel,
        padding and bias use)."""
        first = convs[0]
        for c in convs[1:]:
            if (c.pads, c.periodic, c.conv.in_channels, c.conv.kernel_size) != \
                    (first.pads, first.periodic, first.conv.in_channels, first.conv.kernel_size) \
                    or (c.conv.bias is None) != (first.conv.bias is None):
                raise ValueError("PaddedConv.stacked needs convolutions of the same input "
                                 "channels, kernel, padding and bias use")
        w = torch.cat([c.weight() for c in convs])
        b = None if first.conv.bias is None else \
            torch.cat([c.conv.bias for c in convs if c.conv.bias is not None])
        out = first._conv(pad_axes(x, first.pads, first.periodic), w, b)
        return out.split([c.conv.out_channels for c in convs], dim=1)


def fold_axis(x: torch.Tensor, axis: int) -> torch.Tensor:
    """``(B, C, *spatial)`` → ``(B, C·S_axis, *other spatial)``."""
    d = 2 + (axis % (x.ndim - 2))
    xs = x.movedim(d, 2)
    return xs.reshape(xs.shape[0], xs.shape[1] * xs.shape[2], *xs.shape[3:])


def unfold_axis(z: torch.Tensor, like: torch.Size, axis: int) -> torch.Tensor:
    """Inverse of :func:`fold_axis` for an original shape ``like``."""
    nd = len(like) - 2
    d = 2 + (axis % nd)
    moved = [like[0], like[1], like[d], *[like[i] for i in range(2, len(like)) if i != d]]
    return z.reshape(moved).movedim(2, d)
