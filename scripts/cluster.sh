#!/usr/bin/env bash
# Runs production's Temporal (docker-compose.yml: the Temporal server 1.29.1 on PostgreSQL,
# with its shards, databases, dynamic config, namespace and search attributes, and its Web UI)
# on this machine without Docker: a private PostgreSQL, temporal-server and the Web UI server,
# all stopped by Ctrl-C.
#
#   ./scripts/cluster.sh [--dir DIR] [--port PORT] [--ui-port PORT] [--separate-services]
#
#   --dir DIR       state: PostgreSQL data, server config, logs/ (default .data/cluster; kept)
#   --port PORT     the frontend's gRPC port on 127.0.0.1 (default 7233, as compose; 0: a free one)
#   --ui-port PORT  the Web UI's port on 127.0.0.1 (default 8080, as compose; 0: a free one)
#   --separate-services  frontend, history, matching and worker as processes of their own
#                   (default: one process, as compose's auto-setup image)
#
# Needs PostgreSQL (apt-get install -y postgresql) and the server build of
# scripts/ensure-prereqs.sh (built here on first use otherwise). docs/operations.md,
# "Running on PostgreSQL without Docker", says what it does and does not do.
set -euo pipefail
cd "$(dirname "$0")/.."

dir=.data/cluster
port=7233
ui_port=8080
separate=0
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) dir="${2:?--dir needs a directory}"; shift 2 ;;
    --port) port="${2:?--port needs a number}"; shift 2 ;;
    --ui-port) ui_port="${2:?--ui-port needs a number}"; shift 2 ;;
    --separate-services) separate=1; shift ;;
    -h | --help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
  esac
done
case "$port" in '' | *[!0-9]*) echo "--port must be a number, not '$port'" >&2; exit 2 ;; esac
case "$ui_port" in '' | *[!0-9]*) echo "--ui-port must be a number, not '$ui_port'" >&2; exit 2 ;; esac
if [ ! -f node_modules/.package-lock.json ]; then
  echo "npm dependencies are missing: run scripts/ensure-prereqs.sh first" >&2
  exit 1
fi

exec node -e "$(cat <<'EOF'
require('tsx/cjs');
const path = require('node:path');
const { startTemporalCluster } = require('./stack/temporal-cluster.ts');
const { canConnect } = require('./stack/net.ts');
const { TEMPORAL_SERVER_VERSION } = require('./stack/temporal-server-binary.ts');

const [dir, portArg, uiPortArg, separateArg] = process.argv.slice(1);
const separateServices = separateArg === '1';
const port = Number(portArg);
const uiPort = Number(uiPortArg);
const say = (line) => process.stderr.write(`==> ${line}\n`);
let stopping;

(async () => {
  if (port && (await canConnect('127.0.0.1', port))) {
    say(`127.0.0.1:${port} is taken (is \`dco up\` running?): stop it, or pass --port 0 for a free port`);
    process.exit(1);
  }
  if (uiPort && (await canConnect('127.0.0.1', uiPort))) {
    say(`127.0.0.1:${uiPort} is taken: stop what listens there, or pass --ui-port 0 for a free port`);
    process.exit(1);
  }
  // Ctrl-C also reaches temporal-server (same process group), which then stops by itself;
  // PostgreSQL runs in its own session and is stopped here, after the server.
  // A Ctrl-C during the start waits for it to end (a failed start stops what it started).
  const started = Date.now();
  const ports = { ...(port ? { frontend: port } : {}), ...(uiPort ? { ui: uiPort } : {}) };
  const starting = startTemporalCluster({ dir: path.resolve(dir), ports, separateServices, say });
  const stop = (code) => {
    stopping ??= (async () => {
      const cluster = await starting.catch(() => undefined);
      say('Stopping the Web UI, the Temporal server, then PostgreSQL');
      await cluster?.stop();
      process.exit(code);
    })();
  };
  process.on('SIGINT', () => stop(0));
  process.on('SIGTERM', () => stop(0));

  const cluster = await starting;
  if (stopping) return;
  const logs = path.relative(process.cwd(), cluster.logDir) || cluster.logDir;
  say(`Ready in ${((Date.now() - started) / 1000).toFixed(1)} s: Temporal server ${TEMPORAL_SERVER_VERSION} on PostgreSQL ${cluster.postgres.host}:${cluster.postgres.port}`);
  say(`Web UI: ${cluster.uiUrl}`);
  const serverLogs = [...cluster.serverProcesses.keys()].map((name) => `${logs}/${name}.log`).join(', ');
  say(`Logs: ${serverLogs}, ${logs}/temporal-ui.log, ${logs}/postgres.log, ${logs}/setup.log`);
  say(`Use it: TEMPORAL_ADDRESS=${cluster.address} ./bin/dco worker (and bridge, send, ...). Ctrl-C stops all three.`);
  process.stdout.write(`${cluster.address}\n`);
  for (const [name, server] of cluster.serverProcesses) {
    server.exited.then(({ code, signal }) => {
      if (stopping) return;
      say(`${name} exited (${signal ?? code}); see ${logs}/${name}.log`);
      stop(1);
    });
  }
})().catch((err) => {
  if (stopping) return; // interrupted during the start: stop() ends the process
  say(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
EOF
)" "$dir" "$port" "$ui_port" "$separate"
