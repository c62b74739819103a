import { Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { mkdtempSync } from 'node:fs';
import path from 'node:path';
import { MqttPublisher } from '../../activities/mqtt-publisher';
import { MqttBridge, type BridgeOptions } from '../../bridge/mqtt-bridge';
import { DcoClient, type CommandHandle } from '../../client/dco-client';
import type { SendRequestInput } from '../../client/send-request';
import { replayAndRecord } from './replay-recorder';
import { createLogger } from '../../config/logger';
import { DeviceAgent, type CommandHandler, type DeviceFaults } from '../../device/device-agent';
import type { DeviceAttributes } from '../../protocol/messages';
import { createServiceWorkers, type ServiceWorkers } from '../../workers/service-workers';
import { testEnv, type TestEnv } from '../setup/test-env';

export interface Credentials {
  username: string;
  password: string;
}

/**
 * The real system for one test file, isolated from other files by its own task queue, topic
 * prefix and MQTT client IDs, all on the shared test servers.
 */
export class Harness {
  readonly env: TestEnv;
  readonly id = Math.random().toString(36).slice(2, 8);
  readonly taskQueue = `test-${this.id}`;
  readonly topicPrefix = `t${this.id}/devices`;
  readonly dir: string;
  client!: DcoClient;
  connection!: Connection;
  private nativeConnection?: NativeConnection;
  private workerRun?: { workers: ServiceWorkers; done: Promise<void>; publisher: MqttPublisher };
  bridge?: MqttBridge;
  readonly devices: DeviceAgent[] = [];
  /** Workflow IDs of every command this harness started: replayed at stop(). */
  readonly started: string[] = [];
  readonly logger = createLogger('test', process.env.LOG_LEVEL ?? 'silent');

  readonly mqttUrl: string;

  /**
   * By default on the shared anonymous test broker; `broker` points it at another one (with
   * `caFile`, the CA of an mqtts:// broker, used by the worker, the bridge and the devices).
   */
  /** Where the worker and the bridge connect (a broker's services' listener). */
  readonly serviceMqttUrl: string;

  constructor(private readonly broker?: { url: string; serviceUrl?: string; worker?: Credentials; bridge?: Credentials; caFile?: string }) {
    this.env = testEnv();
    this.mqttUrl = broker?.url ?? this.env.mqttUrl;
    this.serviceMqttUrl = broker?.serviceUrl ?? this.mqttUrl;
    this.dir = mkdtempSync(path.join(this.env.dir, `h-${this.id}-`));
  }

  async start(opts: { worker?: boolean; bridge?: boolean; bridgeOptions?: Partial<BridgeOptions> } = {}): Promise<this> {
    this.connection = await Connection.connect({ address: this.env.temporalAddress });
    this.client = new TrackingClient({ connection: this.connection, taskQueue: this.taskQueue }, this.started);
    if (opts.worker !== false) await this.startWorker();
    if (opts.bridge !== false) await this.startBridge(opts.bridgeOptions);
    return this;
  }

  async startWorker(): Promise<void> {
    this.nativeConnection ??= await NativeConnection.connect({ address: this.env.temporalAddress });
    const publisher = new MqttPublisher({ url: this.serviceMqttUrl, ...this.broker?.worker, caFile: this.broker?.caFile });
    await publisher.waitConnected();
    const workers = await createServiceWorkers({
      connection: this.nativeConnection,
      namespace: 'default',
      taskQueue: this.taskQueue,
      publisher,
      topicPrefix: this.topicPrefix,
      client: this.client.temporal,
      workflowBundle: { codePath: this.env.bundlePath },
    });
    const done = workers.run();
    this.workerRun = { workers, done, publisher };
  }

  async stopWorker(): Promise<void> {
    if (!this.workerRun) return;
    const { workers, done, publisher } = this.workerRun;
    this.workerRun = undefined;
    workers.shutdown();
    await done;
    await publisher.close();
  }

  /** The worker's MQTT publisher (its one broker connection), while the worker runs. */
  get publisher(): MqttPublisher | undefined {
    return this.workerRun?.publisher;
  }

  async startBridge(extra: Partial<BridgeOptions> = {}): Promise<MqttBridge> {
    this.bridge = new MqttBridge({
      mqttCaFile: this.broker?.caFile,
      mqttUrl: this.serviceMqttUrl,
      mqttUsername: this.broker?.bridge?.username,
      mqttPassword: this.broker?.bridge?.password,
      topicPrefix: this.topicPrefix,
      taskQueue: this.taskQueue,
      temporal: this.client.temporal,
      logger: this.logger,
      clientId: `bridge-${this.id}`,
      ...extra,
    });
    await this.bridge.start();
    return this.bridge;
  }

  async stopBridge(): Promise<void> {
    await this.bridge?.stop();
    this.bridge = undefined;
  }

  async startDevice(
    deviceId: string,
    handlers: Record<string, CommandHandler> = { ping: async () => ({ pong: true }) },
    faults?: DeviceFaults,
    credentials?: Credentials,
    attributes?: DeviceAttributes,
  ): Promise<DeviceAgent> {
    const device = new DeviceAgent({
      deviceId,
      mqttUrl: this.mqttUrl,
      ...credentials,
      caFile: this.broker?.caFile,
      topicPrefix: this.topicPrefix,
      journalDir: path.join(this.dir, 'journals'),
      handlers,
      faults,
      ...(attributes ? { attributes } : {}),
    });
    await device.start();
    this.devices.push(device);
    return device;
  }

  /**
   * Stops everything, after replaying the history of every command the file started against
   * the current workflow code: a non-deterministic change fails the test file that hit it.
   */
  async stop(): Promise<void> {
    try {
      await replayAndRecord(this.client.temporal, this.started, this.env.bundlePath);
    } finally {
      // Even when the replay fails: a client left connected would reconnect after Jest tore
      // the environment down, and crash the run.
      await Promise.all(this.devices.map((d) => d.stop().catch(() => {})));
      await this.stopBridge().catch(() => {});
      await this.stopWorker().catch(() => {});
      await this.nativeConnection?.close().catch(() => {});
      await this.connection?.close().catch(() => {});
    }
  }
}

class TrackingClient extends DcoClient {
  constructor(
    options: ConstructorParameters<typeof DcoClient>[0],
    private readonly started: string[],
  ) {
    super(options);
  }

  override async send(input: SendRequestInput): Promise<CommandHandle> {
    const handle = await super.send(input);
    if (!this.started.includes(handle.workflowId)) this.started.push(handle.workflowId);
    return handle;
  }
}
