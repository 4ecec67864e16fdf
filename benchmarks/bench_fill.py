"""Fill throughput and peak memory vs archive length, and the 1 → 2 dask worker speed-up.

    python benchmarks/bench_fill.py            # full run (a few minutes on 2 cores)
    python benchmarks/bench_fill.py --quick    # smoke run (seconds)

Everything is measured in one run, side by side:

* **length**: a lazy Lorenz-96-shaped archive ``(time, site=40)``, 12.5 % observed, of T and
  10·T steps (and 100·T without ``--quick``), filled with dask and streamed to Zarr region by
  region. Each length runs in a fresh subprocess, so its peak RSS (``ru_maxrss``) is its own.
* **workers**: the same fill on a ``LocalCluster`` of 1 then 2 single-threaded worker processes.

The model is the shipped ``l96-unet-joint`` when present, otherwise an untrained model of the
same shape (throughput does not depend on the weights). Writes ``benchmarks/results/bench_fill.json``.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
L96_SHAPED = {"prior": {"type": "unet", "ndim": 2, "hidden": 16, "pool": [2, 1],
                        "periodic": [False, True]},
              "solver": {"type": "lstm", "ndim": 2, "hidden": 16, "periodic": [False, True]},
              "axes": ["time", "site"], "patch_shape": [200, 40], "n_iter": 5}


def model_source(workdir: Path) -> str:
    import varda
    if "l96-unet-joint" in varda.pretrained_names():
        return "l96-unet-joint"
    model = varda.build_model(L96_SHAPED).set_normalization(0.0, 3.6)
    model.save(workdir / "bench-model")
    return str(workdir / "bench-model.json")


def lazy_archive(n_time: int, chunk: int, seed: int = 0):
    """A lazy (time, site) DataArray: smooth field, observed every 4th step at 20 of 40 sites."""
    import dask.array as da
    import numpy as np
    import xarray as xr

    rs = da.random.RandomState(seed)
    base = rs.standard_normal((n_time, 40), chunks=(chunk, 40)).astype(np.float32) * 3.6 + 2.3
    t = da.arange(n_time, chunks=chunk)[:, None]
    keep = (t % 4 == 0) & (rs.random_sample((n_time, 40), chunks=(chunk, 40)) < 0.5)
    return xr.DataArray(da.where(keep, base, np.nan), dims=("time", "site"), name="x")


def one_length(n_time: int, chunk: int, model: str, out: str) -> dict:
    """Run in a fresh process: fill a lazy archive of ``n_time`` steps to Zarr; time + peak RSS."""
    import torch

    import varda
    torch.set_num_threads(int(os.environ.get("BENCH_THREADS", "2")))
    import tracemalloc

    arr = lazy_archive(n_time, chunk)
    tracemalloc.start()  # NumPy and Python allocations (not torch's): the data path
    t0 = time.perf_counter()
    filled = arr.varda.fill(model, device="cpu")
    varda.to_zarr(filled, out, region_size=4 * chunk)
    dt = time.perf_counter() - t0
    traced = tracemalloc.get_traced_memory()[1] / 2**20
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB → MiB (Linux)
    return {"n_time": n_time, "points": n_time * 40, "seconds": round(dt, 3),
            "points_per_s": round(n_time * 40 / dt), "peak_rss_mib": round(rss, 1),
            "peak_numpy_python_mib": round(traced, 1),
            "archive_mib_float32": round(n_time * 40 * 4 / 2**20, 2), "chunk": chunk}


def workers_speedup(n_time: int, chunk: int, model: str) -> dict:
    """Same fill on LocalCluster(n_workers=1) then 2, one thread per worker (torch-friendly
    malloc settings, see varda.array.cluster)."""
    import dask
    from distributed import Client, LocalCluster, get_task_stream

    from varda.array.cluster import worker_malloc_config

    out = {}
    for n in (1, 2):
        with dask.config.set(worker_malloc_config()), \
                LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                             dashboard_address=None) as cluster, \
                Client(cluster) as client:
            from varda.array.model_cache import get_model, model_ref
            ref = model_ref(model, device="cpu")
            client.run(lambda: get_model(ref) and None)  # every worker loads the model once
            filled = lazy_archive(n_time, chunk).varda.fill(model, device="cpu")
            with get_task_stream() as stream:
                t0 = time.perf_counter()
                filled.data.sum().compute()
                dt = time.perf_counter() - t0
        busy: dict[str, float] = {}
        for task in stream.data:  # seconds each worker spent computing tasks
            for ss in task["startstops"]:
                if ss["action"] == "compute":
                    busy[task["worker"]] = busy.get(task["worker"], 0.0) + ss["stop"] - ss["start"]
        out[str(n)] = {"seconds": round(dt, 3), "points_per_s": round(n_time * 40 / dt),
                       "busy_s_per_worker": sorted(round(v, 2) for v in busy.values()),
                       "cpu_s_total": round(sum(busy.values()), 2)}
    out["speedup_2_vs_1"] = round(out["1"]["seconds"] / out["2"]["seconds"], 2)
    out["n_time"] = n_time
    return out


def main(argv: "list[str] | None" = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    p.add_argument("--base", type=int, default=None, help="shortest archive length (steps)")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "bench_fill.json"))
    p.add_argument("--one", nargs=4, metavar=("N_TIME", "CHUNK", "MODEL", "OUT"),
                   help=argparse.SUPPRESS)  # internal: one length in this process
    args = p.parse_args(argv)
    if args.one:
        print(json.dumps(one_length(int(args.one[0]), int(args.one[1]), args.one[2], args.one[3])))
        return 0
    import torch

    import varda
    base = args.base or (2_000 if args.quick else 8_000)
    chunk = 1_000
    factors = (1, 10) if args.quick else (1, 3, 10)
    with tempfile.TemporaryDirectory() as tmp:
        model = model_source(Path(tmp))
        lengths = []
        for f in factors:
            res = subprocess.run([sys.executable, __file__, "--one", str(base * f), str(chunk),
                                  model, str(Path(tmp) / f"out{f}.zarr")],
                                 capture_output=True, text=True, check=True)
            lengths.append(json.loads(res.stdout.strip().splitlines()[-1]))
            print(lengths[-1], flush=True)
        workers = workers_speedup(base * (2 if args.quick else 4), chunk, model)
        print(workers, flush=True)
    doc = {
        "command": "python benchmarks/bench_fill.py" + (" --quick" if args.quick else ""),
        "model": model if not model.endswith(".json") else "untrained l96-shaped (200x40, n_iter 5)",
        "varda_version": varda.__version__, "torch": torch.__version__,
        "python": platform.python_version(), "cpu_count": os.cpu_count(),
        "machine": platform.processor() or platform.machine(),
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "load_average_1_5_15": [round(v, 2) for v in os.getloadavg()],
        "length_vs_memory": lengths,
        "rss_ratio_longest_vs_shortest": round(
            lengths[-1]["peak_rss_mib"] / lengths[0]["peak_rss_mib"], 3),
        "numpy_python_ratio_longest_vs_shortest": round(
            lengths[-1]["peak_numpy_python_mib"] / lengths[0]["peak_numpy_python_mib"], 3),
        "in_memory_fill_would_need_mib": [round(r["points"] * 24 / 2**20, 1) for r in lengths],
        "length_ratio": factors[-1],
        "dask_workers": workers,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(doc, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
