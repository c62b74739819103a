import mqtt, { type MqttClient } from 'mqtt';
import { CancelMessage, CommandMessage } from '../../protocol/messages';
import { deviceTopic, parseDeviceTopic } from '../../protocol/topics';

/**
 * A hand-driven device: a bare MQTT client that records commands and publishes whatever the
 * test says, as a firmware engineer with mosquitto_pub would. No journal, no rules.
 */
export class RawDevice {
  readonly commands: CommandMessage[] = [];
  /** Cancel requests received on the device's `cancel` topic. */
  readonly cancels: CancelMessage[] = [];
  private client!: MqttClient;
  private waiters: Array<() => void> = [];

  constructor(
    readonly deviceId: string,
    private readonly mqttUrl: string,
    private readonly topicPrefix: string,
    private readonly credentials?: { username: string; password: string },
  ) {}

  async start(): Promise<this> {
    this.client = await mqtt.connectAsync(this.mqttUrl, {
      protocolVersion: 5,
      clientId: `raw-${this.deviceId}-${Date.now()}`,
      clean: true,
      reconnectPeriod: 0,
      ...this.credentials,
    });
    this.client.on('message', (topic, payload) => {
      const body = JSON.parse(payload.toString());
      if (parseDeviceTopic(this.topicPrefix, topic)?.kind === 'cancel') this.cancels.push(CancelMessage.parse(body));
      else this.commands.push(CommandMessage.parse(body));
      this.waiters.splice(0).forEach((w) => w());
    });
    await this.client.subscribeAsync([deviceTopic(this.topicPrefix, this.deviceId, 'commands'), deviceTopic(this.topicPrefix, this.deviceId, 'cancel')], {
      qos: 1,
    });
    return this;
  }

  /** Resolves when at least `n` commands have arrived. */
  async waitForCommands(n: number, timeoutMs = 20_000): Promise<CommandMessage[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.commands.length < n) {
      if (Date.now() > deadline) throw new Error(`${this.deviceId}: ${this.commands.length} of ${n} commands arrived in ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
    return this.commands;
  }

  /** Resolves when at least `n` cancel requests have arrived. */
  async waitForCancels(n: number, timeoutMs = 20_000): Promise<CancelMessage[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.cancels.length < n) {
      if (Date.now() > deadline) throw new Error(`${this.deviceId}: ${this.cancels.length} of ${n} cancel requests arrived in ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
    return this.cancels;
  }

  /** The QoS of what this device publishes: 1, as the protocol asks; 0, as some firmware does. */
  qos: 0 | 1 = 1;

  async publish(kind: 'ack' | 'result' | 'status', payload: unknown, asDevice = this.deviceId, retain = false): Promise<void> {
    const body = typeof payload === 'string' ? payload : JSON.stringify(payload);
    await this.client.publishAsync(deviceTopic(this.topicPrefix, asDevice, kind), body, { qos: this.qos, retain });
  }

  /** Subscribes to another device's commands topic (the broker should deliver nothing). */
  async eavesdrop(deviceId: string): Promise<void> {
    await this.client.subscribeAsync(deviceTopic(this.topicPrefix, deviceId, 'commands'), { qos: 1 });
  }

  ack(commandId: string, status: 'accepted' | 'rejected' = 'accepted', reason?: string, asDevice?: string): Promise<void> {
    return this.publish('ack', { v: 1, commandId, status, ...(reason ? { reason } : {}) }, asDevice);
  }

  result(commandId: string, status: 'succeeded' | 'failed' | 'cancelled' = 'succeeded', extra: Record<string, unknown> = {}, asDevice?: string): Promise<void> {
    return this.publish('result', { v: 1, commandId, status, ...extra }, asDevice);
  }

  async stop(): Promise<void> {
    await this.client?.endAsync();
  }
}
