"""Checkpoints: save → load is bit-identical; pickles, truncated, tampered and mismatched
files are refused with a CheckpointError that says what is wrong."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import torch

import varda
from varda.core.checkpoint import load, pretrained_names, save
from varda.errors import CheckpointError, ConfigError


@pytest.fixture
def saved(tiny_model, tmp_path: Path):
    model = tiny_model(seed=3)
    with torch.no_grad():                      # make every weight distinct from its init
        for p in model.parameters():
            p.add_(0.01 * torch.randn_like(p))
    model.set_normalization(287.5, 3.25)
    model.meta["card"] = {"trained_on": "unit test"}
    js = model.save(tmp_path / "run" / "m")
    return model, js


def _problem():
    g = torch.Generator().manual_seed(5)
    truth = torch.randn(3, 1, 8, 8, generator=g)
    mask = (torch.rand(truth.shape, generator=g) < 0.5).float()
    return truth * mask, mask


def test_save_writes_json_and_safetensors(saved) -> None:
    model, js = saved
    assert js.suffix == ".json" and js.is_file()
    weights = js.with_suffix(".safetensors")
    doc = json.loads(js.read_text())
    assert doc["weights"]["sha256"] == hashlib.sha256(weights.read_bytes()).hexdigest()
    assert doc["varda_version"] == varda.__version__
    assert doc["config"]["norm"] == {"mean": 287.5, "std": 3.25}
    assert doc["config"]["meta"]["card"] == {"trained_on": "unit test"}
    assert not list(js.parent.glob("*.tmp"))   # atomic writes leave no temporaries


@pytest.mark.parametrize("how", ["stem", "json", "safetensors"])
def test_save_load_bit_identical(saved, how: str) -> None:
    model, js = saved
    path = {"stem": js.with_suffix(""), "json": js, "safetensors": js.with_suffix(".safetensors")}
    loaded = varda.load(path[how])
    assert loaded.config == model.config
    sd0, sd1 = model.state_dict(), loaded.state_dict()
    assert sd0.keys() == sd1.keys() and all(torch.equal(sd0[k], sd1[k]) for k in sd0)
    y, mask = _problem()
    model.eval()
    with torch.no_grad():
        assert torch.equal(model(y, mask), loaded(y, mask))
    assert torch.equal(model.reconstruct(y * 3.25 + 287.5, mask),
                       loaded.reconstruct(y * 3.25 + 287.5, mask))
    assert loaded.checkpoint_sha256 == json.loads(js.read_text())["weights"]["sha256"]
    assert not loaded.training


def test_pickle_is_refused(saved, tmp_path: Path) -> None:
    model, _ = saved
    for name, kwargs in (("weights.pt", {}), ("legacy.pth", {"_use_new_zipfile_serialization": False}),
                         ("disguised.safetensors", {})):
        p = tmp_path / name
        torch.save(model.state_dict(), p, **kwargs)
        with pytest.raises(CheckpointError, match="pickle") as err:
            load(p)
        assert "safetensors" in str(err.value) and str(p) in str(err.value)


def test_pickle_renamed_beside_a_valid_json_is_refused(saved) -> None:
    model, js = saved
    torch.save(model.state_dict(), js.with_suffix(".safetensors"))
    with pytest.raises(CheckpointError, match="pickle.*sha256"):
        load(js)


def test_truncated_weights_are_refused(saved) -> None:
    _, js = saved
    weights = js.with_suffix(".safetensors")
    blob = weights.read_bytes()
    weights.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(CheckpointError, match="truncated or was modified") as err:
        load(js)
    assert weights.name in str(err.value) and "re-save" in str(err.value)


def test_tampered_weights_are_refused(saved) -> None:
    _, js = saved
    weights = js.with_suffix(".safetensors")
    blob = bytearray(weights.read_bytes())
    blob[-3] ^= 0x01                       # one bit of one weight
    weights.write_bytes(bytes(blob))
    with pytest.raises(CheckpointError, match="does not match the sha256"):
        load(js)


def test_unreadable_weights_with_matching_hash_are_refused(saved) -> None:
    """Someone replaced the weights *and* updated the hash: the safetensors parser still
    refuses garbage, as a CheckpointError."""
    _, js = saved
    weights = js.with_suffix(".safetensors")
    weights.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}garbage")
    doc = json.loads(js.read_text())
    doc["weights"]["sha256"] = hashlib.sha256(weights.read_bytes()).hexdigest()
    doc["weights"]["bytes"] = weights.stat().st_size
    js.write_text(json.dumps(doc))
    with pytest.raises(CheckpointError, match="header is not valid JSON"):
        load(js)


def test_wrong_shape_config_is_refused(saved) -> None:
    _, js = saved
    doc = json.loads(js.read_text())
    doc["config"]["solver"]["hidden"] = 6          # weights were saved with hidden=4
    js.write_text(json.dumps(doc))
    with pytest.raises(CheckpointError) as err:
        load(js)
    msg = str(err.value)
    assert "wrong shapes" in msg and "solver.cell.gates.conv.weight" in msg
    assert "(16, 5, 3, 3)" in msg and "(24, 7, 3, 3)" in msg
    assert "different models" in msg


def test_config_missing_weights_is_refused(saved) -> None:
    model, js = saved
    doc = json.loads(js.read_text())
    doc["config"]["prior"]["depth"] = 2            # one more conv layer: weights missing
    js.write_text(json.dumps(doc))
    with pytest.raises(CheckpointError, match="missing weights"):
        load(js)


@pytest.mark.parametrize("drop", ["weights", "config"])
def test_json_without_required_section_is_refused(saved, drop: str) -> None:
    _, js = saved
    doc = json.loads(js.read_text())
    del doc[drop]
    js.write_text(json.dumps(doc))
    with pytest.raises(CheckpointError, match=repr(drop)):
        load(js)


def test_corrupt_json_and_foreign_json_are_refused(saved, tmp_path: Path) -> None:
    _, js = saved
    js.write_text(js.read_text()[:40])
    with pytest.raises(CheckpointError, match="not valid JSON"):
        load(js)
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"hello": 1}))
    with pytest.raises(CheckpointError, match="not a varda checkpoint"):
        load(other)


def test_missing_weights_file_is_refused(saved) -> None:
    _, js = saved
    js.with_suffix(".safetensors").unlink()
    with pytest.raises(CheckpointError, match="missing"):
        load(js)


def test_unknown_prior_in_checkpoint_lists_valid_names(saved) -> None:
    _, js = saved
    doc = json.loads(js.read_text())
    doc["config"]["prior"]["type"] = "gan"
    js.write_text(json.dumps(doc))
    with pytest.raises(ConfigError) as err:
        load(js)
    assert "'gan'" in str(err.value)
    for name in ("ae", "flow", "pca", "unet"):
        assert repr(name) in str(err.value)


def test_unknown_pretrained_name_lists_valid_names(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(CheckpointError) as err:
        varda.load("no-such-model")
    msg = str(err.value)
    assert "'no-such-model'" in msg and "pretrained names are" in msg
    for name in pretrained_names():
        assert repr(name) in msg


def test_pretrained_lookup_by_name(saved, tmp_path: Path, monkeypatch) -> None:
    model, js = saved
    import varda.core.checkpoint as ck
    shelf = tmp_path / "shelf"
    save(model, shelf / "tiny-test")
    monkeypatch.setattr(ck, "PRETRAINED_DIR", shelf)
    monkeypatch.chdir(tmp_path)
    assert pretrained_names() == ["tiny-test"]
    loaded = varda.load("tiny-test")
    assert torch.equal(loaded.solver.out.weight, model.solver.out.weight)
    with pytest.raises(CheckpointError, match="'tiny-test'"):
        varda.load("tiny-tset")


def test_weights_outside_the_checkpoint_folder_are_refused(saved) -> None:
    _, js = saved
    doc = json.loads(js.read_text())
    doc["weights"]["file"] = "../elsewhere.safetensors"
    js.write_text(json.dumps(doc))
    with pytest.raises(CheckpointError, match="outside its own folder"):
        load(js)


@pytest.mark.parametrize("prior", [
    {"type": "pca", "shape": [1, 6, 8], "n_components": 3},
    {"type": "ae", "shape": [1, 6, 8], "hidden": 8, "latent": 2},
    {"type": "flow", "ode": {"type": "lorenz96", "forcing": 8.0, "learn_forcing": True},
     "dt": 0.05, "n_substeps": 2},
    {"type": "flow", "ode": {"type": "bilinear", "rank": 2, "stencil": 5}, "dt": 0.05},
    {"type": "unet", "ndim": 2, "hidden": 3, "kernel": [3, 5], "pool": [3, 2], "depth": 2,
     "bilinear": False, "periodic": [True, False]},
])
@pytest.mark.parametrize("solver", [{"type": "fsgd", "step": 0.02, "learn_step": True},
                                    {"type": "lstm", "ndim": 2, "hidden": 3, "kernel": [3, 1]}])
def test_every_prior_and_solver_round_trips(tmp_path: Path, prior: dict, solver: dict) -> None:
    from varda.core.model import build_model
    torch.manual_seed(0)
    model = build_model({"prior": prior, "solver": solver, "axes": ["time", "site"],
                         "patch_shape": [6, 8], "n_iter": 2,
                         "cost": {"rho": "huber", "huber_delta": 0.5, "lambda_init": 0.3}})
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.01 * torch.randn_like(p))
    loaded = load(model.save(tmp_path / "m"))
    assert loaded.config == model.config
    y, mask = torch.randn(2, 1, 6, 8), (torch.rand(2, 1, 6, 8) < 0.5).float()
    with torch.no_grad():
        assert torch.equal(model.eval()(y, mask), loaded(y, mask))


def test_config_keys_cover_what_models_write(tiny_model) -> None:
    """The checkpoint reader refuses unknown config keys: it must know every key a model
    writes (add new VarModel.config keys to varda.core.checkpoint.CONFIG_KEYS)."""
    from varda.core.checkpoint import CONFIG_KEYS
    assert set(tiny_model().config) <= CONFIG_KEYS
