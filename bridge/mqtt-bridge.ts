import type { MqttClient } from 'mqtt';
import type { Client } from '@temporalio/client';
import { connectMqtt, waitForConnect } from '../config/mqtt-connect';
import { allDevicesTopic } from '../protocol/topics';
import { MessageRouter, type MessageRouterOptions } from './message-router';
import { Qos0Backlog } from './qos0-backlog';

export interface BridgeOptions extends Omit<MessageRouterOptions, 'temporal'> {
  mqttUrl: string;
  mqttUsername?: string;
  mqttPassword?: string;
  temporal: Pick<Client, 'workflow' | 'connection'>;
  /**
   * Fixed client ID of the persistent MQTT session (lane 0; lane i uses `<clientId>.lane<i>`).
   * The broker keeps the bridge's subscriptions and queues device messages under these IDs
   * while the bridge is down.
   */
  clientId?: string;
  /** How long the broker keeps the session (and its queue) while the bridge is offline. */
  sessionExpirySeconds?: number;
  /** CA certificate (PEM file) that signed the broker's certificate, for mqtts:// URLs. */
  mqttCaFile?: string;
  /**
   * Scale out: several bridges (each with its own client ID) in one MQTT v5 shared-subscription
   * group split the acks and results between them (`$share/<group>/...`). Statuses are not
   * shared: every bridge sees every device's presence, so a reboot is always noticed.
   */
  shareGroup?: string;
  /**
   * MQTT connections ("lanes") of this bridge, in one shared-subscription group, each handling
   * its messages one at a time. MQTT.js handles a connection's messages strictly one after the
   * other and sends each PUBACK only after the signal is stored, so one connection forwards at
   * most 1 / (signal latency) messages a second; lanes work in parallel, so a slow signal for
   * one command delays only the messages of its lane. Default DEFAULT_LANES.
   */
  lanes?: number;
  /** How long start() waits for every lane to connect. */
  startTimeoutMs?: number;
}

export const DEFAULT_LANES = 4;
/** Lanes a bridge may have; on start the sessions of unused lanes up to this are removed. */
export const MAX_LANES = 16;

/**
 * Forwards device acks and results from MQTT to the command workflows as Temporal signals;
 * what happens to each message is MessageRouter's job.
 *
 * Delivery: the MQTT PUBACK for a message is sent only after the router is done with it (the
 * signal is stored, or the message is counted as a dead letter), and the sessions are
 * persistent (clean start off), so a crash of the bridge at any point means redelivery, never
 * loss. Redelivery makes duplicates, which the workflow ignores.
 */
export class MqttBridge {
  readonly router: MessageRouter;
  private lanes: MqttClient[] = [];

  constructor(private readonly options: BridgeOptions) {
    this.router = new MessageRouter(options);
  }

  get counters() {
    return this.router.counters;
  }
  get deadLetters() {
    return this.router.deadLetters;
  }
  /** The lanes' MQTT connections (tests watch them). */
  get mqttClients(): readonly MqttClient[] {
    return this.lanes;
  }

  private get laneCount(): number {
    const n = this.options.lanes ?? DEFAULT_LANES;
    if (!Number.isInteger(n) || n < 1 || n > MAX_LANES) throw new Error(`bridge lanes must be an integer from 1 to ${MAX_LANES}, not ${n}`);
    return n;
  }

  private clientIdOf(lane: number): string {
    const base = this.options.clientId ?? 'dco-bridge';
    return lane === 0 ? base : `${base}.lane${lane}`;
  }

  /** One lane and no group: plain subscriptions, exactly as a single-connection bridge had. */
  private get shared(): boolean {
    return this.laneCount > 1 || this.options.shareGroup !== undefined;
  }

  private answerTopics(shared: boolean): string[] {
    const p = this.options.topicPrefix;
    // Group names may not contain / + #; client IDs here are ours, but be safe.
    const group = (this.options.shareGroup ?? this.options.clientId ?? 'dco-bridge').replace(/[/+#]/g, '_');
    return [allDevicesTopic(p, 'ack'), allDevicesTopic(p, 'result')].map((t) => (shared ? `$share/${group}/${t}` : t));
  }

  async start(): Promise<void> {
    const o = this.options;
    await this.removeUnusedLaneSessions();
    for (let lane = 0; lane < this.laneCount; lane++) {
      const name = `bridge lane ${lane}`;
      const client = connectMqtt({
        url: o.mqttUrl,
        name,
        clientId: this.clientIdOf(lane),
        clean: false,
        sessionExpirySeconds: o.sessionExpirySeconds ?? 24 * 3600,
        username: o.mqttUsername,
        password: o.mqttPassword,
        caFile: o.mqttCaFile,
        log: (message, details) => o.logger.warn(details, message),
        extra: {
          resubscribe: false, // subscribe() runs at every connect
          customHandleAcks: (topic, payload, packet, done) => {
            void this.router.route(topic, payload, packet.retain).then(() => done(0));
          },
        },
      });
      // QoS 0 messages do not go through customHandleAcks (nothing to acknowledge). The
      // commands the worker publishes come so (subscribe()), and only tell the router whose
      // command each is; device messages sent at QoS 0 are routed like the others.
      const qos0 = new Qos0Backlog(this.router, this.router.counters);
      client.on('message', (topic, payload, packet) => {
        if (packet.qos !== 0) return;
        if (topic.endsWith('/commands')) this.router.commandPublished(topic, payload);
        else qos0.add(topic, payload, packet.retain);
      });
      client.on('connect', (connack) => {
        o.logger.info({ lane, sessionPresent: connack.sessionPresent }, 'bridge connected to MQTT');
        void this.subscribe(client, lane).catch((err) =>
          o.logger.warn({ lane, err: String(err) }, 'bridge could not subscribe; it will again at the next connect'),
        );
      });
      this.lanes.push(client);
    }
    await Promise.all(this.lanes.map((c, lane) => waitForConnect(c, { name: `bridge lane ${lane}`, url: o.mqttUrl }, o.startTimeoutMs ?? 30_000)));
  }

  /**
   * Subscribes at every connect: harmless on a session that has the subscriptions, and it
   * covers a broker that lost its state. Also drops the other form of the answer topics
   * (plain vs shared) that an earlier configuration of this session may have left, since
   * overlapping subscriptions would deliver every answer twice.
   */
  private async subscribe(client: MqttClient, lane: number): Promise<void> {
    const p = this.options.topicPrefix;
    await client.unsubscribeAsync(this.answerTopics(!this.shared)).catch(() => {});
    const topics =
      lane === 0 ? [...this.answerTopics(this.shared), allDevicesTopic(p, 'status'), allDevicesTopic(p, 'pending')] : this.answerTopics(this.shared);
    await client.subscribeAsync(topics, { qos: 1 });
    // Lane 0 also reads the commands the worker publishes: each tells it a command's device
    // before the device answers (bridge/command-owners.ts). Not shared: every bridge learns
    // every command. QoS 0: a hint that the broker does not queue while the bridge is away,
    // so it can never crowd out the answers in this session's queue.
    if (lane === 0) await client.subscribeAsync(allDevicesTopic(p, 'commands'), { qos: 0 });
  }

  /**
   * A persistent member of a shared group that stays away keeps being assigned its share of
   * the messages, which then wait for it. So when this bridge runs with fewer lanes than
   * before, the sessions of the lanes it no longer has are ended (clean start, expiry 0).
   */
  private async removeUnusedLaneSessions(): Promise<void> {
    const o = this.options;
    const unused = Array.from({ length: MAX_LANES - this.laneCount }, (_, i) => this.laneCount + i).filter((lane) => lane > 0);
    await Promise.all(
      unused.map(async (lane) => {
        const client = connectMqtt({
          url: o.mqttUrl,
          name: `bridge lane ${lane} (cleanup)`,
          clientId: this.clientIdOf(lane),
          clean: true,
          sessionExpirySeconds: 0,
          username: o.mqttUsername,
          password: o.mqttPassword,
          caFile: o.mqttCaFile,
        });
        try {
          await waitForConnect(client, { name: 'bridge cleanup', url: o.mqttUrl }, 10_000);
        } finally {
          await client.endAsync(true).catch(() => {});
        }
      }),
    );
  }

  /** Connected to the broker right now, on every lane (the health check). */
  get connected(): boolean {
    return this.lanes.length > 0 && this.lanes.every((c) => c.connected);
  }

  async stop(): Promise<void> {
    await Promise.all(this.lanes.map((c) => c.endAsync()));
    await this.router.stop();
  }

  /** Dies without a goodbye (tests): the broker keeps the sessions and what it held for them. */
  async crash(): Promise<void> {
    for (const c of this.lanes) c.stream.destroy();
    await Promise.all(this.lanes.map((c) => c.endAsync(true)));
    await this.router.stop();
  }
}
