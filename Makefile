# The two commands of the README: `make reproduce` and `make test`. Everything installs itself first.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
STAMPS := $(VENV)/.stamps
# Every package present (packages/<dist>/pyproject.toml), in a stable order.
PACKAGES := $(sort $(patsubst packages/%/pyproject.toml,%,$(wildcard packages/*/pyproject.toml)))
PKG ?= $(PACKAGES)
PRESET ?= quick
RUNS ?= runs
REPORTS ?= reports
TORCH_SPEC := torch==2.14.1 torchvision==0.29.1
# uv must never touch torch: pip installed it from this machine's own configuration.
UV_PIP := $(UV) pip install --python $(VPY) --overrides .ci/uv-overrides.txt --constraints .ci/uv-constraints.txt \
          --config-settings-package 'learn2learn:--build-option=build_ext'
PYPROJECTS := shared/pyproject.toml $(wildcard packages/*/pyproject.toml)

.PHONY: install reproduce test test-reprokit test-cross lint wheels bench clean-venv help \
        $(addprefix test-,$(PACKAGES)) $(addprefix bench-,$(PACKAGES)) $(addprefix ci-,$(PACKAGES)) ci-reprokit

help:
	@echo "make install | reproduce [PKG=<dist>] | test | test-<dist> | ci-<dist> | bench | bench-<dist> | lint | wheels"

# --- install: pip for torch, uv for the rest, apt for Fashion-MNIST; stamps make a rerun take seconds ---
install: $(STAMPS)/workspace $(STAMPS)/data

$(STAMPS)/venv:
	$(PY) -m venv $(VENV)
	mkdir -p $(STAMPS) && touch $@

$(STAMPS)/torch: $(STAMPS)/venv
	$(VPY) -m pip install --disable-pip-version-check -q $(TORCH_SPEC) uv
	touch $@

$(STAMPS)/workspace: $(STAMPS)/torch $(PYPROJECTS) pyproject.toml .ci/uv-overrides.txt .ci/uv-constraints.txt
	$(UV_PIP) "pytest>=8.0" "ruff>=0.6" "hatchling>=1.18" -e shared $(foreach p,$(PACKAGES),-e packages/$(p))
	@$(VPY) -c "import torch, torchvision; assert torch.__version__.startswith('2.14.1'), torch.__version__"
	touch $@

$(STAMPS)/data: $(STAMPS)/venv
	@if [ -d /usr/share/datasets/fashion-mnist ]; then echo "Fashion-MNIST present"; \
	elif command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	  (apt-get install -y -qq dataset-fashion-mnist || (apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist)) \
	  || echo "apt could not install dataset-fashion-mnist; lskd's quick preset needs it"; \
	else echo "Fashion-MNIST missing: 'sudo apt-get install dataset-fashion-mnist' (Debian/Ubuntu) or give lskd --data-dir with its IDX files"; fi
	touch $@

# --- reproduce: every package's quick preset (PKG=<dist> for one), then the index ---
reproduce: install
	@set -u; fail=0; for p in $(PKG); do \
	  echo "== $$p reproduce --preset $(PRESET)"; \
	  REPRO_RUNS=$(RUNS) $(VENV)/bin/$$p reproduce --preset $(PRESET) --quiet $(REPRO_ARGS) \
	    || { echo "!! $$p failed"; fail=1; }; \
	done; \
	$(VPY) -m reprokit.index --papers scripts/papers.tsv --runs $(RUNS) --out $(REPORTS) --preset $(PRESET); \
	exit $$fail

# --- tests: reprokit, cross-package, then each package in its own pytest process ---
test: install
	@set -u; fail=0; \
	$(MAKE) --no-print-directory test-reprokit || fail=1; \
	$(MAKE) --no-print-directory test-cross || fail=1; \
	for p in $(PACKAGES); do $(MAKE) --no-print-directory test-$$p || { echo "!! $$p tests failed"; fail=1; }; done; \
	exit $$fail

test-reprokit: install
	$(VPY) -m pytest -q shared/tests

test-cross: install
	$(VPY) -m pytest -q tests

$(addprefix test-,$(PACKAGES)): test-%: install
	$(VPY) -m pytest -q packages/$*/tests

# --- what each GitHub job does: a venv with reprokit + one package only ---
ci-reprokit:
	bash .ci/package-job reprokit
$(addprefix ci-,$(PACKAGES)): ci-%:
	bash .ci/package-job $*

bench: install
	@for p in $(PACKAGES); do $(MAKE) --no-print-directory bench-$$p; done

$(addprefix bench-,$(PACKAGES)): bench-%: install
	@set -e; for f in packages/$*/benchmarks/bench_*.py; do echo "== $$f"; $(VPY) $$f; done

lint: install
	$(VENV)/bin/ruff check shared packages tests scripts

wheels: install
	@for p in reprokit $(PACKAGES); do $(UV) build --package $$p --wheel -o dist/ -q || exit 1; done; ls dist

clean-venv:
	rm -rf $(VENV)
