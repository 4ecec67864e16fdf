"""Scores of the reference paper: R-score, I-score, P-score, and RMSE.

R- and I-scores are normalised MSEs: MSE divided by ``scale`` (by default the mean square of the
truth; the Lorenz-96 protocol passes the mean square of the training data).
"""
from __future__ import annotations

from typing import Callable

import torch


def _mse(a: torch.Tensor, b: torch.Tensor, where: "torch.Tensor | None" = None) -> torch.Tensor:
    d2 = (a - b) ** 2
    if where is None:
        return d2.mean()
    w = where.to(d2.dtype)
    n = w.sum()
    if n == 0:
        raise ValueError("the selection for this score is empty (no points to score)")
    return (d2 * w).sum() / n


def _scale(truth: torch.Tensor, scale: "float | None") -> float:
    return float((truth ** 2).mean()) if scale is None else float(scale)


def r_score(x_hat: torch.Tensor, truth: torch.Tensor, *, scale: "float | None" = None) -> float:
    """Reconstruction score: MSE over the whole domain / scale."""
    return float(_mse(x_hat, truth)) / _scale(truth, scale)


def i_score(x_hat: torch.Tensor, truth: torch.Tensor, mask: torch.Tensor, *,
            scale: "float | None" = None) -> float:
    """Interpolation score: MSE over the gaps (mask == 0) / scale."""
    return float(_mse(x_hat, truth, mask == 0)) / _scale(truth, scale)


def p_score(prior: Callable[[torch.Tensor], torch.Tensor], truth: torch.Tensor, *,
            scale: "float | None" = None) -> float:
    """Prior score: MSE of x − Φ(x) on true states / scale."""
    with torch.no_grad():
        return float(_mse(prior(truth), truth)) / _scale(truth, scale)


def rmse(x_hat: torch.Tensor, truth: torch.Tensor, mask: "torch.Tensor | None" = None) -> float:
    """Root-mean-square error (over ``mask`` points if given)."""
    return float(_mse(x_hat, truth, mask).sqrt())
