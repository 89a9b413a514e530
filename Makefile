# hepwatch: every target creates or reuses the local virtualenv (.venv) from the pinned requirements.lock.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export DAGSTER_HOME := $(CURDIR)/.dagster_home

.PHONY: install demo test test-fast test-deployment lint browser dev docs fuzz bench bench-identity bench-e2e generate-sample clean

install: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e . > $(VENV)/install.log 2>&1 \
		|| { cat $(VENV)/install.log; exit 1; }
	@touch $(STAMP)

# The demo runs on synthetic data with a public pseudonymization key, so its outputs are reproducible.
demo: $(STAMP)  ## run the whole pipeline on sample_feeds/ into warehouse/ and print a summary
	HEPWATCH_PSEUDONYM_KEY=hepwatch-demo-key-public-never-use-for-real-data \
		$(BIN)/hepwatch run --feeds sample_feeds --warehouse warehouse

test: lint browser  ## the whole test suite, after lint (the deployment test is its own target)
	$(BIN)/python -m pytest -n 2 -q

test-fast: lint browser  ## the suite without the tests marked slow (multiprocess backfills): about a minute less
	$(BIN)/python -m pytest -n 2 -q -m "not slow and not deployment"

# The report's interactive eDISH is tested in a real headless Chromium (tests/test_report_browser.py).
browser:  ## Chromium and chromedriver from the Debian packages, installed when missing (needs apt and root)
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || { \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; }

test-deployment: $(STAMP)  ## hepwatch under a real dagster-daemon and webserver (a few minutes; CI runs it too)
	$(BIN)/python -m pytest -q -m deployment tests/test_deployment.py

lint: $(STAMP)  ## ruff (lint and format check) and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy hepwatch pipelines assets schemas

dev: $(STAMP)  ## Dagster UI (webserver + daemon) with a persistent instance in .dagster_home/
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/dg dev -h 127.0.0.1 -p 3000

fuzz: $(STAMP)  ## fuzz the HL7 reader, then the dosing CSV reader, FUZZ_SECONDS (default 60) each, with atheris
	$(BIN)/python -m pip install --quiet --disable-pip-version-check atheris==3.0.0
	$(BIN)/python fuzz/fuzz_reader.py --target labs --seconds $${FUZZ_SECONDS:-60}
	$(BIN)/python fuzz/fuzz_reader.py --target dosing --seconds $${FUZZ_SECONDS:-60}

bench: $(STAMP)  ## ingestion of 1M generated ORU messages, then issue 15's targets (hepwatch run on 200k messages, hepwatch generate 100k patients x 365 days); writes bench/results.json
	$(BIN)/python bench/run_bench.py --messages $${BENCH_MESSAGES:-1000000} --files $${BENCH_FILES:-200} \
		--profile $${BENCH_PROFILE:-50000} --python-hl7-sample $${BENCH_PYTHON_HL7_SAMPLE:-50000} \
		--e2e-messages $${BENCH_E2E_MESSAGES:-200000} --generate-patients $${BENCH_GENERATE_PATIENTS:-100000}

bench-identity: $(STAMP)  ## the fast reader against the reader on the whole 1M-message bench feed
	$(BIN)/python bench/run_bench.py --messages $${BENCH_MESSAGES:-1000000} --identity

bench-e2e: $(STAMP)  ## a year of feeds (100k patients) through hepwatch run: full, no change, one new day; 10% to 100%
	$(BIN)/python bench/run_e2e.py --patients $${BENCH_PATIENTS:-100000} --fractions $${BENCH_FRACTIONS:-0.1,0.25,0.5,1} \
		--instance $${BENCH_INSTANCE:-ephemeral}

docs: demo  ## regenerate the README's data dictionary and example query outputs from warehouse/
	$(BIN)/python -m pipelines.docs warehouse

generate-sample: $(STAMP)  ## regenerate the committed sample feeds (deterministic)
	rm -rf sample_feeds && $(BIN)/hepwatch generate --out sample_feeds --patients 300 --days 90 --seed 7

clean:
	rm -rf warehouse .dagster_home/storage .dagster_home/history .dagster_home/schedules .dagster_home/logs
