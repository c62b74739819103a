import type { MqttClient } from 'mqtt';
import type { DevicePresence } from '../protocol/command-contract';
import { StatusMessage } from '../protocol/messages';
import { allDevicesTopic, parseDeviceTopic } from '../protocol/topics';

/**
 * The worker's view of device presence: every device's retained `status`, kept current by a
 * subscription on the worker's own MQTT connection (the broker re-sends all retained statuses
 * at each subscribe, so the view is complete again after every reconnect). It only decides
 * whether to hold a command back; it never decides that a device received anything.
 */
export class PresenceView {
  private readonly devices = new Map<string, DevicePresence>();

  constructor(
    private readonly client: MqttClient,
    private readonly topicPrefix: string,
  ) {
    const topic = allDevicesTopic(topicPrefix, 'status');
    client.on('connect', () => void client.subscribeAsync(topic, { qos: 1 }).catch(() => {}));
    if (client.connected) void client.subscribeAsync(topic, { qos: 1 }).catch(() => {});
    client.on('message', (t, payload) => this.onMessage(t, payload));
  }

  private onMessage(topic: string, payload: Buffer): void {
    const parsed = parseDeviceTopic(this.topicPrefix, topic);
    if (!parsed || parsed.kind !== 'status') return;
    let status: StatusMessage;
    try {
      status = StatusMessage.parse(JSON.parse(payload.toString('utf8')));
    } catch {
      return; // the bridge counts invalid statuses; here they are just not trusted
    }
    this.devices.set(parsed.deviceId, {
      deviceId: parsed.deviceId,
      state: status.state,
      bootId: status.bootId,
      observedAt: new Date().toISOString(),
    });
  }

  /** Undefined when the device never published a status: it is then assumed reachable. */
  get(deviceId: string): DevicePresence | undefined {
    return this.devices.get(deviceId);
  }
}
