# sociale-kaart-sync: the commands a newcomer and CI use.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test run down stack lint schemas check-compose check-alerts clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,dev]"
	touch $(STAMP)

## The main job on the embedded default: local Kafka + PostgreSQL, the service, the sample feed.
demo: $(STAMP)
	$(BIN)/sksync demo

## The whole suite (unit, integration on real PostgreSQL, e2e on real Kafka + PostgreSQL).
test: $(STAMP)
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

## The service in the foreground on the embedded default (make down stops the stack).
run: $(STAMP)
	$(BIN)/sksync stack up
	set -a && . ./.stack/env && set +a && $(BIN)/sksync run

stack: $(STAMP)
	$(BIN)/sksync stack up

down: $(STAMP)
	$(BIN)/sksync stack down

lint: $(STAMP)
	$(BIN)/ruff check sync tests scripts
	$(BIN)/mypy

schemas: $(STAMP)
	$(BIN)/python scripts/make_samples.py
	$(BIN)/sksync schemas

check-alerts:
	scripts/check_alerts.sh

check-compose:
	@if docker compose version >/dev/null 2>&1; then docker compose config --quiet && echo "docker-compose.yml is valid"; \
	else echo "no docker compose plugin here: docker-compose.yml is checked by tests/unit/test_deploy_files.py"; fi

clean: down
	rm -rf .stack
