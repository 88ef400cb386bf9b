"""Fail loudly when DATABASE_URL's PostgreSQL server cannot be reached (CI must never skip it)."""

import os
import sys

import psycopg

url = os.environ.get("DATABASE_URL", "")
try:
    with psycopg.connect(url, connect_timeout=10) as conn:
        version = conn.execute("show server_version").fetchone()
except psycopg.Error as exc:
    sys.exit(f"PostgreSQL at {url} is unreachable: {exc}")
print(f"PostgreSQL {version[0] if version else '?'} reachable at {url}")
