#!/usr/bin/env bash
# Installs what dco needs on a fresh machine (Node 20, npm, Go and apt are assumed present):
#   - npm dependencies (npm ci, when package-lock.json changed since the last install)
#   - Mosquitto 2 and its clients, openssl, Chromium and PostgreSQL, from Debian
#   - the Temporal CLI (dev server), built once with Go into ~/.cache/dco (about 3 minutes)
#   - the compose file's validator (compose-go, tools/compose-validate), built with Go likewise (under a minute)
#   - the Temporal server and its SQL tool (the PostgreSQL cluster), built with Go likewise (about 4 minutes)
#   - the Temporal Web UI server for that cluster, built with Go likewise (under a minute)
# Safe to run again: each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

# Bold on a terminal, plain text in logs and when NO_COLOR is set (https://no-color.org).
if [ -t 2 ] && [ -z "${NO_COLOR:-}" ]; then
  say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
else
  say() { printf '==> %s\n' "$*" >&2; }
fi

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "Installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund
fi

# From Debian: Mosquitto and its clients (the broker, mosquitto_passwd, mosquitto_pub/sub),
# openssl (test certificates) and Chromium (the Web UI browser test, driven by playwright-core).
missing=()
{ command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ]; } || missing+=(mosquitto)
command -v mosquitto_pub >/dev/null 2>&1 || missing+=(mosquitto-clients)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
[ -x /usr/bin/chromium ] || missing+=(chromium)
# PostgreSQL: the Temporal server on PostgreSQL (scripts/cluster.sh, test/e2e/postgres-cluster.test.ts).
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || command -v initdb >/dev/null 2>&1 || missing+=(postgresql)
if [ ${#missing[@]} -gt 0 ]; then
  say "Installing from Debian: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Finds temporal on PATH or in the cache, else builds it (and says so).
node -e "require('tsx/cjs'); console.error('Temporal CLI: ' + require('./stack/temporal-binary.ts').ensureTemporalBinary())"
node -e "require('tsx/cjs'); console.error('Compose validator: ' + require('./stack/compose-validator.ts').ensureComposeValidator())"
node -e "require('tsx/cjs'); console.error('Temporal server: ' + require('./stack/temporal-server-binary.ts').ensureTemporalServerBinaries().server)"
node -e "require('tsx/cjs'); console.error('Temporal Web UI: ' + require('./stack/temporal-ui-binary.ts').ensureTemporalUi().server)"

# The Python example of docs/service-api.md is run by a test, with the Temporal SDK for Python
# in a virtual environment of its own (nothing installed into the system's Python).
PY_VENV="${HOME}/.cache/dco/python-temporalio-1.35.0"
if [ ! -x "$PY_VENV/bin/python" ] || ! "$PY_VENV/bin/python" -c 'import temporalio' 2>/dev/null; then
  say "Installing the Temporal Python SDK (temporalio 1.35.0) into $PY_VENV"
  python3 -m venv "$PY_VENV"
  "$PY_VENV/bin/pip" install -q --disable-pip-version-check temporalio==1.35.0
fi
