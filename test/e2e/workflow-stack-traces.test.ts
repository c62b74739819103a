import path from 'node:path';
import { readFileSync } from 'node:fs';
import { COMMAND_WORKFLOW_TYPE, commandWorkflowId, snapshotQuery, type CommandRequest } from '../../protocol/command-contract';
import { CommandOptions } from '../../protocol/command-options';
import { ManagedProcess } from '../../stack/managed-process';
import type { commandWorkflow } from '../../workflows/command-workflow';
import { eventually } from '../support/eventually';
import { Harness } from '../support/harness';

/**
 * The SDK records a stack trace per promise for its stack trace query, at about a third of the
 * worker's CPU (workers/workflow-stack-traces.ts). A `dco worker` runs without it unless started
 * with `--workflow-stack-traces`: its commands run, and the query says traces are disabled.
 * Without our patch of the SDK (patches/) the default worker would answer the query too.
 * Real `dco worker` processes: worker threads copy the real environment, which jest's
 * sandboxed `process.env` is not.
 */
describe('workflow stack traces', () => {
  const h = new Harness();
  const workers: ManagedProcess[] = [];
  const started: string[] = [];

  async function dcoWorker(name: string, taskQueue: string, args: string[]): Promise<void> {
    const logFile = path.join(h.dir, `${name}.log`);
    const worker = new ManagedProcess({
      name,
      command: process.execPath,
      args: [path.join(__dirname, '..', '..', 'bin', 'dco'), 'worker', ...args],
      logFile,
      env: { ...process.env, TEMPORAL_ADDRESS: h.env.temporalAddress, MQTT_URL: h.env.mqttUrl, DCO_TASK_QUEUE: taskQueue, DCO_TOPIC_PREFIX: h.topicPrefix },
    });
    workers.push(worker);
    const log = () => {
      try {
        return readFileSync(logFile, 'utf8');
      } catch {
        return ''; // not created yet
      }
    };
    await eventually(
      async () => log(),
      (text) => text.includes('worker started'),
      60_000,
    );
  }

  beforeAll(async () => {
    await h.start({ worker: false, bridge: false });
    await Promise.all([dcoWorker('worker', `${h.taskQueue}-default`, []), dcoWorker('traced-worker', `${h.taskQueue}-traced`, ['--workflow-stack-traces'])]);
  }, 90_000);

  afterAll(async () => {
    for (const workflowId of started)
      await h.client.temporal.workflow
        .getHandle(workflowId)
        .terminate('test done')
        .catch(() => {});
    await Promise.all(workers.map((w) => w.stop()));
    await h.stop();
  });

  /** A command waiting for its device's ack (no device answers), and how its stack trace query ends. */
  async function stackTraceOn(taskQueue: string, name: string): Promise<PromiseSettledResult<string>> {
    const commandId = `${name}.${h.id}`;
    const request: CommandRequest = {
      commandId,
      deviceId: `${name}-${h.id}`,
      name: 'ping',
      params: {},
      expiresAt: new Date(Date.now() + 120_000).toISOString(),
      options: CommandOptions.parse({ ackTimeoutMs: 60_000 }),
    };
    const workflowId = commandWorkflowId(commandId);
    const handle = await h.client.temporal.workflow.start<typeof commandWorkflow>(COMMAND_WORKFLOW_TYPE, { taskQueue, workflowId, args: [request] });
    started.push(workflowId);
    await eventually(
      () => handle.query(snapshotQuery),
      (s) => s.state === 'Sent',
    );
    const [outcome] = await Promise.allSettled([handle.query<string>('__stack_trace')]);
    return outcome;
  }

  it('by default the command runs without them: the query says they are disabled', async () => {
    const outcome = await stackTraceOn(`${h.taskQueue}-default`, 'stack-off');
    expect(outcome.status).toBe('rejected');
    expect(String((outcome as PromiseRejectedResult).reason)).toContain('stack traces are not enabled');
  });

  it('with --workflow-stack-traces the query shows where the command waits', async () => {
    const outcome = await stackTraceOn(`${h.taskQueue}-traced`, 'stack-on');
    expect(outcome.status).toBe('fulfilled');
    expect((outcome as PromiseFulfilledResult<string>).value).toContain('workflows/command-workflow.ts');
  });
});
