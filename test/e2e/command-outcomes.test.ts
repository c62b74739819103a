import { CommandFailure } from '../../device/device-agent';
import { eventually } from '../support/eventually';
import { Harness } from '../support/harness';
import { RawDevice } from '../support/raw-device';
import { statePath } from '../support/state-path';

/** Every terminal state, reached through the real worker, bridge and broker. */
describe('command outcomes', () => {
  const h = new Harness();
  beforeAll(() => h.start());
  afterAll(() => h.stop());

  const raw = (deviceId: string) => new RawDevice(deviceId, h.env.mqttUrl, h.topicPrefix).start();

  test('Failed: the handler reports an error code, which reaches the caller', async () => {
    await h.startDevice('valve-1', {
      calibrate: async () => {
        throw new CommandFailure('sensor-fault', 'pressure sensor not responding');
      },
    });
    const outcome = await (await h.client.send({ deviceId: 'valve-1', name: 'calibrate' })).result();
    expect(outcome.state).toBe('Failed');
    expect(outcome.error).toEqual({ code: 'sensor-fault', message: 'pressure sensor not responding' });
    expect(statePath(outcome)).toEqual(['Created', 'Sent', 'Acknowledged', 'Failed']);
  });

  test('Rejected: the device does not know the command', async () => {
    await h.startDevice('valve-2', { ping: async () => ({}) });
    const outcome = await (await h.client.send({ deviceId: 'valve-2', name: 'self-destruct' })).result();
    expect(outcome.state).toBe('Rejected');
    expect(outcome.reason).toBe('unknown-command: self-destruct');
  });

  test('TimedOut: no ack after every attempt; each attempt re-publishes the same commandId', async () => {
    const device = await raw('silent-1');
    const handle = await h.client.send({
      deviceId: 'silent-1',
      name: 'ping',
      ackTimeoutMs: 1_000,
      maxAttempts: 3,
      backoff: { initialMs: 100, maxMs: 100, jitter: 0 },
    });
    const outcome = await handle.result();
    expect(outcome.state).toBe('TimedOut');
    expect(outcome.attempts).toBe(3);
    expect(outcome.reason).toBe('no ack after 3 attempt(s)');
    const received = await device.waitForCommands(3);
    expect(received.map((c) => [c.commandId, c.attempt])).toEqual([
      [handle.commandId, 1],
      [handle.commandId, 2],
      [handle.commandId, 3],
    ]);
    await device.stop();
  });

  test('Expired: the time to live runs out before the device answers', async () => {
    const handle = await h.client.send({
      deviceId: 'offline-1',
      name: 'ping',
      ackTimeoutMs: 1_000,
      maxAttempts: 100,
      // Room for a second attempt with at least MIN_PUBLISH_LEFT_MS left, timers ~1 s late included.
      ttlMs: 4_000,
      backoff: { initialMs: 200, maxMs: 200, jitter: 0 },
    });
    const outcome = await handle.result();
    expect(outcome.state).toBe('Expired');
    expect(outcome.attempts).toBeGreaterThanOrEqual(2);
    expect(Date.parse(outcome.history.at(-1)!.at)).toBeGreaterThanOrEqual(Date.parse(outcome.expiresAt));
  });

  test('Expired: a device that got the command too late rejects it as expired', async () => {
    const device = await raw('late-1');
    const handle = await h.client.send({ deviceId: 'late-1', name: 'ping' });
    const [cmd] = await device.waitForCommands(1);
    await device.ack(cmd.commandId, 'rejected', 'expired');
    const outcome = await handle.result();
    expect(outcome.state).toBe('Expired');
    expect(outcome.reason).toBe('expired');
    await device.stop();
  });

  test('TimedOut after the ack: the device accepted but never reported a result', async () => {
    await h.startDevice('stuck-1', { ping: () => new Promise(() => {}) });
    const outcome = await (await h.client.send({ deviceId: 'stuck-1', name: 'ping', resultTimeoutMs: 1_000 })).result();
    expect(outcome.state).toBe('TimedOut');
    expect(statePath(outcome)).toEqual(['Created', 'Sent', 'Acknowledged', 'TimedOut']);
    expect(outcome.reason).toBe('no result within 1000 ms of the ack');
  });

  test('Cancelled: the caller cancels, the device confirms; nothing more is published afterwards', async () => {
    const device = await raw('cancel-1');
    const handle = await h.client.send({ deviceId: 'cancel-1', name: 'ping', ackTimeoutMs: 1_000, backoff: { initialMs: 100, maxMs: 100, jitter: 0 } });
    const [cmd] = await device.waitForCommands(1);
    await handle.cancel();
    await device.waitForCancels(1);
    await device.result(cmd.commandId, 'cancelled');
    const outcome = await handle.result();
    expect(outcome.state).toBe('Cancelled');
    expect(outcome.history.map((e) => e.event)).not.toContain('ack-implied-by-result'); // it never ran
    const seen = device.commands.length;
    await new Promise((r) => setTimeout(r, 2_500)); // longer than ack timeout + backoff
    expect(device.commands.length).toBe(seen);
    await device.stop();
  });

  test('the CommandState search attribute follows the state', async () => {
    await h.startDevice('sa-1');
    const handle = await h.client.send({ deviceId: 'sa-1', name: 'ping' });
    await handle.result();
    const described = await eventually(
      () => h.client.temporal.workflow.getHandle(handle.workflowId).describe(),
      (d) => d.typedSearchAttributes.get(stateKey) === 'Succeeded',
    );
    expect(described.typedSearchAttributes.get(deviceKey)).toBe('sa-1');
    const listed: string[] = [];
    for await (const w of h.client.temporal.workflow.list({ query: `DeviceId = 'sa-1' AND CommandState = 'Succeeded'` })) listed.push(w.workflowId);
    expect(listed).toEqual([handle.workflowId]);
  });
});

import { CommandStateAttribute as stateKey, DeviceIdAttribute as deviceKey } from '../../protocol/search-attributes';
