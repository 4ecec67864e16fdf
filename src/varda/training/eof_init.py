"""Start a linear (PCA) prior from the EOFs of the gappy training patches."""
from __future__ import annotations

import torch

from varda.core.model import VarModel
from varda.training.autoconfig import em_pca
from varda.training.holdouts import HELD_OUT


def init_eof(m: VarModel, y: torch.Tensor, mask: torch.Tensor, seed: int) -> None:
    """Start a PCA prior from the EOFs of the (gappy, normalised) training patches (held-out
    points left out); other priors are left as they are."""
    from varda.core.priors.pca import PCAPrior

    prior = m.prior
    if not isinstance(prior, PCAPrior):
        return
    z = m.normalize(y).reshape(len(y), -1).numpy()
    om = ((mask > 0) & (mask < HELD_OUT)).reshape(len(y), -1).numpy()   # not the held-out
    k = prior.components.shape[1]
    mu, comps = em_pca(z, om, k, seed=seed)
    with torch.no_grad():
        prior.mean.copy_(torch.from_numpy(mu))
        prior.components[:, :comps.shape[1]].copy_(torch.from_numpy(comps))
