/**
 * `npx tsx bench/presence-read.ts [--devices N]`: what reading a device's presence from its
 * entity costs the Temporal server, next to what a command costs it, in one run on one server.
 *
 * The publish activity reads the entity (`device-<id>`, DescribeWorkflowExecution of its memo)
 * before each publish. This creates N entities with a status each, then measures the server's
 * CPU for N such reads (20 at once, as a rollout would) and for N bare command workflows (the
 * command workflow with the MQTT hop replaced by direct signals, bench/bare-workflow-baseline),
 * and prints CPU ms per read, per command and their ratio. The figure in docs/operations.md,
 * "Device entities", comes from here.
 */
import pMap from 'p-map';
import { EntityPresence } from '../activities/entity-presence';
import { DcoClient } from '../client/dco-client';
import { deviceStatusSignal, deviceTaskQueue, deviceWorkflowId, DEVICE_WORKFLOW_TYPE } from '../protocol/device-contract';
import { createDeviceWorker } from '../workers/device-worker';
import { prebuiltWorkflowBundle } from '../workers/workflow-bundle';
import { createBareCommandWorker } from './bare-workflow-baseline';
import { cpuSeconds } from './process-memory';
import { benchOnOneDevServer, whileWorkersRun } from './one-dev-server';

const arg = process.argv.indexOf('--devices');
const devices = arg > 0 ? Number(process.argv[arg + 1]) : 1000;
const CONCURRENCY = 20;

async function inParallel(n: number, work: (i: number) => Promise<unknown>): Promise<void> {
  await pMap(
    Array.from({ length: n }, (_, i) => i),
    work,
    { concurrency: CONCURRENCY },
  );
}

/** Server CPU ms spent while `work` ran. */
async function serverCpuMs(pid: number, work: () => Promise<void>): Promise<number> {
  const before = cpuSeconds(pid)!;
  await work();
  return (cpuSeconds(pid)! - before) * 1000;
}

benchOnOneDevServer('presence', async ({ pid, connection, client, native }) => {
  const workflowBundle = { codePath: prebuiltWorkflowBundle().codePath };
  const taskQueue = 'bench-presence';
  const entities = await createDeviceWorker({ connection: native, namespace: 'default', commandTaskQueue: taskQueue, workflowBundle });
  const bare = await createBareCommandWorker(native, client, taskQueue, workflowBundle);
  await whileWorkersRun([entities, bare], async () => {
    const ids = Array.from({ length: devices }, (_, i) => `pr-${String(i).padStart(5, '0')}`);
    const receivedAt = new Date().toISOString();
    await inParallel(devices, (i) =>
      client.workflow.signalWithStart(DEVICE_WORKFLOW_TYPE, {
        workflowId: deviceWorkflowId(ids[i]),
        taskQueue: deviceTaskQueue(taskQueue),
        args: [{ deviceId: ids[i] }],
        signal: deviceStatusSignal,
        signalArgs: [{ deviceId: ids[i], state: 'online', bootId: 'b1', receivedAt }],
      }),
    );
    const presence = new EntityPresence(client, deviceTaskQueue(taskQueue));
    // Every entity applied its status (its memo is there) before anything is measured.
    for (const id of ids) while (!(await presence.get(id))) await new Promise((r) => setTimeout(r, 50));

    const readMs = await serverCpuMs(pid, () => inParallel(devices, (i) => presence.get(ids[i])));
    // What the alternative would cost: every command telling its entity it is open (one
    // signal and one entity task each; the command's own side and the goodbye not counted).
    const signalMs = await serverCpuMs(pid, async () => {
      const later = new Date(Date.now() + 1000).toISOString();
      await inParallel(devices, (i) =>
        client.workflow.getHandle(deviceWorkflowId(ids[i])).signal(deviceStatusSignal, { deviceId: ids[i], state: 'online', bootId: 'b1', receivedAt: later }),
      );
      // The entities' tasks for those signals are done when their last history event is a completed task.
      for (const id of ids) {
        for (;;) {
          const d = await client.workflow.getHandle(deviceWorkflowId(id)).describe();
          if (d.raw.pendingWorkflowTask === undefined || d.raw.pendingWorkflowTask === null) break;
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    });
    const dco = new DcoClient({ connection, taskQueue });
    const commandMs = await serverCpuMs(pid, () => inParallel(devices, async (i) => (await dco.send({ deviceId: ids[i], name: 'ping' })).result()));
    const perRead = readMs / devices;
    const perCommand = commandMs / devices;
    console.log(
      JSON.stringify(
        {
          devices,
          concurrency: CONCURRENCY,
          serverCpuMsPerPresenceRead: Math.round(perRead * 100) / 100,
          // Less one read each: the describe that checked each signal was applied.
          serverCpuMsPerEntitySignal: Math.round(((signalMs - readMs) / devices) * 100) / 100,
          serverCpuMsPerBareCommand: Math.round(perCommand * 100) / 100,
          readOverCommand: Math.round((perRead / perCommand) * 1000) / 1000,
          entitySignalOverCommand: Math.round(((signalMs - readMs) / devices / perCommand) * 1000) / 1000,
        },
        null,
        2,
      ),
    );
  });
});
