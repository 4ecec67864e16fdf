"""Zarr regions follow the dask chunks; a fill killed after any region resumes bit for bit."""
from __future__ import annotations

import tempfile
import warnings
from pathlib import Path
from unittest import mock

import dask.array as da
import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

import varda
from fill_helpers import gappy, l96_path  # noqa: F401  (fixture)
from varda.errors import VardaWarning
from varda.io import zarr_status
from varda.io import zarr_store
from varda.io.regions import cut_dims, plan_regions


def _lazy(shape, chunks, name="u") -> xr.Dataset:
    data = da.from_array(np.zeros(shape, np.float32), chunks=chunks)
    return xr.Dataset({name: (("member", "time", "site")[-len(shape):], data)})


def test_regions_follow_the_chunks_of_every_dim():
    ds, regions = plan_regions(_lazy((6, 100, 8), (1, 20, 8)), dim="member")
    assert cut_dims(regions) == ["member", "time"]
    # 4 chunks per region along the streaming dim, one chunk along the others
    assert len(regions) == 2 * 5
    assert regions[0] == {"member": (0, 4), "time": (0, 20), "site": (0, 8)}
    assert regions[-1] == {"member": (4, 6), "time": (80, 100), "site": (0, 8)}
    _, regions = plan_regions(_lazy((6, 100, 8), (1, 20, 8)), dim="member", chunks_per_region=1)
    assert len(regions) == 6 * 5 and regions[-1]["member"] == (5, 6)   # one block each
    assert ds.u.chunks == ((1,) * 6, (20,) * 5, (8,))
    # the regions tile the array exactly once
    seen = np.zeros((6, 100, 8), int)
    for r in regions:
        seen[tuple(slice(*r[d]) for d in ("member", "time", "site"))] += 1
    assert (seen == 1).all()


def test_regions_cut_only_where_dask_and_zarr_chunks_both_end():
    # merged chunks (20, 20, 40, 20): the Zarr chunk is 20; no cut inside the 40-long block
    _, regions = plan_regions(_lazy((100, 8), ((20, 20, 40, 20), 8)), dim="time",
                              chunks_per_region=1)
    assert [r["time"] for r in regions] == [(0, 20), (20, 40), (40, 80), (80, 100)]
    _, regions = plan_regions(_lazy((100, 8), ((30, 30, 40), 8)), dim="time", region_size=10)
    assert [r["time"] for r in regions] == [(0, 30), (30, 60), (60, 100)]
    # dask chunks (20, 30, 30, 20), Zarr chunks of 20: 50 is no Zarr boundary, 80 is
    _, regions = plan_regions(_lazy((100, 8), ((20, 30, 30, 20), 8)), dim="time",
                              chunks_per_region=1)
    assert [r["time"] for r in regions] == [(0, 20), (20, 80), (80, 100)]


def test_a_background_dim_is_never_cut_and_region_size_counts_points():
    ds = _lazy((4, 60, 8), (1, 20, 8))
    _, regions = plan_regions(ds, dim="member", region_size=2, whole={"time"})
    assert [(r["member"], r["time"]) for r in regions] == [((0, 2), (0, 60)), ((2, 4), (0, 60))]


@given(members=st.integers(1, 3), steps=st.integers(17, 56), seed=st.integers(0, 99),
       data=st.data())
@settings(max_examples=8, deadline=None)
def test_a_fill_killed_after_any_region_resumes_bit_for_bit(l96_path, members, steps, seed,
                                                            data):
    """Random chunkings, region layouts and kill points, before or after the killed region's
    data (never after its marker): the resumed store equals the uninterrupted one, bit for bit,
    and every region is recorded."""
    x = gappy((members, steps, 8), seed=seed)
    chunks = (data.draw(st.integers(1, members), "member chunk"),
              data.draw(st.integers(8, steps), "time chunk"), 8)
    dim = data.draw(st.sampled_from(["member", "time"]), "region dim")
    per = data.draw(st.integers(1, 3), "chunks per region")
    arr = xr.DataArray(da.from_array(x, chunks=chunks), dims=("member", "time", "site"),
                       name="u")
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore", VardaWarning)
        filled = varda.fill(arr, l96_path)
        ref = varda.to_zarr(filled, Path(tmp) / "ref.zarr", region_dim=dim,
                            chunks_per_region=per)
        total = zarr_status(ref)["regions_total"]
        kill = data.draw(st.integers(0, total - 1), "regions kept")
        after_data = data.draw(st.booleans(), "killed after the region's data")
        real_mark, real_write, marks, writes = zarr_store.mark_done, xr.Dataset.to_zarr, [], []

        def mark(store, index, storage_options=None):
            if after_data and len(marks) == kill:
                raise KeyboardInterrupt       # after the region's data, before its marker
            marks.append(index)
            real_mark(store, index, storage_options)

        def write(ds, *args, **kwargs):
            if kwargs.get("region") and not after_data:
                if len(writes) == kill:       # before the region's data
                    raise KeyboardInterrupt
                writes.append(1)
            return real_write(ds, *args, **kwargs)

        out = Path(tmp) / "out.zarr"
        with mock.patch.object(zarr_store, "mark_done", mark), \
                mock.patch.object(xr.Dataset, "to_zarr", write), \
                pytest.raises(KeyboardInterrupt):
            varda.to_zarr(filled, out, region_dim=dim, chunks_per_region=per)
        st_ = zarr_status(out)
        assert (st_["status"], st_["regions_done"], st_["regions_total"]) == \
            ("partial", kill, total)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", VardaWarning)
            varda.to_zarr(filled, out, region_dim=dim, chunks_per_region=per)
        assert any(f"{kill} of {total} regions" in str(w.message) for w in caught)
        with xr.open_zarr(ref) as a, xr.open_zarr(out) as b:
            assert set(a.variables) == set(b.variables)
            for v in a.variables:
                np.testing.assert_array_equal(a[v].values, b[v].values, err_msg=v)
        st_ = zarr_status(out)
        assert (st_["status"], st_["regions_done"], st_["regions_total"]) == \
            ("complete", total, total)


def test_the_progress_bar_counts_regions(l96_path, tmp_path, capsys):
    arr = xr.DataArray(da.from_array(gappy((4, 32, 8)), chunks=(1, 16, 8)),
                       dims=("member", "time", "site"), name="u")
    varda.to_zarr(varda.fill(arr, l96_path), tmp_path / "o.zarr", progress=True)
    err = capsys.readouterr().err
    assert "writing regions (time)" in err and "2/2" in err   # 4 members per region × 2 time chunks
