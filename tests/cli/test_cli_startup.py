"""``varda --help`` and argument errors answer before torch is imported; the CLI's hints and
help texts say the right thing (dims mapping, --axes through CF, patch defaults, examples)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import varda as _varda

#: the environment of a subprocess that imports the varda under test (this checkout's)
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(
    [str(Path(_varda.__file__).parents[1]), os.environ.get("PYTHONPATH", "")])}
HEAVY = ("torch", "scipy", "sklearn", "numba", "matplotlib", "distributed")

PROBE = """
import sys
from varda.cli.main import main
try:
    rc = main(sys.argv[1:])
except SystemExit as e:
    rc = e.code
print("HEAVY", sorted({m.split('.')[0] for m in sys.modules} & set(%r)))
""" % (HEAVY,)


@pytest.mark.parametrize("argv", [["--help"], ["fill", "--help"], ["train", "--help"],
                                  ["fill"], ["train", "missing.nc", "--var", "sst", "-o", "m"],
                                  ["fill", "missing.nc", "--var", "sst", "--model", "m",
                                   "-o", "o.nc"]])
def test_help_and_argument_errors_do_not_import_torch(argv, tmp_path):
    out = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True,
                         cwd=tmp_path, timeout=120, env=ENV)
    assert "HEAVY []" in out.stdout, out.stdout + out.stderr


def test_import_varda_is_lazy_but_complete():
    out = subprocess.run([sys.executable, "-c", "import sys, varda, xarray as xr; "
                          "print('torch' in sys.modules, hasattr(xr.DataArray, 'varda'), "
                          "callable(varda.train), 'torch' in sys.modules)"],
                         capture_output=True, text=True, timeout=120, env=ENV)
    assert out.stdout.split() == ["False", "True", "True", "True"], out.stderr


def test_missing_axis_hint_maps_every_axis_to_the_right_dim():
    from varda.xr.axes import map_axes

    da = xr.DataArray(np.zeros((3, 4, 5)), dims=("time", "y", "x"), name="sst")
    with pytest.raises(Exception) as info:
        map_axes(da, ("time", "latitude", "longitude"))
    assert "--dims latitude=y,longitude=x" in info.value.cli_message
    assert "dims={'latitude': 'y', 'longitude': 'x'}" in str(info.value)
    assert "latitude=time" not in info.value.cli_message


def test_cli_axes_resolve_through_cf(tmp_path):
    from varda.cli.main import main

    rng = np.random.default_rng(0)
    v = rng.normal(size=(8, 8, 8)).astype("float32")
    v[rng.random(v.shape) < 0.3] = np.nan
    ds = xr.Dataset({"sst": (("time", "latitude", "longitude"), v)},
                    coords={"time": np.arange(8), "latitude": ("latitude", np.arange(8.0),
                                                               {"units": "degrees_north"}),
                            "longitude": ("longitude", np.arange(8.0),
                                          {"units": "degrees_east"})})
    ds.to_netcdf(tmp_path / "obs.nc")
    stem = tmp_path / "m"
    rc = main(["train", str(tmp_path / "obs.nc"), "--var", "sst", "--axes", "time,lat,lon",
               "--patch", "time=4,lat=8,lon=8", "--hidden", "4", "--n-iter", "1",
               "--epochs", "1", "--no-progress", "-o", str(stem)])
    assert rc == 0
    import varda
    assert varda.load(stem).axes == ("time", "lat", "lon")


def test_help_texts_agree_with_the_docs(capsys):
    from varda.cli.main import main

    for cmd in ("train", "fill"):
        with pytest.raises(SystemExit):
            main([cmd, "--help"])
    text = capsys.readouterr().out
    assert "up to 48" in text                       # the automatic patch, as the guide says
    for line in text.splitlines():                  # no Lorenz-96 model applied to SST
        assert not ("--var sst" in line and "l96-" in line), line
