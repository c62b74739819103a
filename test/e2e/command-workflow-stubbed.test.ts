import { defaultPayloadConverter } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import {
  COMMAND_WORKFLOW_TYPE,
  commandWorkflowId,
  deviceMessageSignal,
  devicePresenceSignal,
  snapshotQuery,
  type CommandRequest,
  type CommandSnapshot,
  type CommandTuning,
  type DevicePresence,
} from '../../protocol/command-contract';
import { DEVICE_WORKFLOW_TYPE, deviceWorkflowId } from '../../protocol/device-contract';
import { deviceWatchSignal, type DeviceWatchRequest } from '../../protocol/device-watch-contract';
import { DELIVERY_GRACE_MS, EXPIRY_GRACE_MS, MIN_PUBLISH_LEFT_MS } from '../../protocol/command-limits';
import { CommandOptions, type CommandOptionsInput } from '../../protocol/command-options';
import type { ResultMessage } from '../../protocol/messages';
import type { commandWorkflow } from '../../workflows/command-workflow';
import { eventually } from '../support/eventually';
import { replayAndRecord } from '../support/replay-recorder';
import { statePath } from '../support/state-path';
import { gate, StubbedCommandWorker, type CommandStub } from '../support/stubbed-command-worker';
import { testEnv } from '../setup/test-env';

/**
 * The command workflow alone (issue 16): the real workflow bundle on the real dev server, its
 * activities stubbed (no broker, no bridge, no device entity). The test plays the device by
 * sending the bridge's signals itself, so every answer comes exactly when the test says.
 *
 * Timing: only counts, order and lower bounds the workflow's timers guarantee are asserted
 * (a Temporal timer never fires early); nothing depends on how fast this machine is.
 */

/** Workflow time (server) and the stub's wall clock are the same machine's, read at ms precision. */
const CLOCK_SLACK_MS = 100;
/** After the ack, silence this long makes the command publish again (command-plan.ts, resultProbeMs: max(2 × ackTimeoutMs, 5 s), for ackTimeoutMs ≤ 2.5 s). */
const RESULT_PROBE_MS = 5_000;

describe('command workflow with stubbed activities', () => {
  const env = testEnv();
  const id = Math.random().toString(36).slice(2, 8);
  const taskQueue = `stubbed-${id}`;
  let testEnvironment: TestWorkflowEnvironment;
  let worker: StubbedCommandWorker;
  const started: string[] = [];
  /** Stand-ins for device entities, terminated at the end. */
  const entities: string[] = [];

  beforeAll(async () => {
    testEnvironment = await TestWorkflowEnvironment.createFromExistingServer({ address: env.temporalAddress, namespace: 'default' });
    worker = await StubbedCommandWorker.start({ connection: testEnvironment.nativeConnection, namespace: 'default', taskQueue, bundlePath: env.bundlePath });
  });

  afterAll(async () => {
    try {
      // As Harness.stop does: every finished command must replay against the same code.
      await replayAndRecord(testEnvironment.client, started, env.bundlePath);
    } finally {
      for (const workflowId of entities)
        await testEnvironment.client.workflow
          .getHandle(workflowId)
          .terminate('test done')
          .catch(() => {});
      await worker?.stop();
      await testEnvironment?.teardown();
    }
  });

  const events = (s: CommandSnapshot) => s.history.map((e) => e.event);
  const reasonsOf = (s: CommandSnapshot, event: string) => s.history.filter((e) => e.event === event).map((e) => e.reason);
  const endedAt = (s: CommandSnapshot) => Date.parse(s.history.at(-1)!.at);

  /**
   * A stand-in for the device entity: a workflow with its ID on a task queue no worker polls. A
   * command that asked for wake-ups signals `unwatch` to it when it ends; the stand-in keeps
   * that in its history (without it the signal fails and the command logs a warning).
   */
  async function entityStandIn(deviceId: string) {
    const workflowId = deviceWorkflowId(deviceId);
    await testEnvironment.client.workflow.start(DEVICE_WORKFLOW_TYPE, { taskQueue: `${taskQueue}-no-worker`, workflowId, args: [{ deviceId }] });
    entities.push(workflowId);
    return async (): Promise<DeviceWatchRequest[]> => {
      const history = await testEnvironment.client.workflow.getHandle(workflowId).fetchHistory();
      return (history.events ?? [])
        .map((e) => e.workflowExecutionSignaledEventAttributes)
        .filter((a) => a?.signalName === deviceWatchSignal.name)
        .map((a) => defaultPayloadConverter.fromPayload<DeviceWatchRequest>(a!.input!.payloads![0]));
    };
  }

  /**
   * Starts one command with its own IDs; `stub` scripts its activities before it runs. With
   * `presence`, that presence is signalled with the start: the workflow knows it before it
   * decides anything (signalWithStart delivers it in the first activation). Such a command asks
   * its entity for wake-ups: `entitySignals` reads what it told the entity's stand-in.
   */
  async function start(
    name: string,
    o: {
      options?: CommandOptionsInput;
      ttlMs?: number;
      expiresAt?: string;
      tuning?: CommandTuning;
      presence?: Omit<DevicePresence, 'deviceId'>;
      /** Give the device an entity stand-in also without a presence signal (the command may learn presence from its publish activity). */
      entity?: boolean;
      stub?: (s: CommandStub) => void;
    } = {},
  ) {
    const commandId = `${name}.${id}`;
    const deviceId = `${name}-${id}`;
    const stub = worker.command(commandId);
    o.stub?.(stub);
    const entitySignals = o.presence || o.entity ? await entityStandIn(deviceId) : async () => [];
    const request: CommandRequest = {
      commandId,
      deviceId,
      name: 'ping',
      params: {},
      expiresAt: o.expiresAt ?? new Date(Date.now() + (o.ttlMs ?? 60_000)).toISOString(),
      options: CommandOptions.parse(o.options ?? {}),
      ...(o.tuning ? { tuning: o.tuning } : {}),
    };
    const workflowId = commandWorkflowId(commandId);
    const startedAt = Date.now();
    const client = testEnvironment.client.workflow;
    const handle = o.presence
      ? await client.signalWithStart<typeof commandWorkflow, [DevicePresence]>(COMMAND_WORKFLOW_TYPE, {
          taskQueue,
          workflowId,
          args: [request],
          signal: devicePresenceSignal,
          signalArgs: [{ deviceId, ...o.presence }],
        })
      : await client.start<typeof commandWorkflow>(COMMAND_WORKFLOW_TYPE, { taskQueue, workflowId, args: [request] });
    started.push(workflowId);
    const receivedAt = () => new Date().toISOString();
    return {
      request,
      stub,
      handle,
      startedAt,
      entitySignals,
      snapshot: () => handle.query(snapshotQuery),
      ack: (status: 'accepted' | 'rejected' = 'accepted') =>
        handle.signal(deviceMessageSignal, { kind: 'ack', deviceId, receivedAt: receivedAt(), message: { v: 1, commandId, status } }),
      result: (status: ResultMessage['status'], more: Pick<ResultMessage, 'output' | 'error'> = {}) =>
        handle.signal(deviceMessageSignal, { kind: 'result', deviceId, receivedAt: receivedAt(), message: { v: 1, commandId, status, ...more } }),
      presence: (p: Omit<DevicePresence, 'deviceId'>) => handle.signal(devicePresenceSignal, { deviceId, ...p }),
    };
  }

  /** Until the stub has seen `n` publishCommand calls (answered or not). */
  const calls = (stub: CommandStub, n: number) =>
    eventually(
      async () => stub.publishes.length,
      (k) => k >= n,
    );

  test('no ack: published again after each ack timeout plus a growing back-off (attempts 1, 2, 3), then TimedOut after maxAttempts', async () => {
    const c = await start('backoff', {
      options: { ackTimeoutMs: 1_000, maxAttempts: 3, backoff: { initialMs: 500, multiplier: 2, maxMs: 10_000, jitter: 0 } },
    });
    const outcome = await c.handle.result();
    const p = c.stub.publishes;

    expect(p.map((x) => [x.attempt, x.outcome])).toEqual([
      [1, 'published'],
      [2, 'published'],
      [3, 'published'],
    ]);
    // Without jitter the back-off is initialMs × multiplier^(n-1): 500, then 1,000 ms, each
    // after the full ack window of the attempt before.
    expect(reasonsOf(outcome, 'ack-timeout').slice(0, 2)).toEqual([
      'no ack for attempt 1; publishing again in 500 ms',
      'no ack for attempt 2; publishing again in 1000 ms',
    ]);
    expect(p[1].at - p[0].at).toBeGreaterThanOrEqual(1_000 + 500 - CLOCK_SLACK_MS);
    expect(p[2].at - p[1].at).toBeGreaterThanOrEqual(1_000 + 1_000 - CLOCK_SLACK_MS);

    expect(outcome.state).toBe('TimedOut');
    expect(outcome.attempts).toBe(3);
    expect(outcome.reason).toBe('no ack after 3 attempt(s)');
    expect(events(outcome)).toEqual(['created', 'published', 'ack-timeout', 'published', 'ack-timeout', 'published', 'ack-timeout']);
    expect(statePath(outcome)).toEqual(['Created', 'Sent', 'TimedOut']);
    // The last attempt's ack window, then the delivery grace for an ack still in our queues.
    expect(endedAt(outcome) - p[2].at).toBeGreaterThanOrEqual(1_000 + DELIVERY_GRACE_MS - CLOCK_SLACK_MS);
  });

  test(`acknowledged, then silent: after ${RESULT_PROBE_MS} ms the same command is published again (the next attempt, even past maxAttempts) so the device re-sends its result; none by the deadline: TimedOut`, async () => {
    // ackTimeoutMs 2.5 s: the ack lands in the first window even on a slow machine, and the probe
    // interval stays at its 5 s floor. resultTimeoutMs 8 s: one probe (at 5 s); a second would
    // come at 10 s, past the deadline.
    const c = await start('probe', { options: { ackTimeoutMs: 2_500, resultTimeoutMs: 8_000, maxAttempts: 1 } });
    await calls(c.stub, 1);
    const ackedAt = Date.now();
    await c.ack();
    const outcome = await c.handle.result();
    const p = c.stub.publishes;

    // Probes are not bounded by maxAttempts (as implemented): the attempt number goes on.
    expect(p.map((x) => [x.attempt, x.outcome])).toEqual([
      [1, 'published'],
      [2, 'published'],
    ]);
    expect(p[1].at - ackedAt).toBeGreaterThanOrEqual(RESULT_PROBE_MS - CLOCK_SLACK_MS);
    expect(outcome.state).toBe('TimedOut');
    expect(outcome.attempts).toBe(2);
    expect(outcome.reason).toBe('no result within 8000 ms of the ack');
    expect(events(outcome)).toEqual(['created', 'published', 'ack-accepted', 'result-probe', 'published', 'result-timeout']);
    expect(statePath(outcome)).toEqual(['Created', 'Sent', 'Acknowledged', 'TimedOut']);
    // The result deadline counts from the ack, then the delivery grace.
    expect(endedAt(outcome) - ackedAt).toBeGreaterThanOrEqual(8_000 + DELIVERY_GRACE_MS - CLOCK_SLACK_MS);
  });

  test(`probes back off: the silence before each probe doubles (${RESULT_PROBE_MS} ms, then ${2 * RESULT_PROBE_MS} ms), so a device executing for long is not asked again and again`, async () => {
    // resultTimeoutMs 25 s: probes at 5 s and 15 s after the ack; the next would be at 35 s.
    // (At a fixed interval there would be four: at 5, 10, 15 and 20 s.)
    const c = await start('probe-backoff', { options: { ackTimeoutMs: 2_500, resultTimeoutMs: 25_000, maxAttempts: 1 } });
    await calls(c.stub, 1);
    const ackedAt = Date.now();
    await c.ack();
    const outcome = await c.handle.result();
    const p = c.stub.publishes;

    expect(p.map((x) => x.attempt)).toEqual([1, 2, 3]);
    expect(p[1].at - ackedAt).toBeGreaterThanOrEqual(RESULT_PROBE_MS - CLOCK_SLACK_MS);
    expect(p[2].at - p[1].at).toBeGreaterThanOrEqual(2 * RESULT_PROBE_MS - CLOCK_SLACK_MS);
    expect(outcome.state).toBe('TimedOut');
    expect(events(outcome)).toEqual(['created', 'published', 'ack-accepted', 'result-probe', 'published', 'result-probe', 'published', 'result-timeout']);
  });

  test('a result that answers the probe ends the command: Succeeded, no further probe', async () => {
    const c = await start('probe-answered', { options: { ackTimeoutMs: 2_500, resultTimeoutMs: 60_000 } });
    await calls(c.stub, 1);
    const ackedAt = Date.now();
    await c.ack();
    await calls(c.stub, 2); // the probe
    await c.result('succeeded', { output: { pong: true } });
    const outcome = await c.handle.result();

    expect(c.stub.publishes.map((x) => x.attempt)).toEqual([1, 2]);
    expect(c.stub.publishes[1].at - ackedAt).toBeGreaterThanOrEqual(RESULT_PROBE_MS - CLOCK_SLACK_MS);
    expect(outcome.state).toBe('Succeeded');
    expect(outcome.output).toEqual({ pong: true });
    expect(events(outcome)).toEqual(['created', 'published', 'ack-accepted', 'result-probe', 'published', 'result-succeeded']);
  });

  test('expiresAt already past at start: Expired at once, nothing published', async () => {
    const c = await start('expired-at-start', { expiresAt: new Date(Date.now() - 1_000).toISOString() });
    const outcome = await c.handle.result();

    expect(outcome.state).toBe('Expired');
    expect(outcome.attempts).toBe(0);
    expect(outcome.reason).toBe('time to live passed before the device acknowledged');
    expect(c.stub.publishes).toEqual([]);
  });

  test(`a silent device and a short ttl: no copy with less than ${MIN_PUBLISH_LEFT_MS} ms left, none after expiry; Expired after the grace`, async () => {
    // ttl 3 s, ack window 1 s, back-off 200 ms: room for 2 publishes (1 on a slow machine).
    const c = await start('short-ttl', {
      ttlMs: 3_000,
      options: { ackTimeoutMs: 1_000, maxAttempts: 10, backoff: { initialMs: 200, multiplier: 1, maxMs: 200, jitter: 0 } },
    });
    const outcome = await c.handle.result();
    const expiresAt = Date.parse(c.request.expiresAt);
    const p = c.stub.publishes;

    expect(outcome.state).toBe('Expired');
    expect(outcome.reason).toMatch(/^time to live passed/);
    expect(p.length).toBeGreaterThanOrEqual(1);
    expect(p.map((x) => x.attempt)).toEqual(p.map((_, i) => i + 1));
    expect(outcome.attempts).toBe(p.length); // every call the stub saw, and no more after the end
    // Decided with at least MIN_PUBLISH_LEFT_MS left (the workflow's clock), so before expiry.
    for (const x of p) {
      expect(expiresAt - Date.parse(x.issuedAt)).toBeGreaterThanOrEqual(MIN_PUBLISH_LEFT_MS);
      expect(x.at).toBeLessThan(expiresAt);
    }
    // A copy was out: it waited EXPIRY_GRACE_MS past expiresAt for an ack on its way.
    expect(endedAt(outcome)).toBeGreaterThanOrEqual(expiresAt + EXPIRY_GRACE_MS - CLOCK_SLACK_MS);
    expect(statePath(outcome)).toEqual(['Created', 'Sent', 'Expired']);
  });

  test('offline (presence signal) until the ttl passes: Expired, nothing published, no attempt used', async () => {
    const c = await start('offline-expired', {
      ttlMs: 3_000,
      presence: { state: 'offline', bootId: 'boot-1', observedAt: new Date().toISOString() },
    });
    const outcome = await c.handle.result();

    expect(outcome.state).toBe('Expired');
    expect(outcome.attempts).toBe(0);
    expect(outcome.reason).toBe('time to live passed while the device was offline');
    expect(c.stub.publishes).toEqual([]);
    expect(events(outcome)).toEqual(['created', 'device-offline', 'expired']);
    // Held, it asked its entity for wake-ups at once; ended, it let the entity forget it.
    expect(c.stub.watches).toHaveLength(1);
    expect(await c.entitySignals()).toEqual([{ kind: 'unwatch', commandId: c.request.commandId }]);
    expect(endedAt(outcome)).toBeGreaterThanOrEqual(Date.parse(c.request.expiresAt) - CLOCK_SLACK_MS);
  });

  test('offline (presence signal): held without publishing or using an attempt; an online signal publishes it at once', async () => {
    // A re-check period far beyond this test: only the signal can release the command.
    const offline = { state: 'offline' as const, bootId: 'boot-1', observedAt: new Date(Date.now() - 1_000).toISOString() };
    const c = await start('held', { tuning: { presenceRecheckMs: 600_000 }, presence: offline });
    // Held: the command asked its entity to wake it, the last step before it waits (a command
    // that publishes instead would only ask after WATCH_AFTER_MS).
    await eventually(
      async () => c.stub.watches.length + c.stub.publishes.length,
      (n) => n > 0,
    );
    expect(c.stub.publishes).toEqual([]);
    expect(c.stub.watches).toHaveLength(1);
    const held = await c.snapshot();
    expect(held.state).toBe('Created');
    expect(held.attempts).toBe(0);
    expect(events(held)).toEqual(['created', 'device-offline']);

    const online = { state: 'online' as const, bootId: 'boot-2', observedAt: new Date().toISOString() };
    await c.presence(online);
    await calls(c.stub, 1);
    // Published knowing the signalled presence: the signal released it, not a re-check (which
    // forgets what it knew and asks the activity without it).
    expect(c.stub.publishes.map((x) => [x.attempt, x.knownPresenceAt, x.outcome])).toEqual([[1, online.observedAt, 'published']]);

    await c.ack();
    await c.result('succeeded');
    const outcome = await c.handle.result();
    expect(outcome.state).toBe('Succeeded');
    expect(outcome.attempts).toBe(1);
    expect(events(outcome)).toEqual(['created', 'device-offline', 'device-online', 'published', 'ack-accepted', 'result-succeeded']);
    expect(c.stub.publishes).toHaveLength(1);
    expect(await c.entitySignals()).toEqual([{ kind: 'unwatch', commandId: c.request.commandId }]);
  });

  test("held by the entity's offline memo: the wake-up request carries the presence it knows, so a newer status the entity applies just after (observed before the publish try) still wakes it", async () => {
    // The demo's race: the publish activity reads the entity's memo (offline, from the device's
    // previous boot) and holds the command; the entity applies the device's new boot a moment
    // later, from a status the bridge received just before the publish try. The command must ask
    // for news since what it knows (the old presence), not since its own clock.
    const offline = { state: 'offline' as const, bootId: 'boot-1', observedAt: new Date(Date.now() - 60_000).toISOString() };
    let online: DevicePresence | undefined;
    const c = await start('memo-held', {
      entity: true,
      tuning: { presenceRecheckMs: 600_000 }, // only a wake-up can release it within this test
      stub: (s) =>
        (s.publish = (input, call, all) => {
          if (all.length > 1) return { published: true };
          online = { deviceId: input.deviceId, state: 'online', bootId: 'boot-2', observedAt: new Date(Date.parse(call.issuedAt) - 50).toISOString() };
          return { published: false, presence: { deviceId: input.deviceId, ...offline } };
        }),
    });
    await eventually(
      async () => c.stub.watches.length,
      (n) => n > 0,
    );
    expect(c.stub.publishes.map((x) => x.outcome)).toEqual(['held']);
    const [watch] = c.stub.watches;
    expect(watch.since).toBe(offline.observedAt);

    // Play the entity: it tells a new watcher at once what it heard after `since` (newsFor).
    expect(Date.parse(online!.observedAt)).toBeGreaterThan(Date.parse(watch.since));
    await c.presence({ state: online!.state, bootId: online!.bootId, observedAt: online!.observedAt });
    await calls(c.stub, 2);
    expect(c.stub.publishes.map((x) => [x.attempt, x.knownPresenceAt, x.outcome])).toEqual([
      [1, undefined, 'held'],
      [1, online!.observedAt, 'published'],
    ]);

    await c.ack();
    await c.result('succeeded');
    const outcome = await c.handle.result();
    expect(outcome.state).toBe('Succeeded');
    expect(outcome.attempts).toBe(1);
    expect(await c.entitySignals()).toEqual([{ kind: 'unwatch', commandId: c.request.commandId }]);
  });

  test('offline, and no online signal: every presenceRecheckMs the command asks the publish activity again (it reads the entity), and is published once the entity says online', async () => {
    const RECHECK_MS = 1_000; // the minimum (COMMAND_TUNING_LIMITS); the default, 2 min, is too long for a test
    const offline = { state: 'offline' as const, bootId: 'boot-1', observedAt: new Date(Date.now() - 1_000).toISOString() };
    const c = await start('recheck', {
      tuning: { presenceRecheckMs: RECHECK_MS },
      presence: offline,
      // The entity still says offline at the first two re-checks, online at the third.
      stub: (s) =>
        (s.publish = (input, _call, all) => (all.length <= 2 ? { published: false, presence: { deviceId: input.deviceId, ...offline } } : { published: true })),
    });
    await calls(c.stub, 3);
    const held = c.stub.publishes.slice(0, 2);

    expect(c.stub.publishes.map((x) => [x.attempt, x.knownPresenceAt, x.outcome])).toEqual([
      [1, undefined, 'held'],
      [1, undefined, 'held'],
      [1, undefined, 'published'],
    ]);
    expect(held[0].at - c.startedAt).toBeGreaterThanOrEqual(RECHECK_MS - CLOCK_SLACK_MS);
    expect(c.stub.publishes[1].at - held[0].at).toBeGreaterThanOrEqual(RECHECK_MS - CLOCK_SLACK_MS);
    expect(c.stub.publishes[2].at - held[1].at).toBeGreaterThanOrEqual(RECHECK_MS - CLOCK_SLACK_MS);

    await c.ack();
    await c.result('succeeded');
    const outcome = await c.handle.result();
    expect(outcome.state).toBe('Succeeded');
    // The holds used no attempt, and the offline wait was noted once.
    expect(outcome.attempts).toBe(1);
    expect(events(outcome)).toEqual(['created', 'device-offline', 'published', 'ack-accepted', 'result-succeeded']);
    expect(c.stub.watches).toHaveLength(1); // wake-ups asked once, not at every re-check
    expect(await c.entitySignals()).toEqual([{ kind: 'unwatch', commandId: c.request.commandId }]);
  });

  test('a result before the ack, then the ack and a conflicting result, all at once: one outcome, Succeeded', async () => {
    // The publish waits for the gate, so all three answers reach the workflow together after it
    // (as a burst the bridge forwards), in the order they were sent.
    const puback = gate();
    const c = await start('out-of-order', {
      options: { ackTimeoutMs: 30_000 },
      stub: (s) =>
        (s.publish = async () => {
          await puback.opened;
          return { published: true };
        }),
    });
    try {
      await calls(c.stub, 1);
      await c.result('succeeded', { output: { pong: true } });
      await c.ack();
      await c.result('failed', { error: { code: 'late', message: 'a second, different result' } });
    } finally {
      puback.open();
    }
    const outcome = await c.handle.result();

    expect(outcome.state).toBe('Succeeded');
    expect(outcome.output).toEqual({ pong: true });
    expect(outcome.error).toBeUndefined();
    expect(outcome.attempts).toBe(1);
    expect(statePath(outcome)).toEqual(['Created', 'Sent', 'Acknowledged', 'Succeeded']);
    expect(events(outcome)).toEqual(['created', 'published', 'ack-implied-by-result', 'result-succeeded', 'late-ack', 'late-result']);
    expect(c.stub.publishes).toHaveLength(1);
  });

  test('the ack twice (the second one rejected): noted as a duplicate, the command stays Acknowledged and its result decides', async () => {
    const c = await start('ack-twice', { options: { ackTimeoutMs: 30_000 } });
    await calls(c.stub, 1);
    await c.ack();
    await eventually(
      () => c.snapshot(),
      (s) => s.state === 'Acknowledged',
    );
    await c.ack('rejected');
    const after = await eventually(
      () => c.snapshot(),
      (s) => events(s).includes('duplicate-ack'),
    );
    expect(after.state).toBe('Acknowledged');

    await c.result('succeeded');
    const outcome = await c.handle.result();
    expect(outcome.state).toBe('Succeeded');
    expect(events(outcome)).toEqual(['created', 'published', 'ack-accepted', 'duplicate-ack', 'result-succeeded']);
    expect(statePath(outcome)).toEqual(['Created', 'Sent', 'Acknowledged', 'Succeeded']);
    expect(c.stub.publishes).toHaveLength(1);
  });
});
