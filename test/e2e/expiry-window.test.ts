import { EXPIRY_GRACE_MS, MIN_PUBLISH_LEFT_MS } from '../../protocol/command-limits';
import { eventually } from '../support/eventually';
import { Harness } from '../support/harness';
import { RawDevice } from '../support/raw-device';
import { statePath } from '../support/state-path';

/**
 * The edges of `expiresAt`. `Expired` promises that the device will not execute the command,
 * so an answer already on its way at expiry must still count, and nothing is published with
 * too little time left to be executed.
 */
describe('the expiry window', () => {
  const h = new Harness();
  beforeAll(() => h.start());
  afterAll(() => h.stop());

  const raw = (deviceId: string) => new RawDevice(deviceId, h.env.mqttUrl, h.topicPrefix).start();

  test('an ack that arrives 3 s after expiresAt (within the grace), for a command published 2 s before it, counts: the command is Acknowledged and Succeeds', async () => {
    const device = await raw('edge-1');
    const handle = await h.client.send({ deviceId: 'edge-1', name: 'ping', ttlMs: 2_000 });
    const [cmd] = await device.waitForCommands(1);
    const expiresAt = Date.parse(cmd.expiresAt);
    // The device took it in time; its ack reaches the service 3 s after expiry (later than the
    // dev server's timer granularity of about 1 s could hide).
    await new Promise((r) => setTimeout(r, Math.max(0, expiresAt + 3_000 - Date.now())));
    expect(Date.now()).toBeLessThan(expiresAt + EXPIRY_GRACE_MS); // still within the grace
    await device.ack(cmd.commandId);
    await eventually(
      async () => (await handle.state()).state,
      (s) => s !== 'Sent',
    );
    expect((await handle.state()).state).toBe('Acknowledged');
    await device.result(cmd.commandId, 'succeeded', { output: { late: 'but in time' } });
    const outcome = await handle.result();
    expect(outcome.state).toBe('Succeeded');
    expect(statePath(outcome)).toEqual(['Created', 'Sent', 'Acknowledged', 'Succeeded']);
    await device.stop();
  });

  test(`nothing is published with less than ${MIN_PUBLISH_LEFT_MS} ms left; the command then ends Expired after the grace`, async () => {
    const device = await raw('edge-2');
    const handle = await h.client.send({
      deviceId: 'edge-2',
      name: 'ping',
      ttlMs: 1_900,
      ackTimeoutMs: 1_000,
      backoff: { initialMs: 100, maxMs: 100, jitter: 0 },
    });
    const outcome = await handle.result();
    expect(outcome.state).toBe('Expired');
    // Every copy was issued with at least MIN_PUBLISH_LEFT_MS left (issuedAt is the workflow's
    // time of the decision to publish).
    const expiresAt = Date.parse(outcome.expiresAt);
    expect(outcome.history.filter((e) => e.event === 'published').length).toBe(outcome.attempts);
    await eventually(
      async () => device.commands.length,
      (n) => n === outcome.attempts,
    );
    expect(device.commands.map((c) => expiresAt - Date.parse(c.issuedAt) >= MIN_PUBLISH_LEFT_MS)).toEqual(device.commands.map(() => true));
    // It waited out the grace for an answer in flight before saying "will not execute".
    expect(Date.parse(outcome.history.at(-1)!.at)).toBeGreaterThanOrEqual(expiresAt + EXPIRY_GRACE_MS - 50);
    await device.stop();
  });
});
