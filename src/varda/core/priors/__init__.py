"""Prior operators Φ (same input and output shape, any batch size) and their registry."""
from __future__ import annotations

from varda.core.priors.autoencoder import DenseAE
from varda.core.priors.flow import ODEFlowPrior
from varda.core.priors.fold import FoldedPrior
from varda.core.priors.pca import PCAPrior
from varda.core.priors.qg import QGFlowPrior
from varda.core.priors.registry import PRIORS, build_prior
from varda.core.priors.unet import TwoScaleUNet

__all__ = ["PRIORS", "build_prior", "PCAPrior", "DenseAE", "TwoScaleUNet", "ODEFlowPrior", "FoldedPrior",
           "QGFlowPrior"]
