# varda: two commands do everything on a fresh machine.
#   make demo   install into .venv and run the main job on built-in data
#   make test   install into .venv and run the test-suite
#   make docs   build the documentation site into docs/_build/html (warnings are errors)
# GPU users: override the torch requirement, e.g.  make demo TORCH_SPEC='torch>=2.2'
PYTHON     ?= python3
VENV       ?= .venv
TORCH_SPEC ?= torch==2.13.0
PY         := $(VENV)/bin/python
STAMP      := $(VENV)/.varda-installed

.PHONY: install demo test docs typecheck bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(PY) pyproject.toml
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install "$(TORCH_SPEC)"
	$(PY) -m pip install -e ".[test,docs]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/varda demo

test: $(STAMP)
	$(PY) -m pytest -q

# -E: read every page again, so that a warning is never hidden by an earlier build; -n: every
# cross-reference must resolve; linkcheck: local links (web links are skipped: builds run offline)
docs: $(STAMP)
	$(VENV)/bin/sphinx-build -E -W --keep-going -n -q -d docs/_build/doctrees -b html docs docs/_build/html
	$(VENV)/bin/sphinx-build -W --keep-going -n -q -d docs/_build/doctrees -b linkcheck docs docs/_build/linkcheck

typecheck: $(STAMP)
	$(VENV)/bin/mypy

bench: $(STAMP)
	$(PY) benchmarks/bench_solver.py

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache docs/_build
