import { Client } from '@temporalio/client';
import { commandWorkflowId, deviceMessageSignal } from '../../protocol/command-contract';
import { DELIVERY_GRACE_MS } from '../../protocol/command-limits';
import { PROTOCOL_VERSION } from '../../protocol/messages';
import { eventually } from '../support/eventually';
import { Harness } from '../support/harness';
import { RawDevice } from '../support/raw-device';
import { statePath } from '../support/state-path';

/**
 * The ack and result deadlines measure the device, not our queues (issue 17). When a deadline
 * passes, an answer may still be waiting in the bridge's lanes or behind other workflow tasks:
 * the command waits DELIVERY_GRACE_MS for it before ending TimedOut, and keeps the real outcome.
 */
describe('the delivery grace at a deadline', () => {
  const h = new Harness();
  let temporal: Client;
  beforeAll(async () => {
    await h.start();
    temporal = new Client({ connection: h.connection });
  });
  afterAll(() => h.stop());

  const raw = (deviceId: string) => new RawDevice(deviceId, h.env.mqttUrl, h.topicPrefix).start();
  /** Waits until the command's workflow has seen `n` timers fire (the deadline's timer first). */
  const timersFired = (commandId: string, n: number) =>
    eventually(
      async () =>
        (await temporal.workflow.getHandle(commandWorkflowId(commandId)).fetchHistory()).events?.filter((e) => e.timerFiredEventAttributes).length ?? 0,
      (fired) => fired >= n,
      20_000,
    );

  test('an ack the bridge received before the deadline, delivered after it (a backlog in our queues), counts: the command Succeeds, noted as on time', async () => {
    const device = await raw('grace-1');
    const handle = await h.client.send({ deviceId: 'grace-1', name: 'ping', ackTimeoutMs: 2_000, maxAttempts: 1 });
    const [cmd] = await device.waitForCommands(1);
    const receivedAt = new Date().toISOString(); // the device acked at once; the bridge got it now...
    await timersFired(cmd.commandId, 1); // ...but it reaches the workflow only after the ack deadline
    await temporal.workflow.getHandle(commandWorkflowId(cmd.commandId)).signal(deviceMessageSignal, {
      kind: 'ack',
      deviceId: 'grace-1',
      receivedAt,
      message: { v: PROTOCOL_VERSION, commandId: cmd.commandId, status: 'accepted' },
    });
    await eventually(
      async () => (await handle.state()).state,
      (s) => s !== 'Sent',
    );
    await device.result(cmd.commandId, 'succeeded');
    const outcome = await handle.result();
    expect(outcome.state).toBe('Succeeded');
    expect(statePath(outcome)).toEqual(['Created', 'Sent', 'Acknowledged', 'Succeeded']);
    expect(outcome.history.find((e) => e.event === 'delivered-late')?.reason).toMatch(/before the deadline .* in our queues: on time/);
    expect(outcome.attempts).toBe(1);
    await device.stop();
  });

  test('a result that comes after the result deadline but within the grace is the outcome, noted as the device being late', async () => {
    const device = await raw('grace-2');
    const handle = await h.client.send({ deviceId: 'grace-2', name: 'ping', resultTimeoutMs: 2_000 });
    const [cmd] = await device.waitForCommands(1);
    await device.ack(cmd.commandId);
    await eventually(
      async () => (await handle.state()).state,
      (s) => s === 'Acknowledged',
    );
    await timersFired(cmd.commandId, 1); // the result deadline passed
    await device.result(cmd.commandId, 'failed', { error: { code: 'E_SLOW', message: 'finished late' } });
    const outcome = await handle.result();
    expect(outcome.state).toBe('Failed');
    expect(outcome.error?.code).toBe('E_SLOW');
    expect(outcome.history.find((e) => e.event === 'answered-after-deadline')?.reason).toMatch(/ms after the deadline, within the delivery grace/);
    await device.stop();
  });

  test(`a device that never answers still ends TimedOut, ${DELIVERY_GRACE_MS} ms after the deadline: the grace is bounded`, async () => {
    const device = await raw('grace-3');
    const handle = await h.client.send({ deviceId: 'grace-3', name: 'ping', ackTimeoutMs: 1_000, maxAttempts: 1 });
    const outcome = await handle.result();
    expect(outcome.state).toBe('TimedOut');
    const published = Date.parse(outcome.history.find((e) => e.event === 'published')!.at);
    const ended = Date.parse(outcome.history.at(-1)!.at);
    // Timers never fire early: the end is at least deadline + grace after the publish.
    expect(ended - published).toBeGreaterThanOrEqual(1_000 + DELIVERY_GRACE_MS);
    expect(outcome.history.at(-1)!.event).toBe('ack-timeout');
    await device.stop();
  });
});
