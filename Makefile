# Two entry points (see README.md):
#   make demo   set up everything, then run the whole chain on built-in demo data
#   make test   set up everything, then run the whole test suite (what CI runs)
# Both work on a fresh clone: they install the apt packages (when run as root),
# create .venv and install the project into it.

SHELL := /bin/bash
# torch 2.14.1 / torchvision 0.29.1 install from these machines' disk for Python 3.11
PYTHON ?= $(shell command -v python3.11 || command -v python3.12 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
OUT ?= out/demo
APT_PACKAGES := xvfb xdotool libjack-jackd2-0 x11-utils
# The experiment needs a display; without one, run it on a virtual one.
XRUN := $(if $(DISPLAY),,xvfb-run -a -s "-screen 0 1280x1024x24")

.PHONY: demo test setup system-packages clean-demo

setup: system-packages $(VENV)/.installed

system-packages:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing apt packages: $$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "missing apt packages: $$missing (run: sudo apt-get install $$missing)"; exit 1; \
	  fi; \
	fi

$(VENV)/.installed: pyproject.toml
	@echo "creating $(VENV) with $(PYTHON) ($$($(PYTHON) --version))"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[all,dev]'
	@touch $@

test: setup
	$(BIN)/python -m pytest -m "" -v --durations=15

demo: setup
	rm -rf $(OUT)
	$(BIN)/python -m stimuli demo $(OUT)/photos
	$(BIN)/python -m stimuli build $(OUT)/photos --labels $(OUT)/photos/labels.csv --out $(OUT)/stimuli
	$(BIN)/python -m analysis.simulate --participants 18 --out $(OUT)/logs
	$(XRUN) $(BIN)/python -m experiment run --participant demo01 --conditions $(OUT)/stimuli/manifest.csv \
	    --logs $(OUT)/logs --simulate --windowed --no-instructions
	$(BIN)/python -m analysis.report $(OUT)/logs --out $(OUT)/report
	$(BIN)/python -m recognition.train --dataset synthetic --variant hsaw --image-size 64 --epochs 3 \
	    --batch-size 32 --out $(OUT)/hsaw_run
	@echo
	@echo "Demo outputs in $(OUT)/:"
	@echo "  stimuli + manifest:  $(OUT)/stimuli/manifest.csv  (contact sheet: $(OUT)/stimuli/contact_sheet.png)"
	@echo "  session logs:        $(OUT)/logs/  (demo01_s1.csv from the simulated participant in a real window)"
	@echo "  analysis report:     $(OUT)/report/report.html"
	@echo "  HSAW training run:   $(OUT)/hsaw_run/  (metrics.csv, summary.json, confusion_matrix.png)"
