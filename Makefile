# The two commands a new user needs: `make run` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/pip
export YOLO_OFFLINE := 1
export YOLO_CONFIG_DIR := $(CURDIR)/var/ultralytics
export TF_CPP_MIN_LOG_LEVEL := 2
export MPLBACKEND := Agg
export PYTHONUNBUFFERED := 1

.PHONY: run test test-unit test-e2e test-faults bench lint install system-deps venv migrate seed clean

run: install migrate seed ## install what is missing, migrate, start web + workers on 127.0.0.1:8000
	@bash scripts/run.sh

test: install ## the whole suite (unit, end-to-end, faults)
	$(BIN)/python -m pytest -q tests

test-unit: install
	$(BIN)/python -m pytest -q tests/unit

test-e2e: install
	$(BIN)/python -m pytest -q tests/e2e

test-faults: install
	$(BIN)/python -m pytest -q -m faults tests

bench: install migrate ## run the benchmarks and rewrite BENCHMARKS.md
	$(BIN)/python -m bench.run

lint: install
	$(BIN)/ruff check .

install: system-deps venv
	@mkdir -p var/ultralytics

system-deps: ## ffmpeg, redis-server, chromium + chromedriver (browser tests) from Debian, when missing
	@missing=""; \
	for cmd in ffmpeg ffprobe redis-server redis-cli chromium chromedriver; do command -v $$cmd >/dev/null || missing=1; done; \
	$(PYTHON) -c "import venv, ensurepip" 2>/dev/null || missing=1; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" != 0 ]; then echo "need root to apt-get install ffmpeg redis-server python3-venv chromium chromium-driver"; exit 1; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ffmpeg redis-server python3-venv python3-dev chromium chromium-driver >/dev/null; \
	fi

venv: $(VENV)/.installed

# PyTorch's CPU build goes in first and is pinned by constraints.txt, so nothing pulls CUDA wheels.
$(VENV)/.installed: requirements.txt requirements-dev.txt constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -c constraints.txt torch==2.13.0
	$(PIP) install -q -c constraints.txt -r requirements.txt -r requirements-dev.txt
	@touch $@

migrate: install
	@mkdir -p var
	$(BIN)/alembic upgrade head

seed: migrate
	$(BIN)/flask --app wsgi exercises load --if-empty
	$(BIN)/flask --app wsgi references load --if-empty

clean:
	rm -rf var/storage var/app.db* var/celerybeat-schedule*
