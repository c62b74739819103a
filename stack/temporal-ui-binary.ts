import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { onPath, toolCacheDir } from './tool-cache';

/**
 * The Temporal Web UI we build for the cluster: the UI server the Temporal CLI v1.5.1 embeds
 * (its go.mod), so the dev server and the cluster show operators the same UI, and the version of
 * docker-compose.yml's `temporalio/ui` image (test/unit/compose-config.test.ts keeps them equal).
 * Its go.mod has no `replace` directives, so `go install pkg@version` works (2.34.0's does not).
 */
export const TEMPORAL_UI_VERSION = 'v2.42.1';
const MODULE = 'github.com/temporalio/ui-server/v2';
const PACKAGE = `${MODULE}/cmd/server@${TEMPORAL_UI_VERSION}`;

export interface TemporalUiBuild {
  /** `temporal-ui-server start`, run with `--root <root> --config config --env docker`. */
  server: string;
  /**
   * Its configuration root: config/docker.yaml is the template the Docker image renders from
   * its environment (TEMPORAL_ADDRESS, TEMPORAL_UI_PORT, ...), copied from the module; and
   * config/base.yaml binds it to loopback, as compose publishes it on 127.0.0.1 only.
   */
  root: string;
}

/** Outside the clone, like the Temporal CLI and server, so fresh clones on the same machine reuse one build. */
export function temporalUiCacheDir(): string {
  return toolCacheDir(`temporal-ui-${TEMPORAL_UI_VERSION}`);
}

function cachedBuild(): TemporalUiBuild {
  const root = temporalUiCacheDir();
  return { server: path.join(root, 'bin', 'temporal-ui-server'), root };
}

const configFile = (root: string, name: string) => path.join(root, 'config', name);

/** The cached build, or undefined when the binary or its configuration is missing. */
export function findTemporalUi(): TemporalUiBuild | undefined {
  const build = cachedBuild();
  const complete = [build.server, configFile(build.root, 'docker.yaml'), configFile(build.root, 'base.yaml')].every((f) => existsSync(f));
  return complete ? build : undefined;
}

/** Where Go put the module's source (`go mod download -json`), for its config template. */
function moduleDir(): string {
  const out = spawnSync('go', ['mod', 'download', '-json', `${MODULE}@${TEMPORAL_UI_VERSION}`], { encoding: 'utf8', cwd: os.tmpdir() });
  const dir = out.status === 0 ? (JSON.parse(out.stdout) as { Dir?: string }).Dir : undefined;
  if (!dir) throw new Error(`go mod download ${MODULE}@${TEMPORAL_UI_VERSION} failed: ${out.stderr || out.error?.message}`);
  return dir;
}

/**
 * Finds the Web UI server, or builds it with Go into the cache (about 30 s once its modules are
 * fetched). No registry reachable here ships it (it comes as a Docker image), so we compile it,
 * statically, like the server. Never skips: without Go, it throws with what to do.
 */
export function ensureTemporalUi(say: (line: string) => void = (l) => process.stderr.write(l + '\n')): TemporalUiBuild {
  const found = findTemporalUi();
  if (found) return found;
  const help =
    'Install Go >= 1.23 (https://go.dev/dl/), make sure the Go module proxy is reachable (`go env GOPROXY`), ' + 'then run scripts/ensure-prereqs.sh again.';
  if (!onPath('go')) throw new Error(`The Temporal Web UI ${TEMPORAL_UI_VERSION} is not built and Go is not installed to build it. ${help}`);
  const target = cachedBuild();
  // Into a private directory, then renamed, so a concurrent run never sees half of a build.
  const partial = path.join(target.root, `build.${process.pid}.tmp`);
  mkdirSync(partial, { recursive: true });
  mkdirSync(path.dirname(target.server), { recursive: true });
  mkdirSync(path.join(target.root, 'config'), { recursive: true });
  say(`Building the Temporal Web UI ${TEMPORAL_UI_VERSION} with Go into ${target.root} (first time on this machine only)`);
  const started = Date.now();
  const built = spawnSync('go', ['install', PACKAGE], {
    stdio: ['ignore', 'inherit', 'inherit'],
    cwd: os.tmpdir(),
    env: { ...process.env, GOBIN: partial, CGO_ENABLED: '0', GOFLAGS: '-trimpath -buildvcs=false' },
  });
  if (built.error || built.status !== 0) {
    rmSync(partial, { recursive: true, force: true });
    const why = built.error ? built.error.message : `go install exited with ${built.signal ?? built.status}`;
    throw new Error(`Building the Temporal Web UI failed (${why}; Go's output is above). ${help}`);
  }
  // Go's module cache is read-only, and so would be the copy: made writable, so a rebuild can replace it.
  rmSync(configFile(target.root, 'docker.yaml'), { force: true });
  copyFileSync(path.join(moduleDir(), 'config', 'docker.yaml'), configFile(target.root, 'docker.yaml'));
  chmodSync(configFile(target.root, 'docker.yaml'), 0o644);
  writeFileSync(
    configFile(target.root, 'base.yaml'),
    "# Written by stack/temporal-ui-binary.ts. docker.yaml (the image's template) sets no host, so\n" +
      '# the UI would listen on every interface; compose publishes it on 127.0.0.1 only (no login).\n' +
      'host: 127.0.0.1\n',
  );
  // The binary last: findTemporalUi() sees a build only once its configuration is in place.
  renameSync(path.join(partial, 'server'), target.server);
  rmSync(partial, { recursive: true, force: true });
  say(`Built the Temporal Web UI in ${Math.round((Date.now() - started) / 1000)} s`);
  return target;
}
