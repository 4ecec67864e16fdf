"""The reliability catalogue (docs/reliability.md): faults, resumes, hostile files.

Every case works in a :class:`Workspace`: an input NetCDF file, an earlier NetCDF output and an
earlier Zarr output, all checksummed before the case runs; ``ws.check()`` asserts at the end of
each case that none of them changed (inputs are never modified, earlier outputs survive).
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import varda
from fill_helpers import L96_LIKE, gappy, l96_path  # noqa: F401  (fixture)


def tree_sha(path: "str | os.PathLike") -> str:
    """sha256 over a file, or over every file (name and bytes) under a directory."""
    p = Path(path)
    h = hashlib.sha256()
    files = [p] if p.is_file() else sorted(q for q in p.rglob("*") if q.is_file())
    for f in files:
        h.update(str(f.relative_to(p.parent)).encode())
        h.update(f.read_bytes())
    return h.hexdigest()


def archive(t: int = 64, seed: int = 21) -> xr.Dataset:
    """A small (time, site) archive with gaps and a never-observed ("land") site."""
    x = gappy((t, 8), seed=seed)
    x[:, 5] = np.nan
    return xr.Dataset({"u": (("time", "site"), x, {"units": "m s-1"})},
                      coords={"time": pd.date_range("2000-01-01", periods=t),
                              "site": np.arange(8)})


class Workspace:
    """Files a case must leave alone, and helpers to write more inputs."""

    def __init__(self, root: Path, model: str) -> None:
        self.root, self.model = root, model
        self.input = root / "input.nc"
        archive().to_netcdf(self.input)
        with xr.open_dataset(self.input) as src:
            filled = src.u.varda.fill(model)
            self.earlier_nc = Path(varda.to_netcdf(filled, root / "earlier.nc"))
            self.earlier_zarr = Path(varda.to_zarr(filled, root / "earlier.zarr"))
        self._sha: dict[Path, str] = {}
        for p in (self.input, self.earlier_nc, self.earlier_zarr):
            self.protect(p)

    def protect(self, path: "str | os.PathLike") -> Path:
        """Checksum ``path`` now; :meth:`check` asserts it is unchanged."""
        p = Path(path)
        self._sha[p] = tree_sha(p)
        return p

    def write_input(self, ds: xr.Dataset, name: str, **kw) -> Path:
        """Write an extra input file and protect it."""
        p = self.root / name
        ds.to_netcdf(p, **kw)
        return self.protect(p)

    def input_array(self) -> np.ndarray:
        """The input's values as a NumPy array (time, site)."""
        with xr.open_dataset(self.input) as src:
            return src.u.values

    def check(self) -> None:
        """Inputs unchanged, earlier outputs intact and readable."""
        for p, sha in self._sha.items():
            assert p.exists(), f"{p} disappeared"
            assert tree_sha(p) == sha, f"{p} changed"
        with xr.open_dataset(self.earlier_nc) as a, xr.open_zarr(self.earlier_zarr) as b:
            np.testing.assert_array_equal(a.u.values, b.u.values)


@pytest.fixture()
def ws(tmp_path, l96_path) -> Workspace:  # noqa: F811
    return Workspace(tmp_path, l96_path)

