"""MNIST inpainting: the seed paper's Table 1 and Fig. 1, trained on CPU.

    python -m experiments.mnist.run                 # full table (≈ 35 min on 2 CPU cores)
    python -m experiments.mnist.run --quick         # every row on a few hundred images (≈ 1 min)
    python -m experiments.mnist.run --rows unet_joint pca_lstm --seeds 0 1 2
    python -m experiments.mnist.run --data /path/to/mnist    # folder of the IDX files

Each (group of rows, seed) is one job on a process of one torch thread; ``--workers`` jobs
run side by side. The full mode writes the table to experiments/mnist/results/, Fig. 1 and the
gallery to docs/benchmarks/figures/mnist_*.png and the shipped model
src/varda/pretrained/mnist-unet-joint (the seed with the lowest validation R-score);
``--quick`` writes everything under experiments/mnist/runs/quick/.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import shlex
import sys
import time
from pathlib import Path

from experiments.mnist import report
from experiments.mnist import settings as S


def groups_for(rows: list[str]) -> list[str]:
    """The job groups that produce ``rows`` (in :data:`settings.GROUPS` order: longest first)."""
    return [g for g, members in S.GROUPS.items() if set(members) & set(rows)]


def run_jobs(jobs: list[tuple[str, int]], *, quick: bool, data_dir: str, out: Path,
             workers: int, device: str = "cpu") -> list[dict]:
    from experiments.mnist.runner import run_job
    args = [(g, s, quick, data_dir, str(out), device) for g, s in jobs]
    if workers <= 1:
        return [run_job(*a) for a in args]
    with mp.get_context("spawn").Pool(workers, maxtasksperchild=1) as pool:
        return pool.starmap(run_job, args, chunksize=1)


def figures(out: Path, seed: int, *, data_dir: str, quick: bool, fig_dir: Path) -> dict:
    """Fig. 1 (energy pathways) and the gallery from the saved models of ``seed``."""
    import torch

    from experiments.mnist.runner import load_data, load_model
    torch.set_num_threads(1)
    cfg = S.mode_settings(quick)
    data = load_data(cfg, data_dir, seed=seed)
    models = {}
    for row, _ in report.PATHWAY_ROWS:
        path = out / "models" / f"{row}-s{seed}.json"
        if path.is_file():
            models[row] = load_model(out, row, seed)
    if not models:
        return {}
    paths = report.energy_pathways(models, data, n=64 if not quick else 32)
    report.plot_pathways(paths, fig_dir / "mnist_energy_pathway.png")
    report.plot_gallery(models, data, fig_dir / "mnist_gallery.png")
    return {"energy_pathways": {"seed": seed, "n_images": 64 if not quick else 32,
                                "images": "first test images", "pathways": paths}}


def ship(rows: dict, out: Path, *, command: str) -> "dict | None":
    """Copy the jointly trained U-Net model (either joint row, any seed) with the lowest
    validation R-score into the package as ``mnist-unet-joint``."""
    from experiments.mnist.runner import load_model
    candidates = [(row, seed, r["val_r_score"]) for row in S.SHIPPED_CANDIDATES
                  for seed, r in rows.get(row, {}).get("seeds", {}).items()]
    if not candidates:
        return None
    row, seed, _ = min(candidates, key=lambda c: c[2])
    model = load_model(out, row, int(seed))
    card = report.model_card(row, int(seed), command=command, rows=rows,
                             candidates=candidates)
    model.meta["model_card"] = card
    model.meta["fill_defaults"] = {"keep_observed": False}
    model.meta["n_iter_max"] = int(model.n_iter)
    model.save(S.PRETRAINED_DIR / S.SHIPPED_NAME)
    return {"shipped": S.SHIPPED_NAME, "row": row, "seed": int(seed)}


def main(argv: "list[str] | None" = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m experiments.mnist.run", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes (≈ 1 min, one thread)")
    ap.add_argument("--rows", nargs="+", choices=S.ROWS, default=list(S.ROWS))
    ap.add_argument("--seeds", nargs="+", type=int, default=None,
                    help="training seeds (default: full 0 1, quick 0)")
    ap.add_argument("--data", default=str(S.DATA_DIR), help="folder of the MNIST IDX files")
    ap.add_argument("--workers", type=int, default=None,
                    help="jobs side by side (default: 2 full, 1 quick)")
    ap.add_argument("--out", type=Path, default=None,
                    help="run folder (default experiments/mnist/runs/<full|quick>)")
    ap.add_argument("--device", default="cpu",
                    help="where the learned parts train: cpu (default, the documented table), "
                         "cuda, cuda:N or auto; the budgets stay wall-time budgets, so a GPU "
                         "trains more steps in them")
    ap.add_argument("--no-ship", action="store_true", help="do not write the pretrained model")
    ap.add_argument("--report-only", action="store_true",
                    help="train nothing: rebuild the table, figures and shipped model from the "
                         "parts already in the run folder")
    args = ap.parse_args(argv)
    command = " ".join(["python -m experiments.mnist.run",
                        *(shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv))])
    cfg = S.mode_settings(args.quick)
    seeds = args.seeds if args.seeds is not None else cfg["seeds"]
    workers = args.workers if args.workers is not None else (1 if args.quick else 2)
    out = args.out or S.RUNS_DIR / ("quick" if args.quick else "full")
    out.mkdir(parents=True, exist_ok=True)
    # extra rows (and the seed-free zero_fill) run for the first seed only
    jobs = [(g, s) for g in groups_for(args.rows)
            for s in (seeds[:1] if g in S.FIRST_SEED_ONLY else seeds)]
    t0 = time.perf_counter()
    if args.report_only:
        parts = [json.loads(p.read_text()) for p in sorted((out / "parts").glob("*.json"))]
        # the run that made the parts: its command, and its wall time estimated from the jobs
        wall = sum(p["job_time_s"] for p in parts) / max(1, workers)
        command = command.replace(" --report-only", "")
    else:
        first = [j for j in jobs if j[0] not in S.SECOND_PHASE]
        second = [j for j in jobs if j[0] in S.SECOND_PHASE]
        parts = [p for phase in (first, second) if phase
                 for p in run_jobs(phase, quick=args.quick, data_dir=args.data, out=out,
                                   workers=workers, device=args.device)]
        wall = time.perf_counter() - t0
    rows = report.merge(parts)
    rows = {k: v for k, v in rows.items() if k in args.rows}
    fig_dir = out if args.quick else S.FIGURES_DIR
    extra = figures(out, seeds[0], data_dir=args.data, quick=args.quick, fig_dir=fig_dir)
    full_table = not args.quick and set(args.rows) == set(S.ROWS)
    if not args.quick and not args.no_ship:
        shipped = ship(rows, out, command=command)
        if shipped:
            extra["shipped_model"] = shipped
    results = S.RESULTS_DIR if full_table else out
    js = report.write_table(rows, results, command=command, wall_time_s=wall, quick=args.quick,
                            extra=extra)
    if full_table:
        report.write_docs_table(rows, S.DOCS_PAGE)
    print(report.markdown_table(rows))
    print(f"table: {js}  ({wall:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
