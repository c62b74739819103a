import { entityWhen, watches } from '../support/entity-presence';
import { eventually } from '../support/eventually';
import { Harness } from '../support/harness';

/**
 * A device that wakes up asks for its pending commands (its `pending` topic) and gets them at
 * once, not at the next ack timeout. A device that asks in a loop gets one re-publish per
 * pacing interval, whatever it sends.
 */
describe('a waking device asks for its pending commands', () => {
  const h = new Harness();
  beforeAll(() => h.start());
  afterAll(() => h.stop());

  /** A device that, while asleep, does not hear its commands (as if its radio were off). */
  async function sleepyDevice(deviceId: string) {
    const state = { asleep: true, missed: 0 };
    const device = await h.startDevice(
      deviceId,
      { ping: async () => ({ pong: true }) },
      {
        ignore: () => {
          if (state.asleep) state.missed++;
          return state.asleep;
        },
      },
    );
    return { device, state };
  }

  test('its command is published again at once: no ack timeout passes', async () => {
    const deviceId = `${h.id}-sleepy`;
    const { device, state } = await sleepyDevice(deviceId);
    // An ack timeout far longer than the test: only the request can make the command succeed in time.
    const cmd = await h.client.send({ deviceId, name: 'ping', ackTimeoutMs: 600_000, ttlMs: 900_000 });
    await eventually(
      async () => state.missed,
      (n) => n === 1,
      30_000,
    );
    // A command that waits this long asks the device entity to wake it: the request goes there.
    await entityWhen(h.client.temporal, deviceId, watches(cmd.commandId));

    state.asleep = false;
    await device.requestPending();
    const outcome = await cmd.result();
    expect(outcome).toMatchObject({ state: 'Succeeded', attempts: 2 });
    const events = outcome.history.map((e) => e.event);
    expect(events).toContain('device-asked');
    expect(events).not.toContain('ack-timeout');
    expect(h.bridge!.counters.get('pending')).toBeGreaterThanOrEqual(1);
  });

  test('a device that asks in a loop costs one re-publish per pacing interval', async () => {
    const deviceId = `${h.id}-loop`;
    const { device, state } = await sleepyDevice(deviceId);
    const cmd = await h.client.send({ deviceId, name: 'ping', ackTimeoutMs: 600_000, ttlMs: 900_000 });
    await eventually(
      async () => state.missed,
      (n) => n === 1,
      30_000,
    );
    await entityWhen(h.client.temporal, deviceId, watches(cmd.commandId));
    const before = { asked: h.bridge!.counters.get('pending'), tooSoon: h.bridge!.counters.get('pending:too-soon') };

    // Still asleep: each re-publish is missed again and counted.
    for (let i = 0; i < 20; i++) await device.requestPending();
    await eventually(
      async () => h.bridge!.counters.get('pending') + h.bridge!.counters.get('pending:too-soon') - before.asked - before.tooSoon,
      (n) => n === 20,
      30_000,
    );
    await eventually(
      async () => state.missed,
      (n) => n === 2,
      30_000,
    );
    // 20 requests within far less than the 5 s interval: one passes.
    expect(h.bridge!.counters.get('pending') - before.asked).toBe(1);
    expect((await cmd.state()).attempts).toBe(2);

    state.asleep = false;
    await cmd.cancel();
    await cmd.result();
  });
});
