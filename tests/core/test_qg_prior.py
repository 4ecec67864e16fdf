"""The QG-flow prior: shapes, the kept first day, units, fixed axes, inside a VarModel."""
import torch

from varda.core.model import build_model
from varda.core.priors import build_prior

QG = {"shape": [16, 16], "dx": 10e3, "rossby_radius": 40e3, "beta": 1.8e-11, "f0": 8.6e-5}


def _state(b=2, t=4):
    g = torch.Generator().manual_seed(0)
    base = torch.randn(b, 1, 1, 16, 16, generator=g)
    return torch.nn.functional.avg_pool3d(base.repeat(1, 1, t, 1, 1), (1, 5, 5), 1, (0, 2, 2),
                                          count_include_pad=False)


def test_prior_flows_each_day_and_keeps_the_first():
    p = build_prior({"type": "qg", "qg": QG, "n_substeps": 8, "norm_std": 0.1})
    x = _state()
    out = p(x)
    assert out.shape == x.shape
    torch.testing.assert_close(out[:, :, 0], x[:, :, 0])
    # day t is the one-day flow of day t-1, in the same (normalised) units
    one = (p.qg.integrate(x[:, :, 1] * 0.1, 86400.0)) / 0.1
    torch.testing.assert_close(out[:, :, 2], one, rtol=1e-4, atol=1e-5)
    assert p.fixed_axes(3) == (False, True, True)


def test_varmodel_passes_its_normalisation_to_the_prior():
    model = build_model({"axes": ["time", "lat", "lon"], "patch_shape": [4, 16, 16], "n_iter": 2,
                         "prior": {"type": "qg", "qg": QG, "n_substeps": 12},
                         "solver": {"type": "fsgd", "step": 0.1}})
    model.set_normalization(0.01, 0.05)
    assert (model.prior.norm_mean, model.prior.norm_std) == (0.01, 0.05)
    assert model.fixed_axes == (False, True, True)
    y = _state(b=1)
    mask = torch.rand(y.shape, generator=torch.Generator().manual_seed(1)) < 0.3
    out = model(y, mask)
    assert out.shape == y.shape and torch.isfinite(out).all()
