import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { onPath, toolCacheDir } from './tool-cache';

/**
 * The Temporal server we build: the version of docker-compose.yml's images
 * (temporalio/auto-setup:1.29.1) and the one the Temporal CLI v1.5.1 embeds (its go.mod), so
 * the dev server and this one run the same server code. Its go.mod has no `replace`
 * directives, so `go install pkg@version` works.
 */
export const TEMPORAL_SERVER_VERSION = 'v1.29.1';
const PACKAGES = {
  server: `go.temporal.io/server/cmd/server@${TEMPORAL_SERVER_VERSION}`,
  sqlTool: `go.temporal.io/server/cmd/tools/sql@${TEMPORAL_SERVER_VERSION}`,
};

export interface TemporalServerBinaries {
  /** `temporal-server`: all Temporal services (`start --service ...`), configured by a YAML file. */
  server: string;
  /** `temporal-sql-tool`: creates databases and applies the schema versions it embeds. */
  sqlTool: string;
}

/** Outside the clone, like the Temporal CLI, so fresh clones on the same machine reuse one build. */
export function temporalServerCacheDir(): string {
  return toolCacheDir(`temporal-server-${TEMPORAL_SERVER_VERSION}`);
}

function cachedBinaries(): TemporalServerBinaries {
  const bin = path.join(temporalServerCacheDir(), 'bin');
  return { server: path.join(bin, 'temporal-server'), sqlTool: path.join(bin, 'temporal-sql-tool') };
}

/** The cached build, or undefined when either binary is missing. */
export function findTemporalServerBinaries(): TemporalServerBinaries | undefined {
  const binaries = cachedBinaries();
  return existsSync(binaries.server) && existsSync(binaries.sqlTool) ? binaries : undefined;
}

/**
 * Finds the Temporal server and its SQL tool, or builds both with Go into the cache. No
 * registry reachable here ships them (they come as Docker images and GitHub release archives),
 * so we compile them, statically (CGO_ENABLED=0), like the CLI. Never skips: without Go, it throws.
 */
export function ensureTemporalServerBinaries(say: (line: string) => void = (l) => process.stderr.write(l + '\n')): TemporalServerBinaries {
  const found = findTemporalServerBinaries();
  if (found) return found;
  const help =
    'Install Go >= 1.25 (https://go.dev/dl/), make sure the Go module proxy is reachable (`go env GOPROXY`), ' + 'then run scripts/ensure-prereqs.sh again.';
  if (!onPath('go')) throw new Error(`The Temporal server ${TEMPORAL_SERVER_VERSION} is not built and Go is not installed to build it. ${help}`);
  const target = cachedBinaries();
  const bin = path.dirname(target.server);
  // `go install` names the binaries after their packages (server, sql): into a private
  // directory, then renamed, so a concurrent run never sees half of a build.
  const partial = path.join(temporalServerCacheDir(), `bin.${process.pid}.tmp`);
  mkdirSync(partial, { recursive: true });
  mkdirSync(bin, { recursive: true });
  say(`Building the Temporal server ${TEMPORAL_SERVER_VERSION} and its SQL tool with Go into ${bin}`);
  say('(first time on this machine only; it takes about 5 minutes on 2 cores)');
  const started = Date.now();
  const built = spawnSync('go', ['install', PACKAGES.server, PACKAGES.sqlTool], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, GOBIN: partial, CGO_ENABLED: '0', GOFLAGS: '-trimpath -buildvcs=false' },
  });
  if (built.error || built.status !== 0) {
    rmSync(partial, { recursive: true, force: true });
    const why = built.error ? built.error.message : `go install exited with ${built.signal ?? built.status}`;
    throw new Error(`Building the Temporal server failed (${why}; Go's output is above). ${help}`);
  }
  renameSync(path.join(partial, 'sql'), target.sqlTool);
  renameSync(path.join(partial, 'server'), target.server);
  rmSync(partial, { recursive: true, force: true });
  say(`Built the Temporal server in ${Math.round((Date.now() - started) / 1000)} s`);
  return target;
}
