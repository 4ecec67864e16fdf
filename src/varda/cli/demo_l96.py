"""``varda demo l96``: fill Lorenz-96 windows the shipped models have never seen.

A fixed amount of work (no training, no wall-clock cap): a fresh Lorenz-96 trajectory (seed 1,
independent of the benchmark's training data, seed 0) is observed as in the paper (every 4th
time step at 20 of the 40 sites, noise variance 2); the two shipped models fill it through
:func:`varda.fill`, and their R-scores are printed beside linear interpolation in time and the
paper's numbers. The full training protocol is ``python -m experiments.l96.run`` (see the
Lorenz-96 page of the documentation).
"""
from __future__ import annotations

import argparse
import time

import numpy as np

#: shipped models and the paper's R-score of their row
MODELS = {"l96-rk4-lstm": 4.46e-2, "l96-unet-joint": 1.94e-2}


def interpolate_in_time(y: np.ndarray) -> np.ndarray:
    """Per window and site, linear interpolation in time between observations (``np.interp``;
    constant beyond the first and last ones); ``y`` is ``(n, time, site)`` with NaN gaps."""
    out = np.empty_like(y)
    t = np.arange(y.shape[1])
    for i in range(y.shape[0]):
        for s in range(y.shape[2]):
            obs = np.isfinite(y[i, :, s])
            out[i, :, s] = np.interp(t, t[obs], y[i, obs, s]) if obs.any() else np.nan
    return out


def run_l96_demo(args: argparse.Namespace) -> int:
    """Run the demo (options: ``windows``, ``seed``, ``threads``); prints a Markdown table."""
    import torch

    import varda
    from varda.datasets.lorenz96 import make_l96_benchmark

    torch.set_num_threads(args.threads)
    print(f"varda demo l96: {args.windows} Lorenz-96 windows of 200 steps × 40 sites (seed "
          f"{args.seed}), 12.5 % observed with noise variance 2, filled by the shipped models\n")
    bench = make_l96_benchmark(n_train=1, n_test=args.windows, seed=args.seed)
    truth, obs = bench.test.x.astype(np.float64), bench.test.y
    rows: "list[tuple[str, float, float | None, float]]" = []
    for name, paper in MODELS.items():
        model = varda.load(name)
        scale = float(model.meta["model_card"]["r_score_scale"])
        t0 = time.perf_counter()
        filled = varda.fill(obs, model)
        wall = time.perf_counter() - t0
        rows.append((name, float(np.mean((filled - truth) ** 2)) / scale, paper, wall))
    lin = interpolate_in_time(obs)
    rows.append(("linear interpolation in time", float(np.nanmean((lin - truth) ** 2)) / scale,
                 None, 0.0))
    print("| method | R-score (MSE / mean x²) | paper R | fill time (s) |\n|---|---|---|---|")
    for method, r, paper_r, seconds in rows:
        print(f"| {method} | {r:.3e} | {'' if paper_r is None else f'{paper_r:.2e}'} | "
              f"{seconds:.1f} |")
    print("\nrebuild the models and the full table: python -m experiments.l96.run (see the docs)")
    return 0


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``varda demo l96``."""
    p.add_argument("--windows", type=int, default=32, help="test windows to fill (default 32)")
    p.add_argument("--seed", type=int, default=1,
                   help="seed of the trajectory, masks and noise (default 1; the shipped models "
                        "were trained on seed 0)")
    p.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
