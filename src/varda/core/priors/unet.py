"""Two-scale U-Net prior Φ(x) = Up(Φ1(Dw(x))) + Φ2(x) for 1-D, 2-D and 3-D fields."""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from varda.core.nn import AVG_POOL, CONV, CONV_T, PaddedConv, as_tuple
from varda.core.components import Prior
from varda.core.priors.registry import register

# Compute the three convolutions of a bilinear unit as one convolution with their weights
# stacked (they read the same input): one padding, one im2col and one GEMM instead of three,
# and one input gradient. Same values to float rounding; benchmarks/bench_conv_backend.py
# --switch fused_bilinear times it against three calls, side by side.
FUSED_BILINEAR = True


class BilinearUnit(nn.Module):
    """conv21(h) ⊕ conv22(h)⊙conv23(h), then a 1×1 convolution to the output channels
    (the bilinear block of the 4DVarNet reference networks)."""

    def __init__(self, ndim: int, c_in: int, hidden: int, c_out: int, kernel, periodic,
                 blind: bool = False) -> None:
        super().__init__()
        self.c21 = PaddedConv(ndim, c_in, hidden, kernel, periodic, blind=blind)
        self.c22 = PaddedConv(ndim, c_in, hidden, kernel, periodic, blind=blind)
        self.c23 = PaddedConv(ndim, c_in, hidden, kernel, periodic, blind=blind)
        self.out = CONV[ndim](2 * hidden, c_out, 1)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        if FUSED_BILINEAR:
            a, b, c = PaddedConv.stacked((self.c21, self.c22, self.c23), h)
        else:
            a, b, c = self.c21(h), self.c22(h), self.c23(h)
        return self.out(torch.cat([a, b * c], dim=1))


class ScaleBranch(nn.Sequential):
    """A conv+ReLU stack ending in a bilinear unit (or a plain conv)."""

    def __init__(self, ndim: int, channels: int, hidden: int, depth: int, kernel, periodic,
                 bilinear: bool, blind: bool = False) -> None:
        layers: list[nn.Module] = []
        c = channels
        for _ in range(depth):
            layers += [PaddedConv(ndim, c, hidden, kernel, periodic), nn.ReLU()]
            c = hidden
        if bilinear:
            layers.append(BilinearUnit(ndim, c, hidden, channels, kernel, periodic, blind))
        else:
            layers.append(PaddedConv(ndim, c, channels, kernel, periodic, blind=blind))
        super().__init__(*layers)


@register("unet")
class TwoScaleUNet(Prior):
    """Φ(x) = Up(Φ1(Dw(x))) + Φ2(x).

    A training step costs about twice that of the linear EOF prior with the same solver
    (:attr:`training_cost`; the year SST OSSE, 48 × 48 patches, 11 steps folded, hidden 12:
    0.28 against 0.13 s per step of 16 patches, validation included, on 2 CPU cores).

    Args:
        ndim: number of spatial axes (1, 2 or 3).
        channels: channels of the state.
        hidden: hidden channels of both branches.
        depth: conv+ReLU layers in each branch before the output unit.
        kernel: odd kernel size, scalar or one per axis.
        pool: down-sampling factor per axis (1 = no pooling on that axis).
        periodic: per-axis periodic padding (e.g. Lorenz-96 sites).
        bilinear: end each branch with the bilinear unit (reference design).
        blind: a blind-spot prior: Φ(x) at a point does not depend on x at that point (the
            centre taps of every convolution are masked; needs ``depth=0``, and the coarse
            branch then does not see the coarse cell of the point either). Φ then *predicts*
            each value from its neighbours, ‖x − Φ(x)‖² is a pseudo-likelihood energy that
            cannot be minimised by Φ = identity, and Φ can be pre-trained on clean states
            alone (``fit(mode="prior")``), cheaply, before joint training.
    """

    @property
    def training_cost(self) -> float:
        """Twice the reference's (see the class)."""
        return 2.0

    def __init__(self, *, ndim: int, channels: int = 1, hidden: int = 32, depth: int = 1,
                 kernel: "int | Sequence[int]" = 3, pool: "int | Sequence[int]" = 2,
                 periodic: "bool | Sequence[bool]" = False, bilinear: bool = True,
                 blind: bool = False) -> None:
        super().__init__()
        if ndim not in (1, 2, 3):
            raise ValueError(f"ndim must be 1, 2 or 3, got {ndim}")
        if blind and depth != 0:
            raise ValueError(f"a blind-spot U-Net (blind=True) needs depth=0, got depth={depth}: "
                             "stacked convolutions would see the centre point again")
        self.ndim = ndim
        self.pool = tuple(int(p) for p in as_tuple(pool, ndim, "pool"))
        per = tuple(bool(p) for p in as_tuple(periodic, ndim, "periodic"))
        self.down = AVG_POOL[ndim](self.pool)
        self.coarse = ScaleBranch(ndim, channels, hidden, depth, kernel, per, bilinear, blind)
        self.up = CONV_T[ndim](channels, channels, self.pool, stride=self.pool)
        self.fine = ScaleBranch(ndim, channels, hidden, depth, kernel, per, bilinear, blind)
        self.config = {"ndim": ndim, "channels": channels, "hidden": hidden, "depth": depth,
                       "kernel": kernel if isinstance(kernel, int) else list(kernel),
                       "pool": list(self.pool), "periodic": list(per), "bilinear": bilinear}
        if blind:
            self.config["blind"] = True

    def size_multiples(self, ndim: int) -> tuple[int, ...]:
        """Per spatial axis, the pooling factor (the coarse branch halves the grid by it)."""
        return self.pool

    def fixed_axes(self, ndim: int) -> tuple[bool, ...]:
        """Per spatial axis, whether fields cannot be tiled along it: the periodic axes (a
        tile's wrap-around padding would join its own edges, not the field's)."""
        return tuple(bool(p) for p in self.config["periodic"])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bad = [(i, s, p) for i, (s, p) in enumerate(zip(x.shape[2:], self.pool)) if s % p]
        if bad:
            i, s, p = bad[0]
            raise ValueError(f"spatial axis {i} has length {s}, not a multiple of its pooling "
                             f"factor {p}; use patch sizes divisible by pool={list(self.pool)}")
        return self.up(self.coarse(self.down(x))) + self.fine(x)
