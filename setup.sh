#!/usr/bin/env bash
# Installs what casescraper needs on a Debian machine: Chromium and chromedriver from
# Debian, the pinned Python packages from PyPI. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium chromium-driver >/dev/null
fi
python3 -m pip install -q --disable-pip-version-check -r requirements.txt
