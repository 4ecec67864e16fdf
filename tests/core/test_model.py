"""VarModel: config round trip, NaN in gaps, x0, normalisation."""
from __future__ import annotations

import pytest
import torch

from varda.core.model import build_model
from varda.errors import ConfigError


def test_config_round_trip_rebuilds_same_architecture(tiny_model) -> None:
    model = tiny_model()
    clone = build_model(model.config)
    assert clone.config == model.config
    clone.load_state_dict(model.state_dict())
    y, mask = torch.randn(2, 1, 8, 8), (torch.rand(2, 1, 8, 8) < 0.5).float()
    with torch.no_grad():
        assert torch.equal(clone.eval()(y, mask), model.eval()(y, mask))


def test_nan_in_gaps_is_ignored(tiny_model) -> None:
    model = tiny_model().eval()
    y, mask = torch.randn(2, 1, 8, 8), (torch.rand(2, 1, 8, 8) < 0.5).float()
    y_nan = torch.where(mask > 0, y, torch.full_like(y, float("nan")))
    out = model(y_nan, mask, n_iter=3)
    assert torch.isfinite(out).all()
    assert torch.equal(out, model(y * mask, mask, n_iter=3))
    assert torch.equal(model(y, mask.bool(), n_iter=3), model(y * mask, mask, n_iter=3))


def test_x0_and_zero_iterations(tiny_model) -> None:
    model = tiny_model().eval()
    y, mask = torch.randn(1, 1, 8, 8), (torch.rand(1, 1, 8, 8) < 0.5).float()
    x0 = torch.randn(1, 1, 8, 8)
    assert torch.equal(model(y, mask, x0=x0, n_iter=0), x0)
    assert torch.equal(model(y, mask, n_iter=0), y * mask)
    assert not torch.equal(model(y, mask, x0=x0, n_iter=2), model(y, mask, n_iter=2))


def test_reconstruct_in_raw_units(tiny_model) -> None:
    model = tiny_model().eval().set_normalization(10.0, 2.0)
    z, mask = torch.randn(2, 1, 8, 8), (torch.rand(2, 1, 8, 8) < 0.5).float()
    with torch.no_grad():
        expected = model(z, mask) * 2.0 + 10.0
    torch.testing.assert_close(model.reconstruct(z * 2.0 + 10.0, mask), expected)
    with pytest.raises(ValueError, match="std must be > 0"):
        model.set_normalization(0.0, 0.0)


def test_build_model_requires_keys() -> None:
    with pytest.raises(ConfigError, match="'patch_shape'"):
        build_model({"prior": {"type": "pca", "shape": [1, 4]}, "solver": {"type": "fsgd"},
                     "axes": ["x"]})


def test_normalising_a_physical_flow_prior_warns() -> None:
    cfg = {"prior": {"type": "flow", "ode": {"type": "lorenz96"}, "dt": 0.05},
           "solver": {"type": "fsgd"}, "axes": ["time", "site"], "patch_shape": [4, 8]}
    model = build_model(cfg)
    with pytest.warns(UserWarning, match="not Lorenz-96 physics"):
        model.set_normalization(2.0, 3.6)
    with pytest.warns(UserWarning, match="mean=2, std=3.6"):
        build_model({**cfg, "norm": {"mean": 2.0, "std": 3.6}})
    learned = {**cfg, "prior": {"type": "flow", "ode": {"type": "bilinear"}, "dt": 0.05}}
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        build_model(cfg)
        build_model(learned).set_normalization(2.0, 3.6)   # a learned ODE: fine


def test_grad_iters_truncates_backprop_but_not_the_forward_pass() -> None:
    from varda.core.model import build_model
    cfg = {"prior": {"type": "unet", "ndim": 2, "hidden": 4, "periodic": [False, True]},
           "solver": {"type": "lstm", "ndim": 2, "hidden": 4, "periodic": [False, True]},
           "axes": ["time", "site"], "patch_shape": [8, 8], "n_iter": 4}
    torch.manual_seed(0)
    y, m = torch.randn(2, 1, 8, 8), (torch.rand(2, 1, 8, 8) < 0.5).float()
    x = torch.randn(2, 1, 8, 8)
    grads, outs = {}, {}
    for gi in (None, 4, 2):
        torch.manual_seed(1)
        model = build_model({**cfg, "grad_iters": gi}).train()
        out = model(y, m)
        ((out - x) ** 2).mean().backward()
        outs[gi] = out.detach()
        grads[gi] = torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None])
        assert model.config["grad_iters"] == gi
    torch.testing.assert_close(outs[2], outs[None])          # same iterations, same result
    torch.testing.assert_close(grads[4], grads[None])        # grad_iters >= K: full backprop
    assert not torch.allclose(grads[2], grads[None])         # truncated: a different gradient
    with pytest.raises(ValueError, match="grad_iters"):
        build_model({**cfg, "grad_iters": 0})


def test_fill_limits_are_typed_and_stored_in_the_card_as_before(tiny_model, tmp_path) -> None:
    from varda.core.checkpoint import load
    from varda.core.model import FillDefaults

    model = tiny_model()
    assert model.n_iter_max is None and model.fill_defaults is None
    model.n_iter_max, model.fill_defaults = 7, FillDefaults(keep_observed=True)
    assert model.meta["n_iter_max"] == 7                       # the card's keys, unchanged
    assert model.meta["fill_defaults"] == {"keep_observed": True}
    again = load(model.save(tmp_path / "m"))
    assert again.n_iter_max == 7 and again.fill_defaults == FillDefaults(keep_observed=True)
    again.n_iter_max = again.fill_defaults = None
    assert "n_iter_max" not in again.meta and "fill_defaults" not in again.meta


def test_shipped_cards_keep_their_fill_limits() -> None:
    from varda.core.checkpoint import load

    model = load("sst-osse")
    assert model.n_iter_max == model.meta["n_iter_max"] >= max(model.n_iter, 1)
    assert model.fill_defaults is not None and model.fill_defaults.keep_observed is True
