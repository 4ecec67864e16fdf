#!/usr/bin/env python
"""Benchmark: the native kernel for one-input-channel convolutions vs oneDNN, side by side.

``varda.core.priors.padding.PaddedConv`` computes a 2-D convolution with one input channel on
CPU with torch's native (im2col) kernel, because oneDNN's input-gradient for C_in = 1 costs
several times its forward, and the solvers need that gradient at every iteration
(∇ₓλ‖x − Φ(x)‖² for a one-channel U-Net prior). This script times, with the switch
``NATIVE_SINGLE_CHANNEL_CONV`` on and off, interleaved (A B A B …) so load changes hit both:

* ``prior_grad`` — Φ(x) and ∇ₓ‖x − Φ(x)‖² of the shipped ``l96-unet-joint`` prior (autograd);
* ``fill_call``  — one inference call of the shipped model: 8 windows (the CPU call size of
                   ``varda.fill``), K = 16 iterations;
* ``train_step`` — one training step at the row-3 training size (32 crops of 40 × 40, K = 16
                   with backprop through the last 10 iterations, second order).

It reports the medians and the ratios oneDNN / native, and checks the two give the same
result (max |difference|). Usage::

    python benchmarks/bench_conv_backend.py                 # writes results/bench_conv_backend.json
    python benchmarks/bench_conv_backend.py --repeats 3     # faster, noisier
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import statistics
import sys
import time
from pathlib import Path

import torch

import varda
from varda.core.priors import padding

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_solver import hardware  # noqa: E402


def main(argv: "list[str] | None" = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="l96-unet-joint", help="model name or path")
    p.add_argument("--repeats", type=int, default=7, help="timed repeats per case (default 7)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    p.add_argument("--out", type=Path, default=ROOT / "results" / "bench_conv_backend.json")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = varda.load(args.model)
    prior = model.prior
    g = torch.Generator().manual_seed(0)
    x = torch.randn(8, 1, 200, 40, generator=g)
    mask = (torch.rand(x.shape, generator=g) < 0.125).float()
    xt = torch.randn(32, 1, 40, 40, generator=g)
    mt = (torch.rand(xt.shape, generator=g) < 0.125).float()

    def prior_grad() -> torch.Tensor:
        xg = x.detach().requires_grad_(True)
        r = xg - prior(xg)
        return torch.autograd.grad((r * r).sum(), xg)[0]

    def fill_call() -> torch.Tensor:
        model.eval()
        with torch.no_grad():
            return model(x * mask, mask, n_iter=16)

    def train_step() -> torch.Tensor:
        model.train()
        model.zero_grad(set_to_none=True)
        out = model(xt * mt, mt, n_iter=16)
        ((out - xt) ** 2).mean().backward()
        return out.detach()

    cases = {"prior_grad": prior_grad, "fill_call": fill_call, "train_step": train_step}
    backends = {"native": True, "onednn": False}
    times: dict[str, dict[str, list[float]]] = {c: {b: [] for b in backends} for c in cases}
    diffs = {}
    for case, fn in cases.items():
        outs = {}
        for b, flag in backends.items():          # warm-up, and the outputs compared
            padding.NATIVE_SINGLE_CHANNEL_CONV = flag
            outs[b] = fn()
        diffs[case] = float((outs["native"] - outs["onednn"]).abs().max())
        for _ in range(args.repeats):
            for b, flag in backends.items():
                padding.NATIVE_SINGLE_CHANNEL_CONV = flag
                t0 = time.perf_counter()
                fn()
                times[case][b].append(time.perf_counter() - t0)
    padding.NATIVE_SINGLE_CHANNEL_CONV = True
    rows = {}
    print(f"{'case':<12}{'native ms':>11}{'oneDNN ms':>11}{'oneDNN/native':>15}{'max |diff|':>12}")
    for case in cases:
        med = {b: statistics.median(v) * 1e3 for b, v in times[case].items()}
        rows[case] = {"native_ms": med["native"], "onednn_ms": med["onednn"],
                      "ratio_onednn_over_native": med["onednn"] / med["native"],
                      "max_abs_diff": diffs[case]}
        print(f"{case:<12}{med['native']:>11.1f}{med['onednn']:>11.1f}"
              f"{med['onednn'] / med['native']:>15.2f}{diffs[case]:>12.2e}")
    doc = {"benchmark": "bench_conv_backend",
           "date_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
           "command": " ".join(["python", "benchmarks/bench_conv_backend.py", *sys.argv[1:]]),
           "model": args.model, "repeats": args.repeats, "hardware": hardware(),
           "unit": "ms, median of interleaved repeats", "results": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(doc, indent=2) + "\n")
    tmp.replace(args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
