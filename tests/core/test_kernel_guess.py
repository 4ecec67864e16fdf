"""The normalised-convolution first guess (KernelCascade)."""
from __future__ import annotations

import pytest
import torch

from varda.core import build_model
from varda.core.first_guess import build_first_guess
from varda.core.kernel_guess import KernelCascade
from varda.core.presets import model_config


def _smooth_field(shape=(1, 1, 32, 40)):
    i = torch.arange(shape[2], dtype=torch.float32)[:, None]
    j = torch.arange(shape[3], dtype=torch.float32)[None, :]
    return (torch.sin(i / 5.0) + torch.cos(j / 7.0)).expand(shape).clone()


def test_fills_gaps_of_a_smooth_field_and_keeps_observations():
    x = _smooth_field()
    g = torch.Generator().manual_seed(0)
    mask = torch.rand(x.shape, generator=g) < 0.3
    guess = KernelCascade(ndim=2, levels=[[6, 6], [3, 3], [1.5, 1.5]], tau=0.3)
    x0 = guess(torch.where(mask, x, torch.zeros_like(x)), mask)
    assert torch.equal(x0[mask], x[mask])
    err = (x0 - x)[~mask].pow(2).mean().sqrt()
    zero = x[~mask].pow(2).mean().sqrt()
    assert err < 0.15 * zero, (float(err), float(zero))


def test_far_from_any_observation_it_falls_back_to_the_mean():
    x = torch.ones(1, 1, 8, 60)
    mask = torch.zeros_like(x, dtype=torch.bool)
    mask[..., :4] = True
    x0 = KernelCascade(ndim=2, levels=[[2, 2], [1, 1]])(x, mask)
    assert float(x0[..., -1].abs().max()) < 1e-3           # no data within 3 widths: 0
    assert float(x0[..., 5].min()) > 0.5                   # next to the data: close to it


def test_round_trips_through_the_model_config_and_needs_no_truth():
    cfg = model_config(["time", "lat", "lon"], [5, 16, 16], prior="pca", n_components=4,
                       hidden=4, n_iter=2, fold="time")
    cfg["first_guess"] = {"type": "cascade", "ndim": 3, "levels": [[1, 4, 4], [0.7, 1, 1]],
                          "tau": 0.5}
    m = build_model(cfg)
    assert isinstance(m.first_guess, KernelCascade) and not m.first_guess.needs_truth
    again = build_model(m.config)
    assert again.first_guess.config == m.first_guess.config
    y = torch.randn(2, 1, 5, 16, 16)
    mask = torch.rand(y.shape) < 0.5
    assert torch.equal(again.first_guess(y, mask), m.first_guess(y, mask))


def test_bad_widths_are_refused_with_the_expected_shape():
    with pytest.raises(ValueError, match="lists of 2 widths"):
        build_first_guess({"type": "cascade", "ndim": 2, "levels": [[1, 1, 1]]})
    with pytest.raises(ValueError, match="tau"):
        KernelCascade(ndim=1, levels=[[1]], tau=0)
