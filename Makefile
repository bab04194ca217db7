# Two entry points for a fresh machine (see README):
#   make demo   create .venv, install, run the example recipe on bundled data
#   make test   create .venv with test extras, run the whole test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
JOBS   ?= 2

.PHONY: demo test install bench docs clean

install: $(STAMP)

$(STAMP): pyproject.toml
	rm -f $(VENV)/.installed-*
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

demo: $(STAMP)
	$(MAKE) --no-print-directory -C examples -j$(JOBS) SEGMENT="$(CURDIR)/$(BIN)/segment" \
	  PYTHON="$(CURDIR)/$(BIN)/python" all
	@$(MAKE) --no-print-directory -C examples SEGMENT="$(CURDIR)/$(BIN)/segment" \
	  PYTHON="$(CURDIR)/$(BIN)/python" summary

test: $(STAMP)
	$(BIN)/python -m pytest -n $(JOBS) -q

docs: $(STAMP)
	$(BIN)/python -m tests.test_doc_examples
	$(BIN)/python -m tests.cli_reference --write README.md

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	for b in benchmarks/bench_*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) examples/out
