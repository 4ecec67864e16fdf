#!/usr/bin/env python
"""Benchmark: training throughput of one process vs data-parallel ranks, side by side.

Trains the shipped ``l96-unet-joint`` architecture (fresh weights) on Lorenz-96 training crops
for a fixed number of optimiser steps with :func:`varda.core.trainer.fit`, once in this
process (one torch thread) and once on ``--workers`` gloo ranks of one thread each
(``fit(distributed=True)``, the same global batch), alternating the two ``--repeats`` times so
load changes hit both. Cases:

* ``first_guess`` — the first guess alone (``mode="first_guess"``, 100-step crops, batch 32);
* ``joint``       — prior + solver (``mode="joint"``, 40-step crops, batch 32, K = 16 with
                    backpropagation through the last 10 iterations).

It reports the median seconds per step and the speed-up (samples per second of the ranks over
one process). The ranks' wall time includes their start (process spawn, imports) only through
the ``startup_s`` it reports separately: steps are timed inside ``fit``. Usage::

    python benchmarks/bench_data_parallel.py                # writes benchmarks/results/bench_data_parallel.json
    python benchmarks/bench_data_parallel.py --steps 5 --repeats 1   # quicker, noisier
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_solver import write_report  # noqa: E402

CASES = {"first_guess": {"mode": "first_guess", "crop": 100, "k": 0},
         "joint": {"mode": "joint", "crop": 40, "k": 16}}


def _data(crop: int):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))   # the experiments package
    from experiments.l96 import data as l96
    bench = l96.load_benchmark("full")
    x, y, m = l96.tensors(bench.train.subset(slice(0, 400)))
    return tuple(l96.time_crops(t, crop) for t in (x, y, m))


def _run(case: str, steps: int, distributed: bool) -> float:
    """Seconds per optimiser step of ``fit`` on this process (rank) for ``case``."""
    import varda
    from varda.core.model import build_model
    from varda.core.trainer import fit
    spec = CASES[case]
    torch.manual_seed(0)
    model = build_model(varda.load("l96-unet-joint").config)
    model.grad_iters = 10
    x, y, m = _data(spec["crop"])
    model.set_normalization(float(x.mean()), float(x.std()))
    val = (x[:2], y[:2], m[:2])
    times: list[float] = []
    fit(model, x, y, m, val=val, mode=spec["mode"], epochs=1, steps_per_epoch=1,
        batch_size=32, n_iter_schedule={0: max(spec["k"], 1)}, progress=False,
        distributed=distributed)                                  # warm-up
    fit(model, x, y, m, val=val, mode=spec["mode"], epochs=1, steps_per_epoch=steps,
        batch_size=32, n_iter_schedule={0: max(spec["k"], 1)}, progress=False,
        distributed=distributed, callback=lambda e: times.append(e["time_s"]))
    return times[0] / steps          # the epoch's time (its 2-sample validation is negligible)


def _rank(rank: int, case: str, steps: int, out: str) -> None:
    per_step = _run(case, steps, distributed=True)
    if rank == 0:
        Path(out).write_text(json.dumps(per_step))


def main(argv: "list[str] | None" = None) -> int:
    from varda.core import distributed as ddp

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--steps", type=int, default=20, help="timed optimiser steps (default 20)")
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "bench_data_parallel.json")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    rows: dict = {}
    for case in CASES:
        single, parallel, startup = [], [], []
        for _ in range(args.repeats):
            single.append(_run(case, args.steps, distributed=False))
            with tempfile.TemporaryDirectory() as d:
                out = Path(d) / "t.json"
                t0 = time.perf_counter()
                ddp.spawn(_rank, args.workers, case, args.steps, str(out))
                wall = time.perf_counter() - t0
                parallel.append(json.loads(out.read_text()))
                startup.append(wall - parallel[-1] * args.steps)
        s, q = statistics.median(single), statistics.median(parallel)
        rows[case] = {"single_s_per_step": s, "parallel_s_per_step": q,
                      "speedup": s / q, "startup_s": statistics.median(startup)}
        print(f"{case:<12} 1 process {s:.3f} s/step   {args.workers} ranks {q:.3f} s/step   "
              f"speed-up {s / q:.2f}×", flush=True)
    write_report("bench_data_parallel", args.out, workers=args.workers, steps=args.steps,
                 repeats=args.repeats, batch_size=32, results=rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
