# The two commands of the README: `make run` and `make test`. Each sets itself up.
SHELL := /bin/bash
PORT ?= 8000
MAIL_PORT ?= 2525
VENV := .venv
BIN := $(VENV)/bin
export DJANGO_SETTINGS_MODULE ?= supportdesk.settings.dev

.PHONY: run test setup lint typecheck test-sqlite test-postgres bench clean

setup:
	@scripts/setup.sh

## make run: SQLite, demo data on first start, web + worker on 127.0.0.1:$(PORT) and the mail
## listener (LMTP) on 127.0.0.1:$(MAIL_PORT)
run: setup
	@$(BIN)/supportdesk run --port $(PORT) --mail-port $(MAIL_PORT)

## make test: lint, types, import contracts, migrations check, then the suite on SQLite
## (and on PostgreSQL too when DATABASE_URL points at one)
test:
	@scripts/setup.sh --browser
	@scripts/test.sh

lint: setup
	$(BIN)/ruff check src bench
	$(BIN)/ruff format --check src bench

clean:
	rm -rf $(VENV) var/test-artifacts build src/supportdesk/sla/_kernel.*.so
