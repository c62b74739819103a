import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Harness } from '../support/harness';

const run = promisify(execFile);

/** Where scripts/ensure-prereqs.sh puts the Temporal Python SDK. */
const PYTHON = path.join(os.homedir(), '.cache', 'dco', 'python-temporalio-1.35.0', 'bin', 'python');
const EXAMPLE = path.join(__dirname, '..', '..', 'docs', 'examples', 'python', 'send_command.py');

/**
 * docs/service-api.md is the contract for services in other languages: its Python example,
 * run as a service team would run it (the `temporalio` package, no code of ours), must send a
 * command that a device executes, and must find the same command again by its commandId.
 */
describe('the Python example of docs/service-api.md', () => {
  const h = new Harness();
  beforeAll(async () => {
    if (!existsSync(PYTHON))
      throw new Error(`${PYTHON} is missing: run bash scripts/ensure-prereqs.sh (it installs temporalio for Python into a virtual environment)`);
    await h.start();
    await h.startDevice('py-1', { 'set-config': async (params) => ({ applied: params }) });
  });
  afterAll(() => h.stop());

  const example = (args: string[]) =>
    run(PYTHON, [EXAMPLE, ...args], { env: { ...process.env, TEMPORAL_ADDRESS: h.env.temporalAddress, DCO_TASK_QUEUE: h.taskQueue }, timeout: 60_000 }).then(
      (r) => ({ code: 0, ...r }),
      (err: { code: number; stdout: string; stderr: string }) => ({ code: err.code, stdout: err.stdout, stderr: err.stderr }),
    );

  test('sends a command that the device executes, and prints its outcome (exit 0)', async () => {
    const r = await example(['py-1', 'set-config', '--params', '{"rpm": 1200}', '--command-id', `py-1.cfg.${h.id}`]);
    expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 0, stdout: 'Succeeded after 1 attempt(s)\noutput: {"applied": {"rpm": 1200}}\n' });
    // The command is one of ours: DcoClient reads the same command by its commandId.
    const outcome = await h.client.get(`py-1.cfg.${h.id}`).result();
    expect(outcome).toMatchObject({ state: 'Succeeded', deviceId: 'py-1', name: 'set-config', params: { rpm: 1200 } });
  });

  test('the same commandId again returns the same outcome; for another device it is a conflict (exit 2)', async () => {
    const again = await example(['py-1', 'set-config', '--params', '{"rpm": 1200}', '--command-id', `py-1.cfg.${h.id}`]);
    expect({ code: again.code, stdout: again.stdout.split('\n')[0] }).toEqual({ code: 0, stdout: 'Succeeded after 1 attempt(s)' });
    const conflict = await example(['py-2', 'set-config', '--command-id', `py-1.cfg.${h.id}`]);
    expect(conflict.code).toBe(2);
    expect(conflict.stderr).toContain(`command py-1.cfg.${h.id} already exists for device py-1`);
  });
});
