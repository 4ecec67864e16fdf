#!/usr/bin/env python
"""Collect the validation learning curves of the session-3 row-3 runs from their logs into
results/l96_session3_curves.json and plot them to docs/l96_session3_curves.png.

    python results/l96_logs/session3/curves.py

The logs are the recipe's ("val_mse(norm)=" is converted to an R-score with std² / mean x²
of the training data). H1 (the session-2 row 3) is read from ../session2/H1.log for reference.
"""
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "session2"))
from curves import ROW3_TARGETS, collect, write  # noqa: E402  (session 2's parser and plot)
S16 = "n_iter=16 grad_iters=10 k_levels=[2,4,6,8,10,13,16] ramp=[0.08,0.18,0.3,0.42,0.54,0.66]"
REC = "python -u recipes/l96_table2.py --rows unet_joint --threads 1 --set "

RUNS = {   # log name: (what it is, command that made it)
    "H1": ("session 2 row 3: blind U-Net + LSTM, K ≤ 10", "see results/l96_runs/H1/unet_joint.json"),
    "A": ("K ≤ 16, backprop last 10", REC + S16),
    "B_killed": ("K ≤ 16, backprop last 10, time pooling 4 (stopped at 526 s)", REC + S16 + " pool=[4,1]"),
    "C_sepalpha": ("K ≤ 16 + split gradient, one α per term (stopped at 623 s)",
                   REC + S16 + " split_grad=true (code of commit 9a4105c^, per-term α)"),
    "C": ("K ≤ 16 + split gradient [∇data, ∇prior, Ω] (shipped)", REC + S16 + " split_grad=true"),
    "D": ("K ≤ 10 (H1's schedule) + split gradient", REC + "split_grad=true"),
    "E_stopped": ("C with solver hidden 12 (stopped at 943 s)",
                  REC + S16 + " split_grad=true hidden_solver=12 test_iters=[12,14,16]"),
    "F": ("C with prior hidden 8", REC + S16 + " split_grad=true hidden_prior=8 test_iters=[12,14,16]"),
    "G_stopped": ("C + residual x − Φ(x) as a 4th solver input (stopped at 489 s)",
          REC + S16 + " split_grad=true residual_input=true test_iters=[12,14,16]"),
}


def main() -> int:
    curves = collect(RUNS, HERE, logs={"H1": HERE.parent / "session2" / "H1.log"})
    return write(curves, 3, "Lorenz-96 row 3: validation learning curves (session 3)",
                 bold=("H1", "C"), dotted=("H1",), figsize=(10, 6.5), targets=ROW3_TARGETS,
                 legend={"fontsize": 7, "ncol": 1, "loc": "upper right", "framealpha": 0.9})


if __name__ == "__main__":
    sys.exit(main())
