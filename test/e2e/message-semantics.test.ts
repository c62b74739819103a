import { eventually } from '../support/eventually';
import { Harness } from '../support/harness';
import { RawDevice } from '../support/raw-device';
import { statePath } from '../support/state-path';

/** QoS 1 means twice, late, out of order, or from the wrong place: none of it may hurt. */
describe('duplicate, late, out-of-order and misdirected device messages', () => {
  const h = new Harness();
  beforeAll(() => h.start());
  afterAll(() => h.stop());

  const raw = (deviceId: string) => new RawDevice(deviceId, h.env.mqttUrl, h.topicPrefix).start();

  test('a result before its ack counts as both; the late ack and duplicates change nothing', async () => {
    const device = await raw('ooo-1');
    const handle = await h.client.send({ deviceId: 'ooo-1', name: 'ping' });
    const [cmd] = await device.waitForCommands(1);
    await device.result(cmd.commandId, 'succeeded', { output: { n: 1 } });
    const outcome = await handle.result();
    expect(outcome.state).toBe('Succeeded');
    expect(outcome.output).toEqual({ n: 1 });
    expect(statePath(outcome)).toEqual(['Created', 'Sent', 'Acknowledged', 'Succeeded']);
    expect(outcome.history.find((e) => e.event === 'ack-implied-by-result')).toBeDefined();

    // Late messages for a closed command: the ack repeats what the result implied (counted as
    // redundant); the contradicting result is attached to the command as a late answer (not
    // unknown, not a dead letter); the outcome does not change.
    const before = { ack: h.bridge!.counters.get('ack:late-redundant'), result: h.bridge!.counters.get('result:late-recorded') };
    await device.ack(cmd.commandId, 'accepted');
    await device.result(cmd.commandId, 'failed', { error: { code: 'x', message: 'late' } });
    await eventually(
      async () => [h.bridge!.counters.get('ack:late-redundant') - before.ack, h.bridge!.counters.get('result:late-recorded') - before.result],
      ([a, r]) => a === 1 && r === 1,
    );
    const late = await eventually(
      () => handle.lateAnswers(),
      (l) => l?.answers.length === 1,
    );
    expect(late).toMatchObject({ endedAs: 'Succeeded', lateOutcome: 'failed', answers: [{ kind: 'result', status: 'failed' }] });
    expect(h.bridge!.deadLetters.latest(20).filter((l) => l.commandId === cmd.commandId)).toEqual([]);
    expect((await handle.state()).state).toBe('Succeeded');
    await device.stop();
  });

  test('duplicate acks and a contradicting late result while running are recorded, not applied twice', async () => {
    const device = await raw('dup-1');
    const handle = await h.client.send({ deviceId: 'dup-1', name: 'ping' });
    const [cmd] = await device.waitForCommands(1);
    await device.ack(cmd.commandId);
    await device.ack(cmd.commandId);
    await device.ack(cmd.commandId, 'rejected', 'changed my mind');
    await eventually(
      () => handle.state(),
      (s) => s.history.filter((e) => e.event === 'duplicate-ack').length === 2,
    );
    await device.result(cmd.commandId, 'succeeded');
    await device.result(cmd.commandId, 'failed', { error: { code: 'dup', message: 'second result' } });
    const outcome = await handle.result();
    expect(outcome.state).toBe('Succeeded');
    expect(outcome.error).toBeUndefined();
    expect(statePath(outcome)).toEqual(['Created', 'Sent', 'Acknowledged', 'Succeeded']);
    await device.stop();
  });

  test('a device cannot answer for another device: the bridge checks the owner and forwards nothing', async () => {
    const victim = await raw('victim-1');
    const attacker = await raw('attacker-1');
    const handle = await h.client.send({ deviceId: 'victim-1', name: 'ping', ackTimeoutMs: 5_000 });
    const [cmd] = await victim.waitForCommands(1);
    const spoofed = () => h.bridge!.counters.get('ack:spoofed') + h.bridge!.counters.get('result:spoofed');
    const before = spoofed();
    await attacker.ack(cmd.commandId); // on devices/attacker-1/ack
    await attacker.result(cmd.commandId, 'failed', { error: { code: 'pwned', message: 'spoofed' } });
    await eventually(
      async () => spoofed(),
      (n) => n === before + 2,
    );
    expect(h.bridge!.deadLetters.latest(1)[0]).toMatchObject({ reason: 'spoofed', deviceId: 'attacker-1', commandId: cmd.commandId });
    const state = await handle.state();
    expect(state.state).toBe('Sent');
    expect(state.history.filter((e) => e.event.startsWith('ignored-'))).toEqual([]);
    await victim.ack(cmd.commandId);
    await victim.result(cmd.commandId);
    expect((await handle.result()).state).toBe('Succeeded');
    await victim.stop();
    await attacker.stop();
  });

  test("the bridge learns a command's device from the command the worker publishes: the answers cost Temporal no describe", async () => {
    const device = await raw('owner-1');
    const described = () => h.bridge!.counters.get('owner:described');
    const seen = h.bridge!.counters.get('commands:seen');
    const handle = await h.client.send({ deviceId: 'owner-1', name: 'ping' });
    const [cmd] = await device.waitForCommands(1);
    // The bridge reads the same publish (QoS 0, lane 0); wait for it rather than assume it.
    await eventually(
      async () => h.bridge!.counters.get('commands:seen'),
      (n) => n > seen,
    );
    const before = described();
    await device.ack(cmd.commandId);
    await device.result(cmd.commandId, 'succeeded');
    expect((await handle.result()).state).toBe('Succeeded');
    expect(described()).toBe(before);
    await device.stop();
  });

  test('answers a device sends at QoS 0 count: the command succeeds, it is not sent again', async () => {
    const device = await raw('qos0-1');
    device.qos = 0;
    const handle = await h.client.send({ deviceId: 'qos0-1', name: 'ping', ackTimeoutMs: 5_000 });
    const [cmd] = await device.waitForCommands(1);
    await device.ack(cmd.commandId);
    await device.result(cmd.commandId, 'succeeded', { output: { via: 'qos0' } });
    const outcome = await handle.result();
    expect(outcome).toMatchObject({ state: 'Succeeded', attempts: 1, output: { via: 'qos0' } });
    expect(statePath(outcome)).toEqual(['Created', 'Sent', 'Acknowledged', 'Succeeded']);
    await device.stop();
  });

  test('sending the same commandId twice starts one command; the device executes it once', async () => {
    const device = await h.startDevice('idem-1', { ping: async () => ({ ok: true }) });
    const commandId = `idem-${h.id}`;
    const [a, b] = await Promise.all([
      h.client.send({ deviceId: 'idem-1', name: 'ping', commandId }),
      h.client.send({ deviceId: 'idem-1', name: 'ping', commandId }),
    ]);
    expect(a.workflowId).toBe(b.workflowId);
    expect((await a.result()).state).toBe('Succeeded');
    // Again after it finished: the same command comes back, nothing new is sent.
    const again = await h.client.send({ deviceId: 'idem-1', name: 'ping', commandId });
    const outcome = await again.result();
    expect(outcome.state).toBe('Succeeded');
    expect(outcome.attempts).toBe(1);
    expect(device.journal.get(commandId)?.executions).toBe(1);
  });

  test('the same commandId with another device, name or params is refused as a conflict, not silently merged', async () => {
    await h.startDevice('conf-1', { ping: async () => ({ ok: true }), other: async () => ({}) });
    await h.startDevice('conf-2');
    const commandId = `conflict-${h.id}`;
    const first = await h.client.send({ deviceId: 'conf-1', name: 'ping', commandId, params: { a: 1, b: 2 } });
    // Same request (params in another key order): the same command, no error.
    expect((await h.client.send({ deviceId: 'conf-1', name: 'ping', commandId, params: { b: 2, a: 1 } })).workflowId).toBe(first.workflowId);
    for (const other of [
      { deviceId: 'conf-2', name: 'ping', params: { a: 1, b: 2 } },
      { deviceId: 'conf-1', name: 'other', params: { a: 1, b: 2 } },
      { deviceId: 'conf-1', name: 'ping', params: { a: 1, b: 3 } },
    ]) {
      await expect(h.client.send({ ...other, commandId })).rejects.toMatchObject({ name: 'CommandConflictError', commandId });
    }
    expect((await first.result()).state).toBe('Succeeded');
    // After it ended, too.
    await expect(h.client.send({ deviceId: 'conf-2', name: 'ping', commandId })).rejects.toThrow(
      /already exists with another device, name or params \(device conf-1, command ping\)/,
    );
  });

  test('a lost ack: the device executes, the result alone completes the command', async () => {
    await h.startDevice('noack-1', { ping: async () => ({ ok: 1 }) }, { dropAck: () => true });
    const outcome = await (await h.client.send({ deviceId: 'noack-1', name: 'ping' })).result();
    expect(outcome.state).toBe('Succeeded');
    expect(outcome.history.some((e) => e.event === 'ack-implied-by-result')).toBe(true);
  });

  test('a lost command: the device answers the re-publish, and executes once', async () => {
    let calls = 0;
    // The first delivery is "lost": the fault drops the ack; we also make the first run slow
    // so that the second publish arrives while the journal already holds the command.
    const device = await h.startDevice(
      'repub-1',
      {
        ping: async () => {
          calls++;
          await new Promise((r) => setTimeout(r, 2_500));
          return { calls };
        },
      },
      { dropAck: (c) => c.attempt === 1 },
    );
    const outcome = await (
      await h.client.send({ deviceId: 'repub-1', name: 'ping', ackTimeoutMs: 1_000, backoff: { initialMs: 100, maxMs: 100, jitter: 0 } })
    ).result();
    expect(outcome.state).toBe('Succeeded');
    expect(outcome.attempts).toBeGreaterThanOrEqual(2);
    expect(calls).toBe(1);
    expect(device.journal.get(outcome.commandId)?.executions).toBe(1);
  });

  test('malformed payloads and unknown commands are counted and acknowledged, never looped', async () => {
    const device = await raw('junk-1');
    const bridge = h.bridge!;
    const before = bridge.counters.toJSON();
    await device.publish('ack', 'not json at all');
    await device.publish('result', { v: 1, commandId: 'has spaces', status: 'succeeded' });
    await device.publish('ack', { v: 2, commandId: 'x', status: 'accepted' });
    await device.ack('no-such-command');
    const delta = (k: string) => bridge.counters.get(k) - (before[k] ?? 0);
    await eventually(
      async () => delta('ack:unknown-command'),
      (n) => n === 1,
    );
    expect(delta('rejected:not-json')).toBe(1);
    expect(delta('rejected:invalid-payload')).toBe(1);
    expect(delta('rejected:unsupported-version')).toBe(1);
    await device.stop();
  });
});
