#!/usr/bin/env python
"""Benchmark of the learned variational solver: ms per sample per solver iteration.

For each problem it measures, side by side in one run:

* ``train``      — one training step: K solver iterations with the second-order graph
                   (``create_graph=True``), the paper's loss, ``loss.backward()``, Adam step;
* ``fwd-2nd``    — the same forward pass with the second-order graph built, no backward;
* ``infer``      — inference: ``eval()`` + ``torch.no_grad()``, no graph kept (the ∇ₓU graph of
                   each iteration is built and freed, ``create_graph=False``);

and reports ``fwd-2nd / infer``, the cost of building a second-order graph at inference.
Timings are medians over repeats (the three measurements interleaved, after one
warm-up each, so that load changes hit them alike); "per sample-iteration" divides by B·K.

Problems (field shapes are ``(B, C, *spatial)``):

* ``l96-paper``  — Lorenz-96, 16 × 1 × 200 × 40 (time × site, sites periodic), two-scale U-Net
                   at the reference's scale (hidden 2·DimAE = 20, kernel 11 over time as dW = 5,
                   3 over sites, time pooling 4) + ConvLSTM with 25 hidden channels
                   (dimGradSolver = 25);
* ``l96-ref-1d`` — the same data in the reference layout: the 40 sites as channels and 1-D
                   convolutions over time (16 × 40 × 200; hidden 200, kernel 11, pooling 4;
                   ConvLSTM 25 hidden, kernel 3);
* ``l96-small``  — the CPU-friendly configuration of ``varda demo`` (hidden 8, kernel 3,
                   time pooling 2, ConvLSTM 8 hidden);
* ``mnist``      — 32 × 1 × 28 × 28, U-Net hidden 16, pooling 2, ConvLSTM 16 hidden.

Usage::

    python benchmarks/bench_solver.py            # full run, writes benchmarks/results/bench_solver.json
    python benchmarks/bench_solver.py --quick    # a few seconds: K = 1, one repeat
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

import torch

from varda._version import __version__
from varda.core.model import VarModel, build_model

ROOT = Path(__file__).resolve().parents[1]

LSTM_L96 = {"type": "lstm", "ndim": 2, "periodic": [False, True]}
PROBLEMS: dict[str, dict] = {
    "l96-paper": {
        "shape": (16, 1, 200, 40),
        "config": {"axes": ["time", "site"], "patch_shape": [200, 40],
                   "prior": {"type": "unet", "ndim": 2, "hidden": 20, "depth": 1,
                             "kernel": [11, 3], "pool": [4, 1], "periodic": [False, True]},
                   "solver": {**LSTM_L96, "hidden": 25, "kernel": 3}},
    },
    "l96-ref-1d": {
        "shape": (16, 40, 200),
        "config": {"axes": ["time"], "patch_shape": [200], "channels": 40,
                   "prior": {"type": "unet", "ndim": 1, "channels": 40, "hidden": 200,
                             "depth": 1, "kernel": 11, "pool": 4},
                   "solver": {"type": "lstm", "ndim": 1, "channels": 40, "hidden": 25,
                              "kernel": 3}},
    },
    "l96-small": {
        "shape": (16, 1, 200, 40),
        "config": {"axes": ["time", "site"], "patch_shape": [200, 40],
                   "prior": {"type": "unet", "ndim": 2, "hidden": 8, "pool": [2, 1],
                             "periodic": [False, True]},
                   "solver": {**LSTM_L96, "hidden": 8}},
    },
    "mnist": {
        "shape": (32, 1, 28, 28),
        "config": {"axes": ["y", "x"], "patch_shape": [28, 28],
                   "prior": {"type": "unet", "ndim": 2, "hidden": 16, "pool": 2},
                   "solver": {"type": "lstm", "ndim": 2, "hidden": 16}},
    },
}


def _interleaved_medians(fns: dict[str, Callable[[], None]], repeats: int) -> dict[str, float]:
    """Median wall time of each function, run round-robin (A B C A B C …) after one warm-up
    each, so that a change in machine load affects all of them alike."""
    for fn in fns.values():
        fn()
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeats):
        for k, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in times.items()}


def joint_train_step(model: VarModel, opt: torch.optim.Optimizer, x: torch.Tensor,
                     y: torch.Tensor, mask: torch.Tensor, n_iter: int) -> None:
    """One optimiser step on the paper's loss ‖x − x̂‖² + 0.05‖x − Φ(x)‖² + 0.05‖x̂ − Φ(x̂)‖²."""
    x_hat = model(y, mask, n_iter=n_iter)
    loss = (((x_hat - x) ** 2).mean() + 0.05 * ((x - model.prior(x)) ** 2).mean()
            + 0.05 * ((x_hat - model.prior(x_hat)) ** 2).mean())
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()


def bench_problem(name: str, spec: dict, *, n_iter: int, repeats: int, seed: int = 0) -> dict:
    """Time train / forward-with-second-order-graph / inference for one problem."""
    torch.manual_seed(seed)
    model: VarModel = build_model({**spec["config"], "n_iter": n_iter})
    shape = spec["shape"]
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(shape, generator=g)
    mask = (torch.rand(shape, generator=g) < 0.125).float()
    y = (x + 0.5 * torch.randn(shape, generator=g)) * mask
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)

    def train_step() -> None:
        model.train()
        joint_train_step(model, opt, x, y, mask, n_iter)

    def forward_second_order() -> None:
        model.train()
        x_hat = model(y, mask, n_iter=n_iter)
        assert x_hat.grad_fn is not None  # the graph is really built

    def inference() -> None:
        model.eval()
        with torch.no_grad():
            x_hat = model(y, mask, n_iter=n_iter)
        assert x_hat.grad_fn is None

    per = shape[0] * n_iter / 1e3  # seconds → ms per sample-iteration
    med = _interleaved_medians({"train": train_step, "fwd2": forward_second_order,
                                "infer": inference}, repeats)
    t_train, t_fwd2, t_inf = med["train"] / per, med["fwd2"] / per, med["infer"] / per
    n_params = sum(p.numel() for p in model.parameters())
    return {"problem": name, "shape": list(shape), "n_iter": n_iter, "repeats": repeats,
            "parameters": n_params, "train_ms": t_train, "fwd_second_order_ms": t_fwd2,
            "infer_ms": t_inf, "second_order_over_infer": t_fwd2 / t_inf,
            "train_over_infer": t_train / t_inf, "config": spec["config"]}


def hardware() -> dict:
    """CPU model, cores, threads, load: what the numbers depend on."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = {"cpu": cpu, "logical_cores": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "platform": platform.platform(), "python": platform.python_version(),
            "torch": torch.__version__, "varda": __version__,
            "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}
    if hasattr(os, "getloadavg"):
        info["load_average_start"] = list(os.getloadavg())
    return info


def write_report(benchmark: str, out: Path, *, hardware_info: "dict | None" = None,
                 **fields) -> None:
    """Write a benchmark's JSON report atomically (name, UTC date, command, hardware, then
    ``fields``) and say where."""
    doc = {"benchmark": benchmark,
           "date_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
           "command": " ".join(["python", f"benchmarks/{benchmark}.py", *sys.argv[1:]]),
           "hardware": hardware() if hardware_info is None else hardware_info, **fields}
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(doc, indent=2) + "\n")
    tmp.replace(out)
    print(f"wrote {out}")


def main(argv: "list[str] | None" = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="K = 1, one repeat (a few seconds)")
    p.add_argument("--problems", nargs="+", choices=sorted(PROBLEMS), default=list(PROBLEMS),
                   help="problems to run (default: all)")
    p.add_argument("--n-iter", type=int, default=None, help="solver iterations K (default 3)")
    p.add_argument("--repeats", type=int, default=None, help="timed repeats (default 5)")
    p.add_argument("--threads", type=int, nargs="+", default=None,
                   help="torch intra-op thread counts to compare (default: torch's default)")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "bench_solver.json",
                   help="JSON output (default benchmarks/results/bench_solver.json)")
    args = p.parse_args(argv)
    thread_counts = args.threads or [torch.get_num_threads()]
    n_iter = args.n_iter or (1 if args.quick else 3)
    repeats = args.repeats or (1 if args.quick else 5)
    hw = hardware()
    hw["torch_threads"] = thread_counts
    print(f"varda {__version__} · torch {hw['torch']} · {hw['cpu']} · "
          f"{hw['logical_cores']} cores · K = {n_iter} · median of {repeats}")
    rows = []
    head = (f"{'problem':<12}{'shape':>13}{'thr':>4}{'params':>9}{'train':>9}{'fwd-2nd':>9}"
            f"{'infer':>8}{'2nd/inf':>8}{'train/inf':>10}")
    print("ms per sample per solver iteration\n" + head)
    for name in args.problems:
        for threads in thread_counts:
            torch.set_num_threads(threads)
            r = bench_problem(name, PROBLEMS[name], n_iter=n_iter, repeats=repeats)
            r["threads"] = threads
            rows.append(r)
            print(f"{name:<12}{'×'.join(map(str, r['shape'])):>13}{threads:>4}{r['parameters']:>9}"
                  f"{r['train_ms']:>9.2f}{r['fwd_second_order_ms']:>9.2f}{r['infer_ms']:>8.2f}"
                  f"{r['second_order_over_infer']:>8.2f}{r['train_over_infer']:>10.2f}",
                  flush=True)
    if hasattr(os, "getloadavg"):
        hw["load_average_end"] = list(os.getloadavg())
    write_report("bench_solver", args.out, hardware_info=hw, quick=args.quick,
                 unit="ms per sample per solver iteration", results=rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
