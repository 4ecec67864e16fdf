"""Weak-constraint 4D-Var: the variational cost minimised by L-BFGS, no learning.

U(x) = mean_Ω (x − y)² + λ mean (x − Φ(x))², with Φ a fixed prior (e.g. the RK4 flow of the
true Lorenz-96 equations, or a learned ODE with its weights frozen). It is the classical
reference the learned solvers are compared with: the same cost, solved to convergence.
"""
from __future__ import annotations

import torch
from torch import nn

from varda.core.cost import VariationalCost


def fourdvar(y: torch.Tensor, mask: torch.Tensor, prior: nn.Module, *, lam: float,
             n_iter: int = 400, x0: "torch.Tensor | None" = None, fill: float = 0.0,
             stages: int = 3, history_size: int = 20) -> torch.Tensor:
    """Minimise the weak-constraint cost with L-BFGS and λ continuation.

    The minimisation runs in ``stages`` stages of ``n_iter // stages`` L-BFGS iterations each
    (strong-Wolfe line search), at λ·10^-(stages − 1), …, λ: the small-λ stages are well
    conditioned and give the large-λ ones a good start.

    Args:
        y: observations ``(B, C, *spatial)`` (values where ``mask`` is 0 are ignored).
        mask: Ω, 1 where observed.
        prior: Φ, a module mapping a state to a state of the same shape; its parameters are
            not trained here (gradients flow to the state only).
        lam: the weight λ of the prior term (choose it on validation data).
        n_iter: total L-BFGS iterations.
        x0: first guess (default: ``y`` on Ω, ``fill`` in the gaps).
        fill: the value of the gaps in the default first guess.
        stages: number of λ-continuation stages (1: λ only).
        history_size: L-BFGS memory.

    Returns:
        the minimiser, detached, of ``y``'s shape.
    """
    if stages < 1 or n_iter < 1:
        raise ValueError(f"stages and n_iter must be >= 1, got {stages} and {n_iter}")
    mask = mask.to(y.dtype)
    if x0 is None:
        x0 = torch.where(mask > 0, y, torch.full_like(y, fill))
    y = torch.where(mask > 0, y, torch.zeros_like(y))
    x = x0.detach().clone().requires_grad_(True)
    n_point = x[0].numel()
    per_stage = max(1, n_iter // stages)
    for s in range(stages):
        cost = VariationalCost(lambda_init=lam * 10.0 ** (s - (stages - 1)), learn_lambda=False)
        opt = torch.optim.LBFGS([x], lr=1.0, max_iter=per_stage, history_size=history_size,
                                line_search_fn="strong_wolfe", tolerance_grad=1e-10,
                                tolerance_change=1e-14)

        def closure() -> torch.Tensor:
            opt.zero_grad()
            u = cost(x, y, mask, prior(x)).sum() * n_point
            u.backward()
            return u

        opt.step(closure)
    return x.detach()
