# Two entry points for a fresh machine (see README):
#   make demo   create .venv, install, run the example recipe on bundled data
#   make test   create .venv with test extras, run the whole test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Pinned set (see constraints.txt; `make lock` refreshes it).
PIN    := -c constraints.txt
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | cksum | cut -d' ' -f1)
JOBS   ?= 2

.PHONY: demo test install bench docs lock clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	rm -f $(VENV)/.installed-*
	@# LightGBM (segment churn) needs the OpenMP runtime; Debian ships it as libgomp1.
	@if [ "$$(id -u)" = 0 ] && ! ldconfig -p 2>/dev/null | grep -q 'libgomp\.so\.1' && command -v apt-get >/dev/null; then \
	  apt-get update -qq && apt-get install -y -qq libgomp1; fi
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet $(PIN) --upgrade pip
	$(BIN)/python -m pip install --quiet $(PIN) -e '.[test]'
	touch $@

demo: $(STAMP)
	$(MAKE) --no-print-directory -C examples -j$(JOBS) SEGMENT="$(CURDIR)/$(BIN)/segment" \
	  PYTHON="$(CURDIR)/$(BIN)/python" all
	@$(MAKE) --no-print-directory -C examples SEGMENT="$(CURDIR)/$(BIN)/segment" \
	  PYTHON="$(CURDIR)/$(BIN)/python" summary

# The tests also run the Spark engine (pyspark from the pinned set; Java 17 from the system).
test: $(STAMP)
	$(BIN)/python -m pip install --quiet $(PIN) -e '.[test,spark]'
	$(BIN)/python -m pytest -n $(JOBS) -q

docs: $(STAMP)
	$(BIN)/python -m tests.test_doc_examples
	$(BIN)/python -m tests.cli_reference --write README.md

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet $(PIN) -e '.[test,bench]'
	for b in benchmarks/bench_*.py; do $(BIN)/python $$b || exit 1; done

# Newest versions inside pyproject's ranges -> constraints.txt, then the suite.
lock:
	rm -rf .venv-lock
	$(PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip install --quiet --upgrade pip
	.venv-lock/bin/python -m pip install --quiet -e '.[test,bench]'
	{ sed -n '/^#/p' constraints.txt; .venv-lock/bin/python -m pip freeze --all --exclude-editable; } > constraints.txt.new
	mv constraints.txt.new constraints.txt
	rm -rf .venv-lock
	$(MAKE) test

clean:
	rm -rf $(VENV) examples/out
