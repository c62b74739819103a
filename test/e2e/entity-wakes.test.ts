import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { deviceText } from '../../cli/commands/devices';
import { showDevice } from '../../client/device-entity';
import { deviceWorkflowId } from '../../protocol/device-contract';
import { WATCH_AFTER_MS } from '../../workflows/command-plan';
import { entityShows, entitySnapshot, entityWhen, watches } from '../support/entity-presence';
import { eventually } from '../support/eventually';
import { Harness } from '../support/harness';
import { RawDevice } from '../support/raw-device';

/**
 * The device entity wakes the commands that wait for its device (device-watch-contract.ts): a
 * command that waits long asks it once, the entity tells it when the device comes online,
 * reboots or asks, and forgets it when it ends. Nothing searches visibility for a device's
 * open commands, and a command answered at once costs the entity nothing.
 */
describe('the device entity wakes the commands that wait for its device', () => {
  const h = new Harness();
  beforeAll(() => h.start());
  afterAll(() => h.stop());

  const id = (name: string) => `${h.id}-${name}`;
  const raw = (deviceId: string) => new RawDevice(deviceId, h.env.mqttUrl, h.topicPrefix).start();
  const events = (s: { history: { event: string }[] }) => s.history.map((e) => e.event);

  /** The entity's history replays against today's code; RECORD_HISTORIES=<dir> also saves it (test/replay/histories). */
  async function replayEntity(deviceId: string, file: string) {
    const history = await h.client.temporal.workflow.getHandle(deviceWorkflowId(deviceId)).fetchHistory();
    await Worker.runReplayHistory({ workflowBundle: { codePath: h.env.bundlePath } }, history, deviceWorkflowId(deviceId));
    if (process.env.RECORD_HISTORIES) writeFileSync(path.join(process.env.RECORD_HISTORIES, file), historyToJSON(history) + '\n');
  }

  test('a device that never sent a status: the waiting command creates its entity, and the first status wakes it', async () => {
    const deviceId = id('newcomer');
    const device = await raw(deviceId); // no status yet: no entity, presence unknown
    const handle = await h.client.send({ deviceId, name: 'ping', ackTimeoutMs: 120_000 });
    await device.waitForCommands(1); // missed: the device was not listening yet, as it were
    const entity = await entityWhen(h.client.temporal, deviceId, watches(handle.commandId));
    expect(entity.presence).toBe('unknown');

    await device.publish('status', { v: 1, state: 'online', bootId: 'first-boot' });
    const [, again] = await device.waitForCommands(2, 30_000); // long before the 120 s ack timeout
    await device.result(again.commandId);
    const outcome = await handle.result();
    expect(outcome).toMatchObject({ state: 'Succeeded', attempts: 2 });
    expect(events(outcome)).toContain('device-online');
    expect(events(outcome)).not.toContain('ack-timeout');
    // It ended: the entity no longer wakes it.
    const after = await entityWhen(h.client.temporal, deviceId, (s) => s.watchers?.length === 0);
    expect(after.wakes).toBe(1);
    await replayEntity(deviceId, 'device-woke-a-waiting-command.json');
    await device.stop();
  });

  test(`a command answered within ${WATCH_AFTER_MS / 1000} s never asks: its device's entity is not even created`, async () => {
    const deviceId = id('prompt');
    const device = await raw(deviceId);
    const handle = await h.client.send({ deviceId, name: 'ping', ackTimeoutMs: 120_000 });
    const [command] = await device.waitForCommands(1);
    await device.result(command.commandId);
    expect(await handle.result()).toMatchObject({ state: 'Succeeded', attempts: 1 });
    expect(await entitySnapshot(h.client.temporal, deviceId)).toBeUndefined();
    await device.stop();
  });

  test('a command held for an offline device asks at once, and is woken when the device returns', async () => {
    const deviceId = id('away');
    const device = await raw(deviceId);
    await device.publish('status', { v: 1, state: 'offline', bootId: 'b1' });
    await entityShows(h.client.temporal, h.taskQueue, deviceId, 'offline');
    const handle = await h.client.send({ deviceId, name: 'ping' });
    await entityWhen(h.client.temporal, deviceId, watches(handle.commandId));
    expect((await handle.state()).attempts).toBe(0);

    await device.publish('status', { v: 1, state: 'online', bootId: 'b2' });
    const [command] = await device.waitForCommands(1, 30_000);
    await device.result(command.commandId);
    const outcome = await handle.result();
    expect(outcome).toMatchObject({ state: 'Succeeded', attempts: 1 });
    expect(events(outcome)).toEqual(expect.arrayContaining(['device-offline', 'device-online']));
    await device.stop();
  });

  test('a command that was terminated (it never said it ended) is dropped at the first wake-up that fails', async () => {
    const deviceId = id('terminated');
    const device = await raw(deviceId);
    await device.publish('status', { v: 1, state: 'offline', bootId: 'b1' });
    await entityShows(h.client.temporal, h.taskQueue, deviceId, 'offline');
    const gone = await h.client.send({ deviceId, name: 'ping' });
    const stays = await h.client.send({ deviceId, name: 'ping' });
    await entityWhen(h.client.temporal, deviceId, (s) => watches(gone.commandId)(s) && watches(stays.commandId)(s));
    // What an operator sees (`dco devices show`); the two asked in either order.
    const shown = deviceText(await showDevice(h.client.temporal, deviceId))
      .split('\n')
      .find((l) => l.startsWith('woken by the entity'));
    expect(
      [`${gone.commandId}, ${stays.commandId}`, `${stays.commandId}, ${gone.commandId}`].map(
        (ids) => `woken by the entity when the device returns, reboots or asks: ${ids} (0 wake-ups sent)`,
      ),
    ).toContain(shown);
    await h.client.temporal.workflow.getHandle(gone.workflowId).terminate('test: gone without a word');

    await device.publish('status', { v: 1, state: 'online', bootId: 'b2' });
    const after = await entityWhen(h.client.temporal, deviceId, (s) => !watches(gone.commandId)(s) && (s.wakes ?? 0) >= 1);
    expect(after.wakes).toBe(1); // only the command that was still there
    const [command] = await device.waitForCommands(1, 30_000);
    expect(command.commandId).toBe(stays.commandId);
    await device.result(command.commandId);
    expect(await stays.result()).toMatchObject({ state: 'Succeeded', attempts: 1 });
    await eventually(
      () => entitySnapshot(h.client.temporal, deviceId),
      (s) => s?.watchers?.length === 0,
    );
    await device.stop();
  });
});
