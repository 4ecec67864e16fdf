#!/usr/bin/env python
"""Time filling the 256 Lorenz-96 test windows with a shipped model through ``varda.fill``.

    python recipes/l96_fill_timing.py [--model l96-unet-joint] [--threads 2]

Writes results/l96_fill_timing.json (wall time, R-score of the filled field). Falls back to
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
from varda.benchmarks import l96

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="l96-unet-joint")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    bench = l96.load_benchmark("full", seed=args.seed)
    obs = bench.test.y                      # (256, 200, 40), NaN where unobserved, raw units
    model = varda.load(args.model)
    out: dict = {"model": args.model, "n_windows": int(len(obs)), "threads": args.threads,
                 "hardware": l96.hardware()}
    fill = getattr(varda, "fill", None)
    if fill is not None:
        fill(obs[:2], model)                # warm-up (imports, first-call allocations)
        t0 = time.perf_counter()
        filled = fill(obs, model)
        out["entry_point"] = "varda.fill(obs, model) with default options"
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
    path = ROOT / "results" / f"l96_fill_timing_{args.model}.json"
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps({k: out[k] for k in ("entry_point", "wall_s", "shape", "any_nan")}),
          "R", out["scores"]["r_score"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
