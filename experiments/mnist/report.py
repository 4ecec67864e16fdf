"""Merge the per-job parts into the table (JSON + Markdown), draw Fig. 1 and the gallery,
and write the shipped model's card."""
from __future__ import annotations

import json
import os
import platform
from pathlib import Path

import numpy as np
import torch

from experiments.mnist import settings as S

SCORES = ("r_score", "i_score", "p_score", "val_r_score", "train_time_s")


def training_devices(rows: dict) -> list[str]:
    """The devices the rows' models were trained on, as recorded in their training summaries
    (``["cpu"]`` when none is recorded: rows without training, or parts of older runs)."""
    found = {str(seed_row.get(k, {}).get("device"))
             for row in rows.values() for seed_row in row.get("seeds", {}).values()
             for k in ("training", "pretrain") if seed_row.get(k, {}).get("device")}
    return sorted(found) or ["cpu"]


def hardware(devices: "list[str] | None" = None) -> dict:
    """What the run ran on (no host names); ``devices``: where the models were trained."""
    devices = devices or ["cpu"]
    return {"cpu": platform.processor() or platform.machine(), "cpu_count": os.cpu_count(),
            "torch_threads_per_job": 1, "torch": torch.__version__,
            "python": platform.python_version(),
            "device": devices[0] if len(devices) == 1 else devices}


def _stats(values: list) -> dict:
    v = [float(x) for x in values if x is not None and np.isfinite(x)]
    if not v:
        return {"mean": None, "std": None, "n": 0}
    return {"mean": float(np.mean(v)), "std": float(np.std(v, ddof=1)) if len(v) > 1 else 0.0,
            "n": len(v), "min": min(v), "max": max(v)}


def merge(parts: list[dict]) -> dict:
    """Rows → {"seeds": {seed: row}, "summary": {score: mean/std over seeds}}."""
    rows: dict = {}
    for part in parts:
        for name, row in part["rows"].items():
            if name not in S.GROUPS.get(part["group"], (name,)):
                continue        # a row an older version of the recipe computed in this group
            rows.setdefault(name, {"seeds": {}})["seeds"][str(part["seed"])] = row
    for name, row in rows.items():
        per = list(row["seeds"].values())
        row["summary"] = {k: _stats([r.get(k) for r in per]) for k in SCORES}
        row["title"] = S.ROW_TITLES.get(name, name)
        if name in S.PAPER:
            row["paper"] = {"r_score": S.PAPER[name][0], "p_score": S.PAPER[name][1]}
    order = {n: i for i, n in enumerate(S.ROWS)}
    return dict(sorted(rows.items(), key=lambda kv: order.get(kv[0], 99)))


def _fmt(st: dict, digits: int = 3) -> str:
    if st.get("mean") is None:
        return "–"
    if st["n"] > 1:
        return f"{st['mean']:.{digits}f} ± {st['std']:.{digits}f}"
    return f"{st['mean']:.{digits}f}"


def _fmt_p(st: dict) -> str:
    if st.get("mean") is None:
        return "–"
    m = st["mean"]
    if m < 1e-2:
        return f"{m:.1e}" + (f" ± {st['std']:.0e}" if st["n"] > 1 else "")
    return _fmt(st)


def markdown_table(rows: dict) -> str:
    """The table beside the paper's numbers (mean ± std over seeds)."""
    lines = ["| row | R-score (test) | paper R | I-score (test) | P-score | paper P | "
             "val R | seeds | train time (s) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name, row in rows.items():
        s = row["summary"]
        paper = row.get("paper", {})
        pr = f"{paper['r_score']:.2f}" if paper else ""
        pp = (("< 1e-3" if paper["p_score"] <= 1e-3 else f"{paper['p_score']:.2f}")
              if paper else "")
        lines.append(
            f"| `{name}`: {row['title']} | {_fmt(s['r_score'])} | {pr} | {_fmt(s['i_score'])} | "
            f"{_fmt_p(s['p_score'])} | {pp} | {_fmt(s['val_r_score'])} | {s['r_score']['n']} | "
            f"{_fmt(s['train_time_s'], 0)} |")
    return "\n".join(lines) + "\n"


def write_table(rows: dict, out_dir: Path, *, command: str, wall_time_s: float,
                quick: bool, extra: "dict | None" = None) -> Path:
    """``mnist_table.json`` and ``mnist_table.md`` in ``out_dir`` (atomic writes)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    doc = {"benchmark": "MNIST inpainting (Fablet et al., ICASSP 2021, Table 1)",
           "mode": "quick" if quick else "full", "command": command,
           "wall_time_s": round(wall_time_s, 1), "hardware": hardware(training_devices(rows)),
           "protocol": {**S.PROTOCOL, "split": {"train": "t10k 0-6999", "val": "t10k 7000-7999",
                                                 "test": "t10k 8000-9999"},
                        "scores": "MSE in normalised units (global mean/std of the training "
                                  "images): R over whole images, I over the gaps, P = x - Phi(x) "
                                  "on true test images"},
           "settings": S.mode_settings(quick), "rows": rows, **(extra or {})}
    js = out_dir / "mnist_table.json"
    _atomic(js, json.dumps(doc, indent=1, default=str) + "\n")
    _atomic(out_dir / "mnist_table.md", markdown_table(rows))
    return js


DOC_START, DOC_END = "<!-- mnist-table:start -->", "<!-- mnist-table:end -->"


def write_docs_table(rows: dict, doc: Path) -> bool:
    """Put the Markdown table between the table markers of the docs page (if it has them)."""
    if not doc.is_file() or DOC_START not in doc.read_text():
        return False
    pre, rest = doc.read_text().split(DOC_START, 1)
    post = rest.split(DOC_END, 1)[1] if DOC_END in rest else ""
    _atomic(doc, pre + DOC_START + "\n" + markdown_table(rows) + DOC_END + post)
    return True


def _atomic(path: Path, text: str) -> None:
    tmp = path.with_name("." + path.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)


# ---------------------------------------------------------------------------------------
# figures
# ---------------------------------------------------------------------------------------
PATHWAY_ROWS = (("pca_fsgd", "PCA + FSGD"), ("pca_lstm", "PCA + LSTM"),
                ("unet_joint_fsgd", "U-Net (joint energy) + FSGD"),
                ("unet_joint", "U-Net + LSTM, joint"))


def _batch(data, n: int):
    from experiments.mnist.runner import _t
    obs = data.test.head(n)
    z = data.split.normalize
    return _t(np.nan_to_num(z(obs.y))), _t(obs.mask), _t(z(obs.x))


def energy_pathways(models: dict, data, *, n: int = 64) -> dict:
    """Pathways of each model on the first ``n`` test images, with the joint U-Net's cost
    as the common reference energy."""
    from varda.core.diagnostics import energy_pathway
    y, m, x = _batch(data, n)
    ref = models.get("unet_joint")
    return {row: energy_pathway(model, y, m, x, reference=ref).as_dict()
            for row, model in models.items()}


def plot_pathways(paths: dict, path: Path) -> None:
    """Fig. 1: U and NMSE along the iterations, and NMSE against the reference energy."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    labels = dict(PATHWAY_ROWS)
    for row, p in paths.items():
        it = np.arange(len(p["U"]))
        lab = labels.get(row, row)
        style = "--" if "fsgd" in row else "-"
        axes[0].semilogy(it, p["U"], style, marker=".", label=lab)
        axes[1].semilogy(it, p["error"], style, marker=".", label=lab)
        if p["U_reference"]:
            axes[2].loglog(p["U_reference"], p["error"], style, marker=".", label=lab)
            axes[2].plot(p["U_reference"][-1], p["error"][-1], "k*", ms=8)
    axes[0].set(xlabel="solver iteration", ylabel="U(x) (own cost)", title="variational cost")
    axes[1].set(xlabel="solver iteration", ylabel="NMSE", title="reconstruction error")
    axes[2].set(xlabel="U of the joint U-Net model", ylabel="NMSE",
                title="energy pathway (★ = last iterate)")
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_gallery(models: dict, data, path: Path, *, n: int = 8) -> None:
    """Truth, observation (gaps in red), FSGD (PCA) and joint U-Net + LSTM on ``n`` test images."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from experiments.mnist.runner import reconstruct
    obs = data.test.head(n)
    panels = [("truth", obs.x), ("observed", obs.y)]
    for row, label in (("pca_fsgd", "PCA + FSGD"), ("unet_joint", "U-Net + LSTM (joint)")):
        if row in models:
            panels.append((label, reconstruct(models[row], obs)))
    fig, axes = plt.subplots(len(panels), n, figsize=(1.3 * n, 1.4 * len(panels)))
    cmap = matplotlib.colormaps["gray"].with_extremes(bad="tab:red")
    for i, (label, imgs) in enumerate(panels):
        for j in range(n):
            ax = axes[i, j]
            ax.imshow(np.ma.masked_invalid(imgs[j]), cmap=cmap, vmin=0, vmax=1)
            ax.set_xticks([]), ax.set_yticks([])
            if j == 0:
                ax.set_ylabel(label, fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ---------------------------------------------------------------------------------------
# the shipped model
# ---------------------------------------------------------------------------------------
def model_card(row_name: str, seed: int, *, command: str, rows: dict,
               candidates: list) -> dict:
    """The model card of the shipped model: the ``row_name`` model of training ``seed``."""
    row = rows[row_name]["seeds"][str(seed)]
    s = rows[row_name]["summary"]
    return {
        "name": S.SHIPPED_NAME,
        "description": f"{S.ROW_TITLES[row_name]} (row {row_name}): two-scale U-Net prior and "
                       "ConvLSTM solver (5 hidden channels), trained jointly on MNIST "
                       "inpainting: 3 random 9x9 gaps and Gaussian noise of variance 0.1 "
                       "(normalised units) on the observed pixels. Input: float images "
                       "(..., 28, 28) in [0, 1], NaN in the gaps; output: the denoised, "
                       "filled images (observed pixels are re-estimated too).",
        "command": command,
        "training_data": "official MNIST test file (t10k), images 0-6999 (two gap/noise draws "
                         "each); validation images 7000-7999",
        "selection": f"row {row_name}, seed {seed}: the lowest validation R-score among "
                     + ", ".join(f"{r} seed {sd} ({v:.4f})" for r, sd, v in candidates)
                     + " (test scores were not used to choose)",
        "test_split": "t10k images 8000-9999 (2000 images)",
        "test_scores": {k: row[k] for k in ("r_score", "i_score", "p_score")},
        "test_r_score_all_seeds": s["r_score"],
        "val_r_score": row["val_r_score"],
        "n_iter": row["n_iter"],
        "n_params": {"prior": row["n_params_prior"], "solver": row["n_params_solver"]},
        "train_time_s": row["train_time_s"],
        "hardware": hardware(training_devices({row_name: rows[row_name]})),
        "reference": "Fablet, Drumetz, Rousseau, End-to-end learning of variational models "
                     "and solvers for the resolution of interpolation problems, ICASSP 2021",
    }
