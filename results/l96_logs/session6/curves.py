#!/usr/bin/env python
"""Collect the validation learning curves of the session-6 row-3 runs into
results/l96_session6_curves.json and plot them to docs/l96_session6_curves.png.

    python results/l96_logs/session6/curves.py

Same clock as session 5 (the row's whole training time: first guess, prior pre-training, joint
epochs); session 5's shipped `V2` is read from ../session5/V2.log for reference. The `Y` runs
trained data-parallel on 2 processes (`--workers 2`), so their curves cover about twice the
samples per second of the single-process runs.
"""
import importlib.util
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "session2"))
from curves import ROW3_TARGETS, write  # noqa: E402  (session 2's tools)

_spec = importlib.util.spec_from_file_location("session5_curves", HERE.parent / "session5" / "curves.py")
_s5 = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_s5)
parse_staged = _s5.parse_staged        # session 5's parser of staged (first guess → joint) logs

REC = ("python -u recipes/l96_table2.py --rows unet_joint --threads 1 --set "
       "'first_guess={\"hidden\":32,\"layers\":2,\"kernel\":5,\"chunk\":4}' "
       "'fg_options={\"lr\":0.006}' fg_budget=800 max_time=820 ")
K32 = ("n_iter=32 'k_levels=[2,4,6,8,12,16,20,24,28,32]' "
       "'ramp=[0.04,0.08,0.13,0.19,0.26,0.34,0.43,0.52,0.62]' 'test_iters=[24,28,32,36,40]' ")
K36 = ("n_iter=36 'k_levels=[2,4,6,8,12,16,20,24,28,32,36]' "
       "'ramp=[0.04,0.08,0.13,0.19,0.26,0.34,0.42,0.5,0.58,0.66]' 'test_iters=[28,32,36]' ")
RUNS = {   # log name: (what it is, command that made it)
    "V2": ("session 5's row 3 (crops of 40, K ≤ 24, 1 process)",
           "see results/l96_logs/session5/curves.py"),
    "X1": ("K ≤ 32, crops of 40, seed 1", REC + K32 + "train_seed=1"),
    "X2": ("K ≤ 32, crops of 40, seed 2 (fused kernels)", REC + K32 + "train_seed=2"),
    "X3": ("K ≤ 32, crops of 100 (batch 13)", REC + K32 + "crop=100 batch_size=13 train_seed=1"),
    "X4": ("K ≤ 32, whole windows (batch 6)", REC + K32 + "crop=200 batch_size=6 train_seed=1"),
    "X5": ("X3, seed 2", REC + K32 + "crop=100 batch_size=13 train_seed=2 'test_iters=[28,32,36]'"),
    "X6": ("K ≤ 36, crops of 100 (shipped)", REC + K36 + "crop=100 batch_size=13 train_seed=1"),
    "Y1": ("X6 on 2 processes (--workers 2)",
           REC.replace("--threads 1", "--workers 2 --threads 1") + K36
           + "crop=100 batch_size=13 train_seed=1"),
}


def main() -> int:
    curves = {}
    for name, (what, cmd) in RUNS.items():
        log = HERE.parent / "session5" / "V2.log" if name == "V2" else HERE / f"{name}.log"
        if log.is_file():
            curves[name] = {"what": what, "command": cmd, "curve": parse_staged(log)}
    return write(curves, 6, "Lorenz-96 row 3: crop length, K and 2 processes (session 6)",
                 bold=("X6",), dotted=("V2",), figsize=(10, 6.5), targets=ROW3_TARGETS,
                 legend={"fontsize": 8, "ncol": 1, "loc": "upper right", "framealpha": 0.9})


if __name__ == "__main__":
    sys.exit(main())
