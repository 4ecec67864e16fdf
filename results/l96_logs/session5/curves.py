#!/usr/bin/env python
"""Collect the validation learning curves of the session-5 row-3 runs (learned first guess,
then the joint U-Net + ConvLSTM training from it) into results/l96_session5_curves.json and
plot them to docs/l96_session5_curves.png.

    python results/l96_logs/session5/curves.py

The time axis is the row's whole training time: the first guess's epochs ("first guess epoch
… val R=…", K = 0), then the prior pre-training, then the joint epochs (whose own clock
restarts at 0, so they are shifted by the stages before them). Session 4's shipped `I1`
(cold start: prior pre-training, then joint) is read from ../session4/I1.log for reference.
"""
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "session2"))
from curves import NORM_TO_R, ROW3_TARGETS, write  # noqa: E402  (session 2's tools)

FG_EPOCH = re.compile(r"first guess epoch (\d+) loss=([\d.e+-]+) val R=([\d.e+-]+) t=(\d+)s")
FG_DONE = re.compile(r"first guess: val R [\d.e+-]+ in (\d+)s")
PRIOR_DONE = re.compile(r"prior pre-training: .* in (\d+)s")
JOINT = re.compile(r"epoch (\d+) K=(\d+) loss=([\d.e+-]+) val_mse\(norm\)=([\d.e+-]+) .* t=(\d+)s")

REC = ("python -u recipes/l96_table2.py --rows unet_joint --threads 1 --set "
       "'first_guess={\"hidden\":32,\"layers\":2,\"kernel\":5,\"chunk\":4}' ")
K16 = ("n_iter=16 'k_levels=[2,4,6,8,12,16]' 'ramp=[0.06,0.12,0.2,0.3,0.45]' "
       "'test_iters=[8,12,16,20]'")
K24 = ("n_iter=24 'k_levels=[2,4,6,8,12,16,20,24]' 'ramp=[0.05,0.1,0.17,0.25,0.35,0.47,0.6]' "
       "'test_iters=[16,20,24]'")
RUNS = {   # log name: (what it is, command that made it)
    "I1": ("session 4's row 3 (cold start, K ≤ 24)", "see results/l96_logs/session4/curves.py"),
    "E1": ("first guess 600 s, joint 1000 s, K ≤ 16", REC + "fg_budget=600 max_time=1000 " + K16),
    "E2": ("first guess 1100 s, joint 520 s, K ≤ 16", REC + "fg_budget=1100 max_time=520 " + K16),
    "G1": ("first guess 800 s, joint 820 s, K ≤ 24, seed 1",
           REC + "fg_budget=800 max_time=820 " + K24 + " train_seed=1"),
    "G2": ("first guess 800 s, joint 820 s, K ≤ 24, seed 2",
           REC + "fg_budget=800 max_time=820 " + K24 + " train_seed=2"),
    "V1": ("G1 with first-guess batches of 16", REC + "'fg_options={\"batch_size\":16}' "
           "fg_budget=800 max_time=820 " + K24 + " train_seed=1"),
    "V2": ("G1 with first-guess lr 6e-3", REC + "'fg_options={\"lr\":0.006}' "
           "fg_budget=800 max_time=820 " + K24 + " train_seed=1"),
    "W2": ("V2, seed 2", REC + "'fg_options={\"lr\":0.006}' "
           "fg_budget=800 max_time=820 " + K24 + " train_seed=2"),
}


def parse_staged(path: Path) -> list[dict]:
    """Curve points of a first-guess run on the row's whole training clock."""
    out, offset = [], 0.0
    for line in path.read_text().splitlines():
        if m := FG_EPOCH.search(line):
            ep, _, r, t = m.groups()
            out.append({"epoch": int(ep), "K": 0, "t": int(t), "val_r": float(r),
                        "stage": "first_guess"})
        elif m := FG_DONE.search(line):
            offset += float(m.group(1))
        elif m := PRIOR_DONE.search(line):
            offset += float(m.group(1))
        elif m := JOINT.search(line):
            ep, k, _, v, t = m.groups()
            out.append({"epoch": int(ep), "K": int(k), "t": int(round(offset + int(t))),
                        "val_r": float(v) * NORM_TO_R, "stage": "joint"})
    return out


def main() -> int:
    curves = {}
    for name, (what, cmd) in RUNS.items():
        log = HERE.parent / "session4" / "I1.log" if name == "I1" else HERE / f"{name}.log"
        if log.is_file():
            curve = parse_staged(log)
            curves[name] = {"what": what, "command": cmd, "curve": curve}
    return write(curves, 5, "Lorenz-96 row 3 from a learned first guess: validation R (session 5)",
                 bold=("I1",), dotted=("I1",), figsize=(10, 6.5), targets=ROW3_TARGETS,
                 legend={"fontsize": 8, "ncol": 1, "loc": "upper right", "framealpha": 0.9})


if __name__ == "__main__":
    sys.exit(main())
