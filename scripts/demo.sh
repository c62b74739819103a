#!/usr/bin/env bash
# The main job: installs what is missing, starts Temporal, Mosquitto, a worker, a bridge and
# simulated devices, sends commands with every kind of outcome and shows what happened.
# The system keeps running for the Web UI until Ctrl-C; pass --exit to stop when done.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-prereqs.sh
exec ./bin/dco demo "$@"
