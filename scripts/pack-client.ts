/**
 * Builds the installable client package, `@dco/client`, and packs it with `npm pack`:
 * `npx tsx scripts/pack-client.ts` prints the path of dist/dco-client-<version>.tgz.
 * The JavaScript and type declarations come from client/index.ts and what it imports
 * (protocol/, and the workflow types behind the typed handles), built by tsconfig.client.json.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const root = path.join(__dirname, '..');
const out = path.join(root, 'dist', 'client-package');
const repo = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string; dependencies: Record<string, string> };

/**
 * What the built files require at run time (protocol/ defines its signals with
 * @temporalio/workflow; rollout specs check maintenance windows with croner).
 */
const RUNTIME_DEPENDENCIES = ['@temporalio/client', '@temporalio/common', '@temporalio/workflow', 'ajv', 'ajv-formats', 'croner', 'p-map', 'zod'];

export function packClient(): string {
  rmSync(out, { recursive: true, force: true });
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.client.json')], { stdio: 'inherit' });
  const manifest = {
    name: '@dco/client',
    version: repo.version,
    description: 'Device Command Orchestrator: send device commands and run fleet rollouts through Temporal, typed',
    license: 'UNLICENSED',
    main: './client/index.js',
    types: './client/index.d.ts',
    exports: { '.': { types: './client/index.d.ts', default: './client/index.js' }, './package.json': './package.json' },
    files: ['client', 'protocol', 'workflows'],
    engines: { node: '>=20' },
    dependencies: Object.fromEntries(RUNTIME_DEPENDENCIES.map((name) => [name, repo.dependencies[name]])),
  };
  for (const [name, range] of Object.entries(manifest.dependencies)) if (!range) throw new Error(`${name} is not a dependency of the repository`);
  writeFileSync(path.join(out, 'package.json'), JSON.stringify(manifest, null, 2) + '\n');
  const name = execFileSync('npm', ['pack', '--silent', '--pack-destination', path.dirname(out)], { cwd: out, encoding: 'utf8' })
    .trim()
    .split('\n')
    .at(-1)!;
  return path.join(path.dirname(out), name);
}

if (require.main === module) process.stdout.write(packClient() + '\n');
