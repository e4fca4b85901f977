# sociale-kaart-sync: the commands a newcomer and CI use.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo demo-search test run down stack lint schemas check-compose check-alerts eval-matching fuzz bench bench-quick bench-scale chaos clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,dev,local]"
	touch $(STAMP)

## The main job on the embedded default: local Kafka + PostgreSQL, the service, the sample feed;
## then the console stays open (its address and a demo login are printed) until Ctrl-C.
demo: $(STAMP)
	$(BIN)/sksync demo --keep

## The same, then the reference search index built from the fiche events, and a few searches.
demo-search: $(STAMP)
	$(BIN)/sksync demo-search

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
	$(BIN)/ruff check sync devstack tests scripts bench chaos
	$(BIN)/mypy

schemas: $(STAMP)
	$(BIN)/python scripts/make_samples.py
	$(BIN)/sksync schemas

## Precision and recall of matching on the labelled set (docs/matching.md).
## The labelled set and a fresh one drawn from another seed (MATCHING_SEED=... for others).
MATCHING_SEED ?= 20261204
eval-matching: $(STAMP)
	fresh=$$(mktemp -d) && trap 'rm -rf "$$fresh"' EXIT && \
	$(BIN)/python scripts/make_matching_eval.py --seed $(MATCHING_SEED) --out "$$fresh" && \
	$(BIN)/python -m sync.matching.evaluate --curve --cases tests/data/matching "$$fresh"

## Fuzz every source's decode-validate-map path (100,000 inputs) and ingest a million-row export.
fuzz: $(STAMP)
	SKSYNC_FUZZ_EXAMPLES=100000 SKSYNC_HOSTILE_ROWS=1000000 $(BIN)/python -m pytest -q --timeout=0 \
		tests/unit/test_fuzz_mapping.py tests/e2e/test_hostile_input.py

## The benchmark: initial load, steady-state latency at 100/s and 500/s, the highest rate with
## p99 < 250 ms, memory, limits, Kafka Connect, and the table of targets (bench/README.md).
bench: $(STAMP)
	$(BIN)/python -m bench.run $(BENCH_ARGS)

## The same in about two minutes: 3,000 events, 100/s and 500/s for 5 s, a 30 s rate search,
## no Kafka Connect.
bench-quick: $(STAMP)
	$(BIN)/python -m bench.run --quick $(BENCH_ARGS)

## The cost of the initial load by size, each on a fresh database and topics (1,000,000 events
## take 15 minutes or more); BENCH_SIZES="2000 5000" for a short check.
BENCH_SIZES ?= 20000 200000 1000000
bench-scale: $(STAMP)
	$(BIN)/python -m bench.run --sizes $(BENCH_SIZES) $(BENCH_ARGS)

## Fault injection: 100,000 events through a fault-free service and one under SIGKILLs, a broker
## and a database restart and rebalances; figures in chaos/results/latest.json.
chaos: $(STAMP)
	$(BIN)/python -m chaos.run $(CHAOS_ARGS)

check-alerts:
	scripts/check_alerts.sh

check-compose:
	@if docker compose version >/dev/null 2>&1; then docker compose config --quiet && echo "docker-compose.yml is valid"; \
	else echo "no docker compose plugin here: docker-compose.yml is checked by tests/unit/test_deploy_files.py"; fi

clean: down
	rm -rf .stack
