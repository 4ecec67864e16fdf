"""The shipped l96-unet-joint when the fill budget allows more iterations (a GPU fill: K = 44
takes 0.91 s on an H200, results/gpu/): choose K on the 64 validation windows among 28–64 as
the recipe does, then score the test split at that K only.

    python results/l96_logs/session7/gpu_budget_k.py   → results/l96_logs/session7/gpu_budget_k.json

Runs on the CPU (the scores do not depend on the device beyond float rounding).
"""
import json
import time
from pathlib import Path

import torch

import varda
from varda.benchmarks import l96

torch.set_num_threads(2)
bench = l96.load_benchmark("full")
model = varda.load("l96-unet-joint")
t0 = time.perf_counter()
kt = l96.choose_test_iters(model, bench, candidates=[28, 32, 36, 40, 44, 48, 52, 56, 64])
test = l96.evaluate(model, bench.test, bench.scale, n_iter=kt["chosen"])
out = {"model": "l96-unet-joint (session 6's X6)", "val_r_by_k": kt["candidates"],
       "chosen_on_validation": kt["chosen"], "test_at_chosen": test,
       "wall_s": round(time.perf_counter() - t0, 1),
       "command": "python results/l96_logs/session7/gpu_budget_k.py"}
path = Path(__file__).with_name("gpu_budget_k.json")
path.write_text(json.dumps(out, indent=2) + "\n")
print(json.dumps(out, indent=2))
