"""``varda demo [sst|ssh|l96]``: the main job on built-in data.

``varda demo`` (or ``varda demo sst``) fills a cloudy sea-surface-temperature OSSE with a
learned variational model and compares it with DINEOF, optimal interpolation, linear
interpolation in time and climatology (:mod:`varda.cli.demo_sst`). ``varda demo l96`` fills
Lorenz-96 windows with the two shipped models (fixed work, no training;
:mod:`varda.cli.demo_l96`). ``varda demo ssh`` maps sea-surface height from nadir altimetry on a
QG OSSE with the DUACS-style OI and QG 4D-Var (:mod:`varda.cli.demo_ssh`).
"""
from __future__ import annotations

import argparse

from varda.cli import demo_l96, demo_ssh, demo_sst

#: demo name → (module with ``add_arguments``, its runner, one-line help)
DEMOS = {
    "sst": (demo_sst, demo_sst.run_sst_demo,
            ("fill a cloudy SST OSSE, compare with DINEOF, OI, linear-in-time and climatology; "
            "write NetCDF + PNG")),
    "l96": (demo_l96, demo_l96.run_l96_demo,
            "fill Lorenz-96 windows with the shipped models (≈ 20 s)"),
    "ssh": (demo_ssh, demo_ssh.run_ssh_demo,
            "map sea-surface height from nadir altimetry: DUACS-style OI and QG 4D-Var"),
}
DEFAULT = "sst"

DESCRIPTION = """\
Run the main job on built-in data.

  varda demo        (or: varda demo sst)  fill a cloudy sea-surface-temperature OSSE with a
                    learned variational model and compare it with DINEOF, optimal
                    interpolation, linear interpolation in time and climatology
  varda demo ssh    map sea-surface height from nadir altimetry on a quasi-geostrophic OSSE:
                    DUACS-style OI and weak-constraint QG 4D-Var (one 20-day window)
  varda demo l96    fill Lorenz-96 windows with the two shipped models (fixed work, no training)
"""


def _run(args: argparse.Namespace) -> int:
    return int(DEMOS[args.demo][1](args) or 0)


def add_parser(sub) -> None:
    p = sub.add_parser("demo", help="run the main job on built-in data (default: SST gap filling)",
                       description=DESCRIPTION,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("demo", nargs="?", default=DEFAULT, choices=sorted(DEMOS),
                   help="which demo: " + "; ".join(f"{k}: {v[2]}" for k, v in DEMOS.items())
                        + f" (default {DEFAULT})")
    for module, _, _ in DEMOS.values():
        module.add_arguments(p)
    p.set_defaults(func=_run)
