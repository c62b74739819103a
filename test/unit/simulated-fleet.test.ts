import { checkShares } from '../../device/fleet-profiles';
import { FleetSimulator } from '../../device/fleet-simulator';
import { simulatedHandlers } from '../../device/simulated-handlers';
import { Simulator } from '../../device/simulator';

/**
 * `dco sim` (Simulator: one reference agent per device) and `dco sim --shared` (FleetSimulator)
 * give the misbehaviour knobs one meaning: exact shares of devices, picked by the seed. Nothing
 * here connects.
 */

const shares = { seed: 5, failureRate: 0.1, rejectRate: 0.2, offlineRate: 0.1, slowRate: 0.3 };

describe('the simulators agree on who misbehaves', () => {
  test('the same IDs, shares and seed give each device the same profile, in exact numbers', () => {
    const sim = new Simulator({
      devices: 50,
      idPrefix: 'sim-',
      mqttUrl: 'mqtt://127.0.0.1:1',
      topicPrefix: 'devices',
      dataDir: '/nonexistent',
      latencyMs: 10,
      dropAckRate: 0,
      ...shares,
    });
    const fleet = new FleetSimulator({ devices: 50, idPrefix: 'sim-', mqttUrl: 'mqtt://127.0.0.1:1', ...shares });
    expect(sim.deviceIds).toEqual(fleet.deviceIds);
    const profiles = sim.deviceIds.map((d) => sim.profile(d)!);
    expect(profiles).toEqual(fleet.deviceIds.map((d) => fleet.profile(d)!));
    const count = (trait: 'failing' | 'rejecting' | 'offline' | 'slow') => profiles.filter((p) => p[trait]).length;
    expect([count('failing'), count('rejecting'), count('offline'), count('slow')]).toEqual([5, 10, 5, 15]);
  });

  test('offline + reject + failure above 1 is refused by both (a device has at most one of these traits)', () => {
    const too = { offlineRate: 0.5, failureRate: 0.6 };
    expect(() => checkShares(too)).toThrow(RangeError);
    expect(() => new FleetSimulator({ devices: 5, mqttUrl: 'mqtt://127.0.0.1:1', ...too })).toThrow(RangeError);
    expect(
      () =>
        new Simulator({
          devices: 5,
          idPrefix: 'sim-',
          mqttUrl: 'mqtt://127.0.0.1:1',
          topicPrefix: 'devices',
          dataDir: '/nonexistent',
          latencyMs: 10,
          rejectRate: 0,
          dropAckRate: 0,
          ...too,
        }),
    ).toThrow(RangeError);
  });
});

describe("dco sim's handlers", () => {
  const ctx = { deviceId: 'd', commandId: 'c', attempt: 1, expiresAt: new Date(Date.now() + 60_000).toISOString(), signal: new AbortController().signal };

  test('a failing device fails every command it runs, with the code of the shared simulator', async () => {
    const handlers = simulatedHandlers({ latencyMs: 0, failing: true, random: () => 0 });
    for (const [name, params] of [
      ['ping', {}],
      ['update-firmware', { version: '2' }],
      ['sleep', { ms: 0 }],
    ] as const) {
      await expect(handlers[name](params, ctx)).rejects.toMatchObject({ code: 'simulated-failure' });
    }
  });

  test('any other device succeeds (but for `fail`, which always fails)', async () => {
    const handlers = simulatedHandlers({ latencyMs: 0, failing: false, random: () => 0 });
    await expect(handlers.ping({}, ctx)).resolves.toEqual({ pong: true });
    await expect(handlers.sleep({ ms: 0 }, ctx)).resolves.toEqual({ sleptMs: 0 });
    await expect(handlers.fail({}, ctx)).rejects.toMatchObject({ code: 'requested-failure' });
  });
});
