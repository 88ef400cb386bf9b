#!/usr/bin/env bash
# Sets up everything `make run` and `make test` need on a fresh Debian machine that has python3 (3.11+):
# a virtual environment in .venv with the pinned packages, and (with --browser) what the tests need:
# Debian's Chromium, Dovecot (dovecot-imapd) and Redis.
# Safe to run again: it only does what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

want_browser=0
for arg in "$@"; do
  case "$arg" in
    --browser) want_browser=1 ;;
    *) echo "setup.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

apt_install() {
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
      echo "setup.sh: need root (or sudo) to install Debian packages: $*" >&2; exit 1
    fi
  fi
  say "Installing Debian packages: $*"
  if ! $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@"; then
    $sudo apt-get update
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@"
  fi
}

PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "setup.sh: supportdesk needs Python 3.11 or newer; $PYTHON is $("$PYTHON" -V 2>&1)" >&2
  exit 1
fi

if [ ! -x .venv/bin/python ]; then
  say "Creating the virtual environment in .venv"
  if ! "$PYTHON" -m venv .venv 2>/dev/null; then
    rm -rf .venv
    apt_install python3-venv
    "$PYTHON" -m venv .venv
  fi
fi

# The SLA engine's C kernel (setup.py) is compiled on install: it needs a C compiler and the
# headers of the Python that runs supportdesk.
if ! command -v cc >/dev/null 2>&1; then
  apt_install gcc libc6-dev
fi
if ! .venv/bin/python -c 'import os, sys, sysconfig; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))'; then
  apt_install python3-dev
fi

stamp=.venv/.supportdesk-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ requirements/constraints.txt -nt "$stamp" ] \
   || [ setup.py -nt "$stamp" ] || [ src/supportdesk/sla/_kernel.c -nt "$stamp" ]; then
  say "Installing supportdesk and its pinned dependencies into .venv"
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -c requirements/constraints.txt -e '.[dev]'
  touch "$stamp"
fi

if [ "$want_browser" = 1 ] && [ ! -x /usr/bin/chromium ]; then
  apt_install chromium
fi

# The IMAP tests start their own Dovecot (Debian's dovecot-imapd) on loopback, unprivileged.
if [ "$want_browser" = 1 ] && [ ! -x /usr/sbin/dovecot ]; then
  apt_install dovecot-imapd
fi

# The test suite runs one SLA task through Redis (django-tasks-rq) against 127.0.0.1:6379.
if [ "$want_browser" = 1 ] && ! (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; then
  command -v redis-server >/dev/null 2>&1 || apt_install redis-server
  say "Starting Redis on 127.0.0.1:6379 (nothing kept on disk)"
  redis-server --bind 127.0.0.1 --port 6379 --save '' --appendonly no --daemonize yes
fi
