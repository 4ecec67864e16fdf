#!/usr/bin/env python
"""Collect the validation learning curves of the session-2 row-3 experiments from their logs
into results/l96_session2_curves.json and plot them to docs/l96_session2_curves.png.

    python results/l96_logs/session2/curves.py

Two log formats: learn.py ("valR=" already an R-score) and the recipe
("val_mse(norm)=", converted to an R-score with std² / mean x² of the training data).
"""
import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
NORM_TO_R = 0.7070118974194627      # std(x_train)² / mean(x_train²), printed by the benchmark

RUNS = {   # log name: (what it is, command that made it)
    "fold32": ("fold layout h32, lr 2e-3", "python learn.py fold32 420"),
    "2d8": ("2-D layout h8, lr 2e-3", "python learn.py 2d8 420"),
    "2d8_lr5": ("2-D h8, lr 5e-3", "python learn.py 2d8 600 1 32 5e-3"),
    "2d16": ("2-D h16, lr 2e-3", "python learn.py 2d16 600 1 32 2e-3"),
    "c_hs8": ("2-D h8, cosine lr from the start", "recipe --set … hidden_solver=8 lr_final=5e-4"),
    "c_hs16": ("2-D solver h16, cosine lr from the start", "recipe --set … hidden_solver=16"),
    "d_scale": ("2-D h8, update scaled by 1/K", "recipe --set … scale_by_iterations=true"),
    "F1": ("2-D h8, lr 5e-3, K ≤ 8 (28 min)", "see results/l96_runs/F1/unet_joint.json"),
    "F2": ("2-D h8, lr 8e-3, K ≤ 10 (28 min)", "see results/l96_runs/F2/unet_joint.json"),
    "G1": ("true physics + 2-D LSTM h8 (solver only)", "recipe --rows rk4_lstm --set layout=2d …"),
    "G2": ("blind-spot U-Net h16 + 2-D LSTM h8, Bayes λ", "recipe --set blind=true …"),
    "I1": ("blind-spot U-Net, K=16, backprop last 6", "recipe --set grad_iters=6 n_iter=16 …"),
    "I2": ("true physics + 2-D LSTM, K=16, backprop last 6", "recipe --rows rk4_lstm --set grad_iters=6 …"),
    "H1": ("row 3 final: blind-spot U-Net + 2-D LSTM (28 min)", "see results/l96_runs/H1/unet_joint.json"),
    "H3": ("row 3 config rerun alone on 2 threads (28 min)", "see results/l96_runs/H3/unet_joint.json"),
    "H2": ("row 4b final: bilinear ODE + 2-D LSTM (28 min)", "see results/l96_runs/H2/bilinear_joint.json"),
}
PAT_A = re.compile(r"ep(\d+) K=(\d+) loss=([\d.e+-]+) valR=([\d.e+-]+) .* t=(\d+)")
PAT_B = re.compile(r"epoch (\d+) K=(\d+) loss=([\d.e+-]+) val_mse\(norm\)=([\d.e+-]+) .* t=(\d+)s")


def parse(path: Path) -> list[dict]:
    out = []
    for line in path.read_text().splitlines():
        if m := PAT_A.search(line):
            ep, k, loss, r, t = m.groups()
            out.append({"epoch": int(ep), "K": int(k), "t": int(t), "val_r": float(r)})
        elif m := PAT_B.search(line):
            ep, k, loss, v, t = m.groups()
            out.append({"epoch": int(ep), "K": int(k), "t": int(t), "val_r": float(v) * NORM_TO_R})
    return out


def collect(runs: dict, log_dir: Path, logs: "dict | None" = None) -> dict:
    """{name: {what, command, curve}} for the runs whose log exists (``logs`` overrides a
    run's log path; default ``log_dir/<name>.log``)."""
    curves = {}
    for name, (what, cmd) in runs.items():
        log = (logs or {}).get(name, log_dir / f"{name}.log")
        if log.is_file():
            curves[name] = {"what": what, "command": cmd, "curve": parse(log)}
    return curves


def plot(curves: dict, png: Path, *, title: str, bold=(), dotted=(), targets=(),
         figsize=(9, 5), legend: "dict | None" = None) -> None:
    """Validation R-score against training wall time, one line per run; ``targets``:
    (value, colour, label) horizontal lines."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=figsize)
    for name, c in curves.items():
        if not c["curve"]:
            continue
        t = [p["t"] for p in c["curve"]]
        r = [p["val_r"] for p in c["curve"]]
        ax.semilogy(t, r, label=f"{name}: {c['what']}", lw=2.2 if name in bold else 1,
                    ls=":" if name in dotted else "-")
    for value, colour, label in targets:
        ax.axhline(value, color=colour, ls="--", lw=1, label=label)
    ax.set(xlabel="training wall time (s), one thread", ylabel="validation R-score", title=title)
    ax.grid(alpha=0.3, which="both")
    ax.legend(**(legend or {"fontsize": 7, "ncol": 2}))
    fig.tight_layout()
    fig.savefig(png, dpi=110)


ROW3_TARGETS = [(0.0194, "k", "paper, row 3 (1.94e-2)"), (0.015, "r", "target (1.5e-2)")]


def write(curves: dict, session: int, title: str, **plot_kw) -> int:
    """Write ``results/l96_session<N>_curves.json`` and plot ``docs/l96_session<N>_curves.png``."""
    out = ROOT / "results" / f"l96_session{session}_curves.json"
    out.write_text(json.dumps({"norm_to_r": NORM_TO_R, "runs": curves}, indent=1) + "\n")
    png = ROOT / "docs" / f"l96_session{session}_curves.png"
    plot(curves, png, title=title, **plot_kw)
    print(f"wrote {out} and {png}")
    return 0


def main() -> int:
    curves = collect(RUNS, HERE)
    return write(curves, 2, "Lorenz-96 rows 3 and 4b: validation learning curves (session 2)",
                 bold=("H1", "F2"), targets=ROW3_TARGETS[:1])


if __name__ == "__main__":
    sys.exit(main())
