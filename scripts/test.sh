#!/usr/bin/env bash
# What `make test` runs after set-up. Every step must pass; pytest's "no tests collected" (exit 5)
# fails like any other error.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
# The test settings, whatever the caller's environment says (make exports the dev settings for
# `make run`; pytest-django would prefer that variable to pyproject's setting).
export DJANGO_SETTINGS_MODULE=supportdesk.settings.test
say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

say "ruff (lint and format)"
$BIN/ruff check src bench
$BIN/ruff format --check src bench

say "mypy"
$BIN/mypy src/supportdesk

say "import-linter"
$BIN/lint-imports

say "migrations are committed with their models"
DATABASE_URL= $BIN/supportdesk makemigrations --check --dry-run

workers=${PYTEST_WORKERS:-2}
say "pytest on SQLite"
DATABASE_URL=sqlite:// $BIN/pytest -n "$workers" -p no:cacheprovider "$@"

case "${DATABASE_URL:-}" in
  postgres://*|postgresql://*)
    say "pytest on PostgreSQL ($DATABASE_URL)"
    $BIN/python scripts/check_database.py
    $BIN/pytest -n "$workers" -p no:cacheprovider "$@"
    ;;
  "")
    echo "DATABASE_URL is not set: the PostgreSQL run is skipped (set it to run the suite on PostgreSQL too)."
    ;;
  *)
    echo "DATABASE_URL=$DATABASE_URL is not a PostgreSQL URL" >&2; exit 1 ;;
esac
