"""GPU against CPU, side by side on one machine: Lorenz-96 fill and row-3 training steps.

    python benchmarks/bench_gpu.py [--model l96-unet-joint] [--repeats 3] [--out PATH]

Needs a CUDA GPU (exits with status 2 and a message otherwise). Measured in one run:

* **fill**: ``varda.fill`` of the 256 Lorenz-96 test windows (full protocol) with the shipped
  model at its own K, on ``cpu`` (all the machine's cores), on ``cuda`` (torch's defaults:
  cuDNN convolutions in TF32) and on ``cuda`` without TF32; the minimum of ``--repeats`` wall
  times after one warm-up, the R-score of each and how far the GPU fields are from the CPU's.
  On ``cuda`` also at larger K (wall time only).
* **train**: one joint training step of the row-3 model as the recipe trains it (batch 13,
  crops of 100 steps, K = the model's own, reconstruction loss with ν = 1, 0.05, 0.05, Adam);
  median of ``--repeats`` steps after two warm-ups, on ``cpu`` and on ``cuda``, and on ``cuda``
  with a batch of 64.

Writes ``benchmarks/results/bench_gpu.json`` (with the hardware and the command).
"""
from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))    # the experiments package
from bench_solver import hardware, joint_train_step, write_report  # noqa: E402

import varda  # noqa: E402
from experiments.l96 import data as l96  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _sync(dev: str) -> None:
    if dev.startswith("cuda"):
        torch.cuda.synchronize()


def time_fill(obs: np.ndarray, model, *, device: str, n_iter: int, repeats: int):
    """(min wall time in s, filled field) of ``varda.fill`` on ``device``."""
    varda.fill(obs[:8], model, device=device, n_iter=n_iter)          # warm-up
    walls, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = varda.fill(obs, model, device=device, n_iter=n_iter)
        walls.append(time.perf_counter() - t0)
    return min(walls), walls, out


def time_train_step(model, x, y, m, *, device: str, n_iter: int, repeats: int) -> float:
    """Median seconds per joint training step (forward, loss, backward, Adam) on ``device``."""
    net = copy.deepcopy(model).to(device)
    x, y, m = x.to(device), y.to(device), m.to(device)
    opt = torch.optim.Adam(net.parameters(), lr=1e-4)
    net.train()

    def step() -> None:
        joint_train_step(net, opt, x, y, m, n_iter)

    for _ in range(2):
        step()
    _sync(device)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        step()
        _sync(device)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(argv: "list[str] | None" = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="l96-unet-joint")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--extra-k", type=int, nargs="*", default=[44, 64],
                   help="further K to time the cuda fill at (default 44 64)")
    p.add_argument("--no-train", dest="train", action="store_false",
                   help="skip the training-step timings")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "bench_gpu.json")
    args = p.parse_args(argv)
    if not torch.cuda.is_available():
        print("bench_gpu needs a CUDA GPU (torch.cuda.is_available() is False)", file=sys.stderr)
        return 2
    hw = hardware()
    bench = l96.load_benchmark("full")
    obs = bench.test.y
    model = varda.load(args.model)
    k = int(model.n_iter)
    fill: dict = {"n_windows": int(len(obs)), "n_iter": k}
    fields = {}
    for dev in ("cpu", "cuda"):
        wall, walls, out = time_fill(obs, model, device=dev, n_iter=k, repeats=args.repeats)
        fields[dev] = out
        fill[dev] = {"wall_s": round(wall, 3), "walls_s": [round(w, 3) for w in walls],
                     "r_score": l96.scores(out, bench.test, bench.scale)["r_score"]}
        print(f"fill on {dev}: {wall:.3f} s (K = {k}), R = {fill[dev]['r_score']:.4e}")
    with torch.backends.cudnn.flags(enabled=True, allow_tf32=False):
        wall, walls, out = time_fill(obs, model, device="cuda", n_iter=k, repeats=args.repeats)
    fields["cuda_fp32"] = out
    fill["cuda_fp32"] = {"wall_s": round(wall, 3), "walls_s": [round(w, 3) for w in walls],
                         "r_score": l96.scores(out, bench.test, bench.scale)["r_score"],
                         "note": "cuDNN convolutions without TF32"}
    print(f"fill on cuda without TF32: {wall:.3f} s, R = {fill['cuda_fp32']['r_score']:.4e}")
    fill["cpu_over_cuda"] = round(fill["cpu"]["wall_s"] / fill["cuda"]["wall_s"], 2)
    for other in ("cuda", "cuda_fp32"):
        d = np.abs(fields["cpu"] - fields[other])
        fill[f"abs_diff_cpu_{other}"] = {"max": float(d.max()), "mean": float(d.mean()),
                                         "p99": float(np.quantile(d, 0.99))}
        print(f"|cpu - {other}|: max {d.max():.3g}, mean {d.mean():.3g}")
    fill["cuda_at_k"] = {}
    for kk in args.extra_k:
        wall, _, _ = time_fill(obs, model, device="cuda", n_iter=kk, repeats=args.repeats)
        fill["cuda_at_k"][str(kk)] = round(wall, 3)
        print(f"fill on cuda at K = {kk}: {wall:.3f} s")

    x, y, m = l96.tensors(bench.train)
    sl = slice(0, 100)
    train: dict = {"crop": 100, "n_iter": k}
    for dev, b in (("cpu", 13), ("cuda", 13), ("cuda", 64)) if args.train else ():
        xb, yb, mb = (t[:b, :, sl].contiguous() for t in (x, y, m))
        s = time_train_step(model, xb, yb, mb, device=dev, n_iter=k, repeats=args.repeats)
        train[f"{dev}_batch{b}_s_per_step"] = round(s, 4)
        print(f"train step on {dev}, batch {b}: {s:.4f} s")
    if args.train:
        train["cpu_over_cuda_batch13"] = round(train["cpu_batch13_s_per_step"]
                                               / train["cuda_batch13_s_per_step"], 2)
    write_report("bench_gpu", args.out, hardware_info=hw, model=args.model, fill=fill,
                 train=train)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
