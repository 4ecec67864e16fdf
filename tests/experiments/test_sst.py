"""The SST benchmark's pieces: the eofs case (clouds, withheld points) and the tables."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("eofs")

from experiments.sst import settings as S
from experiments.sst.report import markdown
from experiments.sst.run import eofs_case, summary


def test_eofs_case_hides_and_withholds_the_stated_fractions():
    truth, obs, scored = eofs_case(0)
    land = truth.isnull().all("time").values
    ocean = np.broadcast_to(~land, truth.shape)
    seen = np.isfinite(obs.values)
    assert not (seen & scored.astype(bool)).any()            # withheld points are never seen
    assert abs(scored.sum() / ocean.sum() - S.EOFS_WITHHELD) < 0.05
    assert abs(1 - (seen.sum() + scored.sum()) / ocean.sum() - S.EOFS_CLOUDS) < 0.05
    assert np.isfinite(truth.values[scored]).all()


def test_summary_and_table_report_spread_and_ratios():
    def row(r):
        return {"rmse": r, "time_s": 1.0}
    cases = {"eofs": {s: {"varda": {**row(0.3 + 0.01 * i), "train_s": 10, "chosen": "eof"},
                          "dineof": row(0.4), "oi": row(0.5), "linear_time": row(0.6),
                          "climatology": row(0.55)} for i, s in enumerate("012")}}
    res = {"command": "x", "hardware": "y", "seeds": [0, 1, 2], "osse_size": "year",
           "cases": cases}
    res["summary"] = summary(res)
    e = res["summary"]["eofs"]
    assert e["varda"]["rmse_min"] == pytest.approx(0.30)
    assert e["varda"]["rmse_max"] == pytest.approx(0.32)
    assert e["_ratio_to_dineof"] == pytest.approx(0.31 / 0.4)
    text = markdown(res)
    assert "| varda.train + fill (defaults) | 0.310 | [0.300, 0.320]" in text
    assert text.index("varda.train") < text.index("DINEOF |")        # sorted by RMSE


def test_baselines_error_fields_are_scored_on_the_same_points():
    from experiments.sst.error_baselines import SCORE_KEYS, markdown, score_baselines
    from varda.datasets.osse import make_sst_osse

    o = make_sst_osse("tiny", seed=3)
    scored = (~o.mask) & (~o.land) & o.mask.any("time")
    rows = score_baselines(o.obs, o.truth, scored, seed=3)
    assert set(rows) == {"dineof", "oi"}
    for r in rows.values():
        assert 0.0 < r["coverage_1sigma"] < r["coverage_2sigma"] <= 1.0 and r["rmse"] > 0
        assert set(SCORE_KEYS) <= set(r)
    table = markdown({"command": "x", "seeds": [3], "cases": {"osse": {"3": rows}}})
    assert "| osse | dineof |" in table and "| osse | oi |" in table
