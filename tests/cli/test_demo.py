"""``varda demo``: the dispatcher and a reduced SST demo (tiny OSSE, one epoch)."""
from __future__ import annotations

import json

import numpy as np
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
        # the error field beside the fill (varda.train calibrates it), scored in the table
        assert ds.sst.attrs["ancillary_variables"].startswith("sst_error")
        assert bool((ds.sst_error.where(~land) > 0).sum() == (~land).sum() * ds.sizes["time"])
    assert "varda's error field (sst_error)" in text and scores["error_scores"]["n_points"] > 0


def test_l96_interpolation_in_time_is_exact_between_observations():
    from varda.cli.demo_l96 import interpolate_in_time
    t = np.arange(12.0)
    y = np.stack([2.0 * t + 1.0, -t], axis=-1)[None].copy()     # (1, time, site), linear
    y[0, [1, 2, 5, 6, 7], 0] = np.nan
    y[0, [3, 4], 1] = np.nan
    y[0, -1, 1] = np.nan                                          # beyond the last observation
    out = interpolate_in_time(y)
    np.testing.assert_allclose(out[0, :, 0], 2.0 * t + 1.0)
    np.testing.assert_allclose(out[0, :-1, 1], -t[:-1])
    assert out[0, -1, 1] == -10.0                                 # constant beyond it


def test_l96_demo_table_shows_the_shipped_models_beating_interpolation(capsys):
    from varda.cli.main import main
    assert main(["demo", "l96", "--windows", "2", "--threads", "1"]) == 0
    out = capsys.readouterr().out
    rows = {line.split("|")[1].strip(): float(line.split("|")[2]) for line in out.splitlines()
            if line.startswith("| ") and line.split("|")[2].strip()[:1].isdigit()}
    assert set(rows) == {"l96-rk4-lstm", "l96-unet-joint", "linear interpolation in time"}
    lin = rows["linear interpolation in time"]
    assert rows["l96-unet-joint"] < rows["l96-rk4-lstm"] < lin, rows


def test_ssh_demo_maps_the_tracks_with_the_oi_and_qg_fourdvar(tmp_path, capsys):
    out = tmp_path / "ssh"
    assert main(["demo", "ssh", "--days", "6", "--iterations", "3", "--grid", "16",
                 "--threads", "1", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    rows = {line.split("|")[1].strip(): line for line in text.splitlines()
            if line.startswith("| ") and "---" not in line}
    assert {"DUACS-style OI", "QG 4D-Var (L-BFGS)"} <= set(rows)
    assert float(rows["DUACS-style OI"].split("|")[3]) == 1.0      # the ratio column
    with xr.open_dataset(out / "ssh_demo.nc") as ds:
        assert {"ssh_truth", "ssh_oi", "ssh_oi_error", "ssh_qg4dvar"} <= set(ds.data_vars)
        assert np.isfinite(ds.ssh_qg4dvar.values).all()
        assert "history" in ds.attrs
    assert (out / "ssh_demo.png").stat().st_size > 0


def test_ssh_demo_refuses_options_it_cannot_run(capsys):
    assert main(["demo", "ssh", "--days", "2"]) == 2
    assert "--days must be at least 4, got 2" in capsys.readouterr().err
