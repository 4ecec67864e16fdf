#!/usr/bin/env python
"""Time filling the 256 Lorenz-96 test windows with a shipped model through ``varda.fill``.

    python -m experiments.l96.fill_timing [--model l96-unet-joint] [--threads 2] [--repeats 2]
                                      [--compare-sequential] [--n-iter K] [--out PATH]
                                      [--compare MODEL[@K] ...]

Writes experiments/l96/results/fill_timing_<model>.json (wall times, R-score of the filled field).
``--compare-sequential`` also times the array layer running its solver calls one at a time
(the behaviour before side-by-side calls) instead of side by side on one-thread workers, alternating the two
modes in each repeat, and reports their ratio. ``--compare`` times other models (or the
same one at other K) the same way, alternating with ``--model``. Falls back to
``model.reconstruct`` (and says so) if ``varda.fill`` is not available.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

import varda
from experiments.l96 import data as l96
from experiments.l96.runner import hardware

RESULTS = Path(__file__).resolve().parent / "results"


def _load_at(spec: str):
    """``MODEL`` or ``MODEL@K``: a loaded model, run at K iterations when given."""
    name, _, k = spec.partition("@")
    model = varda.load(name)
    if k:
        model.n_iter = int(k)
    return model


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="l96-unet-joint")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n-iter", type=int, default=None,
                    help="solver iterations (default: the model's own, model.n_iter)")
    ap.add_argument("--out", type=Path, default=None,
                    help="default experiments/l96/results/fill_timing_<model>.json")
    ap.add_argument("--repeats", type=int, default=2, help="timed fills per mode (min is kept)")
    ap.add_argument("--compare-sequential", action="store_true",
                    help="also time the solver calls run one at a time, and report the ratio")
    ap.add_argument("--compare", nargs="+", default=[], metavar="MODEL[@K]",
                    help="also fill with these models (name or path, optionally at K "
                         "iterations), alternating with --model in every repeat; reports each "
                         "one's time over --model's")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    bench = l96.load_benchmark("full", seed=args.seed)
    obs = bench.test.y                      # (256, 200, 40), NaN where unobserved, raw units
    model = varda.load(args.model)
    if args.n_iter is not None:
        model.n_iter = args.n_iter
    out: dict = {"model": args.model, "n_iter": model.n_iter, "n_windows": int(len(obs)),
                 "threads": args.threads,
                 "hardware": hardware()}
    fill = getattr(varda, "fill", None)
    if fill is not None:
        from varda.array import solve as solve_mod

        modes = ["side_by_side"] + (["sequential"] if args.compare_sequential else [])
        walls: dict = {m: [] for m in modes}
        others = [_load_at(spec) for spec in args.compare]
        other_walls: dict = {spec: [] for spec in args.compare}
        other_scores: dict = {}
        fill(obs[:2], model)                # warm-up (imports, first-call allocations)
        for other in others:
            fill(obs[:2], other)
        for _ in range(max(1, args.repeats)):
            for spec, other in zip(args.compare, others):
                t0 = time.perf_counter()
                filled_other = fill(obs, other)
                other_walls[spec].append(round(time.perf_counter() - t0, 3))
                other_scores[spec] = l96.scores(np.asarray(filled_other), bench.test,
                                                bench.scale)["r_score"]
            for mode in modes:
                solve_mod.CPU_SIDE_BY_SIDE = mode == "side_by_side"
                try:
                    t0 = time.perf_counter()
                    filled = fill(obs, model)
                    walls[mode].append(round(time.perf_counter() - t0, 3))
                finally:
                    solve_mod.CPU_SIDE_BY_SIDE = True
        out["entry_point"] = "varda.fill(obs, model) with default options"
        out["walls_s"] = walls
        out["wall_s"] = min(walls["side_by_side"])
        if args.compare_sequential:
            out["sequential_over_side_by_side"] = round(
                min(walls["sequential"]) / min(walls["side_by_side"]), 3)
        if others:
            out["compared"] = {
                spec: {"n_iter": o.n_iter, "walls_s": other_walls[spec],
                       "wall_s": min(other_walls[spec]),
                       "over_model": round(min(other_walls[spec]) / out["wall_s"], 3),
                       "r_score": other_scores[spec]}
                for spec, o in zip(args.compare, others)}
    else:
        _, y, m = l96.tensors(bench.test)
        t0 = time.perf_counter()
        filled = model.reconstruct(y, m)[:, 0].numpy()
        out["entry_point"] = "model.reconstruct (varda.fill not available)"
        out["wall_s"] = round(time.perf_counter() - t0, 3)
    filled = np.asarray(filled)
    out["shape"] = list(filled.shape)
    out["any_nan"] = bool(np.isnan(filled).any())
    out["scores"] = l96.scores(filled, bench.test, bench.scale)
    path = args.out or RESULTS / f"fill_timing_{Path(args.model).stem}.json"
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps({k: out.get(k) for k in ("entry_point", "wall_s", "walls_s",
                                               "sequential_over_side_by_side", "compared",
                                               "shape", "any_nan")}),
          "R", out["scores"]["r_score"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
