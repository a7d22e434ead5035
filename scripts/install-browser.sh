#!/usr/bin/env bash
# Installs the headless browser the HTML report tests render pages with (tests/browser.rs).
# Idempotent: does nothing when a Chromium is already on the PATH. Needs apt (Debian/Ubuntu)
# and root or sudo; elsewhere, install Chromium or Chrome yourself.
set -euo pipefail
for b in chromium chromium-browser google-chrome; do
  if command -v "$b" >/dev/null 2>&1; then
    exit 0
  fi
done
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-browser: no apt-get here; install Chromium (or Chrome) and put it on the PATH" >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >/dev/null || true
$sudo apt-get install -y -qq chromium >/dev/null
command -v chromium >/dev/null
