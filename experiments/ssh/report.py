"""Table and figures of the SSH benchmark."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import xarray as xr

from experiments.ssh.settings import FIGURES_DIR

METHODS = {"oi": "DUACS-style OI (tracks)",
           "qg4dvar_state": "QG 4D-Var, state control, L-BFGS 60",
           "qg4dvar_k20": "QG 4D-Var, forcing control, L-BFGS K = 20",
           "qg4dvar": "QG 4D-Var, forcing control, L-BFGS reference"}
COLUMNS = (("rmse_ratio", "RMSE / OI", 2), ("rmse", "RMSE (cm)", 2), ("mu", "µ", 3),
           ("sigma", "σ", 3), ("lambda_x_km", "λx (km)", 0), ("lambda_t", "λt (d)", 1),
           ("at_rmse_ratio", "withheld track RMSE / OI", 2),
           ("seconds", "time (s)", 0), ("cost_evaluations", "cost evals / window", 0))


def _spread(values: list[float], digits: int, scale: float = 1.0) -> str:
    v = [x * scale for x in values if x is not None and math.isfinite(x)]
    if not v:
        return "–"
    if len(v) == 1:
        return f"{v[0]:.{digits}f}"
    return f"{np.mean(v):.{digits}f} [{min(v):.{digits}f}, {max(v):.{digits}f}]"


def table(result: dict) -> str:
    """Markdown: per case and method, mean [min, max] over the test seeds."""
    lines = []
    for case, seeds in result["cases"].items():
        ocean, n_sat = case.rsplit("-", 1)
        lines += [f"**{ocean} model, {n_sat} nadirs** (seeds {', '.join(seeds)})", "",
                  "| method | " + " | ".join(c[1] for c in COLUMNS) + " |",
                  "|---|" + "---|" * len(COLUMNS)]
        for m, title in METHODS.items():
            cells = []
            for key, _, digits in COLUMNS:
                vals = [s[m].get(key) for s in seeds.values() if m in s]
                cells.append(_spread(vals, digits, 100.0 if key == "rmse" else 1.0))
            lines.append(f"| {title} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines + error_table(result))


#: the columns of the OI error-field table
ERROR_COLUMNS = (("coverage_1sigma", "±1σ coverage (%)", 1, 100.0),
                 ("coverage_2sigma", "±2σ coverage (%)", 1, 100.0),
                 ("crps_gain", "CRPS gain over constant σ (%)", 1, 100.0),
                 ("spread_skill_rank_correlation", "spread–skill ρ", 2, 1.0),
                 ("mean_sigma", "rms σ (cm)", 2, 100.0), ("rmse", "RMSE (cm)", 2, 100.0))


def error_table(result: dict) -> "list[str]":
    """Markdown lines: the OI's posterior error against the truth, per case (if scored),
    formal and calibrated on withheld tracks (where measured)."""
    rows = []
    for case, seeds in result["cases"].items():
        errs = [s["oi"]["error"] for s in seeds.values() if "error" in s.get("oi", {})]
        for prefix, label in (("", "formal"), ("calibrated_", "calibrated")):
            if errs and all(f"{prefix}coverage_1sigma" in e for e in errs):
                rows.append(f"| {case}, {label} | " + " | ".join(
                    _spread([e[prefix + k] for e in errs], d, sc)
                    for k, _, d, sc in ERROR_COLUMNS) + " |")
    if not rows:
        return []
    return ["**The OI's posterior error (`ssh_error`) against the truth, every grid point**",
            "", "| case | " + " | ".join(c[1] for c in ERROR_COLUMNS) + " |",
            "|---|" + "---|" * len(ERROR_COLUMNS), *rows, ""]


def write(result: dict, out_dir: Path) -> None:
    """``ssh.json`` and ``ssh.md`` in ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "ssh.json").write_text(json.dumps(result, indent=1))
    how = (f"chosen on the tuning seed ({result['tuning']})" if result.get("tuning")
           else "given (--model-error-factor)")
    head = (f"model-error factor = {result['factor']} {how}; "
            f"settings: {result['settings']}. Wall times on a shared, loaded 2-core machine.\n\n")
    (out_dir / "ssh.md").write_text(head + table(result))


def figures(truth: xr.DataArray, tracks: xr.Dataset, res: dict, case: str) -> None:
    """One day (truth, tracks, OI, 4D-Var, errors), PSD-score curves, error Hovmöller."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from varda.metrics import psd_scores

    FIGURES_DIR.mkdir(parents=True, exist_ok=True)
    maps, obs = res["maps"], res["obs"]
    day = truth.sizes["time"] // 2
    vmax = float(np.abs(truth).max())
    panels = [("truth", truth), ("binned tracks", obs), ("OI", maps["oi"]),
              ("QG 4D-Var", maps["qg4dvar"]), ("OI − truth", maps["oi"] - truth),
              ("4D-Var − truth", maps["qg4dvar"] - truth)]
    fig, axes = plt.subplots(2, 3, figsize=(10, 6.4), constrained_layout=True)
    for ax, (title, da) in zip(axes.ravel(), panels):
        lim = vmax if "truth" == title or "−" not in title else vmax / 3
        im = ax.pcolormesh(da.lon, da.lat, da.isel(time=day), cmap="RdBu_r", vmin=-lim, vmax=lim)
        ax.set_title(f"{title} (m)")
        fig.colorbar(im, ax=ax, shrink=0.8)
    fig.suptitle(f"{case}, day {day}")
    fig.savefig(FIGURES_DIR / "ssh_day.png", dpi=70)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(5, 3.5), constrained_layout=True)
    for name in ("oi", "qg4dvar"):
        p = psd_scores(maps[name], truth)
        # the score per wavelength of the time-integrated spectra (averaging the score over
        # frequencies would weigh frequencies where the truth has no energy)
        s = 1 - p.psd_error.sum("freq_time") / p.psd_truth.sum("freq_time")
        ax.plot(1 / s.freq_lon[1:], s[1:], label=name)
    ax.axhline(0.5, color="k", lw=0.5)
    ax.set_ylim(-0.2, 1.02)            # below the grid scale the truth has no energy left
    ax.set_xscale("log")
    ax.set_xlabel("wavelength (degrees of longitude)")
    ax.set_ylabel("PSD score (time-mean)")
    ax.legend()
    fig.savefig(FIGURES_DIR / "ssh_psd_score.png", dpi=70)
    plt.close(fig)

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5), constrained_layout=True, sharey=True)
    mid = truth.sizes["lat"] // 2
    for ax, name in zip(axes, ("oi", "qg4dvar")):
        err = (maps[name] - truth).isel(lat=mid)
        ax.pcolormesh(err.lon, np.arange(err.sizes["time"]), err, cmap="RdBu_r",
                      vmin=-vmax / 3, vmax=vmax / 3)
        ax.set_title(f"{name} − truth at {float(truth.lat[mid]):.1f}° N")
        ax.set_xlabel("longitude")
    axes[0].set_ylabel("day")
    fig.savefig(FIGURES_DIR / "ssh_hovmoller.png", dpi=70)
    plt.close(fig)
