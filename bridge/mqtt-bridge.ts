import mqtt, { type MqttClient } from 'mqtt';
import { readFileSync } from 'node:fs';
import type { Client } from '@temporalio/client';
import type { Logger } from '../config/logger';
import { COMMAND_WORKFLOW_TYPE, devicePresenceSignal, type DevicePresence } from '../protocol/command-contract';
import { allDevicesTopic } from '../protocol/topics';
import { BridgeCounters } from './bridge-counters';
import { classifyDeviceMessage } from './classify-device-message';
import { CommandOwners } from './command-owners';
import { deadLetterOf, DeadLetterStore } from './dead-letters';
import { PresenceTracker } from './presence-tracker';
import { SignalForwarder } from './signal-forwarder';

export interface BridgeOptions {
  mqttUrl: string;
  mqttUsername?: string;
  mqttPassword?: string;
  topicPrefix: string;
  temporal: Client;
  logger: Logger;
  /**
   * Fixed client ID of the persistent MQTT session. The broker keeps the bridge's subscriptions
   * and queues device messages under this ID while the bridge is down.
   */
  clientId?: string;
  /** How long the broker keeps the session (and its queue) while the bridge is offline. */
  sessionExpirySeconds?: number;
  maxPayloadBytes?: number;
  /** JSON nesting allowed in a payload (default MAX_JSON_DEPTH, 32). */
  maxDepth?: number;
  /** Where rejected messages are counted and kept (default: in memory only). */
  deadLetters?: DeadLetterStore;
  /** CA certificate (PEM file) that signed the broker's certificate, for mqtts:// URLs. */
  mqttCaFile?: string;
  /**
   * Scale out: several bridges (each with its own client ID) in one MQTT v5 shared-subscription
   * group split the acks and results between them (`$share/<group>/...`). Statuses are not
   * shared: every bridge sees every device's presence, so a reboot is always noticed.
   */
  shareGroup?: string;
}

/**
 * Forwards device acks and results from MQTT to the command workflows as Temporal signals.
 *
 * Delivery: the MQTT PUBACK for a message is sent only after Temporal accepted the signal
 * (`customHandleAcks`), and the session is persistent (clean start off), so a crash of the
 * bridge at any point means redelivery, never loss. Redelivery makes duplicates, which the
 * workflow ignores. Invalid, unknown-command and spoofed messages are counted, logged, kept as
 * dead letters (bridge/dead-letters.ts) and acknowledged, so they never loop.
 */
export class MqttBridge {
  readonly counters = new BridgeCounters();
  readonly presence = new PresenceTracker();
  private client?: MqttClient;
  private readonly forwarder: SignalForwarder;
  /** Every rejected message: reason, topic, payload (bounded); see bridge/dead-letters.ts. */
  readonly deadLetters: DeadLetterStore;
  private readonly owners: CommandOwners;

  constructor(private readonly options: BridgeOptions) {
    this.deadLetters = options.deadLetters ?? new DeadLetterStore({ logger: options.logger });
    this.owners = new CommandOwners(options.temporal);
    this.forwarder = new SignalForwarder(options.temporal, (err, attempt) => {
      this.counters.add('signal-retry');
      if (attempt === 1 || attempt % 10 === 0) {
        options.logger.warn({ err: String(err), attempt }, 'Temporal did not accept a signal; retrying before acknowledging the MQTT message');
      }
    });
  }

  async start(): Promise<void> {
    const o = this.options;
    const client = mqtt.connect(o.mqttUrl, {
      protocolVersion: 5,
      clientId: o.clientId ?? 'dco-bridge',
      clean: false,
      properties: { sessionExpiryInterval: o.sessionExpirySeconds ?? 24 * 3600 },
      reconnectPeriod: 1_000,
      connectTimeout: 5_000,
      username: o.mqttUsername,
      password: o.mqttPassword,
      ...(o.mqttCaFile ? { ca: readFileSync(o.mqttCaFile) } : {}),
      customHandleAcks: (topic, payload, packet, done) => {
        this.handle(topic, payload, packet.retain).then(
          () => done(0),
          (err) => {
            // Unreachable by design (handle() catches everything); acknowledge to avoid a loop.
            o.logger.error({ err, topic }, 'bridge handler failed');
            done(0);
          },
        );
      },
    });
    this.client = client;
    client.on('error', (err) => o.logger.warn({ err: err.message }, 'MQTT error'));
    client.on('offline', () => o.logger.warn('MQTT connection lost; reconnecting'));
    client.on('connect', (connack) => {
      o.logger.info({ sessionPresent: connack.sessionPresent }, 'bridge connected to MQTT');
      if (!connack.sessionPresent) void this.subscribe();
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`cannot reach the MQTT broker at ${o.mqttUrl}`)), 15_000);
      client.once('connect', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    // On a fresh session subscribe() already ran from the connect handler; resubscribing to
    // an existing session is harmless and covers a broker that lost its state.
    await this.subscribe();
  }

  private async subscribe(): Promise<void> {
    const p = this.options.topicPrefix;
    const shared = (topic: string) => (this.options.shareGroup ? `$share/${this.options.shareGroup}/${topic}` : topic);
    await this.client!.subscribeAsync(
      [shared(allDevicesTopic(p, 'ack')), shared(allDevicesTopic(p, 'result')), allDevicesTopic(p, 'status')],
      { qos: 1 },
    );
  }

  /** Never throws: every outcome is counted and the message is then acknowledged. */
  private async handle(topic: string, payload: Buffer, retained: boolean): Promise<void> {
    const { logger, topicPrefix, maxPayloadBytes, maxDepth } = this.options;
    const receivedAt = new Date().toISOString();
    const classified = classifyDeviceMessage(topicPrefix, topic, payload, { maxPayloadBytes, maxDepth, receivedAt });
    if (classified.outcome === 'dead-letter') {
      this.counters.add(`rejected:${classified.letter.reason}`);
      this.deadLetters.add(classified.letter); // logs it too
      return;
    }
    const parsed = classified.parsed;
    if (parsed.kind === 'status') {
      this.counters.add('status');
      const presence: DevicePresence = {
        deviceId: parsed.deviceId,
        state: parsed.message.state,
        bootId: parsed.message.bootId,
        observedAt: new Date().toISOString(),
      };
      const change = this.presence.observe(presence);
      logger.debug({ deviceId: parsed.deviceId, state: presence.state, change, retained }, 'device status');
      // A retained status is a snapshot sent at subscribe time, not news: only live changes
      // (including those queued while the bridge was down) wake the device's commands.
      if (!retained && (change === 'came-online' || change === 'rebooted')) await this.notifyOpenCommands(presence);
      return;
    }
    const outcome = await this.forwarder.forward({
      kind: parsed.kind,
      deviceId: parsed.deviceId,
      receivedAt,
      message: parsed.message,
    } as Parameters<SignalForwarder['forward']>[0]);
    const { commandId } = parsed.message;
    const deadLetter = (reason: 'unknown-command' | 'spoofed', detail: string) =>
      this.deadLetters.add(deadLetterOf(topic, payload, reason, detail, { prefix: topicPrefix, receivedAt, commandId }));
    if (outcome === 'unknown-command') {
      this.counters.add(`${parsed.kind}:unknown-command`);
      deadLetter('unknown-command', `no running command ${commandId} (never sent, or already ended)`);
      return;
    }
    // Signalled; the workflow ignores it if the command is another device's (history
    // `ignored-ack`/`ignored-result`). The bridge counts and dead-letters that case too.
    const owner = await this.owners.ownerOf(commandId);
    if (owner !== undefined && owner !== parsed.deviceId) {
      this.counters.add(`${parsed.kind}:spoofed`);
      deadLetter('spoofed', `command ${commandId} belongs to device ${owner}, not ${parsed.deviceId}; the workflow recorded it as ignored-${parsed.kind}`);
      return;
    }
    if (owner === undefined) this.counters.add('spoof-check:skipped'); // Temporal could not say; the workflow still checks
    this.counters.add(`${parsed.kind}:signalled`);
    logger.debug({ deviceId: parsed.deviceId, commandId, kind: parsed.kind }, 'forwarded to workflow');
  }

  /**
   * Tells every running command of the device that it is online (again), so commands held
   * for an offline device, or sent before a reboot, are published at once.
   */
  private async notifyOpenCommands(presence: DevicePresence): Promise<void> {
    const { temporal, logger } = this.options;
    const query = `WorkflowType = '${COMMAND_WORKFLOW_TYPE}' AND ExecutionStatus = 'Running' AND DeviceId = '${presence.deviceId}'`;
    try {
      for await (const execution of temporal.workflow.list({ query })) {
        await temporal.workflow.getHandle(execution.workflowId).signal(devicePresenceSignal, presence).then(
          () => this.counters.add('presence:signalled'),
          () => this.counters.add('presence:signal-failed'), // closed meanwhile, or Temporal down: the workflow re-checks presence itself
        );
      }
    } catch (err) {
      this.counters.add('presence:list-failed');
      logger.warn({ err: String(err), deviceId: presence.deviceId }, 'could not list the open commands of a device that came online');
    }
  }

  /** Connected to the broker right now (the health check). */
  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  async stop(): Promise<void> {
    await this.client?.endAsync();
  }

  /** Dies without a goodbye (tests): the broker keeps the session and what it held for it. */
  async crash(): Promise<void> {
    this.client?.stream.destroy();
    await this.client?.endAsync(true);
  }
}
