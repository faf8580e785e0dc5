#!/usr/bin/env bash
# The README's test command: install what the tests need (Python packages, this repository itself as an
# editable package; Debian's Chromium, nginx and redis-server where missing), make sure MNIST is on disk
# (downloading it where it is not), lint, then run the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install -q -r requirements-dev.txt
python -m pip install -q --no-deps -e .   # cnnviz and its tooling (livetest, bench, deploy, scripts) as packages

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)   # the browser tests
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)   # the reverse-proxy test
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)   # the class store's Redis tests
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing ${missing[*]} from Debian for the tests..."
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# MNIST: $CNNVIZ_DATA if set; else ../shared/data where it exists (CI); else the default data folder
# (~/.cache/cnnviz). Where the files are missing, torchvision downloads them (with its progress bar);
# with no network this stops here with one message naming the folder, instead of failing test by test.
if [ -z "${CNNVIZ_DATA:-}" ] && [ -d ../shared/data ]; then
  CNNVIZ_DATA="$(cd ../shared/data && pwd)"
  export CNNVIZ_DATA
fi
python -m cnnviz.data --download || exit 1

python -m ruff check .
exec python -m pytest "$@"
