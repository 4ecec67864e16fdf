"""Every fenced Python and shell example of README.md and docs/ runs as written.

Each page runs in a fresh folder holding the files its examples name (``sst.nc``,
``sst_obs.nc``, ``archive/*.nc``, ``models/sst.json``, ... : a small cloudy SST-like field,
built below), its Python blocks in order as one script (later blocks use the names of earlier
ones, as a reader's session does), then its shell blocks with ``bash -e``, with this checkout's
``varda`` on the PATH. Blocks marked ``<!-- docs-test: skip REASON -->`` are listed, not run.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from docs_examples import ROOT, all_blocks

BLOCKS = all_blocks()
PAGES = sorted({b.page for b in BLOCKS if b.skip is None})
#: seconds one page may take (its examples are sized to run in seconds to a minute on 2 cores)
PAGE_TIMEOUT = 900


def _sst_files(root: Path) -> None:
    """A cloudy SST-like archive (40 days × 32 × 32, land in a corner) under the names the
    examples use, and two small models."""
    import torch

    import varda
    from varda.datasets.masks import cloud_masks

    rng = np.random.default_rng(0)
    t, y, x = np.meshgrid(np.arange(40), np.linspace(0, 1, 32), np.linspace(0, 1, 32),
                          indexing="ij")
    truth = (20 - 8 * y + np.sin(6 * x + 0.2 * t) + 0.5 * np.cos(5 * y - 0.1 * t)
             + 0.05 * rng.normal(size=t.shape)).astype("float32")
    truth[:, :5, :4] = np.nan                                      # land
    coords = {"time": pd.date_range("2020-01-01", periods=40),
              "lat": ("lat", np.linspace(30, 45.5, 32), {"units": "degrees_north",
                                                          "standard_name": "latitude"}),
              "lon": ("lon", np.linspace(-40, -24.5, 32), {"units": "degrees_east",
                                                            "standard_name": "longitude"})}
    dims = ("time", "lat", "lon")
    attrs = {"units": "degC", "standard_name": "sea_surface_temperature"}
    obs = np.where(cloud_masks(truth.shape, coverage=0.5, seed=1), truth, np.nan)
    ds = xr.Dataset({"sst": (dims, obs.astype("float32"), attrs)}, coords=coords)
    for name in ("sst.nc", "sst_obs.nc", "sst_l3.nc", "obs.nc"):
        ds.to_netcdf(root / name)
    xr.Dataset({"sst": (dims, truth, attrs)}, coords=coords).to_netcdf(root / "sst_truth.nc")
    (root / "archive").mkdir()
    ds.isel(time=slice(0, 20)).to_netcdf(root / "archive" / "sst_2020a.nc")
    ds.isel(time=slice(20, 40)).to_netcdf(root / "archive" / "sst_2020b.nc")
    small = varda.model_config(("time", "lat", "lon"), (4, 16, 16), hidden=4, n_iter=2)
    (root / "my_model.json").write_text(json.dumps(small))
    torch.manual_seed(0)
    model = varda.train(ds.sst, small, epochs=1, progress=False)
    model.save(root / "models" / "sst")


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("docs-files")
    _sst_files(root)
    return root


def _env() -> dict:
    src = str(Path(__import__("varda").__file__).parents[1])
    return {**os.environ, "PYTHONPATH": os.pathsep.join([src, str(ROOT)]),
            "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]),
            "MPLBACKEND": "Agg", "PYTHONUNBUFFERED": "1"}


def test_every_block_is_collected_and_skips_say_why():
    pages = {b.page for b in BLOCKS}
    assert {"README.md", "docs/getting-started.md", "docs/user-guide/training.md"} <= pages
    skipped = [b for b in BLOCKS if b.skip is not None]
    assert all(len(b.skip) > 10 for b in skipped), skipped            # a reason, not a bare mark
    assert len(skipped) <= len(BLOCKS) // 3                            # the exception, not the rule


@pytest.mark.parametrize("page", PAGES)
def test_page_examples_run(page, sandbox, tmp_path):
    work = tmp_path / "work"
    shutil.copytree(sandbox, work)
    for lang, runner, suffix in (("python", [sys.executable], ".py"),
                                 ("bash", ["bash", "-e"], ".sh")):
        code = [b for b in BLOCKS if b.page == page and b.lang == lang and b.skip is None]
        if not code:
            continue
        script = work / f"_docs_example{suffix}"
        script.write_text("\n".join(f"# {b.page}:{b.line}\n{b.code}" for b in code))
        out = subprocess.run([*runner, script.name], cwd=work, env=_env(), capture_output=True,
                             text=True, timeout=PAGE_TIMEOUT)
        assert out.returncode == 0, (f"{page} ({lang}) failed:\n{out.stdout[-3000:]}\n"
                                     f"{out.stderr[-3000:]}")
