"""The training loss of one batch and the validation error of a model (normalised units):
supervised against true states, or self-supervised on observations hidden from the solver."""
from __future__ import annotations

from typing import Callable, Sequence

import torch

from varda.core.model import VarModel


def _hidden(holdout: "float | Callable", mask: torch.Tensor,
            gen: torch.Generator) -> torch.Tensor:
    """The observed points to hide and score in self-supervised training: a random
    ``holdout`` fraction, or ``holdout(mask, gen)`` (a bool tensor) when it is callable."""
    if callable(holdout):
        return holdout(mask, gen).to(mask.device).bool() & (mask > 0)
    return (torch.rand(mask.shape, generator=gen) < holdout).to(mask.device) & (mask > 0)


def batch_loss(model: VarModel, x: "torch.Tensor | None", y: torch.Tensor, mask: torch.Tensor,
          k: int, weights: Sequence[float], mode: str, holdout: "float | Callable",
          gen: torch.Generator, x0: "torch.Tensor | None" = None
          ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Return (loss, x̂, scored-points mask) for one batch."""
    nu1, nu2, nu3 = weights
    if mode in ("prior", "first_guess"):
        if x is None:
            raise ValueError(f"mode={mode!r} is trained on true states; pass x")
        if mode == "prior":
            return ((model.prior(x) - x) ** 2).mean(), x, torch.ones_like(x)
        if model.first_guess is None:
            raise ValueError("mode='first_guess' needs a model with a first guess")
        x_hat = model.first_guess(y, mask)
        return ((x_hat - x) ** 2).mean(), x_hat, torch.ones_like(x)
    if x is None:  # self-supervised: hide part of the observations and score them
        hide = _hidden(holdout, mask, gen)
        x_hat = model(y, mask * (~hide), n_iter=k)
        score = hide.to(y.dtype)
        rec = ((x_hat - y) ** 2 * score).sum() / score.sum().clamp_min(1)
        loss = nu1 * rec + nu3 * ((x_hat - model.prior(x_hat)) ** 2).mean()
        return loss, x_hat, score
    x_hat = model(y, mask, n_iter=k, x0=x0)
    loss = nu1 * ((x_hat - x) ** 2).mean()
    if nu2:
        loss = loss + nu2 * ((x - model.prior(x)) ** 2).mean()
    if nu3:
        loss = loss + nu3 * ((x_hat - model.prior(x_hat)) ** 2).mean()
    return loss, x_hat, torch.ones_like(x)


def prepare_data(model: VarModel, x, y, mask) -> tuple:
    """``(x, y, mask)`` in raw units → what :func:`evaluate_mse` and the training loop take:
    float32 tensors, normalised by the model, ``y`` zero where ``mask`` is 0 (the mask keeps
    its values: a holdout may read marks in it)."""
    mask = torch.as_tensor(mask).to(torch.float32)
    y = torch.nan_to_num(model.normalize(torch.as_tensor(y, dtype=torch.float32))) * (mask > 0)
    x = None if x is None else model.normalize(torch.as_tensor(x, dtype=torch.float32))
    return x, y, mask


@torch.no_grad()
def evaluate_mse(model: VarModel, x, y, mask, *, n_iter: "int | None" = None, mode: str = "joint",
                 batch_size: int = 64, holdout: "float | Callable" = 0.2, seed: int = 0) -> float:
    """Mean squared error (normalised units) of the model on prepared data."""
    num, den = _sq_error_sums(model, x, y, mask, n_iter=n_iter, mode=mode,
                              batch_size=batch_size, holdout=holdout, seed=seed)
    return num / max(den, 1.0)


@torch.no_grad()
def _sq_error_sums(model: VarModel, x, y, mask, *, n_iter: "int | None", mode: str,
                   batch_size: int, holdout: "float | Callable", seed: int) -> tuple[float, float]:
    """(sum of squared errors, number of scored points) of :func:`evaluate_mse`."""
    model.eval()
    gen = torch.Generator().manual_seed(seed + 1)
    dev = next(model.parameters()).device
    num, den = 0.0, 0.0
    for s in range(0, y.shape[0], batch_size):
        yb, mb = y[s:s + batch_size].to(dev), mask[s:s + batch_size].to(dev)
        xb = None if x is None else x[s:s + batch_size].to(dev)
        if mode in ("prior", "first_guess"):
            if mode == "prior":
                out = model.prior(xb)
            elif model.first_guess is not None:
                out = model.first_guess(yb, mb)
            else:
                raise ValueError("mode='first_guess' needs a model with a first guess")
            err = (out - xb) ** 2
            num += float(err.sum()); den += err.numel()
        elif xb is None:
            hide = _hidden(holdout, mb, gen)
            x_hat = model(yb, mb * (~hide), n_iter=n_iter)
            num += float((((x_hat - yb) ** 2) * hide).sum()); den += float(hide.sum())
        else:
            x_hat = model(yb, mb, n_iter=n_iter)
            num += float(((x_hat - xb) ** 2).sum()); den += xb.numel()
    return num, den
