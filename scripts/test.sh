#!/usr/bin/env bash
# The tests: installs what is missing, type-checks, lints, then runs every test (unit and end to end)
# against a real Temporal dev server and a real Mosquitto that the test setup starts.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-prereqs.sh
echo "==> Type-checking" >&2
npx tsc --noEmit -p .
echo "==> Linting (eslint.config.mjs: floating promises, workflow imports)" >&2
npx eslint --max-warnings 0 .
echo "==> Running the tests" >&2
npx jest "$@"
