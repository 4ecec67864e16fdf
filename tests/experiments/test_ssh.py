"""The SSH benchmark's whole path at tiny size (--quick): table written, ratios finite."""
import json

from experiments.ssh import run


def test_quick_run_writes_a_table(tmp_path):
    out = tmp_path / "part.json"
    assert run.main(["--quick", "--cases", "perfect-4", "--model-error-factor", "0.5", "--out", str(out)]) == 0
    res = json.loads(out.read_text())
    rows = res["cases"]["perfect-4"]["2000"]
    assert set(rows) == {"oi", "qg4dvar", "qg4dvar_k20", "qg4dvar_state"}
    assert rows["oi"]["rmse_ratio"] == 1.0
    assert 0 < rows["qg4dvar"]["rmse_ratio"] < 1.5 and rows["qg4dvar"]["cost_evaluations"] >= 5
    assert 0 < rows["qg4dvar"]["at_rmse_ratio"] < 1.5 and rows["oi"]["at_rmse_ratio"] == 1.0
    assert run.main(["--quick", "--merge", str(out)]) == 0
