import { Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { MqttPublisher } from '../../activities/mqtt-publisher';
import { MqttBridge } from '../../bridge/mqtt-bridge';
import { DcoClient } from '../../client/dco-client';
import { createLogger } from '../../config/logger';
import { DeviceAgent } from '../../device/device-agent';
import { tempDirForPostgres } from '../../stack/postgres-cluster';
import { COMPOSE_TEMPORAL, startTemporalCluster, type TemporalCluster } from '../../stack/temporal-cluster';
import { ensureTemporalServerBinaries, TEMPORAL_SERVER_VERSION } from '../../stack/temporal-server-binary';
import { ensureTemporalUi, TEMPORAL_UI_VERSION } from '../../stack/temporal-ui-binary';
import { createServiceWorkers, type ServiceWorkers } from '../../workers/service-workers';
import { eventually } from '../support/eventually';
import { testEnv } from '../setup/test-env';

/**
 * Production's Temporal (docker-compose.yml: the real server on PostgreSQL, not the dev server
 * on SQLite) started without Docker, and one command through it end to end. Its own cluster on
 * its own ports and data; the test run's Mosquitto and workflow bundle. Never skipped: a missing
 * PostgreSQL, Go or build fails with what to run.
 */
describe('Temporal server on PostgreSQL, without Docker (stack/temporal-cluster.ts)', () => {
  const env = testEnv();
  const id = Math.random().toString(36).slice(2, 8);
  const taskQueue = `pg-${id}`;
  const topicPrefix = `pg${id}/devices`;
  const deviceId = `pump-pg-${id}`;
  let dir: string | undefined;
  let cluster: TemporalCluster | undefined;
  let connection: Connection | undefined;
  let nativeConnection: NativeConnection | undefined;
  let client: DcoClient;
  let publisher: MqttPublisher | undefined;
  let workers: { run: ServiceWorkers; done: Promise<void> } | undefined;
  let bridge: MqttBridge | undefined;
  let device: DeviceAgent | undefined;

  beforeAll(async () => {
    // Built by scripts/ensure-prereqs.sh; builds here (minutes) or fails with what to run.
    ensureTemporalServerBinaries();
    ensureTemporalUi();
    dir = tempDirForPostgres('dco-pg-cluster-');
    cluster = await startTemporalCluster({ dir, say: (line) => process.stderr.write(`[postgres cluster] ${line}\n`) });

    connection = await Connection.connect({ address: cluster.address });
    client = new DcoClient({ connection, taskQueue });
    nativeConnection = await NativeConnection.connect({ address: cluster.address });
    publisher = new MqttPublisher({ url: env.mqttUrl });
    await publisher.waitConnected();
    const run = await createServiceWorkers({
      connection: nativeConnection,
      namespace: COMPOSE_TEMPORAL.namespace,
      taskQueue,
      publisher,
      topicPrefix,
      client: client.temporal,
      workflowBundle: { codePath: env.bundlePath },
    });
    workers = { run, done: run.run() };
    bridge = new MqttBridge({
      mqttUrl: env.mqttUrl,
      topicPrefix,
      taskQueue,
      temporal: client.temporal,
      logger: createLogger('test', process.env.LOG_LEVEL ?? 'silent'),
      clientId: `bridge-pg-${id}`,
    });
    await bridge.start();
    device = new DeviceAgent({
      deviceId,
      mqttUrl: env.mqttUrl,
      topicPrefix,
      journalDir: path.join(dir, 'journals'),
      handlers: { ping: async () => ({ pong: true }) },
    });
    await device.start();
  }, 15 * 60_000);

  afterAll(async () => {
    // Clients first (a client left connected would reconnect after Jest tore down), then the cluster.
    await device?.stop().catch(() => {});
    await bridge?.stop().catch(() => {});
    if (workers) {
      workers.run.shutdown();
      await workers.done.catch(() => {});
    }
    await publisher?.close().catch(() => {});
    await nativeConnection?.close().catch(() => {});
    await connection?.close().catch(() => {});
    await cluster?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it('keeps the values of docker-compose.yml', () => {
    const compose = parse(readFileSync(path.resolve(__dirname, '..', '..', 'docker-compose.yml'), 'utf8'));
    const temporal = compose.services.temporal;
    expect(temporal.image).toBe(`temporalio/auto-setup:${TEMPORAL_SERVER_VERSION.replace(/^v/, '')}`);
    expect(temporal.environment).toMatchObject({
      DB: COMPOSE_TEMPORAL.plugin,
      POSTGRES_USER: COMPOSE_TEMPORAL.user,
      NUM_HISTORY_SHARDS: String(COMPOSE_TEMPORAL.numHistoryShards),
      DEFAULT_NAMESPACE: COMPOSE_TEMPORAL.namespace,
      DEFAULT_NAMESPACE_RETENTION: COMPOSE_TEMPORAL.retention,
      LOG_LEVEL: COMPOSE_TEMPORAL.logLevel,
    });
    expect(compose.services.postgresql.environment.POSTGRES_USER).toBe(COMPOSE_TEMPORAL.user);
    // The dynamic config compose mounts is the file this cluster reads.
    const mount = `./${path.relative(path.resolve(__dirname, '..', '..'), COMPOSE_TEMPORAL.dynamicConfigFile)}:${temporal.environment.DYNAMIC_CONFIG_FILE_PATH}:ro`;
    expect(temporal.volumes).toContain(mount);
    // The Web UI: the version this cluster builds, given only the frontend's address, and
    // published on loopback only (the cluster's UI binds 127.0.0.1: stack/temporal-ui-binary.ts).
    const ui = compose.services['temporal-ui'];
    expect(ui.image).toBe(`temporalio/ui:${TEMPORAL_UI_VERSION.replace(/^v/, '')}`);
    expect(Object.keys(ui.environment)).toEqual(['TEMPORAL_ADDRESS']);
    expect(ui.ports).toEqual(['127.0.0.1:8080:8080']);
  });

  it('runs a command to Succeeded, and finds it by DeviceId in visibility on PostgreSQL', async () => {
    const { serverVersion } = await connection!.workflowService.getSystemInfo({});
    // The real server, not the CLI's dev server (which reports the CLI's version).
    expect(`v${serverVersion}`).toBe(TEMPORAL_SERVER_VERSION);

    const handle = await client.send({ deviceId, name: 'ping' });
    const outcome = await handle.result();
    expect(outcome.state).toBe('Succeeded');
    expect(outcome.output).toEqual({ pong: true });

    const found = await eventually(
      async () => {
        const ids: string[] = [];
        for await (const execution of client.temporal.workflow.list({ query: `DeviceId = "${deviceId}"` })) ids.push(execution.workflowId);
        return ids;
      },
      (ids) => ids.includes(handle.workflowId),
    );
    expect(found).toContain(handle.workflowId);

    // Operators find it in the cluster's Web UI: the page is served, and the UI server's API
    // (what the page calls) lists the command from this cluster's visibility store.
    const page = await fetch(`${cluster!.uiUrl}/namespaces/default/workflows`);
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/<html/i);
    const query = encodeURIComponent(`DeviceId="${deviceId}"`);
    const listed = await eventually(
      async () => {
        const res = await fetch(`${cluster!.uiUrl}/api/v1/namespaces/default/workflows?query=${query}`);
        const body = (await res.json()) as { executions?: Array<{ execution?: { workflowId?: string } }> };
        return (body.executions ?? []).map((e) => e.execution?.workflowId);
      },
      (ids) => ids.includes(handle.workflowId),
    );
    expect(listed).toContain(handle.workflowId);
  }, 120_000);
});
