"""A first guess by multi-scale normalised convolution: where the learned solver starts.

:class:`KernelCascade` spreads the observations with Gaussian kernels from coarse to fine
scales (Knutsson & Westin's normalised convolution, as in successive-correction objective
analysis, Barnes 1964): at each level, with ``G`` the Gaussian of that level's widths,

    x ← (G * (Ω y) + τ x) / (G * Ω + τ)

so where observations are dense the fine level's local average wins, and inside large gaps the
coarser estimate is kept (``τ`` weighs the previous level as ``τ`` observations would). It has
no trainable weight: it is cheap (one separable convolution per level), stable for any
sampling, and the learned solver starts from it instead of from zeros in the gaps. It works in
the model's normalised units; with a background removed (:mod:`varda.array.background`) it
spreads anomalies.
"""
from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn.functional as F

from varda.core.components import FirstGuess


def gaussian_kernel(sigma: float, truncate: float = 3.0) -> torch.Tensor:
    """An unnormalised 1-D Gaussian (peak 1) of width ``sigma`` grid steps, ±``truncate`` σ."""
    radius = max(1, int(math.ceil(truncate * sigma)))
    d = torch.arange(-radius, radius + 1, dtype=torch.float32)
    return torch.exp(-0.5 * (d / sigma) ** 2)


def gaussian_smooth(x: torch.Tensor, kernels: Sequence["torch.Tensor | None"]) -> torch.Tensor:
    """Convolve ``(B, C, *space)`` with a 1-D kernel along each spatial axis (``None``: leave
    the axis alone); zero padding (nothing is known beyond the patch)."""
    for ax, k in enumerate(kernels):
        if k is None:
            continue
        dim = 2 + ax
        moved = x.movedim(dim, -1)
        shape = moved.shape
        out = F.conv1d(moved.reshape(-1, 1, shape[-1]), k.to(x).view(1, 1, -1),
                       padding=(k.numel() - 1) // 2)
        x = out.reshape(shape).movedim(-1, dim)
    return x


class KernelCascade(FirstGuess):
    """x₀ by normalised convolution at successively finer Gaussian widths.

    Args:
        ndim: spatial axes of the model's tensors ``(B, C, *space)``.
        levels: per level (coarse first), the Gaussian width per axis in grid steps (0: that
            axis is not smoothed at this level).
        tau: weight of the previous level's estimate, in observations (> 0).
    """

    needs_truth = False

    def __init__(self, *, ndim: int = 2, levels: "Sequence[Sequence[float]]" = ((4.0, 4.0), (2.0, 2.0), (1.0, 1.0)),
                 tau: float = 0.3) -> None:
        super().__init__()
        lv = [[float(s) for s in level] for level in levels]
        if not lv or any(len(level) != ndim or min(level) < 0 for level in lv):
            raise ValueError(f"levels needs one or more lists of {ndim} widths >= 0 "
                             f"(grid steps), got {levels}")
        if not tau > 0:
            raise ValueError(f"tau must be > 0, got {tau}")
        self.levels, self.tau = lv, float(tau)
        self._kernels = [[None if s == 0 else gaussian_kernel(s) for s in level] for level in lv]
        self.config = {"ndim": ndim, "levels": lv, "tau": self.tau}

    def forward(self, y: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``y``, ``mask``: ``(B, C, *space)`` (normalised units) → x₀: y where observed, the
        cascade's estimate in the gaps."""
        m = mask.to(y.dtype).expand_as(y)
        my = torch.where(m > 0, y, torch.zeros_like(y))
        x = torch.zeros_like(y)
        for kernels in self._kernels:
            num = gaussian_smooth(my, kernels)
            den = gaussian_smooth(m, kernels)
            x = (num + self.tau * x) / (den + self.tau)
        return torch.where(m > 0, my, x)
