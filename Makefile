# The two commands of the README: `make demo` (set up, then run the main job) and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup demo test bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)
	$(VENV)/bin/jianbao setup

demo: setup
	$(VENV)/bin/jianbao demo

test: setup
	$(VENV)/bin/python -m pytest -q -p no:cacheprovider tests

bench: setup
	$(VENV)/bin/jianbao bench parse
	$(VENV)/bin/jianbao bench extract
	$(VENV)/bin/jianbao bench ingest
