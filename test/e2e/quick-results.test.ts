import mqtt from 'mqtt';
import path from 'node:path';
import { SUGGESTED_QUICK_RESULT_MS } from '../../device/command-decisions';
import { DeviceAgent } from '../../device/device-agent';
import { FleetSimulator } from '../../device/fleet-simulator';
import { deviceTopic } from '../../protocol/topics';
import { Harness } from '../support/harness';
import { statePath } from '../support/state-path';

/**
 * Protocol rule 5's shortcut: a device whose result is ready within its quick-result window
 * sends the result alone (a result counts as ack and result). One message fewer on the device's
 * link, and one signal and one workflow task fewer per command; the command's outcome and
 * states are the same. A longer command is acknowledged when the window has passed.
 */
describe('quick results: the result alone answers a command that finished at once', () => {
  const h = new Harness();
  const acks: string[] = [];
  let service: mqtt.MqttClient;
  beforeAll(async () => {
    await h.start();
    service = await mqtt.connectAsync(h.env.mqttUrl, { protocolVersion: 5, clean: true, reconnectPeriod: 0 });
    service.on('message', (_topic, payload) => acks.push((JSON.parse(payload.toString()) as { commandId: string }).commandId));
    await service.subscribeAsync(deviceTopic(h.topicPrefix, '+', 'ack'), { qos: 1 });
  });
  afterAll(async () => {
    await service?.endAsync();
    await h.stop();
  });

  test('the reference agent: a quick handler sends no ack and Succeeds; a slow one acks once its window has passed', async () => {
    const agent = new DeviceAgent({
      deviceId: 'quick-1',
      mqttUrl: h.mqttUrl,
      topicPrefix: h.topicPrefix,
      journalDir: path.join(h.dir, 'quick-journals'),
      quickResultMs: SUGGESTED_QUICK_RESULT_MS,
      handlers: {
        quick: async () => ({ fast: true }),
        slow: async () => (await new Promise((r) => setTimeout(r, 3 * SUGGESTED_QUICK_RESULT_MS)), { fast: false }),
      },
    });
    await agent.start();
    try {
      const quick = await (await h.client.send({ deviceId: 'quick-1', name: 'quick' })).result();
      expect(quick.state).toBe('Succeeded');
      expect(statePath(quick)).toEqual(['Created', 'Sent', 'Acknowledged', 'Succeeded']);
      expect(quick.history.map((e) => e.event)).toContain('ack-implied-by-result');

      const slow = await (await h.client.send({ deviceId: 'quick-1', name: 'slow' })).result();
      expect(slow.state).toBe('Succeeded');
      expect(slow.history.map((e) => e.event)).toContain('ack-accepted');
      // The slow command's ack reached the broker before its result, so it is in by now.
      expect(acks.filter((id) => id === slow.commandId)).toEqual([slow.commandId]);
      expect(acks.filter((id) => id === quick.commandId)).toEqual([]);
    } finally {
      await agent.stop();
    }
  });

  test('the fleet simulator: devices that finish within the window send results only; slower ones ack first', async () => {
    const fast = new FleetSimulator({
      mqttUrl: h.mqttUrl,
      topicPrefix: h.topicPrefix,
      devices: 5,
      idPrefix: 'qfast-',
      latencyMs: 10,
      quickResultMs: SUGGESTED_QUICK_RESULT_MS,
      journalDir: path.join(h.dir, 'qfast'),
    });
    const slow = new FleetSimulator({
      mqttUrl: h.mqttUrl,
      topicPrefix: h.topicPrefix,
      devices: 5,
      idPrefix: 'qslow-',
      latencyMs: 400,
      quickResultMs: SUGGESTED_QUICK_RESULT_MS,
      journalDir: path.join(h.dir, 'qslow'),
    });
    await Promise.all([fast.start(), slow.start()]);
    try {
      const outcomes = await Promise.all(
        [...fast.deviceIds, ...slow.deviceIds].map(async (deviceId) => (await h.client.send({ deviceId, name: 'ping' })).result()),
      );
      expect(outcomes.map((o) => o.state)).toEqual(outcomes.map(() => 'Succeeded'));
      expect({ acks: fast.stats().acksSent, results: fast.stats().resultsSent }).toEqual({ acks: 0, results: 5 });
      expect({ acks: slow.stats().acksSent, results: slow.stats().resultsSent }).toEqual({ acks: 5, results: 5 });
    } finally {
      await Promise.all([fast.stop(), slow.stop()]);
    }
  });
});
