import type { MqttClient } from 'mqtt';
import { connectMqtt, waitForConnect } from '../config/mqtt-connect';
import { brokerRefusal, publishProblem, PublishRefusedError } from './publish-guard';

export interface MqttPublisherOptions {
  url: string;
  username?: string;
  password?: string;
  /** CA certificate (PEM file) that signed the broker's certificate, for mqtts:// URLs. */
  caFile?: string;
  clientId?: string;
  /** How long one publish may wait for the broker's PUBACK. */
  publishTimeoutMs?: number;
  /** One line per refusal or lost connection (e.g. the worker's logger). */
  log?: (message: string, details: Record<string, unknown>) => void;
}

export class BrokerUnavailableError extends Error {
  constructor(url: string) {
    super(`MQTT broker at ${url} is not connected; the publish will be retried`);
    this.name = 'BrokerUnavailableError';
  }
}

/**
 * One MQTT connection shared by every activity of a worker. It reconnects by itself; while it
 * is down, publishes fail at once so that Temporal's retry policy (not a hidden in-memory
 * queue) decides when to try again.
 */
export class MqttPublisher {
  private readonly client: MqttClient;
  private readonly publishTimeoutMs: number;

  constructor(private readonly options: MqttPublisherOptions) {
    this.publishTimeoutMs = options.publishTimeoutMs ?? 8_000;
    this.client = connectMqtt({
      url: options.url,
      name: 'publisher',
      clientId: options.clientId ?? `dco-publisher-${process.pid}-${Math.random().toString(36).slice(2, 8)}`,
      clean: true,
      connectTimeoutMs: 5_000,
      username: options.username,
      password: options.password,
      caFile: options.caFile,
      log: options.log,
    });
    // Errors surface through `connected` and failed publishes; an unhandled 'error' would crash.
    this.client.on('error', () => {});
  }

  /** The underlying connection (tests watch its connection events). */
  get mqtt(): MqttClient {
    return this.client;
  }

  get connected(): boolean {
    return this.client.connected;
  }

  /** Resolves once connected, or rejects after `timeoutMs` with the broker's last refusal or error. */
  async waitConnected(timeoutMs = 10_000): Promise<void> {
    await waitForConnect(this.client, { name: 'publisher', url: this.options.url }, timeoutMs);
  }

  /**
   * QoS 1, never retained; resolves after the PUBACK. Rejects with PublishRefusedError (do not
   * retry) when the publish cannot be encoded, is too large, or the broker refuses it (PUBACK
   * reason code >= 0x80): such a publish is refused before it reaches MQTT.js, so it can never
   * cost the shared connection (see publish-guard.ts). Any other error (not connected, no
   * PUBACK in time) is worth retrying.
   */
  async publish(topic: string, payload: string, messageExpirySeconds: number): Promise<void> {
    const contentType = 'application/json';
    const problem = publishProblem(topic, payload, messageExpirySeconds, contentType);
    if (problem) throw new PublishRefusedError(problem);
    if (!this.client.connected) throw new BrokerUnavailableError(this.options.url);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no PUBACK from ${this.options.url} within ${this.publishTimeoutMs} ms`)), this.publishTimeoutMs);
    });
    try {
      await Promise.race([
        this.client.publishAsync(topic, payload, {
          qos: 1,
          retain: false,
          properties: { messageExpiryInterval: messageExpirySeconds, contentType },
        }),
        timeout,
      ]);
    } catch (err) {
      throw brokerRefusal(err) ?? err;
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }
}
