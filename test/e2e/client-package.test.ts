import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { packClient } from '../../scripts/pack-client';
import { Harness } from '../support/harness';

const run = promisify(execFile);
const TSC = require.resolve('typescript/bin/tsc');

/** What a service team writes: a TypeScript file that knows dco only as the `@dco/client` package. */
const SERVICE = `
import { Connection } from '@temporalio/client';
import { DcoClient, InvalidRequestError, type CommandSnapshot } from '@dco/client';

async function main(): Promise<void> {
  const connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS! });
  const client = new DcoClient({ connection, taskQueue: process.env.DCO_TASK_QUEUE });
  const outcome: CommandSnapshot = await (await client.send({ deviceId: process.argv[2], name: 'ping', params: { from: 'package' } })).result();
  let refused = '';
  try {
    await client.send({ deviceId: 'bad/device', name: 'ping' });
  } catch (err) {
    if (err instanceof InvalidRequestError) refused = 'InvalidRequestError';
  }
  const status = await client.rollouts.get('no-such-rollout').status().catch(() => 'no rollout');
  console.log(JSON.stringify({ state: outcome.state, output: outcome.output, refused, status }));
  await connection.close();
}
main().catch((err) => {
  console.error(err);
  process.exit(1);
});
`;

/**
 * The client as a service installs it (issue 14): packed with `npm pack`, installed into a
 * project outside this repository, compiled with `tsc` against its type declarations, and run.
 */
describe('the installable client package (@dco/client)', () => {
  const h = new Harness();
  beforeAll(async () => {
    await h.start();
    await h.startDevice('pkg-1', { ping: async (params) => ({ pong: params }) });
  });
  afterAll(() => h.stop());

  test('a TypeScript service outside the repository installs the packed tarball, compiles with tsc and sends a command', async () => {
    const tarball = packClient();
    const project = mkdtempSync(path.join(os.tmpdir(), 'dco-service-'));
    writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'a-service', private: true }));
    writeFileSync(path.join(project, 'service.ts'), SERVICE);
    writeFileSync(
      path.join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { strict: true, module: 'node16', moduleResolution: 'node16', target: 'ES2022', types: ['node'], skipLibCheck: true, outDir: 'out' },
        files: ['service.ts'],
      }),
    );
    // From npm's cache when it has them (this repository's `npm ci` put them there).
    await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball, '@temporalio/client@1.24.0', '@types/node@20'], {
      cwd: project,
      timeout: 300_000,
    });
    await run(process.execPath, [TSC, '-p', project], { cwd: project, timeout: 120_000 }).catch((err: { stdout: string; stderr: string }) => {
      throw new Error(`tsc failed on the service:\n${err.stdout}${err.stderr}`);
    });
    const r = await run(process.execPath, [path.join(project, 'out', 'service.js'), 'pkg-1'], {
      cwd: project,
      env: { ...process.env, TEMPORAL_ADDRESS: h.env.temporalAddress, DCO_TASK_QUEUE: h.taskQueue },
      timeout: 60_000,
    });
    expect(JSON.parse(r.stdout.trim())).toEqual({
      state: 'Succeeded',
      output: { pong: { from: 'package' } },
      refused: 'InvalidRequestError',
      status: 'no rollout',
    });
  }, 420_000);
});
