"""Diagnostics of learned variational solvers: energy pathways.

An *energy pathway* follows the solver's iterations x⁰, x¹, …, x^K on a batch and records the
variational cost U(xᵏ) and the reconstruction error ‖xᵏ − x‖² at each one (the reference paper's
Fig. 1): a gradient descent lowers U monotonically, a learned solver may not, and the two need
not lower the error alike. U can also be evaluated with another model's cost (a *reference*
energy), so that solvers of different models are compared on the same landscape.

Torch only; the plotting belongs to the callers.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

from varda.core.model import VarModel


@dataclass
class EnergyPathway:
    """U and error per iteration (K + 1 values each: the initial state, then each iteration).

    Attributes:
        cost: mean over the batch of the model's own cost U(xᵏ).
        error: mean squared error of xᵏ against the truth (normalised units).
        reference_cost: the reference model's cost U_ref(xᵏ) (empty without a reference).
        n_iter: K.
    """

    cost: list[float]
    error: list[float]
    reference_cost: list[float] = field(default_factory=list)
    n_iter: int = 0

    def as_dict(self) -> dict:
        """JSON-able form."""
        return {"U": list(self.cost), "error": list(self.error),
                "U_reference": list(self.reference_cost), "n_iter": self.n_iter}


def _cost(model: VarModel, x: torch.Tensor, y: torch.Tensor, mask: torch.Tensor) -> float:
    """Mean over the batch of U(x) under ``model``'s prior and cost."""
    return float(model.cost(x, y, mask, model.prior(x)).mean())


@torch.no_grad()
def energy_pathway(model: VarModel, y: torch.Tensor, mask: torch.Tensor, truth: torch.Tensor, *,
                   n_iter: "int | None" = None, x0: "torch.Tensor | None" = None,
                   reference: "VarModel | None" = None) -> EnergyPathway:
    """Run ``model``'s solver step by step and record U and the error at every iterate.

    The loop is :meth:`VarModel.forward` in evaluation mode (same start, same solver calls),
    so its last iterate is ``model(y, mask, n_iter=n_iter)``.

    Args:
        model: the model (its prior, cost and solver).
        y: observations ``(B, C, *spatial)`` in normalised units (NaN allowed where
            ``mask`` is 0).
        mask: Ω, 1 where observed.
        truth: true states, same shape, normalised units.
        n_iter: K (default ``model.n_iter``).
        x0: starting state (default: as :meth:`VarModel.forward`).
        reference: another model whose cost U_ref is also evaluated at every iterate.

    Returns:
        an :class:`EnergyPathway`.
    """
    was_training = model.training
    model.eval()
    try:
        mask = mask.to(dtype=y.dtype)
        y = torch.where(mask > 0, y, torch.zeros_like(y))
        k_iter = model.n_iter if n_iter is None else int(n_iter)
        if x0 is None and model.first_guess is not None:
            x0 = model.first_guess(y, mask)
        x = (y.clone() if x0 is None else x0.to(y)).detach()
        out = EnergyPathway([], [], [], k_iter)
        state = None
        for i in range(k_iter + 1):
            g, u = model._grad(x, y, mask, False)
            out.cost.append(float(u.mean()))
            out.error.append(float(((x - truth) ** 2).mean()))
            if reference is not None:
                out.reference_cost.append(_cost(reference, x, y, mask))
            if i == k_iter:
                break
            if state is None:
                state = model.solver.init_state(x, g, n_iter=k_iter)
            x, state = model.solver.step(x, g, state)
        return out
    finally:
        model.train(was_training)
