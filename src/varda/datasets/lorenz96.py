"""Lorenz-96 benchmark of the reference paper (Fablet et al., ICASSP 2021), rebuilt with seeds.

40 cyclic sites, F = 8, one time step = 0.05 time units (RK4 with sub-steps), burn-in, then
windows of 200 steps: training windows from the first part of one long trajectory, test windows
from a later, disjoint part. Observations: every 4th time step, 20 of the 40 sites at random,
additive Gaussian noise of variance 2; everything else missing (≈ 12.5 % observed).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def l96_tendency(x: np.ndarray, forcing: float = 8.0) -> np.ndarray:
    """dx_i/dt = (x_{i+1} − x_{i−2}) x_{i−1} − x_i + F along the last axis (cyclic)."""
    return (np.roll(x, -1, -1) - np.roll(x, 2, -1)) * np.roll(x, 1, -1) - x + forcing


def simulate_l96(n_steps: int, *, n_sites: int = 40, forcing: float = 8.0, dt: float = 0.05,
                 n_substeps: int = 2, burn_in: int = 1000, seed: int = 0) -> np.ndarray:
    """One trajectory ``(n_steps, n_sites)`` sampled every ``dt`` after ``burn_in`` steps."""
    rng = np.random.default_rng(seed)
    x = forcing + rng.normal(0.0, 1.0, n_sites)
    h = dt / n_substeps
    out = np.empty((n_steps, n_sites))
    for t in range(burn_in + n_steps):
        for _ in range(n_substeps):
            k1 = l96_tendency(x, forcing)
            k2 = l96_tendency(x + 0.5 * h * k1, forcing)
            k3 = l96_tendency(x + 0.5 * h * k2, forcing)
            k4 = l96_tendency(x + h * k3, forcing)
            x = x + (h / 6.0) * (k1 + 2 * k2 + 2 * k3 + k4)
        if t >= burn_in:
            out[t - burn_in] = x
    return out


def l96_masks(n: int, *, window: int = 200, n_sites: int = 40, obs_every: int = 4,
              n_obs_sites: int = 20, shared: bool = False,
              rng: "np.random.Generator | None" = None) -> np.ndarray:
    """Boolean masks ``(n, window, n_sites)``: every ``obs_every``-th step, ``n_obs_sites``
    random sites. ``shared=True`` draws one pattern for all windows (the paper's variant)."""
    rng = rng or np.random.default_rng(0)
    count = 1 if shared else n
    masks = np.zeros((count, window, n_sites), dtype=bool)
    for i in range(count):
        for t in range(0, window, obs_every):
            masks[i, t, rng.choice(n_sites, n_obs_sites, replace=False)] = True
    return np.broadcast_to(masks, (n, window, n_sites)).copy() if shared else masks


@dataclass
class L96Split:
    """One split: truth ``x``, observations ``y`` (NaN where missing) and mask, all
    ``(n, time, site)``."""

    x: np.ndarray
    y: np.ndarray
    mask: np.ndarray


@dataclass
class L96Benchmark:
    train: L96Split
    test: L96Split
    scale: float          # mean(x²) of the training data: the R-score normaliser
    config: dict


def make_l96_benchmark(*, n_train: int = 2000, n_test: int = 256, window: int = 200,
                       n_sites: int = 40, forcing: float = 8.0, dt: float = 0.05,
                       obs_every: int = 4, n_obs_sites: int = 20, noise_var: float = 2.0,
                       shared_mask: bool = False, gap: int = 1000, n_substeps: int = 2,
                       seed: int = 0) -> L96Benchmark:
    """Build the benchmark: non-overlapping windows of one long trajectory, the test part
    ``gap`` steps after the training part. Everything is seeded by ``seed``."""
    total = (n_train + n_test) * window + gap
    traj = simulate_l96(total, n_sites=n_sites, forcing=forcing, dt=dt, n_substeps=n_substeps,
                        seed=seed)
    train_x = traj[: n_train * window].reshape(n_train, window, n_sites)
    test_x = traj[n_train * window + gap:].reshape(n_test, window, n_sites)
    rng = np.random.default_rng(seed + 1)
    shared = l96_masks(1, window=window, n_sites=n_sites, obs_every=obs_every,
                       n_obs_sites=n_obs_sites, shared=True, rng=rng)[0] if shared_mask else None

    def observe(x: np.ndarray) -> L96Split:
        if shared is not None:
            mask = np.broadcast_to(shared, x.shape).copy()
        else:
            mask = l96_masks(len(x), window=window, n_sites=n_sites, obs_every=obs_every,
                             n_obs_sites=n_obs_sites, rng=rng)
        noisy = x + rng.normal(0.0, np.sqrt(noise_var), x.shape)
        return L96Split(x.astype(np.float32), np.where(mask, noisy, np.nan).astype(np.float32), mask)

    config = dict(n_train=n_train, n_test=n_test, window=window, n_sites=n_sites, forcing=forcing,
                  dt=dt, obs_every=obs_every, n_obs_sites=n_obs_sites, noise_var=noise_var,
                  shared_mask=shared_mask, gap=gap, n_substeps=n_substeps, seed=seed)
    train = observe(train_x)
    return L96Benchmark(train, observe(test_x), float(np.mean(train_x ** 2)), config)
