"""``varda demo``: the dispatcher and a reduced SST demo (tiny OSSE, one epoch)."""
from __future__ import annotations

import json

import xarray as xr

from varda.cli.main import build_parser, main


def test_demo_dispatch_defaults_to_sst_and_keeps_l96():
    parser = build_parser()
    assert parser.parse_args(["demo"]).demo == "sst"
    assert parser.parse_args(["demo", "l96"]).demo == "l96"


def test_sst_demo_trains_fills_compares_and_writes_its_files(tmp_path, capsys):
    out = tmp_path / "demo"
    rc = main(["demo", "sst", "--size", "tiny", "--train", "--epochs", "1", "--steps", "2",
               "--threads", "1", "--quiet", "--out", str(out)])
    assert rc == 0
    text = capsys.readouterr().out
    for method in ("varda", "DINEOF", "optimal interpolation", "linear interpolation in time",
                   "climatology"):
        assert f"| {method} |" in text
    assert str(out.resolve()) in text
    scores = json.loads((out / "scores.json").read_text())
    assert set(scores["rmse"]) >= {"varda", "DINEOF"} and scores["train_s"] > 0
    for name in ("sst_filled.nc", "maps.png", "fill.png", "training_curve.png", "table.md"):
        assert (out / name).stat().st_size > 0
    with xr.open_dataset(out / "sst_filled.nc") as ds:
        assert "history" in ds.attrs and "varda" in ds.attrs["history"]
        land = ds.sst.isnull().all("time")
        assert bool(ds.sst.where(~land).notnull().sum() == (~land).sum() * ds.sizes["time"])
