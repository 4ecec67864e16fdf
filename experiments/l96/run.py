"""Lorenz-96 Table 2 (Fablet et al., ICASSP 2021), reproduced and trained on CPU.

    python -m experiments.l96.run                    # every row, the paper's protocol
    python -m experiments.l96.run --quick            # every row at small size (≈ 2–3 min)
    python -m experiments.l96.run --rows unet_joint --save-models     # rebuild l96-unet-joint
    python -m experiments.l96.run --rows rk4_lstm --save-models       # rebuild l96-rk4-lstm
    python -m experiments.l96.run --rows fourdvar --part runs/fourdvar.json   # one row alone
    python -m experiments.l96.run --merge runs/*.json                 # assemble the table
    python -m experiments.l96.run --shared-eval      # shipped models on the shared-mask test set
    python -m experiments.l96.run --pathway          # the energy-pathway figure

Full-size results go to experiments/l96/results/table2.json and table2.md (rows run
separately with ``--part`` are merged into them); other sizes to experiments/l96/runs/.
``--save-models`` writes the trained ``l96-rk4-lstm`` / ``l96-unet-joint`` into the package's
pretrained folder, with a model card naming this command.
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

import torch

from experiments.l96 import report, runner
from experiments.l96.data import evaluate, load_benchmark, scores
from experiments.l96.models import rk4_model
from experiments.l96.settings import PAPER, ROW_TITLES, ROWS, SIZES
from experiments.l96.training import run_fourdvar

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
RESULTS = HERE / "results"
RUNS = HERE / "runs"
PRETRAINED = ROOT / "src" / "varda" / "pretrained"
FIGURES = ROOT / "docs" / "benchmarks" / "figures"


def main(argv: "list[str] | None" = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m experiments.l96.run", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="every row at small size (≤ 3 min)")
    ap.add_argument("--size", choices=sorted(SIZES), default=None,
                    help="data and training size (default full; --quick = quick)")
    ap.add_argument("--rows", nargs="+", choices=ROWS, default=list(ROWS), metavar="ROW",
                    help=f"rows to run (default all: {' '.join(ROWS)})")
    ap.add_argument("--seed", type=int, default=0, help="seed of the data (default 0)")
    ap.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    ap.add_argument("--workers", type=int, default=1,
                    help="train data-parallel on this many processes of one thread each")
    ap.add_argument("--set", nargs="*", action="extend", default=[], metavar="KEY=VALUE",
                    help="override a row setting (JSON value), e.g. n_iter=12")
    ap.add_argument("--part", type=Path, default=None,
                    help="write this run's rows to this file only (merge them with --merge)")
    ap.add_argument("--merge", nargs="+", type=Path, default=None, metavar="PART",
                    help="merge part files into the final table")
    ap.add_argument("--out", type=Path, default=None, help="results JSON (default: see above)")
    ap.add_argument("--save-models", action="store_true",
                    help="write the trained shipped rows into src/varda/pretrained (full size)")
    ap.add_argument("--save-dir", type=Path, default=None,
                    help="with --save-models: write the models here instead")
    ap.add_argument("--progress", action="store_true", help="progress bars")
    ap.add_argument("--shared-eval", action="store_true",
                    help="score the shipped models, FSGD and 4D-Var (settings chosen on the "
                         "independent-mask validation) on the shared-mask test set")
    ap.add_argument("--pathway", action="store_true",
                    help="plot the energy pathway (FSGD vs the shipped l96-rk4-lstm)")
    args = ap.parse_args(argv)
    command = " ".join(["python -m experiments.l96.run",
                        *(shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv))])
    torch.set_num_threads(args.threads)
    if args.merge:
        return merge(args.merge, args.out or RESULTS / "table2.json")
    if args.pathway:
        return pathway(args.seed)
    if args.shared_eval:
        return shared_eval(args.seed, command, args.part or RUNS / "shared_eval.json")
    size = args.size or ("quick" if args.quick else "full")
    overrides = {}
    for kv in args.set:
        k, v = kv.split("=", 1)
        overrides[k] = json.loads(v)
    if args.save_models and size != "full":
        ap.error("--save-models ships models: only at --size full")
    save_dir = (args.save_dir or PRETRAINED) if args.save_models else None
    t0 = time.perf_counter()
    res: dict = {"rows": {}, "paper": PAPER, "hardware": runner.hardware(), "command": command,
                 "size": size, "seed": args.seed}
    bench = load_benchmark(size, seed=args.seed)
    res["benchmark"] = dict(bench.config, r_score_scale=bench.scale)
    for row in args.rows:
        common = dict(size=size, seed=args.seed, progress=args.progress, save_dir=save_dir,
                      command=command, overrides=overrides or None)
        if args.workers > 1:
            res["rows"][row] = runner.run_row_parallel(row, workers=args.workers, **common)
        else:
            res["rows"][row] = runner.run_row(row, bench=bench,
                                              log=lambda s: print(s, flush=True), **common)
    res["total_wall_s"] = round(time.perf_counter() - t0, 1)
    if args.part:
        out = args.part
    elif args.out:
        out = args.out
    elif size == "full" and args.rows == list(ROWS):
        out = RESULTS / "table2.json"
    else:
        out = RUNS / f"table2_{size}.json"
    report.save_results(res, out)
    if out.parent == RESULTS:
        (RESULTS / "table2.md").write_text(report.markdown_table(res))
    print(report.markdown_table(res))
    print(f"wrote {out} in {res['total_wall_s']:.0f}s")
    return 0


def merge(parts: "list[Path]", out: Path) -> int:
    """Merge part files (rows run separately) into the final table, rows in table order."""
    docs = [json.loads(p.read_text()) for p in parts]
    res = dict(docs[0])
    res["rows"] = {}
    for doc in docs:
        for row in doc["rows"].values():
            row.setdefault("command", doc.get("command"))
            row.setdefault("hardware", doc.get("hardware"))
        res["rows"].update(doc["rows"])
    res["command"] = [doc.get("command") for doc in docs]
    order = [r for r in ROWS if r in res["rows"]] + sorted(r for r in res["rows"] if r not in ROWS)
    res["rows"] = {r: res["rows"][r] for r in order}
    report.save_results(res, out)
    out.with_suffix(".md").write_text(report.markdown_table(res))
    print(report.markdown_table(res))
    return 0


def _chosen(row: str) -> dict:
    """Settings a row chose on validation, from the final table."""
    table = json.loads((RESULTS / "table2.json").read_text())
    return table["rows"][row]


def shared_eval(seed: int, command: str, out: Path) -> int:
    """The paper's shared-mask variant, scored without retraining: the shipped models, and
    FSGD / 4D-Var with the settings they chose on the independent-mask validation split."""
    import varda

    bench = load_benchmark("full", shared_mask=True, seed=seed)
    res: dict = {"rows": {}, "paper": PAPER, "hardware": runner.hardware(), "command": command,
                 "size": "full", "seed": seed,
                 "benchmark": dict(bench.config, r_score_scale=bench.scale)}
    for name, row in (("l96-rk4-lstm", "rk4_lstm"), ("l96-unet-joint", "unet_joint")):
        model = varda.load(name)
        res["rows"][f"{row}_shared_eval"] = {
            "row": f"{row}_shared_eval", "model": name, "paper_r_score": PAPER[row],
            "title": f"{ROW_TITLES[row]}, trained on independent masks, shared-mask test set",
            "test": evaluate(model, bench.test, bench.scale),
            "train_wall_s": model.meta.get("model_card", {}).get("train_wall_s", 0.0)}
    fs = _chosen("rk4_fsgd")["chosen"]
    fsgd = rk4_model("fsgd", lam=fs["lambda"], step=fs["step"], n_iter=fs["n_iter"])
    res["rows"]["rk4_fsgd_shared_eval"] = {
        "row": "rk4_fsgd_shared_eval", "paper_r_score": PAPER["rk4_fsgd"], "settings": fs,
        "title": "RK4 + FSGD (settings from validation), shared-mask test set, 64 windows",
        "test": evaluate(fsgd, bench.test.subset(slice(0, 64)), bench.scale), "train_wall_s": 0.0}
    fv = _chosen("fourdvar")
    t0 = time.perf_counter()
    xh = run_fourdvar(bench.test, lam=fv["chosen"]["lambda"], n_iter=fv["chosen"]["n_iter"],
                      chunk=fv["settings"]["chunk"], fill=float(bench.train.x.mean()))
    test = scores(xh, bench.test, bench.scale)
    test["eval_time_s"] = round(time.perf_counter() - t0, 2)
    res["rows"]["fourdvar_shared_eval"] = {
        "row": "fourdvar_shared_eval", "paper_r_score": None, "settings": fv["chosen"],
        "title": "Weak-constraint 4D-Var (settings from validation), shared-mask test set",
        "test": test, "train_wall_s": 0.0}
    report.save_results(res, out)
    print(report.markdown_table(res))
    print(f"wrote {out} (merge it into the table with --merge)")
    return 0


def pathway(seed: int) -> int:
    """Energy pathway on 32 test windows: FSGD (λ, step, K chosen on validation) against the
    shipped ``l96-rk4-lstm``, both on the true-physics cost with FSGD's λ."""
    import varda
    from varda.core.cost import VariationalCost

    fs = _chosen("rk4_fsgd")["chosen"]
    lstm = varda.load("l96-rk4-lstm")
    fsgd = rk4_model("fsgd", lam=fs["lambda"], step=fs["step"], n_iter=fs["n_iter"])
    bench = load_benchmark("full", seed=seed)
    split = bench.test.subset(slice(0, 32))
    ref = VariationalCost(lambda_init=fs["lambda"], learn_lambda=False)
    path = report.energy_pathway(
        {f"FSGD (K={fs['n_iter']})": (fsgd, fs["n_iter"]),
         f"ConvLSTM (inference K={lstm.n_iter}, run to 4K)": (lstm, 4 * lstm.n_iter)},
        split, ref_cost=ref, scale=bench.scale)
    FIGURES.mkdir(parents=True, exist_ok=True)
    png = FIGURES / "l96_energy_pathway.png"
    report.plot_pathway(path, png, title=f"Lorenz-96, RK4 true-physics prior, 32 test windows "
                                         f"(U with λ={fs['lambda']:g})")
    RUNS.mkdir(parents=True, exist_ok=True)
    (RUNS / "energy_pathway.json").write_text(json.dumps(path) + "\n")
    print(f"wrote {png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
