#!/usr/bin/env bash
# Installs what casescraper needs on a Debian or Ubuntu machine: Chromium and chromedriver
# from the distribution, and the pinned Python packages (requirements.txt) into a virtual
# environment, .venv, since a stock Debian/Ubuntu Python refuses `pip install` into itself
# (PEP 668, "externally-managed-environment"). Safe to run again: it only does what is missing.
#   PYTHON=python3.12 ./setup.sh    builds .venv from another interpreter (default: python3)
set -euo pipefail
cd "$(dirname "$0")"
PYTHON="${PYTHON:-python3}"
MIN="3.10"

# Root runs apt-get itself; anyone else through sudo.
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
updated=""
apt_install() {
  [ -n "$updated" ] || { as_root apt-get update -qq; updated=1; }
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}
say() { echo "setup.sh: $*"; }
version_ok() { "$1" -c "import sys; sys.exit(sys.version_info < (${MIN/./, }))" 2>/dev/null; }

# 1. The Python version, before anything is installed.
if ! version_ok "$PYTHON"; then
  found=$("$PYTHON" -c 'import sys; print("Python %d.%d" % sys.version_info[:2])' 2>/dev/null || echo "not found")
  echo "setup.sh: error: casescraper needs Python $MIN or newer; $PYTHON is $found: install python3.10 or newer and run PYTHON=python3.X ./setup.sh" >&2
  exit 1
fi

say "$("$PYTHON" -c 'import sys; print("Python %d.%d" % sys.version_info[:2])') ($PYTHON): ok"

# 2. Chromium and chromedriver.
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  say "installing Chromium and chromedriver with apt-get (a minute or two)"
  apt_install chromium chromium-driver
fi
say "Chromium and chromedriver: ok"

# 2b. redis-server: the work queue of a job run on many hosts (README "Many hosts"); the
# tests start one of their own on a free port. Debian's package also starts a service
# bound to localhost: stop it (systemctl disable --now redis-server) if you do not use it.
if ! command -v redis-server >/dev/null; then
  say "installing redis-server with apt-get"
  apt_install redis-server
fi
say "redis-server: ok"

# 3. The virtual environment. Debian ships venv's pip bootstrap (ensurepip) apart, in
# python3-venv; without it `python3 -m venv` fails half-way, so it is installed first.
if ! { [ -x .venv/bin/python ] && version_ok .venv/bin/python && .venv/bin/python -m pip --version >/dev/null 2>&1; }; then
  if ! "$PYTHON" -c "import ensurepip, venv" 2>/dev/null; then
    say "installing python3-venv with apt-get"
    apt_install python3-venv "python$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')-venv"
  fi
  say "creating the virtual environment .venv"
  rm -rf .venv
  "$PYTHON" -m venv .venv
fi
say "virtual environment .venv: ok"

# 4. The pinned packages; skipped when this requirements.txt is already installed there.
if ! cmp -s requirements.txt .venv/.requirements.installed; then
  say "installing the pinned Python packages (requirements.txt) into .venv (a minute or two)"
  .venv/bin/python -m pip install -q --disable-pip-version-check -r requirements.txt
  cp requirements.txt .venv/.requirements.installed
fi
say "Python packages: ok"
say "ready: run .venv/bin/python -m scrapy crawl cases -a site=demo -a year=2025 -a max_cases=50"
