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
# libxcb-*: PsychoPy's Qt participant dialog; fonts-wqy-microhei: the Chinese instructions
APT_PACKAGES := xvfb xdotool libjack-jackd2-0 x11-utils libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 fonts-wqy-microhei
# chromium: the online session's browser tests (tests/web, driven by Playwright; no browser download)
APT_PACKAGES += chromium
# The experiment needs a display; without one, run it on a virtual one.
XRUN := $(if $(DISPLAY),,xvfb-run -a -s "-screen 0 1280x1024x24")

.PHONY: demo test setup system-packages clean-demo web-runtime

setup: system-packages $(VENV)/.installed web-runtime

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

# constraints.txt pins torch/torchvision to what installs from these machines' disk; pyproject.toml only
# asks for lower bounds, so `pip install -e '.[recognition]'` keeps a user's own (CUDA) torch.
$(VENV)/.installed: pyproject.toml constraints.txt
	@echo "creating $(VENV) with $(PYTHON) ($$($(PYTHON) --version))"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -e '.[all,dev]'
	@touch $@

# jsPsych for `python -m experiment web`: npm installs the pinned versions (experiment/web/npm/) once
# into a cache outside the repository (~/.cache/halfface/web; HALFFACE_WEB_CACHE), so builds and tests need no network.
web-runtime: $(VENV)/.installed
	@command -v npm >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then echo "installing apt packages: nodejs npm"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; \
	  else echo "missing npm (run: sudo apt-get install nodejs npm)"; exit 1; fi; }
	$(BIN)/python -m experiment.web.npm

# Three pytest-xdist workers on 2 cores (TEST_WORKERS=0 runs serially): the browser and window tests spend
# much of their time waiting on real clocks, so a third worker fills that time (measured: 5 min 26 s vs 5 min 50 s).
# --dist loadfile keeps each test file on one worker, so a module's shared fixture (a built site, a running
# cluster, a trained checkpoint) is built once; --no-loadscope-reorder hands the files out in the order
# tests/conftest.py sorts them (longest first) instead of by number of tests (measured: 5 min 11 s vs 5 min 26 s).
# --durations: the slowest tests, in every CI log.
# One BLAS/OpenMP thread per process: three workers already share two cores, and extra threads only spin.
# Bytecode is cached (some machines set PYTHONDONTWRITEBYTECODE): each worker would otherwise rewrite the
# asserts of every test file again, about 2 s of CPU per worker.
TEST_WORKERS ?= 3
test: setup
	env -u PYTHONDONTWRITEBYTECODE OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 \
	  $(BIN)/python -m pytest -m "" -v -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder --durations=25

demo: setup
	rm -rf $(OUT)
	$(BIN)/python -m stimuli demo $(OUT)/photos
	$(BIN)/python -m stimuli build $(OUT)/photos --labels $(OUT)/photos/labels.csv --out $(OUT)/stimuli
	$(BIN)/python -m analysis.simulate --participants 18 --out $(OUT)/logs
	$(XRUN) $(BIN)/python -m experiment run --participant demo01 --conditions $(OUT)/stimuli/manifest.csv \
	    --logs $(OUT)/logs --simulate --windowed --no-instructions --allow-unlocked-display \
	    --practice-conditions stimuli/demo_practice/manifest.csv
	$(BIN)/python -m analysis.report $(OUT)/logs --out $(OUT)/report --include-simulated
	@echo "analysis.power on the demo logs: a SMOKE RUN (20 simulated studies per size; use --sims 200+ for a plan)"
	$(BIN)/python -m analysis.power $(OUT)/logs --participants 12,24 --sims 20 --jobs 2 --include-simulated \
	    --no-progress --out $(OUT)/power
	$(BIN)/python -m recognition.train --dataset synthetic --variant hsaw --image-size 64 --epochs 3 \
	    --batch-size 32 --out $(OUT)/hsaw_run
	@echo "recognition.table2 on the demo stimuli: a SMOKE RUN (2 folds, 1 seed, 2 epochs; the demo's labels are"
	@echo "fictitious variants of one photo, so chance accuracy is expected). The paper's Table 2: docs/recognition.md"
	$(BIN)/python -m recognition.table2 --data $(OUT)/stimuli/manifest.csv --arch alexnet,resnet18 --folds 2 \
	    --seeds 1 --epochs 2 --out $(OUT)/table2
	$(BIN)/python -m experiment web --conditions $(OUT)/stimuli/manifest.csv \
	    --practice-conditions stimuli/demo_practice/manifest.csv --out $(OUT)/site
	@echo
	@echo "Demo outputs in $(OUT)/:"
	@echo "  stimuli + manifest:  $(OUT)/stimuli/manifest.csv  (contact sheet: $(OUT)/stimuli/contact_sheet.png)"
	@echo "  session logs:        $(OUT)/logs/  (demo01_halfface_<date>_<time>.csv from the simulated participant in a real window)"
	@echo "  analysis report:     $(OUT)/report/report.html"
	@echo "  power curves:        $(OUT)/power/power.png  (power.csv, power.txt)"
	@echo "  HSAW training run:   $(OUT)/hsaw_run/  (metrics.csv, summary.json, confusion_matrix.png)"
	@echo "  Table 2 smoke run:   $(OUT)/table2/table2.md  (table2.csv, runs.csv, fig4.png)"
	@echo "  online session site: $(OUT)/site/  (python -m experiment serve $(OUT)/site --logs $(OUT)/web_logs)"
