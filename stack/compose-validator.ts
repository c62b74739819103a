import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { onPath, toolCacheDir } from './tool-cache';

/** tools/compose-validate: a Go program that checks a compose file with Docker Compose's own loader. */
export const COMPOSE_VALIDATOR_SOURCE = path.resolve(__dirname, '..', 'tools', 'compose-validate');
const SOURCE_FILES = ['go.mod', 'go.sum', 'main.go'];

/** The compose-go version pinned in its go.mod (for messages and docs). */
export function composeGoVersion(): string {
  const goMod = readFileSync(path.join(COMPOSE_VALIDATOR_SOURCE, 'go.mod'), 'utf8');
  const m = /github\.com\/compose-spec\/compose-go\/v2 (v\S+)/.exec(goMod);
  if (!m) throw new Error(`${COMPOSE_VALIDATOR_SOURCE}/go.mod does not require github.com/compose-spec/compose-go/v2`);
  return m[1];
}

/**
 * Where the build for the current source lives: outside the clone, like the Temporal CLI, and
 * named by a hash of the source so that any change to it (a new compose-go, an edited main.go)
 * builds a new binary instead of reusing a stale one.
 */
export function composeValidatorPath(): string {
  const hash = createHash('sha256');
  for (const file of SOURCE_FILES) {
    hash.update(`${file}\0`);
    hash.update(readFileSync(path.join(COMPOSE_VALIDATOR_SOURCE, file)));
    hash.update('\0');
  }
  return path.join(toolCacheDir(`compose-validate-${hash.digest('hex').slice(0, 16)}`), 'compose-validate');
}

/**
 * Finds the compose validator for the current source or builds it with Go into the cache.
 * Docker Compose is not installable here (and Debian's docker-compose 1.x rejects the file), so
 * we compile the loader Compose v2 itself uses. Never skips: without Go, it throws.
 */
export function ensureComposeValidator(say: (line: string) => void = (l) => process.stderr.write(l + '\n')): string {
  const binary = composeValidatorPath();
  if (existsSync(binary)) return binary;
  const version = composeGoVersion();
  const help =
    'Install Go >= 1.24 (https://go.dev/dl/), make sure the Go module proxy is reachable (`go env GOPROXY`), ' + 'then run scripts/ensure-prereqs.sh again.';
  if (!onPath('go')) throw new Error(`The compose validator (tools/compose-validate) is not built and Go is not installed to build it. ${help}`);
  const dir = path.dirname(binary);
  mkdirSync(dir, { recursive: true });
  say(`Building the compose validator (compose-go ${version}) with Go into ${dir}`);
  say('(once per change of tools/compose-validate; under a minute on 2 cores)');
  const started = Date.now();
  // Into a temporary name, then renamed: a concurrent run never sees a half-written binary.
  // -mod=readonly: exactly what go.mod and go.sum pin, whatever GOFLAGS says.
  const partial = `${binary}.${process.pid}.tmp`;
  const built = spawnSync('go', ['build', '-mod=readonly', '-trimpath', '-buildvcs=false', '-o', partial, '.'], {
    cwd: COMPOSE_VALIDATOR_SOURCE,
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, CGO_ENABLED: '0' },
  });
  if (built.error || built.status !== 0) {
    rmSync(partial, { force: true });
    const why = built.error ? built.error.message : `go build exited with ${built.signal ?? built.status}`;
    throw new Error(`Building the compose validator failed (${why}; Go's output is above). ${help}`);
  }
  renameSync(partial, binary);
  say(`Built the compose validator in ${Math.round((Date.now() - started) / 1000)} s`);
  return binary;
}
