"""Reports of the Lorenz-96 reproduction: the results JSON, the Markdown table beside the
paper's numbers, and the energy-pathway figure."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import torch

from experiments.l96.data import L96Split, tensors
from varda.core.cost import VariationalCost
from varda.core.model import VarModel


@torch.no_grad()
def energy_pathway(models: "dict[str, tuple[VarModel, int]]", split: L96Split, *,
                   ref_cost: VariationalCost, scale: float) -> dict:
    """For each ``name: (model, n_iter)``, run the model's solver ``n_iter`` iterations and
    record, after each iteration, the reference cost U (the same λ and true-physics prior for
    all models) and the R-score."""
    from experiments.l96.training import true_physics_prior
    x_true, y, m = tensors(split)
    prior = true_physics_prior()
    out = {}
    for name, (model, n_iter) in models.items():
        model.eval()
        yz = model.normalize(y) * m
        x = yz.clone()
        state = None
        us, errs = [], []
        for i in range(n_iter + 1):
            xr = model.denormalize(x)
            with torch.enable_grad():
                xg = xr.detach().requires_grad_(True)
                u_ref = ref_cost(xg, y, m, prior(xg))
            us.append(float(u_ref.mean()))
            errs.append(float(((xr - x_true) ** 2).mean()) / scale)
            if i == n_iter:
                break
            g, _ = model._grad(x, yz, m, False)
            if state is None:
                state = model.solver.init_state(x, g, n_iter=n_iter)
            x, state = model.solver.step(x, g, state)
        out[name] = {"U": us, "r_score": errs}
    return out


def plot_pathway(path: dict, png: "str | Path", *, title: str = "") -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 2, figsize=(10, 3.8))
    for name, tr in path.items():
        it = np.arange(len(tr["U"]))
        ax[0].loglog(it + 1, tr["U"], label=name)
        ax[1].loglog(it + 1, tr["r_score"], label=name)
    ax[0].set(xlabel="iteration + 1", ylabel="U(x) (true-physics cost)", title="energy")
    ax[1].set(xlabel="iteration + 1", ylabel="R-score", title="reconstruction error")
    for a in ax:
        a.grid(alpha=0.3, which="both")
        a.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    plt.close(fig)


# ---------------------------------------------------------------------------------------
# report
# ---------------------------------------------------------------------------------------
def markdown_table(results: dict) -> str:
    lines = ["| row | method | R-score (ours) | paper R | MSE (raw) | I-score | train wall (s) |",
             "|---|---|---|---|---|---|---|"]
    for i, (row, r) in enumerate(results["rows"].items(), 1):
        t = r["test"]
        paper = r.get("paper_r_score")
        lines.append(f"| {row} | {r['title']} | {t['r_score']:.3e} | "
                     f"{'' if paper is None else f'{paper:.2e}'} | {t['mse']:.4f} | "
                     f"{t['i_score']:.3e} | {r.get('train_wall_s', 0):.0f} |")
    return "\n".join(lines) + "\n"


def save_results(results: dict, path: "str | Path") -> None:
    doc = copy.deepcopy({k: v for k, v in results.items() if k != "rows"})
    doc["rows"] = {k: {kk: vv for kk, vv in v.items() if not kk.startswith("_")}
                   for k, v in results["rows"].items()}
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(path).with_name(Path(path).name + ".tmp")
    tmp.write_text(json.dumps(doc, indent=1, default=jsonable) + "\n")
    tmp.replace(path)


def jsonable(o):
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, tuple):
        return list(o)
    return str(o)
