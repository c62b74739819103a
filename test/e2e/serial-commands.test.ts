import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { mkdtempSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { deviceWorkflowId, type DeviceSnapshot } from '../../protocol/device-contract';
import { showDevice } from '../../client/device-entity';
import { deviceText } from '../../cli/commands/devices';
import { eventually } from '../support/eventually';
import { Harness } from '../support/harness';
import { runCli } from '../support/run-cli';

/**
 * Serial commands (protocol/command-ordering.ts): one at a time per device, in priority then
 * arrival order, with the queue kept by the device entity. What the device executed, and when,
 * is what the test checks: its own log of starts and ends.
 */
describe('serial commands on one device', () => {
  const h = new Harness();
  beforeAll(() => h.start());
  afterAll(() => h.stop());

  const id = (name: string) => `${h.id}-${name}`;

  /** The entity's history replays against today's code; RECORD_HISTORIES=<dir> also saves it (test/replay/histories). */
  async function replayEntity(deviceId: string, file: string) {
    const history = await h.client.temporal.workflow.getHandle(deviceWorkflowId(deviceId)).fetchHistory();
    await Worker.runReplayHistory({ workflowBundle: { codePath: h.env.bundlePath } }, history, deviceWorkflowId(deviceId));
    if (process.env.RECORD_HISTORIES) writeFileSync(path.join(process.env.RECORD_HISTORIES, file), historyToJSON(history) + '\n');
  }

  /** A device whose `work` command logs its start and end; `hold` ones wait until the test opens their gate. */
  async function deviceWithLog(deviceId: string) {
    const log: string[] = [];
    const gates = new Map<string, () => void>();
    const device = await h.startDevice(deviceId, {
      work: async (params) => {
        const label = String(params.label);
        log.push(`start ${label}`);
        if (params.hold) await new Promise<void>((open) => gates.set(label, open));
        else await new Promise((r) => setTimeout(r, 150));
        log.push(`end ${label}`);
        return { label };
      },
    });
    const open = async (label: string) => {
      await eventually(async () => gates.has(label), Boolean, 30_000);
      gates.get(label)!();
    };
    return { device, log, open };
  }

  const queueOf = async (deviceId: string): Promise<DeviceSnapshot['queue']> => (await showDevice(h.client.temporal, deviceId)).entity?.queue;
  const waitingIds = (q: DeviceSnapshot['queue']) => q?.waiting.map((w) => w.commandId) ?? [];

  test('one at a time, first come first served, and a higher priority overtakes the waiting ones', async () => {
    const deviceId = id('fifo');
    const { log, open } = await deviceWithLog(deviceId);
    const serial = (label: string, priority = 0, hold = false) =>
      h.client.send({
        deviceId,
        name: 'work',
        params: { label, ...(hold ? { hold: true } : {}) },
        commandId: `${deviceId}.${label}`,
        ordering: { mode: 'serial', priority },
        resultTimeoutMs: 120_000,
      });

    const a = await serial('a', 0, true);
    await eventually(
      () => a.state(),
      (s) => s.state === 'Acknowledged',
      30_000,
    );
    // Each one waits in the queue before the next is sent, so the arrival order is known.
    const b = await serial('b');
    await eventually(
      () => queueOf(deviceId),
      (q) => waitingIds(q).includes(b.commandId),
      30_000,
    );
    const c = await serial('c');
    await eventually(
      () => queueOf(deviceId),
      (q) => waitingIds(q).includes(c.commandId),
      30_000,
    );
    const urgent = await serial('urgent', 5);
    const queued = await eventually(
      () => queueOf(deviceId),
      (q) => waitingIds(q).length === 3,
      30_000,
    );
    expect(queued?.inFlight?.commandId).toBe(a.commandId);
    expect(waitingIds(queued)).toEqual([urgent.commandId, b.commandId, c.commandId]);

    // `dco devices show` prints the turn and the queue in that order.
    const text = deviceText(await showDevice(h.client.temporal, deviceId));
    expect(text).toContain(`in flight: ${a.commandId} (work, priority 0)`);
    expect(text).toMatch(
      new RegExp(
        `1\\. ${urgent.commandId.replace(/\./g, '\\.')} \\(work, priority 5\\)[\\s\\S]*2\\. ${b.commandId.replace(/\./g, '\\.')}[\\s\\S]*3\\. ${c.commandId.replace(/\./g, '\\.')}`,
      ),
    );
    // Nothing but the first was published: the device has started only that one.
    expect(log).toEqual(['start a']);

    await open('a');
    const outcomes = await Promise.all([a, urgent, b, c].map((x) => x.result()));
    expect(outcomes.map((o) => o.state)).toEqual(['Succeeded', 'Succeeded', 'Succeeded', 'Succeeded']);
    expect(log).toEqual(['start a', 'end a', 'start urgent', 'end urgent', 'start b', 'end b', 'start c', 'end c']);
    const done = await eventually(
      () => queueOf(deviceId),
      (q) => q !== undefined && q.inFlight === undefined && q.served === 4,
      30_000,
    );
    expect(done).toMatchObject({ waiting: [], served: 4, reclaimed: 0 });
    expect(outcomes[2].history.map((e) => e.event)).toEqual(expect.arrayContaining(['queued', 'turn']));
    await replayEntity(deviceId, 'device-serial-queue.json');
  });

  test('a parallel command does not wait for the serial one in flight', async () => {
    const deviceId = id('mixed');
    const { log, open } = await deviceWithLog(deviceId);
    const a = await h.client.send({
      deviceId,
      name: 'work',
      params: { label: 'a', hold: true },
      ordering: { mode: 'serial', priority: 0 },
      resultTimeoutMs: 120_000,
    });
    await eventually(
      () => a.state(),
      (s) => s.state === 'Acknowledged',
      30_000,
    );
    const parallel = await h.client.send({ deviceId, name: 'work', params: { label: 'p' } });
    expect((await parallel.result()).state).toBe('Succeeded');
    expect(log).toEqual(['start a', 'start p', 'end p']);
    await open('a');
    expect((await a.result()).state).toBe('Succeeded');
  });

  test('waiting commands that expire or are cancelled are never published, and leave the queue', async () => {
    const deviceId = id('leave');
    const { log, open } = await deviceWithLog(deviceId);
    const serial = (label: string, extra: { ttlMs?: number; hold?: boolean } = {}) =>
      h.client.send({
        deviceId,
        name: 'work',
        params: { label, ...(extra.hold ? { hold: true } : {}) },
        ordering: { mode: 'serial', priority: 0 },
        resultTimeoutMs: 120_000,
        ...(extra.ttlMs ? { ttlMs: extra.ttlMs } : {}),
      });
    const a = await serial('a', { hold: true });
    await eventually(
      () => a.state(),
      (s) => s.state === 'Acknowledged',
      30_000,
    );
    const soon = await serial('soon', { ttlMs: 3_000 });
    const cancelled = await serial('cancelled');
    const last = await serial('last');
    await eventually(
      () => queueOf(deviceId),
      (q) => waitingIds(q).includes(cancelled.commandId),
      30_000,
    );
    await cancelled.cancel();

    const expired = await soon.result();
    expect(expired).toMatchObject({ state: 'Expired', attempts: 0, reason: expect.stringContaining('waiting for its turn') });
    expect(await cancelled.result()).toMatchObject({ state: 'Cancelled', attempts: 0 });
    const q = await eventually(
      () => queueOf(deviceId),
      (v) => waitingIds(v).length === 1,
      30_000,
    );
    expect(waitingIds(q)).toEqual([last.commandId]);

    await open('a');
    expect((await last.result()).state).toBe('Succeeded');
    expect(log).toEqual(['start a', 'end a', 'start last', 'end last']);
  });

  test('a turn given to a command that was terminated goes to the next one', async () => {
    const deviceId = id('terminated');
    const { log, open } = await deviceWithLog(deviceId);
    const serial = (label: string, hold = false) =>
      h.client.send({
        deviceId,
        name: 'work',
        params: { label, ...(hold ? { hold: true } : {}) },
        ordering: { mode: 'serial', priority: 0 },
        resultTimeoutMs: 120_000,
      });
    const a = await serial('a', true);
    await eventually(
      () => a.state(),
      (s) => s.state === 'Acknowledged',
      30_000,
    );
    const gone = await serial('gone');
    await eventually(
      () => queueOf(deviceId),
      (q) => waitingIds(q).includes(gone.commandId),
      30_000,
    );
    const next = await serial('next');
    await eventually(
      () => queueOf(deviceId),
      (q) => waitingIds(q).includes(next.commandId),
      30_000,
    );
    // Terminated: it never gives its turn back, nor can it be told it has one.
    await h.client.temporal.workflow.getHandle(`command-${gone.commandId}`).terminate('test: a command that vanished');

    await open('a');
    expect((await next.result()).state).toBe('Succeeded');
    expect(log).toEqual(['start a', 'end a', 'start next', 'end next']);
    const q = await eventually(
      () => queueOf(deviceId),
      (v) => v?.served === 3 && !v.inFlight,
      30_000,
    );
    expect(q).toMatchObject({ reclaimed: 1, waiting: [] });
    await replayEntity(deviceId, 'device-serial-turn-reclaimed.json');
  });

  test('`dco send --serial --priority N`, and a priority without --serial is a usage error', async () => {
    const deviceId = id('cli');
    const { log } = await deviceWithLog(deviceId);
    const env = { TEMPORAL_ADDRESS: h.env.temporalAddress, MQTT_URL: h.env.mqttUrl, DCO_TASK_QUEUE: h.taskQueue, DCO_TOPIC_PREFIX: h.topicPrefix };
    const sent = await runCli(['send', deviceId, 'work', '--params', '{"label":"cli"}', '--serial', '--priority', '3', '--wait', '--json'], env);
    expect({ code: sent.code, stderr: sent.stderr }).toEqual({ code: 0, stderr: '' });
    const outcome = JSON.parse(sent.stdout) as { state: string; history: Array<{ event: string }> };
    expect(outcome.state).toBe('Succeeded');
    expect(outcome.history.map((e) => e.event)).toEqual(expect.arrayContaining(['queued', 'turn']));
    expect(log).toEqual(['start cli', 'end cli']);

    const alone = await runCli(['send', deviceId, 'work', '--priority', '3'], env);
    expect(alone.code).toBe(2);
    expect(alone.stderr).toContain('--priority orders serial commands: add --serial');
    const tooHigh = await runCli(['send', deviceId, 'work', '--serial', '--priority', '12'], env);
    expect(tooHigh.code).toBe(2);
    expect(tooHigh.stderr).toContain('expected a priority from 0 to 9, got "12"');
  });

  test("`dco rollout start --serial`: each device's command waits behind that device's serial commands", async () => {
    const busy = await deviceWithLog(id('rollout-busy'));
    const idle = await deviceWithLog(id('rollout-idle'));
    const held = await h.client.send({
      deviceId: id('rollout-busy'),
      name: 'work',
      params: { label: 'held', hold: true },
      ordering: { mode: 'serial', priority: 0 },
      resultTimeoutMs: 120_000,
    });
    await eventually(
      () => held.state(),
      (s) => s.state === 'Acknowledged',
      30_000,
    );
    const targets = path.join(mkdtempSync(path.join(h.dir, 'serial-rollout-')), 'targets.txt');
    writeFileSync(targets, `${id('rollout-idle')}\n${id('rollout-busy')}\n`);
    const env = { TEMPORAL_ADDRESS: h.env.temporalAddress, MQTT_URL: h.env.mqttUrl, DCO_TASK_QUEUE: h.taskQueue, DCO_TOPIC_PREFIX: h.topicPrefix };
    const rollout = runCli(
      ['rollout', 'start', 'work', '--targets', targets, '--params', '{"label":"r"}', '--serial', '--canary', '1', '--wait', '--json'],
      env,
      undefined,
      120_000,
    );

    // The idle device runs it at once; the busy one's waits in its queue behind `held`.
    await eventually(
      async () => idle.log.join(),
      (l) => l === 'start r,end r',
      60_000,
    );
    const q = await eventually(
      () => queueOf(id('rollout-busy')),
      (v) => (v?.waiting.length ?? 0) === 1,
      60_000,
    );
    expect(q?.inFlight?.commandId).toBe(held.commandId);
    expect(busy.log).toEqual(['start held']);

    await busy.open('held');
    const r = await rollout;
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    expect(JSON.parse(r.stdout.trim().split('\n').at(-1)!)).toMatchObject({ state: 'done', overall: { succeeded: 2 } });
    expect(busy.log).toEqual(['start held', 'end held', 'start r', 'end r']);
  });
});
