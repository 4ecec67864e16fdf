"""PCA prior: Φ(x) = μ + W Wᵀ (x − μ), fit by SVD on data, then trainable."""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from varda.core.components import Prior
from varda.core.priors.registry import register


@register("pca")
class PCAPrior(Prior):
    """Projection on the leading principal components of the training fields.

    Args:
        shape: the sample shape ``(C, *spatial)``.
        n_components: number of components kept.
    """

    def __init__(self, *, shape: Sequence[int], n_components: int = 20) -> None:
        super().__init__()
        self.shape = tuple(int(s) for s in shape)
        n = 1
        for s in self.shape:
            n *= s
        if not 0 < n_components <= n:
            raise ValueError(f"n_components must be in 1..{n}, got {n_components}")
        self.mean = nn.Parameter(torch.zeros(n))
        self.components = nn.Parameter(torch.linalg.qr(torch.randn(n, n_components))[0])
        self.config = {"shape": list(self.shape), "n_components": n_components}


    @torch.no_grad()
    def fit(self, data: torch.Tensor) -> "PCAPrior":
        """Set mean and components from complete fields ``data`` of shape ``(N, *shape)``."""
        flat = data.reshape(data.shape[0], -1).to(self.mean)
        mu = flat.mean(0)
        _, _, vh = torch.linalg.svd(flat - mu, full_matrices=False)
        k = self.components.shape[1]
        if vh.shape[0] < k:
            raise ValueError(f"need at least {k} samples to fit {k} components, got {vh.shape[0]}")
        self.mean.copy_(mu)
        self.components.copy_(vh[:k].T)
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        flat = x.reshape(x.shape[0], -1) - self.mean
        proj = (flat @ self.components) @ self.components.T
        return (proj + self.mean).reshape(x.shape)
