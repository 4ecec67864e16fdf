"""Packaging promises: environment.yml matches pyproject, the CLI entry point works."""
from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

import varda

ROOT = Path(__file__).resolve().parents[1]
CONDA_NAME = {"torch": "pytorch", "cf-xarray": "cf_xarray", "netcdf4": "netcdf4"}


def _name(req: str) -> str:
    return re.split(r"[\[<>=!~ ;]", req, maxsplit=1)[0].strip().lower()


def test_environment_yml_lists_every_runtime_test_and_docs_dependency():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    wanted = {_name(r) for r in project["dependencies"] + extras["test"] + extras["docs"]}
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert env["channels"][0] == "conda-forge"
    have = {_name(d) for d in env["dependencies"] if isinstance(d, str)}
    missing = {CONDA_NAME.get(w, w) for w in wanted} - have
    assert not missing, f"environment.yml lacks {sorted(missing)}"


def test_pyproject_torch_floor_and_python_floor():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["requires-python"] == ">=3.10"
    assert any(r.replace(" ", "") == "torch>=2.2" for r in project["dependencies"])


def test_py_typed_is_shipped():
    assert (Path(varda.__file__).parent / "py.typed").is_file()


def test_console_script_help_and_version():
    exe = Path(sys.executable).parent / "varda"
    out = subprocess.run([str(exe), "--help"], capture_output=True, text=True, check=True).stdout
    assert "demo" in out
    ver = subprocess.run([str(exe), "--version"], capture_output=True, text=True, check=True).stdout
    assert varda.__version__ in ver
