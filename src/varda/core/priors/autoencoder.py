"""Dense auto-encoder prior Φ = decoder ∘ encoder on flattened fields."""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from varda.core.components import Prior
from varda.core.priors.registry import register


@register("ae")
class DenseAE(Prior):
    """Fully connected auto-encoder with one hidden layer each side.

    Args:
        shape: the sample shape ``(C, *spatial)``.
        hidden: width of the hidden layers.
        latent: size of the bottleneck.
    """

    def __init__(self, *, shape: Sequence[int], hidden: int = 256, latent: int = 20) -> None:
        super().__init__()
        self.shape = tuple(int(s) for s in shape)
        n = 1
        for s in self.shape:
            n *= s
        self.encoder = nn.Sequential(nn.Linear(n, hidden), nn.ReLU(), nn.Linear(hidden, latent))
        self.decoder = nn.Sequential(nn.Linear(latent, hidden), nn.ReLU(), nn.Linear(hidden, n))
        self.config = {"shape": list(self.shape), "hidden": hidden, "latent": latent}


    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x.reshape(x.shape[0], -1))).reshape(x.shape)
