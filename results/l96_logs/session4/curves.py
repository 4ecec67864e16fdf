#!/usr/bin/env python
"""Collect the validation learning curves of the session-4 row-3 runs from their logs into
results/l96_session4_curves.json and plot them to docs/l96_session4_curves.png.

    python results/l96_logs/session4/curves.py

The logs are the recipe's ("val_mse(norm)=" is converted to an R-score with std² / mean x²
of the training data). `C` (session 3's shipped row 3) is read from ../session3/C.log.
"""
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "session2"))
from curves import ROW3_TARGETS, collect, write  # noqa: E402  (session 2's parser and plot)
REC = "python -u recipes/l96_table2.py --rows unet_joint --threads 1 --set "
K20 = "n_iter=20 'k_levels=[2,4,6,8,10,13,16,20]' 'ramp=[0.07,0.15,0.24,0.33,0.42,0.52,0.64]'"
K24 = ("hidden_prior=8 n_iter=24 'k_levels=[2,4,6,8,10,13,16,20,24]' "
       "'ramp=[0.06,0.12,0.19,0.27,0.35,0.44,0.54,0.66]'")
K32 = ("hidden_prior=8 n_iter=32 'k_levels=[2,4,6,8,10,13,16,20,24,28,32]' "
       "'ramp=[0.05,0.1,0.16,0.23,0.3,0.38,0.47,0.56,0.66,0.76]'")

RUNS = {   # log name: (what it is, command that made it)
    "C": ("session 3's row 3: prior hidden 16, K ≤ 16", "see results/l96_logs/session3/curves.py"),
    "H": ("prior hidden 16, K ≤ 20", REC + K20 + " 'test_iters=[16,18,20]'"),
    "I": ("prior hidden 8, K ≤ 24", REC + K24 + " 'test_iters=[18,20,22,24]'"),
    "I1": ("prior hidden 8, K ≤ 24, training seed 1 (shipped)", REC + K24 + " train_seed=1 'test_iters=[18,20,22,24]'"),
    "J0": ("prior hidden 8, K ≤ 32, training seed 0", REC + K32 + " train_seed=0 'test_iters=[24,28,32]'"),
    "J1": ("prior hidden 8, K ≤ 32, training seed 1",
           REC + K32 + " train_seed=1 'test_iters=[24,28,32]'"),
    "J2": ("prior hidden 8, K ≤ 32, training seed 2",
           REC + K32 + " train_seed=2 'test_iters=[24,28,32]'"),
    "S": ("J1's configuration trained on the shared mask pattern (shared-mask validation)",
          "python -u recipes/l96_table2.py --rows unet_joint_shared --threads 1"),
}


def main() -> int:
    curves = collect(RUNS, HERE, logs={"C": HERE.parent / "session3" / "C.log"})
    return write(curves, 4, "Lorenz-96 row 3: validation learning curves (session 4)",
                 bold=("C", "I1"), dotted=("C",), figsize=(10, 6.5), targets=ROW3_TARGETS,
                 legend={"fontsize": 8, "ncol": 1, "loc": "upper right", "framealpha": 0.9})


if __name__ == "__main__":
    sys.exit(main())
