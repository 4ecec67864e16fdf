"""``varda fill`` on the command line: files, globs, Zarr, errors, --help."""
from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import varda
from varda.cli.main import main
from fill_helpers import gappy, l96_path  # noqa: F401  (fixture)


@pytest.fixture()
def two_files(tmp_path):
    x = gappy((64, 8), seed=21)
    x[:, 5] = np.nan  # a "land" site
    ds = xr.Dataset({"u": (("time", "site"), x)},
                    coords={"time": pd.date_range("2000-01-01", periods=64), "site": np.arange(8)})
    paths = [tmp_path / "part1.nc", tmp_path / "part2.nc"]
    ds.isel(time=slice(0, 32)).to_netcdf(paths[0])
    ds.isel(time=slice(32, 64)).to_netcdf(paths[1])
    return ds, paths


def _sha(p) -> str:
    return hashlib.sha256(Path(p).read_bytes()).hexdigest()


def test_help_documents_every_option():
    exe = Path(sys.executable).parent / "varda"
    out = subprocess.run([str(exe), "fill", "--help"], capture_output=True, text=True,
                         check=True).stdout
    for opt in ("--var", "--model", "--output", "--chunks", "--scheduler", "--device",
                "--keep-observed", "--overwrite", "--resume", "--region-size", "--dims",
                "examples:"):
        assert opt in out
    top = subprocess.run([str(exe), "--help"], capture_output=True, text=True, check=True).stdout
    assert "fill" in top


def test_glob_to_netcdf_with_chunks(two_files, l96_path, tmp_path, capsys):
    ds, paths = two_files
    before = [_sha(p) for p in paths]
    out = tmp_path / "filled.nc"
    rc = main(["fill", str(tmp_path / "part*.nc"), "--var", "u", "--model", l96_path,
               "-o", str(out), "--chunks", "time=20", "--keep-observed", "--no-progress"])
    assert rc == 0 and out.exists()
    assert str(out) in capsys.readouterr().out
    back = xr.open_dataset(out)
    assert back.u.dims == ("time", "site") and back.sizes["time"] == 64
    assert back.u.isel(site=5).isnull().all()
    assert np.isfinite(back.u.drop_sel(site=5).values).all()
    obs = np.isfinite(ds.u.values)
    np.testing.assert_array_equal(back.u.values[obs], ds.u.values[obs])
    assert "keep_observed=True" in back.u.attrs["history"]
    assert [_sha(p) for p in paths] == before


def test_zarr_in_zarr_out_with_progress(two_files, l96_path, tmp_path, capsys):
    ds, _ = two_files
    src = tmp_path / "in.zarr"
    ds.to_zarr(src, zarr_format=2)
    out = tmp_path / "out.zarr"
    assert main(["fill", str(src), "--model", l96_path, "-o", str(out)]) == 0
    back = xr.open_zarr(out)
    assert np.isfinite(back.u.drop_sel(site=5).values).all()
    assert "writing regions (time)" in capsys.readouterr().err  # the progress bar, in regions


def test_errors_exit_2_with_a_message(two_files, l96_path, tmp_path, capsys):
    _, paths = two_files
    before = _sha(paths[0])
    assert main(["fill", str(paths[0]), "--model", l96_path, "-o", str(paths[0])]) == 2
    assert "is the input" in capsys.readouterr().err
    assert _sha(paths[0]) == before
    assert main(["fill", str(paths[0]), "--model", "nope", "-o", str(tmp_path / "x.nc")]) == 2
    assert "pretrained names are" in capsys.readouterr().err
    assert main(["fill", str(tmp_path / "none*.nc"), "--model", l96_path,
                 "-o", str(tmp_path / "x.nc")]) == 2
    assert "matches no file" in capsys.readouterr().err
    (tmp_path / "exists.nc").write_text("x")
    assert main(["fill", str(paths[0]), "--model", l96_path, "-o",
                 str(tmp_path / "exists.nc")]) == 2
    assert "--overwrite" in capsys.readouterr().err


def test_local_cluster_address(two_files, l96_path, tmp_path):
    import distributed  # a hard dependency: imported, never skipped
    _, paths = two_files
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        out = tmp_path / "c.nc"
        rc = main(["fill", *map(str, paths), "--model", l96_path, "-o", str(out),
                   "--scheduler", cluster.scheduler_address, "--no-progress"])
    assert rc == 0
    local = tmp_path / "local.nc"
    assert main(["fill", *map(str, paths), "--model", l96_path, "-o", str(local),
                 "--no-progress"]) == 0
    with xr.open_dataset(out) as got, xr.open_dataset(local) as ref:
        assert got.u.shape == (64, 8) and np.isfinite(got.u.values[:, :5]).all()
        np.testing.assert_array_equal(got.u.values, ref.u.values)   # the cluster's fill = local
        np.testing.assert_array_equal(got.u_observed.values, ref.u_observed.values)


def test_nothing_to_fill_is_a_one_line_note(tmp_path, l96_path, capsys):
    ds = xr.Dataset({"u": (("time", "site"), gappy((32, 8), frac=0.0))})
    ds.to_netcdf(tmp_path / "full.nc")
    assert main(["fill", str(tmp_path / "full.nc"), "--model", l96_path,
                 "-o", str(tmp_path / "o.nc"), "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert "varda fill: note: u has no missing value" in err


def test_options_come_from_one_place_and_inputs_are_recorded(two_files, l96_path, tmp_path):
    import json

    from varda.array import FillOptions
    from varda.cli.fill import fill_options
    from varda.cli.main import build_parser
    _, paths = two_files
    args = build_parser().parse_args(["fill", "x.nc", "--model", "m", "-o", "o.nc",
                                      "--n-iter", "1", "--no-keep-observed", "--overlap", "0.25"])
    assert fill_options(args) == FillOptions(keep_observed=False, n_iter=1, overlap=0.25)
    out = tmp_path / "o.nc"
    assert main(["fill", str(tmp_path / "part*.nc"), "--model", l96_path, "-o", str(out),
                 "--no-progress", "--n-iter", "1"]) == 0
    back = xr.open_dataset(out)
    assert back.u.attrs["varda_inputs"].splitlines() == [str(p) for p in paths]
    assert back.u.attrs["varda_model_path"].endswith("tiny-l96.json")
    assert json.loads(back.u.attrs["varda_solver"])["n_iter"] == 1
    assert back.u.attrs["varda_keep_observed"] == 0
    assert "u_observed" in back.variables  # the observed (1) / filled (0) flag


def test_cli_errors_give_cli_spelling(tmp_path, l96_path, capsys):
    sst = xr.Dataset({"sst": (("time", "lat", "lon"), gappy((10, 6, 8)))})
    sst.to_netcdf(tmp_path / "sst.nc")
    assert main(["fill", str(tmp_path / "sst.nc"), "--var", "sst", "--model", l96_path,
                 "-o", str(tmp_path / "o.nc"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "model of (time, site)" in err and "--dims site=" in err
    assert "dims={" not in err and "varda train" in err
    assert main(["fill", str(tmp_path / "sst.nc"), "--model", l96_path,
                 "-o", str(tmp_path / "o.nc"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "--var NAME" in err and "variables=" not in err


def test_an_ensemble_is_written_member_by_member_in_regions(tmp_path, l96_path):
    """The dims the model batches over (members) are chunked one per chunk unless --chunks
    names them, and the Zarr regions follow the chunks: 8 members / 4 per region × 2 time
    chunks = 4 regions, not one block of the whole ensemble."""
    from varda.io import zarr_status
    x = gappy((8, 64, 8), seed=4)
    ds = xr.Dataset({"u": (("member", "time", "site"), x)})
    ds.to_netcdf(tmp_path / "ens.nc")
    out = tmp_path / "ens.zarr"
    assert main(["fill", str(tmp_path / "ens.nc"), "--model", l96_path, "--chunks", "time=32",
                 "-o", str(out), "--no-progress"]) == 0
    st = zarr_status(out)
    assert (st["status"], st["regions_done"], st["regions_total"]) == ("complete", 4, 4)
    with xr.open_zarr(out) as got:
        assert got.u.encoding["chunks"] == (1, 32, 8)
        np.testing.assert_allclose(got.u.values, varda.fill(ds.u, l96_path).values, atol=1e-5)
    assert main(["fill", str(tmp_path / "ens.nc"), "--model", l96_path, "--chunks",
                 "time=32,member=8", "-o", str(tmp_path / "one.zarr"), "--no-progress"]) == 0
    assert zarr_status(tmp_path / "one.zarr")["regions_total"] == 2   # as the user chunked it
