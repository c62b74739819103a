import type { Client } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import path from 'node:path';
import { MqttPublisher } from '../activities/mqtt-publisher';
import { MqttBridge } from '../bridge/mqtt-bridge';
import { DcoClient } from '../client/dco-client';
import { createLogger } from '../config/logger';
import { FleetSimulator } from '../device/fleet-simulator';
import { createCommandWorker } from '../workers/command-worker';
import { prebuiltWorkflowBundle } from '../workers/workflow-bundle';
import { createBareCommandWorker } from './bare-workflow-baseline';
import { noisyNeighbour, reconnectStorm } from './isolation';
import type { BenchOptions } from './options';
import { runConcurrently, summarize } from './percentiles';
import { rawMqttRoundTrip } from './raw-mqtt-baseline';
import { say } from './say';

/** 1. Full path vs raw MQTT vs the same workflow without MQTT, all in this process. */
export async function throughput(opts: BenchOptions, address: string, mqttUrl: string, client: Client, dir: string) {
  const n = opts.commands as number;
  const c = opts.concurrency as number;
  const topicPrefix = 'bench/devices';
  const sim = new FleetSimulator({ mqttUrl, topicPrefix, devices: 200, idPrefix: 'tp-', latencyMs: 0, connections: 1, journalDir: path.join(dir, 'tp') });
  await sim.start();
  const native = await NativeConnection.connect({ address });
  const publisher = new MqttPublisher({ url: mqttUrl });
  await publisher.waitConnected();
  const logger = createLogger('bench', 'error');
  const workflowBundle = { codePath: prebuiltWorkflowBundle().codePath };
  const full = await createCommandWorker({ connection: native, namespace: 'default', taskQueue: 'bench-full', publisher, topicPrefix, client, workflowBundle });
  const bare = await createBareCommandWorker(native, client, 'bench-bare', workflowBundle);
  const bridge = new MqttBridge({ mqttUrl, topicPrefix, taskQueue: 'bench-full', temporal: client, logger, clientId: 'bench-bridge' });
  const runs: Array<Promise<void>> = [full.run(), bare.run()];
  const ids = sim.deviceIds;
  try {
    say(`1. throughput: ${n} commands per variant, ${c} in flight`);
    const raw = summarize('raw MQTT request/response', await rawMqttRoundTrip(mqttUrl, topicPrefix, ids, n, c));
    say(`   ${JSON.stringify(raw)}`);
    await bridge.start(); // after the raw baseline, whose answers it would only count as unknown
    const bareClient = new DcoClient({ connection: client.connection, taskQueue: 'bench-bare' });
    const bareRun = summarize(
      'command workflow, no MQTT',
      await runConcurrently(n, c, async (i) => void (await (await bareClient.send({ deviceId: ids[i % ids.length], name: 'ping' })).result())),
    );
    say(`   ${JSON.stringify(bareRun)}`);
    const fullClient = new DcoClient({ connection: client.connection, taskQueue: 'bench-full' });
    const fullRun = summarize(
      'full path',
      await runConcurrently(n, c, async (i) => void (await (await fullClient.send({ deviceId: ids[i % ids.length], name: 'ping' })).result())),
    );
    say(`   ${JSON.stringify(fullRun)}`);
    const isolation = opts.skipIsolation
      ? undefined
      : await (async () => {
          const setup = { mqttUrl, topicPrefix, client: fullClient, bridge, deviceIds: ids, commands: n, concurrency: c, say };
          return { noisyNeighbour: await noisyNeighbour(setup), reconnectStorm: await reconnectStorm(setup) };
        })();
    return {
      isolation,
      variants: [raw, bareRun, fullRun],
      fullVsBareWorkflow: Math.round((fullRun.perSecond / bareRun.perSecond) * 100) / 100,
      fullVsRawMqtt: Math.round((fullRun.perSecond / raw.perSecond) * 1000) / 1000,
      target: 'fullVsBareWorkflow >= 0.8',
    };
  } finally {
    await bridge.stop();
    (full as Worker).shutdown();
    (bare as Worker).shutdown();
    await Promise.all(runs);
    await publisher.close();
    await native.close();
    await sim.stop();
  }
}
