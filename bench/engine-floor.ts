/**
 * `npx tsx bench/engine-floor.ts [--commands N]`: how much of a device command's cost is the
 * engine's own floor, measured in one run on one dev server.
 *
 * It runs N of each, alternating twice, 100 at once, all answered by a direct signal instead
 * of MQTT (a result that implies the ack, as the rollout bench's devices answer):
 * - `floor`: the least any one-workflow-per-command design does (bench/floor-workflow.ts):
 *   start, publish through a local activity, one answer signal, a deadline, done;
 * - `command`: our command workflow (bench/bare-workflow-baseline.ts, result only).
 * It prints CPU ms per workflow of the Temporal server and of this process (worker and
 * client together), and their ratios. docs/operations.md ("Throughput and memory") explains
 * what the floor says about halving a command's cost.
 */
import { Worker } from '@temporalio/worker';
import pMap from 'p-map';
import { DcoClient } from '../client/dco-client';
import { setWorkflowStackTraces } from '../workers/workflow-stack-traces';
import { prebuiltWorkflowBundle } from '../workers/workflow-bundle';
import { createBareCommandWorker } from './bare-workflow-baseline';
import { floorAnswerSignal, type FloorActivities } from './floor-workflow';
import { cpuSeconds } from './process-memory';
import { benchOnOneDevServer, whileWorkersRun } from './one-dev-server';

const arg = process.argv.indexOf('--commands');
const COMMANDS = arg > 0 ? Number(process.argv[arg + 1]) : 2000;
const CONCURRENCY = 100;

interface Cost {
  serverMs: number;
  workerAndClientMs: number;
  wallMs: number;
}

/** CPU of the server and of this process while `n` workflows run, per workflow. */
async function perWorkflow(serverPid: number, n: number, run: (i: number) => Promise<unknown>): Promise<Cost> {
  const server = cpuSeconds(serverPid)!;
  const own = process.cpuUsage();
  const t0 = performance.now();
  await pMap(
    Array.from({ length: n }, (_, i) => i),
    run,
    { concurrency: CONCURRENCY },
  );
  const ownUsed = process.cpuUsage(own);
  return {
    serverMs: ((cpuSeconds(serverPid)! - server) * 1000) / n,
    workerAndClientMs: (ownUsed.user + ownUsed.system) / 1000 / n,
    wallMs: performance.now() - t0,
  };
}

const round = (x: number) => Math.round(x * 100) / 100;
const mean = (costs: Cost[], key: keyof Cost) => round(costs.reduce((s, c) => s + c[key], 0) / costs.length);

setWorkflowStackTraces(false); // as `dco worker` runs
benchOnOneDevServer('floor', async ({ pid, connection, client, native }) => {
  const floorActivities: FloorActivities = {
    async floorPublish(workflowId) {
      setImmediate(() => void client.workflow.getHandle(workflowId).signal(floorAnswerSignal));
    },
  };
  const floorWorker = await Worker.create({
    connection: native,
    taskQueue: 'bench-floor',
    workflowsPath: require.resolve('./floor-workflow'),
    activities: floorActivities,
  });
  const commandWorker = await createBareCommandWorker(
    native,
    client,
    'bench-floor-command',
    { codePath: prebuiltWorkflowBundle().codePath },
    { resultOnly: true },
  );
  const dco = new DcoClient({ connection, taskQueue: 'bench-floor-command' });
  await whileWorkersRun([floorWorker, commandWorker], async () => {
    const floor: Cost[] = [];
    const command: Cost[] = [];
    for (let round = 0; round < 2; round++) {
      floor.push(
        await perWorkflow(pid, COMMANDS, async (i) => {
          const workflowId = `floor-${round}-${i}`;
          const handle = await client.workflow.start('floorCommandWorkflow', { taskQueue: 'bench-floor', workflowId, args: [workflowId] });
          if (!(await handle.result())) throw new Error(`${workflowId} was not answered`);
        }),
      );
      command.push(
        await perWorkflow(pid, COMMANDS, async (i) => {
          const outcome = await (await dco.send({ deviceId: `floor-dev-${i % 200}`, name: 'ping' })).result();
          if (outcome.state !== 'Succeeded') throw new Error(`${outcome.commandId} ended ${outcome.state}`);
        }),
      );
    }
    const result = {
      commands: COMMANDS,
      concurrency: CONCURRENCY,
      cpuMsPerWorkflow: {
        floor: { server: mean(floor, 'serverMs'), workerAndClient: mean(floor, 'workerAndClientMs') },
        command: { server: mean(command, 'serverMs'), workerAndClient: mean(command, 'workerAndClientMs') },
      },
      perSecond: {
        floor: round((COMMANDS * floor.length * 1000) / floor.reduce((s, c) => s + c.wallMs, 0)),
        command: round((COMMANDS * command.length * 1000) / command.reduce((s, c) => s + c.wallMs, 0)),
      },
      runs: { floor, command },
    };
    const total = (k: 'floor' | 'command') => result.cpuMsPerWorkflow[k].server + result.cpuMsPerWorkflow[k].workerAndClient;
    console.log(
      JSON.stringify(
        {
          ...result,
          floorOverCommand: {
            server: round(result.cpuMsPerWorkflow.floor.server / result.cpuMsPerWorkflow.command.server),
            total: round(total('floor') / total('command')),
          },
        },
        null,
        2,
      ),
    );
  });
});
