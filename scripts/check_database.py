"""Fail loudly when DATABASE_URL's PostgreSQL server cannot be reached (CI must never skip it).

The database named in the URL need not exist: the test run creates `test_<name>` next to it, so
the server's `postgres` database is enough to prove the server is there."""

import os
import sys
from urllib.parse import urlsplit, urlunsplit

import psycopg

url = os.environ.get("DATABASE_URL", "")


def server_version(dsn: str) -> str:
    with psycopg.connect(dsn, connect_timeout=10) as conn:
        row = conn.execute("show server_version").fetchone()
    return row[0] if row else "?"


try:
    version = server_version(url)
except psycopg.OperationalError as exc:
    if "does not exist" not in str(exc):
        sys.exit(f"PostgreSQL at {url} is unreachable: {exc}")
    maintenance = urlunsplit(urlsplit(url)._replace(path="/postgres"))
    try:
        version = server_version(maintenance)
    except psycopg.Error as exc2:
        sys.exit(f"PostgreSQL at {url} is unreachable: {exc2}")
except psycopg.Error as exc:
    sys.exit(f"PostgreSQL at {url} is unreachable: {exc}")
print(f"PostgreSQL {version} reachable at {url}")
