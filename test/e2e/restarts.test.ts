import { Harness } from '../support/harness';
import { RawDevice } from '../support/raw-device';
import { eventually } from '../support/eventually';
import { statePath } from '../support/state-path';
import { temporal } from '@temporalio/proto';

const SIGNALED = temporal.api.enums.v1.EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED;

/** Processes die; commands do not. */
describe('restarts in the middle of a command', () => {
  const h = new Harness();
  beforeAll(() => h.start());
  afterAll(() => h.stop());

  const raw = (deviceId: string) => new RawDevice(deviceId, h.env.mqttUrl, h.topicPrefix).start();

  test('bridge down when the device answers: the ack waits in the broker and arrives after restart', async () => {
    const device = await raw('br-1');
    const handle = await h.client.send({ deviceId: 'br-1', name: 'ping', ackTimeoutMs: 60_000, resultTimeoutMs: 60_000 });
    const [cmd] = await device.waitForCommands(1);
    await h.stopBridge();
    await device.ack(cmd.commandId);
    await device.result(cmd.commandId, 'succeeded', { output: { afterRestart: true } });
    expect((await handle.state()).state).toBe('Sent'); // nobody forwarded anything yet
    await h.startBridge(); // same client ID: the persistent session holds both messages
    const outcome = await handle.result();
    expect(outcome.state).toBe('Succeeded');
    expect(outcome.output).toEqual({ afterRestart: true });
    expect(outcome.attempts).toBe(1);
    await device.stop();
  });

  test('worker down while the device answers: the command completes when a worker returns', async () => {
    const device = await raw('wk-1');
    const handle = await h.client.send({ deviceId: 'wk-1', name: 'ping', ackTimeoutMs: 60_000 });
    const [cmd] = await device.waitForCommands(1);
    await eventually(
      () => handle.state(),
      (s) => s.state === 'Sent',
    );
    await h.stopWorker();
    await device.ack(cmd.commandId);
    await device.result(cmd.commandId, 'succeeded');
    // Temporal stores both signals while no worker runs.
    await eventually(
      async () => (await h.client.temporal.workflow.getHandle(handle.workflowId).fetchHistory()).events!,
      (events) => events.filter((e) => e.eventType === SIGNALED).length === 2,
    );
    await h.startWorker();
    const outcome = await handle.result();
    expect(outcome.state).toBe('Succeeded');
    expect(statePath(outcome)).toEqual(['Created', 'Sent', 'Acknowledged', 'Succeeded']);
    await device.stop();
  });

  test('worker down before the first publish: the command is sent when a worker returns', async () => {
    await h.stopWorker();
    const device = await h.startDevice('wk-2');
    const handle = await h.client.send({ deviceId: 'wk-2', name: 'ping' });
    await new Promise((r) => setTimeout(r, 500));
    expect((await h.client.temporal.workflow.getHandle(handle.workflowId).describe()).status.name).toBe('RUNNING');
    await h.startWorker();
    expect((await handle.result()).state).toBe('Succeeded');
    expect(device.journal.get(handle.commandId)?.executions).toBe(1);
  });
});
