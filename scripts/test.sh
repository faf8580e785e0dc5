#!/usr/bin/env bash
# Install what the tests need (Python packages, Debian's Chromium where missing) and run the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install -q -r requirements-dev.txt
if ! command -v chromium >/dev/null 2>&1; then
  echo "Installing Chromium from Debian for the browser tests..."
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
export CNNVIZ_DATA="${CNNVIZ_DATA:-$(cd .. && pwd)/shared/data}"
exec python -m pytest "$@"
