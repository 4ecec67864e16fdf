"""Self-supervised holdouts shaped like real gaps: clouds borrowed from other time steps.

DINCAE's protocol (Barth et al. 2020, GMD): to teach a gap-filling model without ground truth,
hide the observed pixels of a sample that are cloudy in *another* sample's mask and score the
reconstruction there. The hidden regions then have the size, shape and coverage of the real
clouds (not isolated random points, which would teach one-pixel interpolation).
"""
from __future__ import annotations

import numpy as np
import torch


class BorrowedClouds:
    """A ``holdout`` for :func:`varda.core.fit`: hide where another sample is unobserved.

    Args:
        bank: observed masks ``(M, C, *patch)`` (True/1 where observed), e.g. the masks of the
            training patches; each call draws one per sample.
        keep_min: a sample keeps at least this fraction of its observed points visible: when
            a borrowed mask would hide more, only a random part of it is hidden.

    Calling it with ``(mask, generator)`` returns a bool tensor of the points to hide (only
    observed points; the caller intersects with ``mask`` as well).
    """

    def __init__(self, bank: torch.Tensor, *, keep_min: float = 0.2) -> None:
        if bank.ndim < 3 or bank.shape[0] < 1:
            raise ValueError(f"bank must be (M, C, *patch) with M >= 1, got {tuple(bank.shape)}")
        self.bank = bank.detach().to("cpu", torch.bool)
        self.keep_min = float(keep_min)

    def __call__(self, mask: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        if tuple(mask.shape[1:]) != tuple(self.bank.shape[1:]):
            raise ValueError(f"mask of shape {tuple(mask.shape)} does not match the cloud bank "
                             f"{tuple(self.bank.shape)}")
        idx = torch.randint(self.bank.shape[0], (mask.shape[0],), generator=gen)
        observed = mask.detach().to("cpu") > 0
        hide = observed & ~self.bank[idx]
        if self.keep_min > 0:
            dims = tuple(range(1, mask.ndim))
            n_obs = observed.sum(dims).clamp_min(1).float()
            frac = hide.sum(dims).float() / n_obs
            over = frac > 1.0 - self.keep_min          # would leave too little visible
            if bool(over.any()):
                p = ((1.0 - self.keep_min) / frac.clamp_min(1e-9)).clamp(max=1.0)
                p = torch.where(over, p, torch.ones_like(p))
                thin = torch.rand(mask.shape, generator=gen) < p.view(-1, *([1] * (mask.ndim - 1)))
                hide &= thin
        return hide.to(mask.device)

    def fraction_hidden(self, masks: torch.Tensor, seed: int = 0) -> float:
        """Mean fraction of the observed points of ``masks`` a draw hides (for the model card)."""
        gen = torch.Generator().manual_seed(seed)
        hide = self(masks, gen)
        return float(hide.sum()) / max(float((masks > 0).sum()), 1.0)


#: the mark of an observation held out once for the whole training (see :func:`held_out_marks`)
HELD_OUT = 2.0


def held_out_marks(observed: np.ndarray, time_axis: int, *, seed: int,
                   step_fraction: float = 0.3) -> np.ndarray:
    """Observations to hold out once for the whole training, shaped like clouds: on a random
    ``step_fraction`` of the time steps, those cloudy in the mask of another (random) time step.

    Whole borrowed clouds are hidden (never thinned point by point, which would leave isolated
    held-out pixels and reward one-pixel interpolation), and the other time steps keep all their
    observations, as the neighbours of a cloudy day do in a real archive. Used when the model's
    background interpolates the observations (an OI): held-out points must be hidden from the
    background too, so they are chosen before it is computed and marked in the training mask
    (:class:`MarkedHoldout`).

    Returns:
        bool array of ``observed``'s shape, True at the held-out observations.
    """
    obs = np.moveaxis(np.asarray(observed, bool), time_axis, 0)
    n = obs.shape[0]
    rng = np.random.default_rng(int(seed) + 7919)
    steps = np.asarray(rng.random(n) < step_fraction)
    if not steps.any():
        steps[int(rng.integers(n))] = True
    drawn = np.asarray(rng.integers(0, n, size=n))
    donors = np.where(drawn == np.arange(n), (drawn + n // 2) % n, drawn)
    hide = obs & ~obs[donors]
    hide[~steps] = False
    return np.moveaxis(hide, 0, time_axis)


class MarkedHoldout:
    """A ``holdout`` for :func:`varda.core.fit`: hide the observations whose mask value is
    :data:`HELD_OUT` (the solver sees a 0/1 mask; the marked points are scored)."""

    def __call__(self, mask: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        return mask > (HELD_OUT + 1.0) / 2.0

