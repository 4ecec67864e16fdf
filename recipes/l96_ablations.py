#!/usr/bin/env python
"""Short ablations for the Lorenz-96 recipe: what each CPU engineering choice buys.

    python recipes/l96_ablations.py timing               # ms per sample per solver iteration
    python recipes/l96_ablations.py skill NAME [--budget 180]   # val R after a fixed wall budget

``timing`` measures one training step (forward K=4 iterations + backward + Adam) per
configuration. ``skill`` trains one named variant of row 3 for ``--budget`` seconds of wall time
on the full training split and reports the validation R-score (never the test set). Results are
appended to results/l96_ablations.json. Wall times were measured on a shared 2-core machine under
possible load from other processes: compare numbers taken at the same time.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

from varda.benchmarks import l96

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "results" / "l96_ablations.json"

TIMING = {
    "2d U-Net h16 + 2d LSTM h16, second order": lambda: l96.unet_model(hidden_prior=16, hidden_solver=16, layout="2d"),
    "2d U-Net h32 + 2d LSTM h32, second order (paper-like)": lambda: l96.unet_model(hidden_prior=32, hidden_solver=32, layout="2d"),
    "fold U-Net h16 + LSTM h16, second order": lambda: l96.unet_model(hidden_prior=16, hidden_solver=16),
    "fold U-Net h32 + LSTM h32, second order": lambda: l96.unet_model(hidden_prior=32, hidden_solver=32),
    "fold U-Net h32 + LSTM h32, first order": lambda: l96.unet_model(hidden_prior=32, hidden_solver=32, second_order=False),
    "fold U-Net h64 + LSTM h64, second order": lambda: l96.unet_model(hidden_prior=64, hidden_solver=64),
    "RK4 + fold LSTM h64, first order": lambda: l96.rk4_model("lstm", hidden=64),
    "RK4 + fold LSTM h64, second order": lambda: l96.rk4_model("lstm", hidden=64, second_order=True),
    "RK4 + 2d LSTM h16, first order": lambda: l96.rk4_model("lstm", hidden=16, layout="2d"),
}

SKILL = {
    "fold-h32-so": dict(hidden_prior=32, hidden_solver=32, second_order=True),
    "fold-h32-fo": dict(hidden_prior=32, hidden_solver=32, second_order=False),
    "fold-h32-so-fixedK": dict(hidden_prior=32, hidden_solver=32, second_order=True, ramp=(0.0, 0.0)),
    "fold-h32-so-b16": dict(hidden_prior=32, hidden_solver=32, second_order=True, batch_size=16),
    "2d-h16-so": dict(hidden_prior=16, hidden_solver=16, second_order=True, layout="2d"),
}


def record(entry: dict) -> None:
    doc = json.loads(OUT.read_text()) if OUT.is_file() else {"entries": []}
    doc["entries"].append(entry)
    OUT.write_text(json.dumps(doc, indent=1) + "\n")


def timing(batch: int, k: int, reps: int) -> None:
    x = torch.randn(batch, 1, 200, 40)
    m = (torch.rand(batch, 1, 200, 40) < 0.125).float()
    y = x * m
    res = {}
    for name, make in TIMING.items():
        torch.manual_seed(0)
        model = make().train()
        opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], 1e-3)
        ts = []
        for _ in range(reps):
            t = time.perf_counter()
            xh = model(y, m, n_iter=k)
            loss = ((xh - x) ** 2).mean() + 0.05 * ((model.prior(xh) - xh) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            ts.append(time.perf_counter() - t)
        res[name] = {"ms_per_sample_iter": round(min(ts) / batch / k * 1000, 2),
                     "n_params": l96.n_params(model)}
        print(f"{name:55s} {res[name]['ms_per_sample_iter']:8.2f} ms  {res[name]['n_params']} params",
              flush=True)
    record({"kind": "timing", "batch": batch, "n_iter": k, "threads": torch.get_num_threads(),
            "results": res, "hardware": l96.hardware(), "date": time.strftime("%Y-%m-%d %H:%M")})


def skill(name: str, budget: float, seed: int) -> None:
    cfg = dict(SKILL[name])
    ramp = cfg.pop("ramp", (0.1, 0.3))
    batch = cfg.pop("batch_size", 32)
    bench = l96.load_benchmark("full", seed=seed)
    mean, std = float(bench.train.x.mean()), float(bench.train.x.std())
    torch.manual_seed(seed)
    model = l96.unet_model(n_iter=10, mean=mean, std=std, **cfg)
    tr = l96._train(model, bench, mode="joint", epochs=500, batch_size=batch, lr=2e-3,
                    max_time=budget, n_iter=10, seed=seed, progress=False, ramp=ramp,
                    log=lambda s: print(s, flush=True))
    val = l96.evaluate(model, bench.val, bench.scale)
    entry = {"kind": "skill", "name": name, "config": SKILL[name], "budget_s": budget,
             "train_wall_s": tr["train_wall_s"], "epochs_run": tr["epochs_run"],
             "val_r_score": val["r_score"], "threads": torch.get_num_threads(),
             "date": time.strftime("%Y-%m-%d %H:%M")}
    print(json.dumps(entry), flush=True)
    record(entry)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=["timing", "skill"])
    ap.add_argument("name", nargs="?", choices=sorted(SKILL))
    ap.add_argument("--budget", type=float, default=180.0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.what == "timing":
        timing(args.batch, 4, args.reps)
    else:
        if not args.name:
            ap.error("skill needs a variant NAME")
        skill(args.name, args.budget, args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
