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


#: the lengths (time steps) a held-out cloud may persist, tried in order by
#: :func:`gap_persistence`
PERSISTENCES = (1, 2, 3, 4, 6, 8, 12, 16)


def time_distance(seen: np.ndarray) -> np.ndarray:
    """``(time, ...)`` bool to the distance, in steps along the first axis, from each point to
    the nearest True of the same pixel (very large where the pixel has none)."""
    from scipy.ndimage import distance_transform_edt

    flat = np.asarray(seen, bool).reshape(seen.shape[0], -1)
    # a huge spacing across pixels makes the Euclidean transform one-dimensional, along time
    dist = distance_transform_edt(~flat, sampling=(1.0, 1e9))
    return np.asarray(dist).reshape(seen.shape)


def _borrow(obs: np.ndarray, rng: np.random.Generator, step_fraction: float,
            persistence: int) -> np.ndarray:
    """The held-out points of :func:`held_out_marks` for time-first ``obs``."""
    n = obs.shape[0]
    if persistence == 1:
        steps = np.asarray(rng.random(n) < step_fraction)
        if not steps.any():
            steps[int(rng.integers(n))] = True
        drawn = np.asarray(rng.integers(0, n, size=n))
        donors = np.where(drawn == np.arange(n), (drawn + n // 2) % n, drawn)
        hide = obs & ~obs[donors]
        hide[~steps] = False
        return hide
    starts = np.flatnonzero(rng.random(n) < step_fraction / persistence)
    if starts.size == 0:
        starts = np.array([int(rng.integers(n))])
    lag = np.asarray(rng.integers(persistence, max(persistence + 1, n - persistence),
                                  size=starts.size))
    hide = np.zeros_like(obs)
    for j in range(persistence):     # the donor's clouds of `persistence` steps, moving
        t = starts + j
        keep = t < n
        hide[t[keep]] |= obs[t[keep]] & ~obs[(t[keep] + lag[keep]) % n]
    return hide


def gap_persistence(observed: np.ndarray, time_axis: int, *, seed: int,
                    step_fraction: float = 0.3) -> int:
    """How many consecutive steps a held-out cloud must last for held-out observations to be
    as far from the remaining ones as the real gaps are from the observations.

    For each length of :data:`PERSISTENCES` in turn, the held-out points are drawn and their
    mean distance in time to the nearest remaining observation of their pixel is compared with
    that of the real gaps (missing points of pixels observed at least once); the first length
    that reaches it is returned (the last if none does). Clouds that come and go from day to
    day give 1 (single steps, DINCAE's protocol); clouds that persist for days give more, so
    that the scale search, training and error calibration see gaps as hard as the real ones.
    """
    obs = np.moveaxis(np.asarray(observed, bool), time_axis, 0)
    obs = obs.reshape(obs.shape[0], -1)
    obs = obs[:, obs.any(axis=0)]
    if obs.size == 0 or obs.all():
        return 1
    real = float(time_distance(obs)[~obs].mean())
    for p in PERSISTENCES:
        hide = _borrow(obs, np.random.default_rng(int(seed) + 7919), step_fraction, p)
        left = obs & ~hide
        use = hide & left.any(axis=0)
        if use.any() and float(time_distance(left)[use].mean()) >= real:
            return p
    return PERSISTENCES[-1]


def held_out_marks(observed: np.ndarray, time_axis: int, *, seed: int,
                   step_fraction: float = 0.3, persistence: "int | None" = None) -> np.ndarray:
    """Observations to hold out once for the whole training, shaped like clouds: on a random
    ``step_fraction`` of the time steps, those cloudy in the mask of another (random) time step,
    for ``persistence`` consecutive steps (the donor's clouds of as many consecutive steps).

    Whole borrowed clouds are hidden (never thinned point by point, which would leave isolated
    held-out pixels and reward one-pixel interpolation), and the other time steps keep all their
    observations, as the neighbours of a cloudy day do in a real archive. Used when the model's
    background interpolates the observations (an OI): held-out points must be hidden from the
    background too, so they are chosen before it is computed and marked in the training mask
    (:class:`MarkedHoldout`).

    ``persistence``: default :func:`gap_persistence` (held-out gaps as far in time from the
    remaining observations as the real gaps are; 1 for clouds that change every step).

    Returns:
        bool array of ``observed``'s shape, True at the held-out observations.
    """
    if persistence is None:
        persistence = gap_persistence(observed, time_axis, seed=seed,
                                      step_fraction=step_fraction)
    if persistence < 1:
        raise ValueError(f"persistence must be >= 1, got {persistence}")
    obs = np.moveaxis(np.asarray(observed, bool), time_axis, 0)
    hide = _borrow(obs, np.random.default_rng(int(seed) + 7919), step_fraction,
                   int(persistence))
    return np.moveaxis(hide, 0, time_axis)


class MarkedHoldout:
    """A ``holdout`` for :func:`varda.core.fit`: hide the observations whose mask value is
    :data:`HELD_OUT` (the solver sees a 0/1 mask; the marked points are scored)."""

    def __call__(self, mask: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        return mask > (HELD_OUT + 1.0) / 2.0

