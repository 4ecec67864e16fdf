#!/usr/bin/env python
"""Ship a session-8 row-3 run (ConvLSTM at half the time resolution) as ``l96-unet-joint``.

    python results/l96_logs/session8/ship.py RUN          # e.g. C3

* Inference K, chosen on the first 64 validation windows among the K the CPU fill budget
  allows: 36 and 40. Measured side by side in one run
  (``results/l96_logs/session8/fill_C3_vs_X6.json``): the coarsened model fills the 256 test
  windows in 8.35 s at K = 36, 8.98 s at K = 40, 10.05 s at K = 44, 11.15 s at K = 48, against
  9.73 s for session 6's model at its K = 36; K = 44 is over 10 s.
* ``more_iterations`` (where the fill time allows, e.g. on a GPU): K chosen on the same
  validation windows among 36-64, and the test split scored at that K only.

Reads ``results/l96_runs/RUN/l96-unet-joint.json`` (the model the recipe saved), writes
``src/varda/pretrained/l96-unet-joint.{json,safetensors}`` and
``results/l96_parts/unet_joint_s8.json`` (the row's table entry: the run's part file with the
new K and test scores).
"""
import json
import sys
from pathlib import Path

import torch

from varda.benchmarks import l96
from varda.core.checkpoint import load

ROOT = Path(__file__).resolve().parents[3]
CANDIDATES = [36, 40]
MORE = [36, 40, 44, 48, 52, 56, 64]
FILL = json.loads((Path(__file__).with_name("fill_C3_vs_X6.json")).read_text())


def main(run: str) -> int:
    torch.set_num_threads(2)
    src = ROOT / "results" / "l96_runs" / run
    model = load(src / "l96-unet-joint.json")
    bench = l96.load_benchmark("full")
    kt = l96.choose_test_iters(model, bench, candidates=CANDIDATES)
    model.n_iter = int(kt["chosen"])
    test = l96.evaluate(model, bench.test, bench.scale)
    more = l96.choose_test_iters(model, bench, candidates=MORE)
    test_more = l96.evaluate(model, bench.test, bench.scale, n_iter=more["chosen"])
    cpu_fill = {int(spec.rsplit("@", 1)[1]): v["wall_s"] for spec, v in FILL["compared"].items()}
    card = model.meta["model_card"]
    card.update(
        n_iter=model.n_iter,
        scores_test={k: test[k] for k in ("r_score", "mse", "i_score")},
        selection=(f"session 8 run {run} (ConvLSTM at half the time resolution); inference K "
                   f"chosen on 64 validation windows among {CANDIDATES} (the CPU fill budget): "
                   + ", ".join(f"{k}: {v:.4g}" for k, v in kt["candidates"].items())),
        ship_command=f"python results/l96_logs/session8/ship.py {run}",
        fill_256_windows_cpu_2_threads_s={str(k): v for k, v in sorted(cpu_fill.items())},
        more_iterations={
            "n_iter": int(more["chosen"]),
            "val_r_by_k": {k: round(v, 6) for k, v in more["candidates"].items()},
            "scores_test": {k: test_more[k] for k in ("r_score", "mse", "i_score")},
            "selection": f"K chosen on the 64 validation windows among {MORE}, with no fill "
                         "budget (session 8)",
            "use": (f"varda.fill(obs, 'l96-unet-joint', n_iter={more['chosen']}) where the "
                    f"fill time allows (a GPU); the default K = {model.n_iter} keeps a 2-core "
                    "CPU fill under 10 s"),
            "command": f"python results/l96_logs/session8/ship.py {run}"})
    model.save(ROOT / "src" / "varda" / "pretrained" / "l96-unet-joint")
    part = json.loads((src / "unet_joint.json").read_text())
    row = part["rows"]["unet_joint"]
    row.update(test_iters=kt, test=test, shipped_from=run, ship_command=card["ship_command"],
               more_iterations=card["more_iterations"])
    out = ROOT / "results" / "l96_parts" / "unet_joint_s8.json"
    out.write_text(json.dumps(part, indent=1) + "\n")
    print(json.dumps({"run": run, "test_iters": kt, "test": test,
                      "more_iterations": card["more_iterations"]}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
