"""The baselines' own error fields on the SST cases of ``experiments.sst.error``.

``python -m experiments.sst.error_baselines [--quick]``

DINEOF's expected error (``dineof(obs, error=True)``, Beckers et al. 2006) and the OI's analysis
error (``optimal_interpolation(obs, error=True)``), scored on the same points and with the same
scores as varda's error field (:func:`varda.metrics.error_scores`): the OSSE (truth at every
cloudy ocean point, seeds ``SEEDS``) and the real NOAA SST (withheld clear-sky points, cloud
seeds ``SEEDS``). Writes ``results/error_baselines.json`` and ``.md``.
"""
from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from experiments.sst import settings as S
from experiments.sst.error import KEYS

#: the scores kept (no timing: these are not compared with a plain fill)
SCORE_KEYS = tuple(k for k in KEYS if k != "cost_ratio")


def cases(seeds, size: str):
    """(kind, seed, obs, truth, scored) of every case."""
    from experiments.sst.run import eofs_case
    from varda.datasets.osse import make_sst_osse

    for seed in seeds:
        o = make_sst_osse(size, seed=seed, cloud_fraction=S.OSSE_CLOUDS)
        yield "osse", seed, o.obs, o.truth, (~o.mask) & (~o.land) & o.mask.any("time")
    for seed in seeds:
        truth, obs, scored = eofs_case(seed)
        yield "eofs", seed, obs, truth, scored


def score_baselines(obs, truth, scored, seed: int) -> dict:
    """Error scores of DINEOF's and the OI's error fields on ``scored``."""
    from varda.baselines import dineof, optimal_interpolation
    from varda.metrics import error_scores

    out = {}
    for name, ds in (("dineof", dineof(obs, seed=seed, error=True)),
                     ("oi", optimal_interpolation(obs, error=True))):
        field = [v for v in ds.data_vars if not str(v).endswith("_error")][0]
        found = error_scores(ds[field], ds[f"{field}_error"], truth, scored)
        out[name] = {k: found[k] for k in (*SCORE_KEYS, "rmse", "mean_sigma")}
    return out


def markdown(results: dict) -> str:
    lines = [f"Command: `{results['command']}`; seeds {results['seeds']}; mean [min, max] over "
             "seeds.", "",
             "| case | method | ±1σ coverage | ±2σ coverage | CRPS gain over constant σ | "
             "spread–skill ρ |", "|---|---|---|---|---|---|"]
    for kind, rows in results["cases"].items():
        for method in ("dineof", "oi"):
            cells = []
            for k in SCORE_KEYS:
                v = np.array([r[method][k] for r in rows.values()])
                f = (lambda x: f"{x:.2f}") if k == "spread_skill_rank_correlation" else (
                    lambda x: f"{100 * x:.1f} %")
                cells.append(f"{f(v.mean())} [{f(v.min())}, {f(v.max())}]")
            lines.append(f"| {kind} | {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--quick", action="store_true", help="tiny OSSE, one seed")
    args = p.parse_args(argv)
    seeds = S.QUICK["seeds"] if args.quick else S.SEEDS
    size = S.QUICK["osse_size"] if args.quick else S.OSSE_SIZE
    out_dir = S.RESULTS_DIR / "quick" if args.quick else S.RESULTS_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    results: dict = {"command": "python -m experiments.sst.error_baselines " + " ".join(
        sys.argv[1:] if argv is None else argv), "seeds": list(seeds), "osse_size": size,
        "cases": {}}
    for kind, seed, obs, truth, scored in cases(seeds, size):
        results["cases"].setdefault(kind, {})[str(seed)] = score_baselines(obs, truth, scored,
                                                                           seed)
        print(kind, seed, {m: round(r["coverage_1sigma"], 3)
                           for m, r in results["cases"][kind][str(seed)].items()}, flush=True)
    (out_dir / "error_baselines.json").write_text(json.dumps(results, indent=1))
    (out_dir / "error_baselines.md").write_text(markdown(results))
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
