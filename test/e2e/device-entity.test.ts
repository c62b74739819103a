import { WorkflowFailedError } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import mqtt from 'mqtt';
import {
  deviceSnapshotQuery,
  deviceStatusSignal,
  deviceTaskQueue,
  deviceWorkflowId,
  DEVICE_WORKFLOW_TYPE,
  type DeviceSnapshot,
} from '../../protocol/device-contract';
import { deviceTopic } from '../../protocol/topics';
import { entityStatusCheck } from '../../bridge/entity-status-check';
import { eventually } from '../support/eventually';
import { Harness } from '../support/harness';
import { RawDevice } from '../support/raw-device';

const TEMPORAL_CLI = path.join(os.homedir(), '.cache', 'dco', 'temporal-cli-v1.5.1', 'bin', 'temporal');
const RECORD_DIR = process.env.RECORD_HISTORIES;

/**
 * The device entity (`device-<deviceId>`): the bridge creates it with the device's first status
 * and forwards every change; it keeps presence, boot and reported attributes, and shows the
 * attributes as search attributes so the fleet can be filtered.
 */
describe('device entity', () => {
  const h = new Harness();
  beforeAll(() => h.start());
  afterAll(() => h.stop());

  // Entity IDs are global to the namespace: names unique to this file.
  const id = (name: string) => `${h.id}-${name}`;
  const raw = (deviceId: string) => new RawDevice(deviceId, h.env.mqttUrl, h.topicPrefix).start();
  const snapshot = (deviceId: string) => h.client.temporal.workflow.getHandle(deviceWorkflowId(deviceId)).query(deviceSnapshotQuery);
  /** Polls until the entity exists and its record satisfies `accept`. */
  const entityWhen = (deviceId: string, accept: (s: DeviceSnapshot) => boolean, timeoutMs = 20_000) =>
    eventually(
      () => snapshot(deviceId).catch(() => undefined),
      (s) => s !== undefined && accept(s),
      timeoutMs,
    ) as Promise<DeviceSnapshot>;
  const listIds = async (query: string) => {
    const ids: string[] = [];
    for await (const w of h.client.temporal.workflow.list({ query })) ids.push(w.workflowId);
    return ids.sort();
  };

  test("a device's first status creates its entity; reported attributes are found with `temporal workflow list --query`", async () => {
    const deviceId = id('pump-1');
    const device = await raw(deviceId);
    const firmware = `1.4.${h.id}`; // unique to this run: the query finds this device only
    await device.publish('status', {
      v: 1,
      state: 'online',
      bootId: 'boot-A',
      ts: new Date().toISOString(),
      attributes: { model: 'pump-x2', firmware, site: 'plant 7', timeZone: 'Europe/Berlin', tags: ['north', 'beta'] },
    });

    const s = await entityWhen(deviceId, (x) => x.presence === 'online');
    expect(s).toMatchObject({
      deviceId,
      presence: 'online',
      bootId: 'boot-A',
      boots: 1,
      attributes: { model: 'pump-x2', firmware, site: 'plant 7', timeZone: 'Europe/Berlin', tags: ['north', 'beta'] },
    });
    expect(s.recent.map((e) => e.event)).toEqual(['first-seen']);
    // On the entities' own task queue, whose worker keeps only a few of them in memory.
    expect((await h.client.temporal.workflow.getHandle(deviceWorkflowId(deviceId)).describe()).taskQueue).toBe(deviceTaskQueue(h.taskQueue));

    const query = `WorkflowType = '${DEVICE_WORKFLOW_TYPE}' AND DeviceFirmware = '${firmware}' AND DeviceModel = 'pump-x2' AND DeviceSite = 'plant 7' AND DevicePresence = 'online' AND DeviceTags = 'beta'`;
    await eventually(
      () => listIds(query),
      (ids) => ids.length === 1,
    );
    // As an operator would, with the Temporal CLI.
    const { stdout } = await promisify(execFile)(TEMPORAL_CLI, ['workflow', 'list', '--address', h.env.temporalAddress, '--query', query, '--output', 'json']);
    expect((JSON.parse(stdout) as Array<{ execution: { workflowId: string } }>).map((w) => w.execution.workflowId)).toEqual([deviceWorkflowId(deviceId)]);
    await device.stop();
  });

  test('offline, back, rebooted with a new firmware: the record and the search attributes follow, in order', async () => {
    const deviceId = id('valve-1');
    const device = await raw(deviceId);
    const status = (state: 'online' | 'offline', bootId: string, attributes?: object) =>
      device.publish('status', { v: 1, state, bootId, ...(attributes ? { attributes } : {}) });
    await status('online', 'b1', { firmware: '1.0.0' });
    await entityWhen(deviceId, (x) => x.presence === 'online');
    await status('offline', 'b1'); // a Last Will carries no attributes: they are kept
    await entityWhen(deviceId, (x) => x.presence === 'offline');
    await status('online', 'b2', { firmware: '1.1.0', tags: ['canary'] });
    const s = await entityWhen(deviceId, (x) => x.bootId === 'b2');
    expect(s.recent.map((e) => `${e.event}: ${e.detail}`)).toEqual([
      'first-seen: first status: online, boot b1',
      'went-offline: online → offline',
      'rebooted: boot b1 → b2 (online)',
      'attributes-changed: firmware 1.0.0 → 1.1.0, tags (none) → [canary]',
    ]);
    expect(s).toMatchObject({ presence: 'online', boots: 2, attributes: { firmware: '1.1.0', tags: ['canary'] } });
    const byFirmware = (v: string) => listIds(`WorkflowType = '${DEVICE_WORKFLOW_TYPE}' AND DeviceId = '${deviceId}' AND DeviceFirmware = '${v}'`);
    await eventually(
      () => byFirmware('1.1.0'),
      (ids) => ids.length === 1,
    );
    expect(await byFirmware('1.0.0')).toEqual([]);
    expect(await listIds(`DeviceId = '${deviceId}' AND DeviceTags = 'canary'`)).toEqual([deviceWorkflowId(deviceId)]);
    // The open run replays (presence and attribute upserts included).
    const history = await h.client.temporal.workflow.getHandle(deviceWorkflowId(deviceId)).fetchHistory();
    await Worker.runReplayHistory({ workflowBundle: { codePath: h.env.bundlePath } }, history, deviceWorkflowId(deviceId));
    if (RECORD_DIR) {
      mkdirSync(RECORD_DIR, { recursive: true });
      writeFileSync(path.join(RECORD_DIR, 'device-rebooted-new-firmware.json'), historyToJSON(history) + '\n');
    }
    await device.stop();
  });

  test('invalid attributes are ignored, never the status: the device is still online', async () => {
    const deviceId = id('odd-1');
    const device = await raw(deviceId);
    await device.publish('status', { v: 1, state: 'online', bootId: 'b1', attributes: { model: 'x'.repeat(500), tags: 'not-a-list' } });
    const s = await entityWhen(deviceId, (x) => x.presence === 'online');
    expect(s.attributes).toEqual({});
    await device.stop();
  });

  // 60 flaps: within the bridge's per-device budget (burst 100), which would drop the rest.
  test('a device flapping 60 times costs its entity a few reports, not 60, and the record ends as the device did', async () => {
    const deviceId = id('flappy-1');
    const device = await raw(deviceId);
    const before = h.bridge!.counters.get('device-status:coalesced');
    for (let i = 0; i < 60; i++) await device.publish('status', { v: 1, state: i % 2 ? 'offline' : 'online', bootId: `b${i}` });
    await device.publish('status', { v: 1, state: 'online', bootId: 'final' });
    const s = await entityWhen(deviceId, (x) => x.bootId === 'final');
    expect(s.presence).toBe('online');
    expect(h.bridge!.counters.get('device-status:coalesced') - before).toBeGreaterThan(30);
    expect(s.reports.applied).toBeLessThan(30);
    await device.stop();
  });

  test('a long-lived entity continues as new with its record, and both runs replay', async () => {
    const deviceId = id('long-1');
    const workflowId = deviceWorkflowId(deviceId);
    // Started as the bridge does, with a short history limit so it continues as new soon.
    const handle = await h.client.temporal.workflow.signalWithStart(DEVICE_WORKFLOW_TYPE, {
      workflowId,
      taskQueue: deviceTaskQueue(h.taskQueue),
      args: [{ deviceId, maxHistoryEvents: 20 }],
      signal: deviceStatusSignal,
      signalArgs: [{ deviceId, state: 'online', bootId: 'b0', receivedAt: new Date().toISOString() }],
    });
    const firstRunId = handle.signaledRunId;
    for (let i = 1; i <= 8; i++) {
      await handle.signal(deviceStatusSignal, { deviceId, state: i % 2 ? 'offline' : 'online', bootId: 'b0', receivedAt: new Date().toISOString() });
      await entityWhen(deviceId, (x) => x.reports.applied === i + 1);
    }
    const s = await entityWhen(deviceId, (x) => x.reports.applied === 9);
    expect(s.recent.filter((e) => e.event === 'went-offline')).toHaveLength(4);
    const latest = await handle.describe();
    expect(latest.runId).not.toBe(firstRunId); // continued as new at least once, record carried
    // Replay: the closed first run and the open latest one.
    const first = await h.client.temporal.workflow.getHandle(workflowId, firstRunId).fetchHistory();
    const current = await h.client.temporal.workflow.getHandle(workflowId, latest.runId).fetchHistory();
    for (const history of [first, current]) await Worker.runReplayHistory({ workflowBundle: { codePath: h.env.bundlePath } }, history, workflowId);
    if (RECORD_DIR) {
      mkdirSync(RECORD_DIR, { recursive: true });
      writeFileSync(path.join(RECORD_DIR, 'device-continued-as-new.json'), historyToJSON(first) + '\n');
      writeFileSync(path.join(RECORD_DIR, 'device-running.json'), historyToJSON(current) + '\n');
    }
  });

  test('started by hand under the wrong ID, an entity fails at once and says why', async () => {
    const handle = await h.client.temporal.workflow.start(DEVICE_WORKFLOW_TYPE, {
      workflowId: `device-${id('a')}`,
      taskQueue: deviceTaskQueue(h.taskQueue),
      args: [{ deviceId: id('b') }],
    });
    const err = await handle.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(String((err as WorkflowFailedError).cause?.message)).toBe(`the workflow ID must be device-${id('b')} (device-<deviceId>), got device-${id('a')}`);
  });

  test('a bridge restart costs the entities that already show their retained status nothing; one that changed while no bridge ran is forwarded', async () => {
    const same = [id('same-1'), id('same-2'), id('same-3')];
    const changed = id('changed-away');
    const c = await mqtt.connectAsync(h.env.mqttUrl, { protocolVersion: 5 });
    const status = (deviceId: string, bootId: string, attributes: object) =>
      c.publishAsync(deviceTopic(h.topicPrefix, deviceId, 'status'), JSON.stringify({ v: 1, state: 'online', bootId, attributes }), { qos: 1, retain: true });
    const signalsTo = async (deviceId: string) =>
      (await h.client.temporal.workflow.getHandle(deviceWorkflowId(deviceId)).fetchHistory()).events!.filter((e) => e.workflowExecutionSignaledEventAttributes)
        .length;
    try {
      for (const d of same) await status(d, 'boot-1', { model: 'm-1', timeZone: 'Europe/Berlin', tags: ['a', 'b'] });
      await status(changed, 'boot-1', { model: 'm-1' });
      for (const d of [...same, changed]) await entityWhen(d, (x) => x.presence === 'online' && x.bootId === 'boot-1');
      // Visibility shows the entities' memo and attributes a moment later: wait until the check itself finds them.
      const reports = same.map((deviceId) => ({
        deviceId,
        state: 'online' as const,
        bootId: 'boot-1',
        receivedAt: new Date().toISOString(),
        attributes: { model: 'm-1', timeZone: 'Europe/Berlin', tags: ['a', 'b'] },
      }));
      await eventually(
        () => entityStatusCheck(h.client.temporal)(reports),
        (known) => known.size === 3,
        30_000,
      );
      const before = await Promise.all(same.map(signalsTo));

      await h.stopBridge();
      await status(changed, 'boot-2', { model: 'm-1' }); // rebooted while no bridge ran
      await h.startBridge();
      await entityWhen(changed, (x) => x.bootId === 'boot-2', 30_000);
      await eventually(
        async () => h.bridge!.counters.toJSON()['device-status:known'] ?? 0,
        (n) => n >= 3,
        30_000,
      );
      expect(await Promise.all(same.map(signalsTo))).toEqual(before);
    } finally {
      for (const d of [...same, changed]) await c.publishAsync(deviceTopic(h.topicPrefix, d, 'status'), '', { qos: 1, retain: true });
      await c.endAsync();
    }
  });

  test('a status retained while no bridge ran reaches the entity when a bridge starts (the backfill of retained statuses)', async () => {
    const deviceId = id('while-away');
    const topic = deviceTopic(h.topicPrefix, deviceId, 'status');
    await h.stopBridge();
    const c = await mqtt.connectAsync(h.env.mqttUrl, { protocolVersion: 5 });
    try {
      await c.publishAsync(topic, JSON.stringify({ v: 1, state: 'online', bootId: 'boot-W', attributes: { firmware: '3.0.0' } }), { qos: 1, retain: true });
      await h.startBridge();
      const s = await entityWhen(deviceId, (x) => x.presence === 'online', 30_000);
      expect(s).toMatchObject({ deviceId, bootId: 'boot-W', boots: 1, attributes: { firmware: '3.0.0' } });
      expect(h.bridge!.counters.toJSON()['device-status:forwarded']).toBeGreaterThanOrEqual(1);
    } finally {
      await c.publishAsync(topic, '', { qos: 1, retain: true }); // clears the retained status
      await c.endAsync();
    }
  });
});
