import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { onPath, toolCacheDir } from './tool-cache';

/** The CLI version we build: later tags cannot be `go install`ed (they use `replace` directives). */
export const TEMPORAL_CLI_VERSION = 'v1.5.1';
const MODULE = `github.com/temporalio/cli/cmd/temporal@${TEMPORAL_CLI_VERSION}`;

/** Outside the clone, so fresh clones on the same machine reuse one build. */
export function temporalCacheDir(): string {
  return toolCacheDir(`temporal-cli-${TEMPORAL_CLI_VERSION}`);
}

/** `TEMPORAL_CLI` if set, else `temporal` on PATH, else the cached build; undefined if none. */
export function findTemporalBinary(): string | undefined {
  if (process.env.TEMPORAL_CLI) return process.env.TEMPORAL_CLI;
  const fromPath = onPath('temporal');
  if (fromPath) return fromPath;
  const cached = path.join(temporalCacheDir(), 'bin', 'temporal');
  return existsSync(cached) ? cached : undefined;
}

/**
 * Finds the Temporal CLI or builds it with Go into the cache. The Temporal CLI is not on any
 * package registry reachable here, and its own download cannot work offline, so we compile it.
 */
export function ensureTemporalBinary(say: (line: string) => void = (l) => process.stderr.write(l + '\n')): string {
  const found = findTemporalBinary();
  if (found) return found;
  if (!onPath('go')) {
    throw new Error(
      'The Temporal CLI is missing and Go is not installed to build it. Install Go >= 1.25, or put ' + '`temporal` on PATH, or set TEMPORAL_CLI to its path.',
    );
  }
  const bin = path.join(temporalCacheDir(), 'bin');
  mkdirSync(bin, { recursive: true });
  say(`Building the Temporal CLI ${TEMPORAL_CLI_VERSION} with Go into ${bin}`);
  say('(first time on this machine only; it takes about 3 minutes on 2 cores)');
  const started = Date.now();
  execFileSync('go', ['install', MODULE], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, GOBIN: bin, CGO_ENABLED: '0', GOFLAGS: '-trimpath' },
  });
  say(`Built the Temporal CLI in ${Math.round((Date.now() - started) / 1000)} s`);
  return path.join(bin, 'temporal');
}
