#!/usr/bin/env python
"""Benchmark: the DUACS-style along-track OI (``varda.baselines.duacs_oi``) on a year of daily
64 × 64 maps from synthetic drifting eddies seen by 4 nadir satellites (the test helpers'
generator, ``tests/ssh_helpers.py``; about 3–5 % of the pixels seen per day).

Reports, side by side on the same data:

* the wall time of the scale selection on withheld tracks and of mapping the year (default
  settings: blocks of 2 days × 8 × 8 points sharing 192 neighbours);
* the default against one solve per grid point with 32 neighbours (the classic local OI), on
  the first 60 days, interleaved: time ratio and RMSE ratio;
* the RMSE of the OI with the scales chosen on withheld tracks against the OI with the scales
  that are best against the truth (what a data-challenge OI tuned on the truth would get).

Usage::

    python benchmarks/bench_duacs_oi.py            # writes benchmarks/results/bench_duacs_oi.json
    python benchmarks/bench_duacs_oi.py --days 120 # shorter
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from ssh_helpers import Eddies, grid, tracks  # noqa: E402
from varda.baselines import duacs_cross_validate, duacs_oi  # noqa: E402
from varda.ssh_scores import nrmse_score, psd_scores  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(ROOT / "benchmarks/results/bench_duacs_oi.json"))
    args = ap.parse_args()
    like = grid(args.days, 64)
    eddies = Eddies(like, radius_km=40.0, life_days=12.0, per_day=1.0, seed=args.seed)
    truth = eddies.truth()
    tr = tracks(eddies, n_sats=4, passes_per_day=0.5, step_km=7.0, noise_std=0.002,
                seed=args.seed + 1)
    res: dict = {"days": args.days, "grid": [64, 64], "n_track_points": int(tr.sizes["time"]),
                 "truth_std_m": float(truth.std())}
    t0 = time.perf_counter()
    best, table = duacs_cross_validate(tr, like)
    res["cv_seconds"] = time.perf_counter() - t0
    res["chosen"] = best
    t0 = time.perf_counter()
    oi = duacs_oi(tr, like, **best)
    res["map_seconds"] = time.perf_counter() - t0
    s, p = nrmse_score(oi.ssh, truth), psd_scores(oi.ssh, truth)
    res.update(rmse=s.rmse, mu=s.mu, sigma=s.sigma, lambda_x_km=p.lambda_x_km,
               lambda_t_days=p.lambda_t, mean_ssh_error=float(oi.ssh_error.mean()))
    # default vs per-point solves, interleaved on 60 days
    short = like.isel(time=slice(0, 60))
    times: dict = {"default": [], "per_point_k32": []}
    rmses = {}
    for _ in range(2):
        for name, kw in (("default", {}), ("per_point_k32", dict(block=(1, 1, 1),
                                                                  n_neighbors=32))):
            t0 = time.perf_counter()
            o = duacs_oi(tr, short, **best, **kw)
            times[name].append(time.perf_counter() - t0)
            rmses[name] = nrmse_score(o.ssh, truth.isel(time=slice(0, 60))).rmse
    res["default_vs_per_point"] = {
        "seconds": {k: min(v) for k, v in times.items()}, "rmse": rmses,
        "time_ratio_default_over_per_point": min(times["default"]) / min(times["per_point_k32"]),
        "rmse_ratio_default_over_per_point": rmses["default"] / rmses["per_point_k32"]}
    # scales tuned on the truth (on the first 60 days)
    tuned = {}
    for L in table.space_scale_km.values:
        for T in table.time_scale_days.values:
            o = duacs_oi(tr, short, space_scale_km=float(L), time_scale_days=float(T),
                         noise_std=best["noise_std"])
            tuned[(float(L), float(T))] = nrmse_score(o.ssh, truth.isel(time=slice(0, 60))).rmse
    (L, T), r = min(tuned.items(), key=lambda kv: kv[1])
    res["truth_tuned_60d"] = {"space_scale_km": L, "time_scale_days": T, "rmse": r,
                              "rmse_cv_chosen": rmses["default"],
                              "ratio_cv_over_truth_tuned": rmses["default"] / r}
    Path(args.out).write_text(json.dumps(res, indent=2))
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
