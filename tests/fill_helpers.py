"""Tiny untrained models and data for the fill / xarray / io / CLI tests (mechanics, not skill)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import varda

L96_LIKE = {"prior": {"type": "unet", "ndim": 2, "hidden": 4, "pool": [2, 1],
                      "periodic": [False, True]},
            "solver": {"type": "lstm", "ndim": 2, "hidden": 4, "periodic": [False, True]},
            "axes": ["time", "site"], "patch_shape": [16, 8], "n_iter": 2}
SST3D = {"prior": {"type": "unet", "ndim": 3, "hidden": 4, "pool": [1, 2, 2]},
         "solver": {"type": "lstm", "ndim": 3, "hidden": 4},
         "axes": ["time", "lat", "lon"], "patch_shape": [8, 16, 16], "n_iter": 2}
SST2D = {"prior": {"type": "unet", "ndim": 2, "hidden": 4, "pool": [2, 2]},
         "solver": {"type": "lstm", "ndim": 2, "hidden": 4},
         "axes": ["lat", "lon"], "patch_shape": [16, 16], "n_iter": 2}


def _saved(tmp_path_factory, name: str, config: dict, mean: float = 0.0, std: float = 1.0) -> str:
    torch.manual_seed(0)
    model = varda.build_model(config).set_normalization(mean, std)
    stem = tmp_path_factory.mktemp("models") / name
    model.save(stem)
    return str(stem) + ".json"


@pytest.fixture(scope="session")
def l96_path(tmp_path_factory) -> str:
    """Checkpoint path of a tiny ("time", "site") model, patch (16, 8), sites periodic."""
    return _saved(tmp_path_factory, "tiny-l96", L96_LIKE, 0.0, 3.0)


@pytest.fixture(scope="session")
def sst3d_path(tmp_path_factory) -> str:
    """Checkpoint path of a tiny ("time", "lat", "lon") model, patch (8, 16, 16)."""
    return _saved(tmp_path_factory, "tiny-sst3d", SST3D, 0.0, 0.5)


@pytest.fixture(scope="session")
def sst2d_path(tmp_path_factory) -> str:
    """Checkpoint path of a tiny ("lat", "lon") model, patch (16, 16)."""
    return _saved(tmp_path_factory, "tiny-sst2d", SST2D, 0.0, 0.5)


def gappy(shape, frac: float = 0.4, seed: int = 0) -> np.ndarray:
    """Smooth-ish random float32 field with a fraction ``frac`` of NaN."""
    rng = np.random.default_rng(seed)
    x = np.cumsum(rng.normal(size=shape), axis=-2).astype(np.float32) / 4
    x[rng.random(shape) < frac] = np.nan
    return x
