"""Tables and figures of the SST benchmark (called by :mod:`experiments.sst.run`)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

NAMES = {"varda": "varda.train + fill (defaults)",
         "varda_background": "the same model at K = 0 (its OI background alone)",
         "dineof": "DINEOF",
         "oi": "optimal interpolation", "linear_time": "linear interpolation in time",
         "climatology": "climatology (pixel mean)"}


def markdown(results: dict) -> str:
    """The final tables: RMSE mean [min, max] over seeds, and the ratios to the baselines."""
    lines = [(f"Command: `{results['command']}`; {results['hardware']}; seeds "
             f"{results['seeds']}; OSSE size {results['osse_size']}."), ""]
    titles = {"osse": "OSSE with fronts, 70 % clouds (RMSE on every cloudy ocean point, °C)",
              "eofs": "NOAA SST anomalies (eofs), 57 % clouds + 15 % withheld "
                      "(RMSE on withheld points, °C)"}
    for kind, summ in results["summary"].items():
        lines += [f"### {titles.get(kind, kind)}", "",
                  "| method | RMSE mean | [min, max] over seeds | time (s) |", "|---|---|---|---|"]
        rows = {k: v for k, v in summ.items() if not k.startswith("_")}
        for m, v in sorted(rows.items(), key=lambda kv: kv[1]["rmse_mean"]):
            t = v["time_s_mean"]
            if m == "varda":
                t_txt = f"train {summ['_varda_train_s_mean']:.0f} + fill {t:.1f}"
            else:
                t_txt = f"{t:.1f}"
            lines.append(f"| {NAMES.get(m, m)} | {v['rmse_mean']:.3f} | "
                         f"[{v['rmse_min']:.3f}, {v['rmse_max']:.3f}] | {t_txt} |")
        lines += ["", (f"varda / best of DINEOF, OI, linear-in-time: "
                      f"**{summ['_ratio_to_best_baseline']:.2f}**; varda / DINEOF: "
                      f"**{summ['_ratio_to_dineof']:.2f}**"), ""]
        by_seed = results["cases"][kind]
        chosen = [by_seed[s]["varda"].get("chosen") for s in by_seed]
        lines += [f"Candidate chosen on validation, per seed: {', '.join(map(str, chosen))}.", ""]
        ks = [by_seed[s]["varda"].get("n_iter") for s in by_seed]
        lines += [f"Solver iterations K kept on validation, per seed (0 = the OI background "
                  f"alone): {', '.join(map(str, ks))}.", ""]
    return "\n".join(lines) + "\n"


def figures(last: dict, out: Path) -> list[Path]:
    """Maps of truth / observed / varda / DINEOF / errors on one day, and PSD score curves."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for kind, res in last.items():
        truth, obs, fields = res["truth"], res["obs"], res["fields"]
        day = int(truth.sizes["time"]) // 2
        t = truth.isel(time=day).values
        panels = [("truth", t), ("observed", obs.isel(time=day).values),
                  ("varda", fields["varda"][0].isel(time=day).values),
                  ("DINEOF", fields["dineof"][0].isel(time=day).values)]
        lo, hi = np.nanpercentile(t, 1), np.nanpercentile(t, 99)
        fig, axs = plt.subplots(2, 3, figsize=(13, 6.5), constrained_layout=True)
        order = [axs[0, 0], axs[0, 1], axs[0, 2], axs[1, 0]]
        for ax, (title, f) in zip(order, panels):
            im = ax.pcolormesh(f, vmin=lo, vmax=hi, cmap="RdYlBu_r")
            ax.set_title(title)
        fig.colorbar(im, ax=order, shrink=0.7, label="°C")
        for ax, k in zip((axs[1, 1], axs[1, 2]), ("varda", "dineof")):
            err = fields[k][0].isel(time=day).values - t
            im2 = ax.pcolormesh(err, vmin=-1.5, vmax=1.5, cmap="RdBu_r")
            ax.set_title(f"{NAMES[k].split(' (')[0]} − truth")
        fig.colorbar(im2, ax=[axs[1, 1], axs[1, 2]], shrink=0.7, label="error (°C)")
        fig.suptitle(f"{kind}: time step {day}")
        p = out / f"sst_{kind}_maps.png"
        fig.savefig(p, dpi=80)
        plt.close(fig)
        paths.append(p)
        spectral = {k: v["_spectral"] for k, v in res["rows"].items() if "_spectral" in v}
        if spectral:
            fig, ax = plt.subplots(figsize=(6.5, 4.2), constrained_layout=True)
            for k, sc in spectral.items():
                ax.semilogx(sc.wavelength, sc.score,
                            label=f"{NAMES[k].split(' (')[0]} (λx {sc.wavelength_cutoff:.0f} "
                                  f"{sc.units})")
            ax.axhline(0.5, color="k", lw=0.5)
            ax.set_xlabel(f"wavelength ({next(iter(spectral.values())).units})")
            ax.set_ylabel("PSD score 1 − PSD(err)/PSD(truth)")
            ax.set_ylim(-0.2, 1.0)
            ax.legend(fontsize=8)
            p = out / f"sst_{kind}_psd_score.png"
            fig.savefig(p, dpi=80)
            plt.close(fig)
            paths.append(p)
    return paths
