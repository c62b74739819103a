import { cancellableWait } from '../../device/simulated-handlers';
import { entityShows } from '../support/entity-presence';
import { eventually } from '../support/eventually';
import { Harness } from '../support/harness';
import { RawDevice } from '../support/raw-device';
import { runCli } from '../support/run-cli';

/**
 * Cancel reaches the device (docs/protocol.md, "cancel"): a command ends `Cancelled` only when
 * it never reached the device or the device confirmed; a device that was too late gives its
 * real outcome; a device that does not answer leaves it `TimedOut` at the deadline.
 */
describe('cancelling a command', () => {
  const h = new Harness();
  beforeAll(() => h.start());
  afterAll(() => h.stop());

  const raw = (deviceId: string) => new RawDevice(deviceId, h.env.mqttUrl, h.topicPrefix).start();
  const events = (s: { history: { event: string }[] }) => s.history.map((e) => e.event);

  test('before delivery (the device is offline): Cancelled at once, nothing is sent to the device', async () => {
    const device = await raw('cancel-offline');
    await device.publish('status', { v: 1, state: 'offline', bootId: 'b1' }, undefined, true);
    await entityShows(h.client.temporal, h.taskQueue, 'cancel-offline', 'offline');
    const handle = await h.client.send({ deviceId: 'cancel-offline', name: 'ping' });
    await eventually(
      () => handle.state(),
      (s) => events(s).includes('device-offline'),
    );
    await handle.cancel();
    const outcome = await handle.result();
    expect(outcome).toMatchObject({ state: 'Cancelled', attempts: 0, reason: 'cancelled by the caller before it reached the device' });
    expect(events(outcome)).not.toContain('cancel-requested');
    expect(device.commands).toEqual([]);
    expect(device.cancels).toEqual([]);
    await device.stop();
  });

  test('after delivery: the device stops the running command and confirms; Cancelled, and the handler never finished', async () => {
    let finished = false;
    const agent = await h.startDevice('cancel-running', {
      calibrate: async (_params, ctx) => {
        await cancellableWait(120_000, ctx.signal);
        finished = true;
        return { calibrated: true };
      },
    });
    const handle = await h.client.send({ deviceId: 'cancel-running', name: 'calibrate', resultTimeoutMs: 300_000 });
    await eventually(
      () => handle.state(),
      (s) => s.state === 'Acknowledged',
    );
    await handle.cancel();
    const outcome = await handle.result();
    expect(outcome.state).toBe('Cancelled');
    expect(outcome.reason).toMatch(/the device confirmed the cancel/);
    expect(events(outcome)).toEqual(expect.arrayContaining(['ack-accepted', 'cancel-requested', 'cancel-sent', 'cancel-confirmed']));
    expect(finished).toBe(false);
    const entry = agent.journal.get(handle.commandId)!;
    expect(entry).toMatchObject({ executions: 1, result: { status: 'cancelled' } });
  });

  test('after execution (the result was lost): the device says it is too late, and the command ends with its real outcome', async () => {
    const agent = await h.startDevice(
      'cancel-too-late',
      { ping: async () => ({ pong: true }) },
      { dropResult: () => true }, // executed and journalled, but the result never left the device
    );
    const handle = await h.client.send({ deviceId: 'cancel-too-late', name: 'ping', resultTimeoutMs: 300_000 });
    await eventually(
      async () => agent.journal.get(handle.commandId)?.result?.status,
      (s) => s === 'succeeded',
    );
    // The device's ack left before it executed, but may still be on its way through the bridge:
    // cancel once the command knows it was acknowledged.
    await eventually(
      () => handle.state(),
      (s) => s.state === 'Acknowledged',
    );
    await handle.cancel();
    const outcome = await handle.result();
    expect(outcome).toMatchObject({ state: 'Succeeded', output: { pong: true } });
    expect(events(outcome)).toEqual(expect.arrayContaining(['cancel-requested', 'cancel-sent', 'result-succeeded']));
    expect(agent.journal.get(handle.commandId)!.executions).toBe(1);
  });

  test('a copy lost on the way: the device never saw the command, journals the cancel and confirms; a later copy is never run', async () => {
    let runs = 0;
    const agent = await h.startDevice('cancel-unseen', { ping: async () => ((runs += 1), { pong: true }) }, { ignore: () => true });
    const handle = await h.client.send({ deviceId: 'cancel-unseen', name: 'ping', ackTimeoutMs: 60_000 });
    await eventually(
      () => handle.state(),
      (s) => s.state === 'Sent',
    );
    await handle.cancel();
    const outcome = await handle.result();
    expect(outcome.state).toBe('Cancelled');
    expect(agent.journal.get(handle.commandId)).toMatchObject({
      executions: 0,
      ack: { status: 'rejected', reason: 'cancelled' },
      result: { status: 'cancelled' },
    });
    expect(runs).toBe(0);
  });

  test('a device that does not answer the cancel: TimedOut at the deadline, saying it may still execute it; it did get the request', async () => {
    const device = await raw('cancel-silent');
    const handle = await h.client.send({ deviceId: 'cancel-silent', name: 'ping', ackTimeoutMs: 2_000, resultTimeoutMs: 6_000 });
    const [cmd] = await device.waitForCommands(1);
    await device.ack(cmd.commandId);
    await eventually(
      () => handle.state(),
      (s) => s.state === 'Acknowledged',
    );
    await handle.cancel();
    const [cancel] = await device.waitForCancels(1);
    expect(cancel).toMatchObject({ v: 1, commandId: cmd.commandId });
    const outcome = await handle.result();
    expect(outcome.state).toBe('TimedOut');
    expect(outcome.reason).toMatch(/answered neither the cancel nor with a result .*may still execute it/);
    expect(events(outcome)).toContain('cancel-unconfirmed');
    await device.stop();
  });

  test('dco cancel --wait: exit 0 when Cancelled; exit 1 for a command that already ended', async () => {
    await h.startDevice('cancel-cli', { sleep: async (_p, ctx) => cancellableWait(120_000, ctx.signal) });
    const handle = await h.client.send({ deviceId: 'cancel-cli', name: 'sleep', resultTimeoutMs: 300_000 });
    await eventually(
      () => handle.state(),
      (s) => s.state === 'Acknowledged',
    );
    const env = { TEMPORAL_ADDRESS: h.env.temporalAddress, DCO_TASK_QUEUE: h.taskQueue };
    const cancelled = await runCli(['cancel', handle.commandId, '--wait', '--json'], env);
    expect(cancelled.code).toBe(0);
    expect(JSON.parse(cancelled.stdout)).toMatchObject({ commandId: handle.commandId, state: 'Cancelled' });

    const again = await runCli(['cancel', handle.commandId], env);
    expect(again.code).toBe(1);
    expect(again.stdout).toMatch(/already ended Cancelled: nothing to cancel/);
    const unknown = await runCli(['cancel', 'no-such-command'], env);
    expect(unknown.code).toBe(2);
  });
});
