import { devicePresenceSignal } from '../../protocol/command-contract';
import { MAX_PRESENCE_REPUBLISHES } from '../../protocol/command-limits';
import { WATCH_AFTER_MS } from '../../workflows/command-plan';
import { CommandFailure } from '../../device/device-agent';
import { entityShows, entitySnapshot, entityWhen } from '../support/entity-presence';
import { eventually } from '../support/eventually';
import { Harness } from '../support/harness';
import { RawDevice } from '../support/raw-device';

/** Offline is a normal state; a reboot between receipt and execution is recovered. */
describe('presence and reboots', () => {
  const h = new Harness();
  beforeAll(() => h.start());
  afterAll(() => h.stop());

  const raw = (deviceId: string) => new RawDevice(deviceId, h.env.mqttUrl, h.topicPrefix).start();
  const events = (s: { history: { event: string }[] }) => s.history.map((e) => e.event);

  test('a command for an offline device waits in Created without using attempts, and is sent the moment it comes online', async () => {
    const first = await h.startDevice('sleepy-1');
    await first.stop(); // retained status: offline
    await entityShows(h.client.temporal, h.taskQueue, 'sleepy-1', 'offline'); // what the worker reads before it publishes
    const handle = await h.client.send({ deviceId: 'sleepy-1', name: 'ping', ackTimeoutMs: 30_000 });
    const waiting = await eventually(
      () => handle.state(),
      (s) => events(s).includes('device-offline'),
    );
    expect(waiting.state).toBe('Created');
    expect(waiting.attempts).toBe(0);

    await h.startDevice('sleepy-1'); // online again, new bootId
    const outcome = await handle.result();
    expect(outcome.state).toBe('Succeeded');
    expect(outcome.attempts).toBe(1);
    // Published on the presence signal, not after a 30 s ack timeout or a re-check.
    expect(events(outcome)).toEqual(expect.arrayContaining(['device-offline', 'device-online', 'published']));
    expect(events(outcome)).not.toContain('ack-timeout');
  });

  test('offline until the time to live runs out: Expired, with no attempt used', async () => {
    const d = await h.startDevice('gone-1');
    await d.stop();
    await entityShows(h.client.temporal, h.taskQueue, 'gone-1', 'offline');
    const outcome = await (await h.client.send({ deviceId: 'gone-1', name: 'ping', ttlMs: 2_000 })).result();
    expect(outcome.state).toBe('Expired');
    expect(outcome.attempts).toBe(0);
    expect(outcome.reason).toBe('time to live passed while the device was offline');
  });

  test('a silent device is retried by the ack deadline whatever its status says', async () => {
    const device = await raw('liar-1');
    await device.publish('status', { v: 1, state: 'online', bootId: 'b1' });
    const outcome = await (
      await h.client.send({ deviceId: 'liar-1', name: 'ping', ackTimeoutMs: 1_000, maxAttempts: 2, backoff: { initialMs: 100, jitter: 0 } })
    ).result();
    expect(outcome.state).toBe('TimedOut');
    expect(outcome.attempts).toBe(2);
    await device.stop();
  });

  test(`a reboot while the command is Sent re-publishes it within ${WATCH_AFTER_MS / 1000} s (when it asks its entity for wake-ups), long before its ack timeout, with the next attempt, and says why`, async () => {
    const device = await raw('reboot-1');
    await device.publish('status', { v: 1, state: 'online', bootId: 'boot-A' });
    // Known before the command (the usual case): its publish reads boot-A from the entity.
    await entityShows(h.client.temporal, h.taskQueue, 'reboot-1', 'online');
    const handle = await h.client.send({ deviceId: 'reboot-1', name: 'ping', ackTimeoutMs: 60_000 });
    await device.waitForCommands(1);
    await device.publish('status', { v: 1, state: 'online', bootId: 'boot-B' });
    const [, second] = await device.waitForCommands(2, 45_000); // long before the 60 s ack timeout
    expect(second.attempt).toBe(2);
    expect(second.commandId).toBe(handle.commandId);
    await device.ack(second.commandId);
    await device.result(second.commandId);
    const outcome = await handle.result();
    expect(outcome.state).toBe('Succeeded');
    expect(outcome.history.find((e) => e.event === 'device-rebooted')?.reason).toBe('device rebooted (boot boot-A → boot-B)');
    await device.stop();
  });

  test('a device offline at a result probe is probed again once it is back: its lost result is not lost to a stale presence', async () => {
    // The chaos test's case: the result was lost (a broker crash), and the device was offline at
    // the first probe. Before the patch the command then believed it offline until its result
    // timeout and ended TimedOut, although the device had executed the command.
    const device = await raw('probe-back-1');
    await device.publish('status', { v: 1, state: 'online', bootId: 'b1' });
    await entityShows(h.client.temporal, h.taskQueue, 'probe-back-1', 'online');
    const handle = await h.client.send({ deviceId: 'probe-back-1', name: 'ping', ackTimeoutMs: 1_000, resultTimeoutMs: 40_000 });
    const [cmd] = await device.waitForCommands(1);
    await device.publish('status', { v: 1, state: 'offline', bootId: 'b1' });
    await entityShows(h.client.temporal, h.taskQueue, 'probe-back-1', 'offline');
    await device.ack(cmd.commandId); // and its result never arrives
    // The first probe (2 s after the ack) finds the device offline and publishes nothing.
    await eventually(
      () => handle.state(),
      (s) => events(s).includes('device-offline'),
    );
    expect(device.commands).toHaveLength(1);
    await device.publish('status', { v: 1, state: 'online', bootId: 'b1' }); // back, same boot: no reboot to wake it
    const [, probe] = await device.waitForCommands(2, 30_000);
    expect(probe.attempt).toBe(2);
    await device.result(cmd.commandId, 'succeeded');
    const outcome = await handle.result();
    expect(outcome.state).toBe('Succeeded');
    expect(events(outcome)).toEqual(expect.arrayContaining(['result-probe', 'device-offline']));
    await device.stop();
  });

  test('presence not known when it was published (a device without an entity): a status seen before the publish is no reason to publish again; one after it is', async () => {
    const device = await raw('new-1'); // no status: no entity, presence unknown at the publish
    const before = new Date().toISOString();
    const handle = await h.client.send({ deviceId: 'new-1', name: 'ping', ackTimeoutMs: 60_000 });
    await device.waitForCommands(1);
    // What the bridge sends when it sees a device come online, in the order it saw them.
    const wake = (bootId: string, observedAt: string) =>
      h.client.temporal.workflow.getHandle(handle.workflowId).signal(devicePresenceSignal, { deviceId: 'new-1', state: 'online', bootId, observedAt });
    await wake('first', before);
    await wake('second', new Date().toISOString());
    const [, again] = await device.waitForCommands(2, 15_000);
    await device.result(again.commandId);
    const outcome = await handle.result();
    expect(outcome.state).toBe('Succeeded');
    // Signals are applied in order: the first was only kept, the second (a new boot) re-published.
    expect(outcome.history.filter((e) => e.event === 'published')).toHaveLength(2);
    expect(outcome.history.filter((e) => e.event.startsWith('device-')).map((e) => [e.event, e.reason])).toEqual([
      ['device-rebooted', 'device rebooted (boot first → second)'],
    ]);
    expect(device.commands.map((c) => c.attempt)).toEqual([1, 2]);
    await device.stop();
  });

  test('a boot the command had not heard of, seen before its publish (the entity lagged): no second copy; a boot after the publish gets one', async () => {
    const device = await raw('stale-1');
    await device.publish('status', { v: 1, state: 'online', bootId: 'old' });
    await entityShows(h.client.temporal, h.taskQueue, 'stale-1', 'online'); // the publish reads boot `old`
    const between = new Date().toISOString(); // the device restarts here, before the publish
    const handle = await h.client.send({ deviceId: 'stale-1', name: 'ping', ackTimeoutMs: 60_000 });
    await device.waitForCommands(1);
    const wake = (bootId: string, observedAt: string) =>
      h.client.temporal.workflow.getHandle(handle.workflowId).signal(devicePresenceSignal, { deviceId: 'stale-1', state: 'online', bootId, observedAt });
    await wake('new', between);
    await wake('newer', new Date().toISOString());
    const [, again] = await device.waitForCommands(2, 15_000);
    await device.result(again.commandId);
    const outcome = await handle.result();
    expect(outcome.history.filter((e) => e.event === 'published')).toHaveLength(2);
    expect(outcome.history.filter((e) => e.event.startsWith('device-')).map((e) => e.reason)).toEqual(['device rebooted (boot new → newer)']);
    await device.stop();
  });

  test(`a device in a boot loop gets at most ${MAX_PRESENCE_REPUBLISHES} presence re-publishes; later reboots are noted once, not re-published`, async () => {
    const device = await raw('bootloop-1');
    await device.publish('status', { v: 1, state: 'online', bootId: 'loop-0' });
    const handle = await h.client.send({ deviceId: 'bootloop-1', name: 'ping', ackTimeoutMs: 120_000, maxAttempts: 1 });
    await device.waitForCommands(1);
    // Each reboot waits for its copy, so the bridge's coalescing cannot merge them.
    for (let boot = 1; boot <= MAX_PRESENCE_REPUBLISHES; boot++) {
      await device.publish('status', { v: 1, state: 'online', bootId: `loop-${boot}` });
      await device.waitForCommands(1 + boot, 45_000); // the first after WATCH_AFTER_MS, then at once
    }
    // Three more reboots: each reaches the command (the entity wakes it), none is re-published.
    for (let boot = MAX_PRESENCE_REPUBLISHES + 1; boot <= MAX_PRESENCE_REPUBLISHES + 3; boot++) {
      const woken = (await entitySnapshot(h.client.temporal, 'bootloop-1'))?.wakes ?? 0;
      await device.publish('status', { v: 1, state: 'online', bootId: `loop-${boot}` });
      await entityWhen(h.client.temporal, 'bootloop-1', (s) => (s.wakes ?? 0) > woken);
    }
    await eventually(
      () => handle.state(),
      (st) => st.history.some((e) => e.event === 'presence-budget-spent'),
    );
    const last = device.commands.at(-1)!;
    await device.ack(last.commandId);
    await device.result(last.commandId);
    const outcome = await handle.result();
    expect(outcome.state).toBe('Succeeded');
    expect(outcome.history.filter((e) => e.event === 'published')).toHaveLength(1 + MAX_PRESENCE_REPUBLISHES);
    expect(outcome.history.filter((e) => e.event === 'presence-budget-spent')).toHaveLength(1);
    expect(device.commands).toHaveLength(1 + MAX_PRESENCE_REPUBLISHES);
    await device.stop();
  }, 120_000);

  test('executed before a reboot, result lost: the restarted device re-sends the stored result; it ran once', async () => {
    let runs = 0;
    const handlers = { ping: async () => ({ run: ++runs }) };
    const before = await h.startDevice('crash-1', handlers, { dropResult: () => true });
    const handle = await h.client.send({ deviceId: 'crash-1', name: 'ping', resultTimeoutMs: 60_000 });
    await eventually(
      async () => before.journal.get(handle.commandId)?.result,
      (r) => r !== undefined,
    );
    await before.crash();
    const after = await h.startDevice('crash-1', handlers);
    const outcome = await handle.result();
    expect(outcome.state).toBe('Succeeded');
    expect(outcome.output).toEqual({ run: 1 });
    expect(runs).toBe(1);
    expect(after.journal.get(handle.commandId)?.executions).toBe(1);
  });

  test('interrupted by a reboot mid-execution: reported as failed (interrupted), never run twice', async () => {
    let runs = 0;
    const before = await h.startDevice('crash-2', {
      ping: async () => {
        runs++;
        return new Promise(() => {}); // the power goes out during execution
      },
    });
    const handle = await h.client.send({ deviceId: 'crash-2', name: 'ping', resultTimeoutMs: 60_000 });
    await eventually(
      () => handle.state(),
      (s) => s.state === 'Acknowledged',
    );
    await before.crash();
    await h.startDevice('crash-2', {
      ping: async () => {
        runs++;
        throw new CommandFailure('should-not-run', 'executed twice');
      },
    });
    const outcome = await handle.result();
    expect(outcome.state).toBe('Failed');
    expect(outcome.error?.code).toBe('interrupted');
    expect(runs).toBe(1);
    // No check for a `device-rebooted` note: the restarted device publishes its new status and
    // its `interrupted` result at once, and when the bridge forwards the result first (the
    // status reaches the command through its device entity), the command is over before the
    // reboot reaches it. Both orders are correct.
  });

  test('received but lost before the journal: the restarted device executes it once', async () => {
    let runs = 0;
    const handlers = { ping: async () => ({ run: ++runs }) };
    const before = await h.startDevice('crash-3', handlers, { ignore: () => true });
    const handle = await h.client.send({ deviceId: 'crash-3', name: 'ping', ackTimeoutMs: 60_000 });
    await eventually(
      () => handle.state(),
      (s) => s.state === 'Sent',
    );
    await before.crash();
    await h.startDevice('crash-3', handlers);
    const outcome = await handle.result();
    expect(outcome.state).toBe('Succeeded');
    expect(runs).toBe(1);
    expect(outcome.attempts).toBe(2);
  });
});
