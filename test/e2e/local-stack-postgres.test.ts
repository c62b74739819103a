import { Connection } from '@temporalio/client';
import { rmSync } from 'node:fs';
import { sumByLabel } from '../../bench/prometheus-sums';
import { DcoClient } from '../../client/dco-client';
import { DeviceAgent } from '../../device/device-agent';
import { LocalStack } from '../../stack/local-stack';
import { canConnect, freePort } from '../../stack/net';
import { tempDirForPostgres } from '../../stack/postgres-cluster';
import { ensureTemporalServerBinaries, TEMPORAL_SERVER_VERSION } from '../../stack/temporal-server-binary';
import { ensureTemporalUi } from '../../stack/temporal-ui-binary';
import { startStackDevice } from '../support/stack-device';

const COMMANDS = 12;

/**
 * `dco up --backend postgres --instances 2 --separate-services`: production's Temporal
 * (temporal-server on its own PostgreSQL, each of its four services a process of its own, with
 * the Web UI), Mosquitto, two workers and two bridges in one MQTT shared-subscription group,
 * each a process of its own. (postgres-cluster.test.ts runs the one-process server.) Never skipped: a missing PostgreSQL,
 * Go or build fails with what to run.
 */
describe('the local stack on PostgreSQL with two workers and two bridges (dco up --backend postgres --instances 2 --separate-services)', () => {
  let stack: LocalStack | undefined;
  let connection: Connection | undefined;
  let device: DeviceAgent | undefined;
  let dir: string | undefined;

  beforeAll(async () => {
    ensureTemporalServerBinaries();
    ensureTemporalUi();
    dir = tempDirForPostgres('dco-up-pg-');
    stack = await LocalStack.start({
      dataDir: dir,
      backend: 'postgres',
      instances: 2,
      separateServices: true,
      temporalPort: await freePort(),
      uiPort: await freePort(),
      mqttPort: await freePort(),
      mqttServicePort: await freePort(),
      say: () => {},
    });
    connection = await Connection.connect({ address: stack.temporalAddress });
    device = await startStackDevice(stack, 'pg-stack-1', dir, { ping: async () => ({ ok: true }) });
  }, 15 * 60_000);

  afterAll(async () => {
    await device?.stop();
    await connection?.close();
    await stack?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  test('runs two workers and two bridges, and the Web UI of the cluster', async () => {
    expect(stack!.serviceNames).toEqual(['worker', 'bridge', 'worker-2', 'bridge-2']);
    for (const name of stack!.serviceNames) expect({ name, running: stack!.service(name)?.running }).toEqual({ name, running: true });
    expect((await fetch(`${stack!.uiUrl}/healthz`)).status).toBe(200);
    const { serverVersion } = await connection!.workflowService.getSystemInfo({});
    // temporal-server, not the CLI's dev server, which reports the CLI's version.
    expect(`v${serverVersion}`).toBe(TEMPORAL_SERVER_VERSION);
  });

  test('commands succeed, and the device answers reach Temporal through both bridges (one shared subscription)', async () => {
    const client = new DcoClient({ connection: connection! });
    const handles = await Promise.all(Array.from({ length: COMMANDS }, () => client.send({ deviceId: 'pg-stack-1', name: 'ping' })));
    const outcomes = await Promise.all(handles.map((h) => h.result()));
    expect(outcomes.map((o) => o.state)).toEqual(Array(COMMANDS).fill('Succeeded'));
    // Mosquitto hands a shared subscription's messages to its members in turn: with 2 × 12
    // answers (ack and result), each bridge signalled some, and together every one.
    const signalled = await Promise.all(
      (['bridge', 'bridge-2'] as const).map(async (name) => {
        const text = await fetch(stack!.metricsUrls[name]).then((r) => r.text());
        return Object.values(sumByLabel(text, 'dco_bridge_messages_total', 'kind', { outcome: 'signalled' })).reduce((a, b) => a + b, 0);
      }),
    );
    expect(signalled.every((n) => n > 0)).toBe(true);
    expect(signalled[0] + signalled[1]).toBe(2 * COMMANDS);
  });

  test('stop ends every process, PostgreSQL and the Web UI included', async () => {
    const services = stack!.serviceNames.map((name) => stack!.service(name)!);
    await device!.stop();
    device = undefined;
    await stack!.stop();
    expect(services.map((p) => p.running)).toEqual([false, false, false, false]);
    const [host, port] = stack!.temporalAddress.split(':');
    expect(await canConnect(host, Number(port))).toBe(false);
    const ui = new URL(stack!.uiUrl!);
    expect(await canConnect(ui.hostname, Number(ui.port))).toBe(false);
    stack = undefined;
  });
});
