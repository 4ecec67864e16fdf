"""Prior operators Φ (same input and output shape, any batch size) and their registry."""
from __future__ import annotations

from torch import nn

from varda.core.priors.autoencoder import DenseAE
from varda.core.priors.flow import ODEFlowPrior
from varda.core.priors.fold import FoldedPrior
from varda.core.priors.pca import PCAPrior
from varda.core.priors.unet import TwoScaleUNet
from varda.errors import unknown_choice

PRIORS: dict[str, type[nn.Module]] = {
    "pca": PCAPrior,
    "ae": DenseAE,
    "unet": TwoScaleUNet,
    "flow": ODEFlowPrior,
    "fold": FoldedPrior,
}


def build_prior(config: dict) -> nn.Module:
    """Build a prior from ``{"type": name, **options}``; unknown names list the valid ones."""
    cfg = dict(config)
    kind = cfg.pop("type", None)
    if kind not in PRIORS:
        raise unknown_choice("prior", kind, list(PRIORS))
    return PRIORS[kind](**cfg)


__all__ = ["PRIORS", "build_prior", "PCAPrior", "DenseAE", "TwoScaleUNet", "ODEFlowPrior", "FoldedPrior"]
