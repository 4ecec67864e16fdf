"""The QG SSH OSSE generator: seeded, coordinates, attributes, statistics."""
import numpy as np

from varda.datasets.qg import MISSPECIFIED, make_qg_ssh


def test_small_osse_is_seeded_with_coordinates(tmp_path, monkeypatch):
    monkeypatch.setenv("VARDA_CACHE_DIR", str(tmp_path))
    kw = dict(shape=(16, 16), dx=20e3, rossby_radius=60e3, spinup_days=30, dt=7200.0)
    a = make_qg_ssh(12, seed=3, **kw)
    b = make_qg_ssh(12, seed=3, cache=False, **kw)
    c = make_qg_ssh(12, seed=4, cache=False, **kw)
    assert a.dims == ("time", "lat", "lon") and a.name == "ssh" and a.attrs["units"] == "m"
    np.testing.assert_array_equal(a.values, b.values)          # cache == fresh, seeded
    assert not np.allclose(a.values, c.values)
    assert np.all(np.diff(a.lat) > 0) and np.all(np.diff(a.lon) > 0)
    assert a.attrs["dx_km"] == 20.0 and 7e-5 < a.attrs["f0"] < 1e-4
    assert np.isfinite(a.values).all() and a.values.std() > 1e-4
    # lag-1 day correlation of a smooth, slowly evolving field
    x = a.values
    assert np.corrcoef(x[:-1].ravel(), x[1:].ravel())[0, 1] > 0.9


def test_misspecified_ocean_differs():
    kw = dict(shape=(16, 16), dx=20e3, spinup_days=20, cache=False)
    a = make_qg_ssh(5, seed=0, rossby_radius=60e3, **kw)
    b = make_qg_ssh(5, seed=0, **{**MISSPECIFIED, **kw})
    assert b.attrs["rossby_radius"] == 50e3 and not np.allclose(a.values, b.values)
