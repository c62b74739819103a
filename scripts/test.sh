#!/usr/bin/env bash
# The tests: installs what is missing, type-checks, then runs every test (unit and end to end)
# against a real Temporal dev server and a real Mosquitto that the test setup starts.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-prereqs.sh
echo "==> Type-checking" >&2
npx tsc --noEmit -p .
echo "==> Running the tests" >&2
npx jest "$@"
