"""The variational cost U(x; y, Ω) = ‖x − y‖²_Ω + λ ρ(x − Φ(x)).

Both terms are normalised by their point counts (observed points for the data term, all
points for the prior term) so that U does not depend on the domain size.
"""
from __future__ import annotations

import math
from typing import Callable

import torch
from torch import nn

from varda.errors import unknown_choice


def _square(r: torch.Tensor, delta: float) -> torch.Tensor:
    return r * r


def _abs(r: torch.Tensor, delta: float) -> torch.Tensor:
    # smooth |r| (differentiable at 0, twice differentiable for second-order training)
    return torch.sqrt(r * r + 1e-8)


def _huber(r: torch.Tensor, delta: float) -> torch.Tensor:
    a = r.abs()
    return torch.where(a <= delta, 0.5 * r * r, delta * (a - 0.5 * delta))


RHO: dict[str, Callable[[torch.Tensor, float], torch.Tensor]] = {
    "square": _square,
    "abs": _abs,
    "huber": _huber,
}


class VariationalCost(nn.Module):
    """U(x) = mean_Ω (x − y)² + λ · mean ρ(x − Φ(x)), one value per sample.

    Args:
        rho: penalty on the prior residual: ``"square"`` (default), ``"abs"`` or ``"huber"``.
        lambda_init: initial weight λ of the prior term (kept positive through a log).
        learn_lambda: train λ jointly with the rest.
        huber_delta: threshold of the Huber penalty.
    """

    def __init__(self, *, rho: str = "square", lambda_init: float = 1.0,
                 learn_lambda: bool = True, huber_delta: float = 1.0) -> None:
        super().__init__()
        if rho not in RHO:
            raise unknown_choice("penalty rho", rho, list(RHO))
        if lambda_init <= 0:
            raise ValueError(f"lambda_init must be > 0, got {lambda_init}")
        self.rho_name = rho
        self.huber_delta = float(huber_delta)
        self.log_lambda = nn.Parameter(torch.tensor(math.log(lambda_init)),
                                       requires_grad=learn_lambda)
        self.config = {"rho": rho, "lambda_init": lambda_init, "learn_lambda": learn_lambda,
                       "huber_delta": huber_delta}

    @property
    def lam(self) -> torch.Tensor:
        """The positive prior weight λ."""
        return self.log_lambda.exp()

    def terms(self, x: torch.Tensor, y: torch.Tensor, mask: torch.Tensor,
              phi_x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The data term mean_Ω (x − y)² and the prior term mean ρ(x − Φ(x)) (before λ),
        each of shape ``(B,)``."""
        dims = tuple(range(1, x.ndim))
        m = mask.to(x.dtype)
        n_obs = m.sum(dims).clamp_min(1.0)
        data = ((x - y) ** 2 * m).sum(dims) / n_obs
        prior = RHO[self.rho_name](x - phi_x, self.huber_delta).mean(dims)
        return data, prior

    def data_grad(self, x: torch.Tensor, y: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """∇ₓ of the data term, in closed form: 2 Ω (x − y) / N_obs (per sample)."""
        dims = tuple(range(1, x.ndim))
        m = mask.to(x.dtype)
        n_obs = m.sum(dims, keepdim=True).clamp_min(1.0)
        return 2.0 * m * (x - y) / n_obs

    def forward(self, x: torch.Tensor, y: torch.Tensor, mask: torch.Tensor,
                phi_x: torch.Tensor) -> torch.Tensor:
        """Per-sample cost, shape ``(B,)``. ``mask`` is 1 where observed, 0 elsewhere."""
        data, prior = self.terms(x, y, mask, phi_x)
        return data + self.lam * prior
