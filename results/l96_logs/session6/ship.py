#!/usr/bin/env python
"""Ship a session-6 row-3 run as ``l96-unet-joint`` with its inference K re-chosen on the
validation split among the K that the fill budget allows (28, 32, 36).

    python results/l96_logs/session6/ship.py RUN          # e.g. X3

Reads ``results/l96_runs/RUN/l96-unet-joint.json`` (the model the recipe saved; runs whose
candidates went to K = 40 chose 40, which fills the 256 test windows in 9.8 s: too close to the
10 s budget), scores K = 28, 32, 36 on the first 64 validation windows, keeps the best, scores
the test split at that K, updates the model card and writes ``src/varda/pretrained/
l96-unet-joint.{json,safetensors}`` and ``results/l96_parts/unet_joint_s6.json`` (the row's
table entry, from the run's part file with the new K and test scores).
"""
import json
import sys
from pathlib import Path

import torch

from varda.benchmarks import l96
from varda.core.checkpoint import load

ROOT = Path(__file__).resolve().parents[3]
CANDIDATES = [28, 32, 36]


def main(run: str) -> int:
    torch.set_num_threads(2)
    src = ROOT / "results" / "l96_runs" / run
    model = load(src / "l96-unet-joint.json")
    bench = l96.load_benchmark("full")
    kt = l96.choose_test_iters(model, bench, candidates=CANDIDATES)
    model.n_iter = int(kt["chosen"])
    test = l96.evaluate(model, bench.test, bench.scale)
    card = model.meta["model_card"]
    card.update(n_iter=model.n_iter,
                scores_test={k: test[k] for k in ("r_score", "mse", "i_score")},
                selection=(f"session 6 run {run}; inference K chosen on 64 validation windows "
                           f"among {CANDIDATES} (the fill budget): "
                           + ", ".join(f"{k}: {v:.4g}" for k, v in kt["candidates"].items())),
                ship_command=f"python results/l96_logs/session6/ship.py {run}")
    model.save(ROOT / "src" / "varda" / "pretrained" / "l96-unet-joint")
    part = json.loads((src / "unet_joint.json").read_text())
    row = part["rows"]["unet_joint"]
    row.update(test_iters=kt, test=test, shipped_from=run,
               ship_command=card["ship_command"])
    out = ROOT / "results" / "l96_parts" / "unet_joint_s6.json"
    out.write_text(json.dumps(part, indent=1) + "\n")
    print(json.dumps({"run": run, "test_iters": kt, "test": test}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
