"""What a killed ``varda fill`` of an ensemble archive costs: uninterrupted, killed, rerun.

    python benchmarks/bench_resume.py                       # the case of the docs (minutes)
    python benchmarks/bench_resume.py --baseline-rev ac87c97  # also today's vs that revision's
    python benchmarks/bench_resume.py --quick               # smoke run (small archive)

The case: a Lorenz-96 ensemble archive (24 members × 2,000 steps × 40 sites, every 4th step
observed at 20 random sites, noise variance 2) in NetCDF, filled with the shipped
``l96-rk4-lstm`` model by ``varda fill obs.nc --var x --model l96-rk4-lstm --chunks time=400
-o out.zarr``, each run a fresh CLI process. Measured side by side in one run:

* **uninterrupted**: the fill from scratch (``--repeats`` times, alternating with the baseline);
* **killed + rerun**: the same command, SIGKILLed at ``--kill-at`` × the uninterrupted time,
  then rerun; the rerun's note says how many regions it kept; the rerun's store is compared
  bit for bit with the uninterrupted one;
* **baseline** (``--baseline-rev``): the uninterrupted fill with the source of another git
  revision (``git archive REV src``), for the overhead of the region layout.

Ratios are reported (timings on a shared machine are noisy; compare only within one run).
Writes ``benchmarks/results/bench_resume.json``.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUN_CLI = "import sys; from varda.cli.main import main; sys.exit(main(sys.argv[1:]))"


def make_archive(path: Path, members: int, steps: int, seed: int = 0) -> None:
    """The ensemble archive: one L96 trajectory per member, observed as in the benchmark."""
    import numpy as np
    import xarray as xr

    from varda.datasets.lorenz96 import l96_masks, simulate_l96

    rng = np.random.default_rng(seed)
    x = np.stack([simulate_l96(steps, seed=100 + k, burn_in=200) for k in range(members)])
    mask = np.stack([l96_masks(steps // 200, rng=rng).reshape(steps, 40) for _ in range(members)])
    y = np.where(mask, x + rng.normal(0.0, np.sqrt(2.0), x.shape), np.nan).astype(np.float32)
    xr.Dataset({"x": (("member", "time", "site"), y)},
               coords={"member": np.arange(members), "time": np.arange(steps),
                       "site": np.arange(40)}).to_netcdf(path)


def fill_cmd(src: Path, obs: Path, out: Path, chunk: int) -> tuple[list[str], dict]:
    env = {**os.environ, "PYTHONPATH": str(src), "OMP_NUM_THREADS": os.environ.get(
        "OMP_NUM_THREADS", "2")}
    return ([sys.executable, "-c", RUN_CLI, "fill", str(obs), "--var", "x", "--model",
             "l96-rk4-lstm", "--chunks", f"time={chunk}", "-o", str(out), "--no-progress"], env)


def timed(cmd: list[str], env: dict,
          kill_after: "float | None" = None) -> tuple[float, str, float]:
    """Run ``cmd``; SIGKILL it after ``kill_after`` seconds (if given).

    Returns (wall seconds, stderr, CPU seconds: user + system of the process and its threads;
    on a loaded machine the CPU time measures the work better than the wall time)."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        _, err = proc.communicate(timeout=kill_after)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        _, err = proc.communicate()
    dt = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    if kill_after is None and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{err}")
    return dt, err, cpu


def same_store(a: Path, b: Path) -> bool:
    import numpy as np
    import xarray as xr
    with xr.open_zarr(a) as x, xr.open_zarr(b) as y:
        return set(x.variables) == set(y.variables) and all(
            np.array_equal(x[v].values, y[v].values, equal_nan=True) for v in x.variables)


def main(argv: "list[str] | None" = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--members", type=int, default=24)
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--chunk", type=int, default=400)
    p.add_argument("--kill-at", type=float, default=0.5)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--baseline-rev", default=None, help="git revision to compare with")
    p.add_argument("--quick", action="store_true", help="8 members × 800 steps, 1 repeat")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "bench_resume.json"))
    args = p.parse_args(argv)
    if args.quick:
        args.members, args.steps, args.repeats = 8, 800, 1
    work = Path(tempfile.mkdtemp(prefix="varda-bench-resume-"))
    try:
        obs = work / "obs.nc"
        make_archive(obs, args.members, args.steps)
        sources = {"new": ROOT / "src"}
        if args.baseline_rev:
            base = work / "baseline"
            base.mkdir()
            tar = subprocess.run(["git", "-C", str(ROOT), "archive", args.baseline_rev, "src"],
                                 check=True, capture_output=True).stdout
            subprocess.run(["tar", "-x", "-C", str(base)], input=tar, check=True)
            sources["baseline"] = base / "src"
        times: dict[str, list[float]] = {k: [] for k in sources}
        cpus: dict[str, list[float]] = {k: [] for k in sources}
        for r in range(args.repeats):
            for name, src in (sources.items() if r % 2 == 0 else reversed(sources.items())):
                out = work / f"{name}-{r}.zarr"
                wall, _, cpu = timed(*fill_cmd(src, obs, out, args.chunk))
                times[name].append(wall)
                cpus[name].append(cpu)
                print(f"{name} uninterrupted: {wall:.1f} s, CPU {cpu:.1f} s", flush=True)
        full = statistics.median(times["new"])
        out = work / "killed.zarr"
        cmd, env = fill_cmd(sources["new"], obs, out, args.chunk)
        killed_s, _, _ = timed(cmd, env, kill_after=args.kill_at * full)
        rerun_s, err, rerun_cpu = timed(cmd, env)
        kept = re.search(r"(\d+) of (\d+) regions were already written", err)
        res = {
            "case": f"{args.members} members x {args.steps} steps x 40 sites, --chunks "
                    f"time={args.chunk}, model l96-rk4-lstm",
            "command": "python benchmarks/bench_resume.py" + "".join(
                f" {a}" for a in (argv if argv is not None else sys.argv[1:])),
            "uninterrupted_s": {k: [round(t, 2) for t in v] for k, v in times.items()},
            "uninterrupted_cpu_s": {k: [round(t, 2) for t in v] for k, v in cpus.items()},
            "killed_after_s": round(killed_s, 2), "rerun_s": round(rerun_s, 2),
            "rerun_cpu_s": round(rerun_cpu, 2),
            "rerun_over_uninterrupted_cpu": round(rerun_cpu / statistics.median(cpus["new"]), 3),
            "regions_kept": int(kept.group(1)) if kept else 0,
            "regions_total": int(kept.group(2)) if kept else None,
            "rerun_over_uninterrupted": round(rerun_s / full, 3),
            "rerun_bit_identical": same_store(out, work / "new-0.zarr"),
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
            "python": sys.version.split()[0],
        }
        if "baseline" in times:
            res["baseline_rev"] = args.baseline_rev
            res["overhead_new_over_baseline"] = round(
                full / statistics.median(times["baseline"]), 3)
            res["overhead_new_over_baseline_cpu"] = round(
                statistics.median(cpus["new"]) / statistics.median(cpus["baseline"]), 3)
        print(json.dumps(res, indent=1))
        if not args.quick:
            Path(args.out).write_text(json.dumps(res, indent=1) + "\n")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
