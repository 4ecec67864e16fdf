#!/usr/bin/env python
"""Benchmark: CPU kernel choices of the solver loop, each switch on vs off, side by side.

Switches (``--switch``; each is a module flag that does not change the model's values beyond
float rounding):

* ``native_conv`` (default) — ``padding.NATIVE_SINGLE_CHANNEL_CONV``: the native kernel for
  one-input-channel convolutions vs oneDNN (below);
* ``fused_bilinear`` — ``unet.FUSED_BILINEAR``: the three convolutions of a bilinear unit as
  one convolution with stacked weights vs three calls;
* ``sigmoid_tanh`` — ``fastmath.SIGMOID_TANH``: tanh as 2σ(2z) − 1 in the ConvLSTM and GRU cells
  vs torch.tanh.

``varda.core.nn.PaddedConv`` computes a 2-D convolution with one input channel on
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

    python benchmarks/bench_conv_backend.py                 # writes benchmarks/results/bench_conv_backend.json
    python benchmarks/bench_conv_backend.py --repeats 3     # faster, noisier
    python benchmarks/bench_conv_backend.py --switch fused_bilinear   # …_fused_bilinear.json
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

import varda
from varda.core import fastmath
from varda.core import nn as padding, unet

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_solver import write_report  # noqa: E402


# switch name -> (module, flag, name of "on", name of "off")
SWITCHES = {"native_conv": (padding, "NATIVE_SINGLE_CHANNEL_CONV", "native", "onednn"),
            "fused_bilinear": (unet, "FUSED_BILINEAR", "fused", "three_convs"),
            "sigmoid_tanh": (fastmath, "SIGMOID_TANH", "sigmoid_tanh", "torch_tanh")}


def main(argv: "list[str] | None" = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="l96-unet-joint", help="model name or path")
    p.add_argument("--repeats", type=int, default=7, help="timed repeats per case (default 7)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    p.add_argument("--switch", choices=sorted(SWITCHES), default="native_conv")
    p.add_argument("--out", type=Path, default=None,
                   help="default benchmarks/results/bench_conv_backend.json (native_conv) or "
                        "benchmarks/results/bench_conv_backend_<switch>.json")
    args = p.parse_args(argv)
    module, flag, on_name, off_name = SWITCHES[args.switch]
    if args.out is None:
        args.out = ROOT / "benchmarks" / "results" / ("bench_conv_backend.json" if args.switch == "native_conv"
                                       else f"bench_conv_backend_{args.switch}.json")
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
    backends = {on_name: True, off_name: False}
    times: dict[str, dict[str, list[float]]] = {c: {b: [] for b in backends} for c in cases}
    diffs = {}
    for case, fn in cases.items():
        outs = {}
        for b, value in backends.items():          # warm-up, and the outputs compared
            setattr(module, flag, value)
            outs[b] = fn()
        diffs[case] = float((outs[on_name] - outs[off_name]).abs().max())
        for _ in range(args.repeats):
            for b, value in backends.items():
                setattr(module, flag, value)
                t0 = time.perf_counter()
                fn()
                times[case][b].append(time.perf_counter() - t0)
    setattr(module, flag, True)
    rows = {}
    ratio = f"{off_name}/{on_name}"
    print(f"{'case':<12}{on_name + ' ms':>16}{off_name + ' ms':>16}{ratio:>24}{'max |diff|':>12}")
    for case in cases:
        med = {b: statistics.median(v) * 1e3 for b, v in times[case].items()}
        rows[case] = {f"{on_name}_ms": med[on_name], f"{off_name}_ms": med[off_name],
                      f"ratio_{off_name}_over_{on_name}": med[off_name] / med[on_name],
                      "max_abs_diff": diffs[case]}
        print(f"{case:<12}{med[on_name]:>16.1f}{med[off_name]:>16.1f}"
              f"{med[off_name] / med[on_name]:>24.2f}{diffs[case]:>12.2e}")
    write_report("bench_conv_backend", args.out, switch=f"{module.__name__}.{flag}",
                 model=args.model, repeats=args.repeats,
                 unit="ms, median of interleaved repeats", results=rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
