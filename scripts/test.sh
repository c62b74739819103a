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
echo "==> Checking the format (Prettier, .prettierrc.json; npm run format rewrites)" >&2
npx prettier --check --log-level warn "**/*.ts" || { echo "Some files are not formatted: run npm run format, and commit the result." >&2; exit 1; }
echo "==> Running the tests" >&2
npx jest "$@"
