import type { Client } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { DcoClient } from '../client/dco-client';
import { prebuiltWorkflowBundle } from '../workers/workflow-bundle';
import { createBareCommandWorker } from './bare-workflow-baseline';
import type { BenchOptions } from './options';
import { runConcurrently, summarize } from './percentiles';
import { say } from './say';

/**
 * The bare-workflow baseline on its own (the command workflow with signals instead of MQTT,
 * DcoClient starts, --concurrency in flight): how fast this engine runs commands right now.
 */
export async function bareWorkflowRate(opts: BenchOptions, address: string, client: Client, taskQueue: string) {
  const n = Math.min(opts.commands as number, 500);
  const native = await NativeConnection.connect({ address });
  const worker = await createBareCommandWorker(native, client, taskQueue, { codePath: prebuiltWorkflowBundle().codePath });
  const running = worker.run();
  try {
    const bareClient = new DcoClient({ connection: client.connection, taskQueue });
    const ids = Array.from({ length: 200 }, (_, i) => `bare-${String(i).padStart(3, '0')}`);
    const r = summarize(
      'command workflow, no MQTT',
      await runConcurrently(
        n,
        opts.concurrency as number,
        async (i) => void (await (await bareClient.send({ deviceId: ids[i % ids.length], name: 'ping' })).result()),
      ),
    );
    say(`   baseline: ${JSON.stringify(r)}`);
    return r;
  } finally {
    worker.shutdown();
    await running;
    await native.close();
  }
}
