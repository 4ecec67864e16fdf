"""Fold one spatial axis into the channels, so that a lower-dimensional network sees it whole.

``FoldedPrior({"inner": {...}, "axis": 1})`` maps ``(B, C, T, S)`` to ``(B, C·S, T)``, applies the
inner prior (built for ``ndim − 1`` spatial axes and ``C·S`` channels) and maps back. For a short
axis (e.g. the 40 Lorenz-96 sites) this trades translation equivariance along that axis for
dense, CPU-friendly 1-D convolutions over the other axes (several times faster per sample).
"""
from __future__ import annotations

import torch
from torch import nn

from varda.core.nn import fold_axis, unfold_axis
from varda.core.components import Folding, Prior
from varda.core.priors.registry import build_prior, register


@register("fold")
class FoldedPrior(Folding, Prior):
    """Apply the prior ``inner`` with spatial axis ``axis`` folded into the channels.

    Args:
        inner: config of the inner prior, e.g. ``{"type": "unet", "ndim": 1, "channels": 40}``.
        axis: index of the folded axis among the spatial axes (negative counts from the end).
    """

    def __init__(self, *, inner: dict, axis: int = -1) -> None:
        super().__init__()
        self.axis = int(axis)
        self.inner = build_prior(inner)
        self.config = {"inner": dict(inner), "axis": self.axis}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return unfold_axis(self.inner(fold_axis(x, self.axis)), x.shape, self.axis)
