"""``varda demo``: train small Lorenz-96 models (a minute or two on 2 CPU cores) and print
their scores next to the paper's. It runs the quick path of the Table-2 protocol
(:func:`varda.benchmarks.l96.run_quick`); the full runs are in ``recipes/l96_table2.py``."""
from __future__ import annotations

import argparse

from varda.benchmarks.l96 import ROWS, markdown_table, run_quick, strip

DEMO_ROWS = ("rk4_fsgd", "rk4_lstm", "unet_joint", "fourdvar")


def _run(args: argparse.Namespace) -> int:
    print("varda demo: Lorenz-96 gap filling (12.5 % observed, noise variance 2), small sizes\n"
          "(200 training windows, a minute or two of CPU training; the paper's numbers come from\n"
          "2000 windows and hours of training: see docs/l96.md for the full runs)\n")
    log = (lambda s: None) if args.quiet else print
    res = run_quick(seed=args.seed, threads=args.threads, rows=tuple(args.rows), log=log)
    res["rows"] = {k: strip(v) for k, v in res["rows"].items()}
    print()
    print(markdown_table(res))
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("demo", help="train small Lorenz-96 models (~1-2 min) and print R-scores",
                       description=__doc__)
    p.add_argument("--rows", nargs="+", default=list(DEMO_ROWS), choices=ROWS, metavar="ROW",
                   help=f"rows to run (default: {' '.join(DEMO_ROWS)}; all: {' '.join(ROWS)})")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    p.add_argument("--quiet", action="store_true", help="print only the final table")
    p.set_defaults(func=_run)
