import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { InvalidRequestError } from '../../client/dco-client';
import { COMMAND_WORKFLOW_TYPE, commandWorkflowId, type CommandSnapshot } from '../../protocol/command-contract';
import { isTerminal } from '../../protocol/command-state';
import { ROLLOUT_WORKFLOW_TYPE, rolloutWorkflowId, type RolloutStatusView } from '../../protocol/rollout-contract';
import { MosquittoBroker } from '../../stack/mosquitto-broker';
import { aclFile } from '../../stack/broker-auth';
import { eventually } from '../support/eventually';
import { Harness } from '../support/harness';
import { RawDevice } from '../support/raw-device';
import { runCli } from '../support/run-cli';

/**
 * "No device, request or refusal may stop the rest of the fleet": whatever a caller sends
 * (through DcoClient, the CLI, the Temporal client or the `temporal` CLI, as a service in
 * another language would) and whatever the broker answers, the command ends in a command
 * state with a reason, and the worker's shared MQTT connection keeps serving other commands.
 */

const TEMPORAL_CLI = path.join(os.homedir(), '.cache', 'dco', 'temporal-cli-v1.5.1', 'bin', 'temporal');
const run = promisify(execFile);

/** A command input as another language would send it: every field spelled out. */
function rawRequest(commandId: string, deviceId: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    commandId,
    deviceId,
    name: 'ping',
    params: {},
    expiresAt: new Date(Date.now() + 60_000).toISOString(),
    options: { ackTimeoutMs: 2_000, resultTimeoutMs: 10_000, maxAttempts: 2, backoff: { initialMs: 200, maxMs: 200, multiplier: 2, jitter: 0 } },
    ...overrides,
  };
}

function nested(depth: number): Record<string, unknown> {
  let v: Record<string, unknown> = {};
  for (let i = 1; i < depth; i++) v = { a: v };
  return v;
}

describe('refusals end in a command state and stop nothing else', () => {
  const h = new Harness();
  let cliEnv: NodeJS.ProcessEnv;
  beforeAll(async () => {
    await h.start();
    cliEnv = { TEMPORAL_ADDRESS: h.env.temporalAddress, MQTT_URL: h.env.mqttUrl, DCO_TASK_QUEUE: h.taskQueue, DCO_TOPIC_PREFIX: h.topicPrefix };
  });
  afterAll(() => h.stop());

  /** Starts commandWorkflow through the Temporal client, bypassing DcoClient's validation. */
  const startDirectly = async (input: Record<string, unknown>) => {
    const workflowId = commandWorkflowId(String(input.commandId));
    const handle = await h.client.temporal.workflow.start(COMMAND_WORKFLOW_TYPE, { workflowId, taskQueue: h.taskQueue, args: [input] });
    h.started.push(workflowId);
    return handle;
  };
  const resultOf = (workflowId: string): Promise<CommandSnapshot> => h.client.temporal.workflow.getHandle(workflowId).result();

  test('a far-future expiresAt started through the Temporal client ends with a reason; the next command still succeeds', async () => {
    await h.startDevice('far-1');
    const far = await startDirectly(rawRequest(`far-${h.id}`, 'far-1', { expiresAt: '9999-12-31T23:59:59Z' }));
    const outcome: CommandSnapshot = await far.result();
    expect(outcome.state).toBe('Rejected');
    expect(outcome.reason).toMatch(/^invalid request: expiresAt .*at most 30 days/);
    expect(outcome.attempts).toBe(0);
    // The same worker, the same MQTT connection: a normal command goes through.
    const normal = await (await h.client.send({ deviceId: 'far-1', name: 'ping' })).result();
    expect(normal.state).toBe('Succeeded');
    expect(h.publisher?.connected).toBe(true);
  });

  test('DcoClient refuses a far-future expiresAt up front', async () => {
    await expect(h.client.send({ deviceId: 'far-2', name: 'ping', expiresAt: '9999-12-31T23:59:59Z' })).rejects.toThrow(InvalidRequestError);
    await expect(h.client.send({ deviceId: 'far-2', name: 'ping', expiresAt: '9999-12-31T23:59:59Z' })).rejects.toThrow(
      /expiresAt must be at most 30 days from now/,
    );
  });

  test.each([
    [['--expires-at', '9999-12-31T23:59:59Z'], 'expiresAt must be at most 30 days from now'],
    [['--expires-at', 'tomorrow'], 'expected an ISO-8601 date'],
    [['--ttl', '400d'], 'ttlMs must be at most 30 days'],
  ])('the CLI refuses `dco send %j` with a clear message, exit 2', async (flags, message) => {
    const r = await runCli(['send', 'far-3', 'ping', ...flags], cliEnv);
    expect(r.stderr).toContain(message);
    expect(r.code).toBe(2);
  });

  test('the publisher refuses an expiry it cannot encode without losing its connection', async () => {
    const publisher = h.publisher!;
    await expect(publisher.publish(`${h.topicPrefix}/x-1/commands`, '{}', 2 ** 40)).rejects.toThrow(/message expiry/);
    await expect(publisher.publish(`${h.topicPrefix}/+/commands`, '{}', 10)).rejects.toThrow(/topic/);
    await expect(publisher.publish(`${h.topicPrefix}/x-1/commands`, 'x'.repeat(70_000), 10)).rejects.toThrow(/too large/);
    expect(publisher.connected).toBe(true);
    await publisher.publish(`${h.topicPrefix}/x-1/commands`, '{}', 10);
  });

  test.each([
    ['concurrency 0', { concurrency: 0 }, /^invalid rollout: concurrency must be a whole number from 1 to 2000, got 0/],
    ['too-deep params', { params: nested(40) }, /^invalid rollout: params must not nest/],
  ])('a rollout started directly with %s ends at once as aborted with the reason; no device gets anything', async (kind, overrides, reason) => {
    const device = await new RawDevice('ro-watch', h.env.mqttUrl, h.topicPrefix).start();
    const rolloutId = `bad-${kind.replace(/[^a-z0-9]/g, '')}-${h.id}`;
    const spec = { rolloutId, name: 'ping', targets: ['ro-watch'], ...overrides };
    const handle = await h.client.temporal.workflow.start(ROLLOUT_WORKFLOW_TYPE, {
      workflowId: rolloutWorkflowId(rolloutId),
      taskQueue: h.taskQueue,
      args: [{ spec }],
      workflowExecutionTimeout: '60 seconds', // the old code waited forever
    });
    h.started.push(handle.workflowId);
    const status: RolloutStatusView = await handle.result();
    expect(status.state).toBe('aborted');
    expect(status.abortReason).toMatch(reason);
    expect(status.overall.pending).toBe(1);
    await new Promise((r) => setTimeout(r, 300));
    expect(device.commands).toEqual([]);
    await device.stop();
  });

  describe('started with the `temporal` CLI alone', () => {
    const temporalStart = async (commandId: string, input: unknown) => {
      const workflowId = commandWorkflowId(commandId);
      await run(TEMPORAL_CLI, [
        'workflow',
        'start',
        '--address',
        h.env.temporalAddress,
        '--task-queue',
        h.taskQueue,
        '--type',
        COMMAND_WORKFLOW_TYPE,
        '--workflow-id',
        workflowId,
        '--input',
        JSON.stringify(input),
      ]);
      h.started.push(workflowId);
      return workflowId;
    };

    test('valid input succeeds', async () => {
      await h.startDevice('tcli-ok');
      const id = await temporalStart(`tcli-ok-${h.id}`, rawRequest(`tcli-ok-${h.id}`, 'tcli-ok'));
      const outcome = await resultOf(id);
      expect(outcome.state).toBe('Succeeded');
    });

    test('a commandId that is not the one in the workflow ID ends at once as Rejected; nothing is published', async () => {
      const device = await new RawDevice('tcli-mismatch', h.env.mqttUrl, h.topicPrefix).start();
      const outcome = await resultOf(await temporalStart(`tcli-mis-${h.id}`, rawRequest(`someone-else-${h.id}`, 'tcli-mismatch')));
      expect(outcome.state).toBe('Rejected');
      expect(outcome.reason).toBe(`invalid request: the workflow ID must be command-someone-else-${h.id} (command-<commandId>), got command-tcli-mis-${h.id}`);
      expect(outcome.attempts).toBe(0);
      await new Promise((r) => setTimeout(r, 300));
      expect(device.commands).toEqual([]);
      await device.stop();
    });

    test('missing options get the client defaults', async () => {
      await h.startDevice('tcli-defaults');
      const input = rawRequest(`tcli-def-${h.id}`, 'tcli-defaults');
      delete input.options;
      delete input.params;
      const outcome = await resultOf(await temporalStart(`tcli-def-${h.id}`, input));
      expect(outcome.state).toBe('Succeeded');
      expect(outcome.params).toEqual({});
    });

    test.each([
      ['bad-date', { expiresAt: 'next tuesday' }, /^invalid request: expiresAt must be an ISO-8601 date/],
      ['wildcard', { deviceId: 'tcli+bad' }, /^invalid request: deviceId must be 1-64 characters/],
      ['no-options', { options: null }, /^invalid request: options must be an object/],
      ['too-deep', { params: nested(40) }, /^invalid request: params must not nest .* more than 31 levels/],
      [
        'negative-attempts',
        { options: { ackTimeoutMs: 2_000, resultTimeoutMs: 10_000, maxAttempts: -1 } },
        /^invalid request: options.maxAttempts must be a whole number from 1 to 100/,
      ],
    ])('invalid input (%s) ends at once as Rejected with the reason; nothing is published', async (kind, overrides, reason) => {
      const device = await new RawDevice('tcli-watch', h.env.mqttUrl, h.topicPrefix).start();
      const commandId = `tcli-${kind}-${h.id}`;
      const started = Date.now();
      const outcome = await resultOf(await temporalStart(commandId, rawRequest(commandId, 'tcli-watch', overrides)));
      expect(outcome.state).toBe('Rejected');
      expect(outcome.reason).toMatch(reason);
      expect(outcome.attempts).toBe(0);
      expect(Date.now() - started).toBeLessThan(10_000);
      await new Promise((r) => setTimeout(r, 300));
      expect(device.commands).toEqual([]);
      await device.stop();
    });
  });
});

describe('a publish the broker refuses (PUBACK 0x87) ends the command, not the connection', () => {
  let broker: MosquittoBroker;
  let h: Harness;
  let passwords: Record<string, string> = {};

  beforeAll(async () => {
    const base = new Harness(); // only for its temp dir
    broker = await MosquittoBroker.start({ dataDir: path.join(base.dir, 'refusing-broker'), auth: { topicPrefixes: ['+/devices'] } });
    const auth = broker.auth!;
    h = new Harness({ url: broker.url, serviceUrl: broker.serviceUrl, worker: auth.credentialsOf('worker'), bridge: auth.credentialsOf('bridge') });
    // The worker may publish commands to `allowed-1` only: anything else gets PUBACK 0x87.
    const acl = aclFile(['+/devices']).replace('topic write +/devices/+/commands', `topic write ${h.topicPrefix}/allowed-1/commands`);
    expect(acl).toContain(`topic write ${h.topicPrefix}/allowed-1/commands`);
    writeFileSync(auth.aclFile, acl);
    passwords = { 'allowed-1': auth.addDevice('allowed-1'), 'denied-1': auth.addDevice('denied-1') };
    await auth.reloadAndWait();
    await h.start();
  });
  afterAll(async () => {
    await h?.stop();
    await broker?.stop();
  });

  test('the refused command ends Rejected with the broker reason; the worker connection stays up for the next command', async () => {
    const creds = (id: string) => ({ username: id, password: passwords[id] });
    const denied = await new RawDevice('denied-1', broker.url, h.topicPrefix, creds('denied-1')).start();
    await h.startDevice('allowed-1', undefined, undefined, creds('allowed-1'));
    const refused = await (await h.client.send({ deviceId: 'denied-1', name: 'ping' })).result();
    expect(refused.state).toBe('Rejected');
    expect(refused.reason).toBe('refused by the broker: Not authorized (PUBACK reason code 0x87)');
    expect(refused.attempts).toBe(1);
    expect(denied.commands).toEqual([]);
    expect(h.publisher?.connected).toBe(true);
    const next = await (await h.client.send({ deviceId: 'allowed-1', name: 'ping' })).result();
    expect(next.state).toBe('Succeeded');
    const again = await eventually(
      () => h.client.send({ deviceId: 'denied-1', name: 'ping' }).then((c) => c.result()),
      (s) => isTerminal(s.state),
    );
    expect(again.state).toBe('Rejected');
    await denied.stop();
  });
});
