"""Shared fixtures of the core tests: tiny models and data, one thread, fixed seeds.

The core tests use tiny tensors, for which extra intra-op threads only add synchronisation
cost; on a loaded 2-core machine two threads per process can make them ~50x slower. So every
test here runs single-threaded (restored afterwards).
"""
from __future__ import annotations

from typing import Callable

import pytest
import torch

from varda.core.model import VarModel, build_model


@pytest.fixture(autouse=True)
def _single_thread_and_seed():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    yield
    torch.set_num_threads(threads)


def low_rank_data(n: int, seed: int, *, n_sites: int = 32, rank: int = 3,
                  obs_fraction: float = 0.4, noise: float = 0.1
                  ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """1-D fields ``(n, 1, n_sites)`` on a fixed rank-``rank`` subspace, noisy partial
    observations and their mask. The subspace does not depend on ``seed``."""
    basis = torch.linalg.qr(torch.randn(n_sites, rank,
                                        generator=torch.Generator().manual_seed(99)))[0]
    g = torch.Generator().manual_seed(seed)
    x = (3.0 * torch.randn(n, rank, generator=g) @ basis.T).reshape(n, 1, n_sites)
    mask = (torch.rand(x.shape, generator=g) < obs_fraction).float()
    y = x + noise * torch.randn(x.shape, generator=g)
    return x, y, mask


@pytest.fixture
def lowrank() -> Callable[..., tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """The :func:`low_rank_data` factory."""
    return low_rank_data


def tiny_unet_lstm_config(t: int = 8, s: int = 8) -> dict:
    """A 2-D (time, site) model: small two-scale U-Net prior + ConvLSTM solver."""
    return {"prior": {"type": "unet", "ndim": 2, "hidden": 4, "pool": [2, 2],
                      "periodic": [False, True]},
            "solver": {"type": "lstm", "ndim": 2, "hidden": 4, "periodic": [False, True]},
            "cost": {"rho": "square", "lambda_init": 0.5},
            "axes": ["time", "site"], "patch_shape": [t, s], "n_iter": 3}


@pytest.fixture
def tiny_model() -> Callable[..., VarModel]:
    """Factory of a seeded tiny U-Net + ConvLSTM model on ``(time, site)`` patches."""
    def make(seed: int = 0, **overrides) -> VarModel:
        torch.manual_seed(seed)
        cfg = tiny_unet_lstm_config()
        cfg.update(overrides)
        return build_model(cfg)
    return make


def pca_model(solver: dict, x_fit: torch.Tensor, *, n_iter: int = 5, seed: int = 0) -> VarModel:
    """A 1-D model whose PCA prior is fit on ``x_fit`` (``(N, 1, n_sites)``)."""
    torch.manual_seed(seed)
    n_sites = x_fit.shape[-1]
    model = build_model({"prior": {"type": "pca", "shape": [1, n_sites], "n_components": 3},
                         "solver": solver, "cost": {"lambda_init": 1.0}, "axes": ["x"],
                         "patch_shape": [n_sites], "n_iter": n_iter})
    model.prior.fit(x_fit)
    return model


@pytest.fixture
def make_pca_model() -> Callable[..., VarModel]:
    """The :func:`pca_model` factory."""
    return pca_model
