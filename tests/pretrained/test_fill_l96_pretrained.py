"""A 1,000-step Lorenz-96 series filled with the shipped 200-step models (a missing one fails)."""
from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import varda
from varda.datasets.lorenz96 import simulate_l96



@pytest.mark.parametrize("name", ["l96-unet-joint", "l96-rk4-lstm"])
def test_long_series_blended_fill_is_as_good_as_window_by_window(name):
    assert name in varda.pretrained_names(), f"shipped model {name} is missing"
    truth = simulate_l96(1000, seed=123).astype(np.float32)
    rng = np.random.default_rng(7)
    mask = np.zeros_like(truth, bool)
    for t in range(0, 1000, 4):
        mask[t, rng.choice(40, 20, replace=False)] = True
    obs = np.where(mask, truth + rng.normal(0, np.sqrt(2), truth.shape), np.nan).astype(np.float32)
    da = xr.DataArray(obs, dims=("time", "site"), name="x")
    filled = da.varda.fill(name, mask=False).values
    windows = varda.fill(obs.reshape(5, 200, 40), name).reshape(1000, 40)
    card = varda.load(name).meta.get("model_card", {})
    scale = float(card.get("r_score_scale", (truth ** 2).mean()))
    r_blend = float(((filled - truth) ** 2).mean()) / scale
    r_windows = float(((windows - truth) ** 2).mean()) / scale
    assert np.isfinite(filled).all()
    assert r_blend <= 1.05 * r_windows  # overlap blending fixes the window edges
    # no worse than the model's own test score on 200-step windows (with sampling slack)
    assert r_blend <= 1.25 * card.get("scores_test", {}).get("r_score", 0.1)
