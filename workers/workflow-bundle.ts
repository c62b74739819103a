import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { workflowsPath } from './command-worker';

const ROOT = path.join(__dirname, '..');

/** What the workflow bundle is made of: our workflow and protocol sources, and the locked dependencies. */
const SOURCE_DIRS = ['workflows', 'protocol'];

/**
 * Where bundles are kept: DCO_CACHE_DIR, else node_modules/.cache/dco (the usual place for
 * build caches; `npm ci` starts it afresh).
 */
export function bundleCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.DCO_CACHE_DIR ? path.resolve(env.DCO_CACHE_DIR) : path.join(ROOT, 'node_modules', '.cache', 'dco');
}

function tsFilesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return tsFilesUnder(full);
    return e.name.endsWith('.ts') ? [full] : [];
  });
}

/** A hash of everything that goes into the bundle: a changed file or dependency means a new bundle. */
export function workflowSourcesHash(root = ROOT): string {
  const hash = createHash('sha256');
  const files = SOURCE_DIRS.flatMap((d) => tsFilesUnder(path.join(root, d))).sort();
  for (const f of [...files, path.join(root, 'package-lock.json')]) {
    hash.update(path.relative(root, f)).update('\0');
    hash.update(existsSync(f) ? readFileSync(f) : '').update('\0');
  }
  return hash.digest('hex').slice(0, 16);
}

export function bundlePathFor(hash: string, env: NodeJS.ProcessEnv = process.env): string {
  return path.join(bundleCacheDir(env), `workflows-${hash}.js`);
}

/** Bundles the workflows into `file` (written aside, then renamed: concurrent builders never see half a file). */
export async function writeWorkflowBundle(file: string): Promise<void> {
  const { code } = await bundleWorkflowCode({ workflowsPath: workflowsPath(), logger: new DefaultLogger('WARN') });
  mkdirSync(path.dirname(file), { recursive: true });
  const partial = `${file}.${process.pid}.partial`;
  writeFileSync(partial, code);
  renameSync(partial, file);
}

/**
 * The workflow code for a worker, as a prebuilt bundle file. Bundling (webpack) inside the
 * worker raised its peak RSS by about 120 MB and delayed every start; so it is done once per
 * code version, by a short-lived `dco build-workflows` process, and cached by content hash.
 * Throws when the bundle cannot be built; callers may fall back to bundling in process.
 */
export function prebuiltWorkflowBundle(env: NodeJS.ProcessEnv = process.env): { codePath: string; built: boolean } {
  const file = bundlePathFor(workflowSourcesHash(), env);
  if (existsSync(file)) return { codePath: file, built: false };
  execFileSync(process.execPath, [path.join(ROOT, 'bin', 'dco'), 'build-workflows', '--out', file], { stdio: ['ignore', 'ignore', 'pipe'], env });
  if (!existsSync(file)) throw new Error(`dco build-workflows did not write ${file}`);
  return { codePath: file, built: true };
}
