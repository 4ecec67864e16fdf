"""The variational cost U(x) = ‖x − y‖²_Ω + λ ρ(x − Φ(x)): gradients, normalisation, λ > 0."""
from __future__ import annotations

import math

import pytest
import torch

from varda.core.cost import RHO, VariationalCost
from varda.core.priors import ODEFlowPrior, TwoScaleUNet
from varda.errors import ConfigError


def _problem(shape: tuple[int, ...], seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(shape, generator=g, dtype=torch.float64)
    y = torch.randn(shape, generator=g, dtype=torch.float64)
    mask = (torch.rand(shape, generator=g) < 0.5).double()
    return x, y, mask


def _priors() -> dict[str, torch.nn.Module]:
    torch.manual_seed(0)
    unet = TwoScaleUNet(ndim=2, hidden=3, pool=[2, 2], periodic=[False, True]).double()
    flow = ODEFlowPrior(ode={"type": "lorenz96", "forcing": 8.0}, dt=0.01).double()
    return {"unet": unet, "flow": flow}


@pytest.mark.parametrize("rho", sorted(RHO))
@pytest.mark.parametrize("prior_name", ["unet", "flow"])
def test_gradcheck_cost_wrt_x(rho: str, prior_name: str) -> None:
    prior = _priors()[prior_name]
    # huber_delta small enough that both branches of the Huber penalty are exercised
    cost = VariationalCost(rho=rho, lambda_init=0.7, huber_delta=0.3).double()
    x, y, mask = _problem((2, 1, 4, 6))
    if rho == "huber":
        r = (x - prior(x)).abs()
        assert (r < 0.3).any() and (r > 0.3).any()
    x.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda xx: cost(xx, y, mask, prior(xx)), (x,),
                                    eps=1e-6, atol=1e-6, rtol=1e-4)


@pytest.mark.parametrize("prior_name", ["unet", "flow"])
def test_gradgradcheck_cost_wrt_x(prior_name: str) -> None:
    """Training differentiates through ∇ₓU, so the second derivative must be right too."""
    prior = _priors()[prior_name]
    cost = VariationalCost(rho="square", lambda_init=0.7).double()
    x, y, mask = _problem((1, 1, 4, 6), seed=1)
    x.requires_grad_(True)
    assert torch.autograd.gradgradcheck(lambda xx: cost(xx, y, mask, prior(xx)), (x,),
                                        eps=1e-6, atol=1e-5, rtol=1e-3)


def test_cost_hand_case() -> None:
    """U = mean over observed (x−y)² + λ mean (x − Φx)², checked by hand."""
    cost = VariationalCost(rho="square", lambda_init=2.0)
    x = torch.tensor([[[1.0, 2.0, 3.0, 4.0]]])
    y = torch.tensor([[[0.0, 2.0, 99.0, 6.0]]])
    mask = torch.tensor([[[1.0, 1.0, 0.0, 1.0]]])
    phi = torch.tensor([[[1.0, 1.0, 1.0, 1.0]]])
    # data: (1 + 0 + 4) / 3 observed; prior: (0 + 1 + 4 + 9) / 4 points; λ = 2
    expected = 5.0 / 3.0 + 2.0 * 14.0 / 4.0
    assert cost(x, y, mask, phi).item() == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("rho", sorted(RHO))
def test_cost_is_scale_free(rho: str) -> None:
    """Both terms are normalised by point counts: tiling the domain leaves U unchanged."""
    cost = VariationalCost(rho=rho, lambda_init=0.3)
    x, y, mask = (t.float() for t in _problem((3, 1, 5, 4)))
    phi = 0.5 * x.flip(-1)
    tile = lambda t: t.repeat(1, 1, 2, 3)  # noqa: E731
    u_small = cost(x, y, mask, phi)
    u_big = cost(tile(x), tile(y), tile(mask), tile(phi))
    assert u_small.shape == (3,)
    torch.testing.assert_close(u_small, u_big, rtol=1e-5, atol=1e-6)


def test_lambda_stays_positive() -> None:
    cost = VariationalCost(lambda_init=0.5)
    assert cost.lam.item() == pytest.approx(0.5)
    with torch.no_grad():
        cost.log_lambda.fill_(-60.0)  # what a long push towards λ → 0 would give
    assert cost.lam.item() > 0
    assert not VariationalCost(learn_lambda=False).log_lambda.requires_grad
    assert math.isclose(VariationalCost(lambda_init=3.0).lam.item(), 3.0, rel_tol=1e-6)


def test_bad_cost_options() -> None:
    with pytest.raises(ConfigError, match="'abs', 'huber', 'square'"):
        VariationalCost(rho="l1")
    with pytest.raises(ValueError, match="lambda_init"):
        VariationalCost(lambda_init=0.0)
