# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Processes `make run` starts; no sandbox when a real Deepgram key is configured.
PROCESSES := web worker beat $(if $(DEEPGRAM_API_KEY),,sandbox)

.PHONY: install run test lint format bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Without a .env, `make run` prints demo seller details on invoices (the environment wins).
ifeq ($(wildcard .env),)
run: export BILLING_LOGO_PATH ?= billing/logo.svg
run: export BILLING_TAX_ID ?= GB 000 0000 00 (demo)
run: export BILLING_BANK_DETAILS ?= Demo Bank plc, sort code 00-00-00, account 00000000
endif
run: $(STAMP)
	mkdir -p var
	DJANGO_DEBUG=1 $(BIN)/python manage.py migrate --noinput
	DJANGO_DEBUG=1 $(BIN)/python manage.py seed_demo
	DJANGO_DEBUG=1 PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho start $(PROCESSES)

test: $(STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

# Style, then shape: the import contracts of pyproject.toml and the size bounds of modules and
# functions (tools/check_sizes.py).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-logo --cache-dir var/import-linter
	$(BIN)/python tools/check_sizes.py

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(STAMP)
	$(BIN)/python bench/run.py
	$(BIN)/python bench/sync.py $(BENCH_ARGS)
	$(BIN)/python bench/invoices.py
	$(BIN)/python bench/invoices.py --mode hourly --line-items
	$(BIN)/python bench/invoices.py --mode rate_card
	$(BIN)/python bench/invoices.py --mode cost_plus
	$(BIN)/python bench/pdf.py

clean:
	rm -rf $(VENV) var/db.sqlite3 var/celery var/sandbox-state.json staticfiles
