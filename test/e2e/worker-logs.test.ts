import path from 'node:path';
import { readFileSync } from 'node:fs';
import { RolloutClient } from '../../client/rollout-client';
import { FleetSimulator } from '../../device/fleet-simulator';
import { ManagedProcess } from '../../stack/managed-process';
import { eventually } from '../support/eventually';
import { Harness } from '../support/harness';

type LogLine = { level: number; msg: string; sdk?: boolean; [key: string]: unknown };

const readLog = (file: string): LogLine[] => {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return []; // not created yet
  }
  return text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LogLine);
};

/**
 * A real `dco worker` process logs JSON lines (pino): its own, the Temporal SDK's, and one per
 * command state change and rollout milestone, carrying commandId, deviceId and rolloutId.
 */
describe('worker logs', () => {
  const h = new Harness();
  let worker: ManagedProcess;
  let sim: FleetSimulator;
  const workerLog = path.join(h.dir, 'worker.log');

  beforeAll(async () => {
    await h.start({ worker: false });
    worker = new ManagedProcess({
      name: 'worker',
      command: process.execPath,
      args: [path.join(__dirname, '..', '..', 'bin', 'dco'), 'worker'],
      logFile: workerLog,
      env: {
        ...process.env,
        TEMPORAL_ADDRESS: h.env.temporalAddress,
        MQTT_URL: h.env.mqttUrl,
        DCO_TASK_QUEUE: h.taskQueue,
        DCO_TOPIC_PREFIX: h.topicPrefix,
        LOG_LEVEL: 'info',
      },
    });
    await eventually(
      async () => readLog(workerLog),
      (lines) => lines.some((l) => l.msg === 'worker started'),
      60_000,
    );
    sim = new FleetSimulator({
      mqttUrl: h.env.mqttUrl,
      topicPrefix: h.topicPrefix,
      devices: 3,
      idPrefix: 'logs-',
      connections: 1,
      latencyMs: 10,
      journalDir: path.join(h.dir, 'fleet'),
      clientIdPrefix: `${h.id}-logs`,
    });
    await sim.start();
  }, 90_000);
  afterAll(async () => {
    await sim?.stop();
    await worker?.stop();
    await h.stop();
  });

  test('every state change of a rollout command is a JSON line with its IDs; the SDK logs to the same place', async () => {
    const rolloutId = `logs-${h.id}`;
    const rollout = await new RolloutClient(h.client.temporal, h.taskQueue).start({
      rolloutId,
      name: 'ping',
      targets: [...sim.deviceIds],
      canary: { count: 1 },
      waves: [{ percent: 100 }],
    });
    h.started.push(rollout.workflowId);
    expect((await rollout.result()).state).toBe('done');

    const lines = await eventually(
      async () => readLog(workerLog),
      (all) => all.filter((l) => l.msg === 'command Succeeded' && l.rolloutId === rolloutId).length === 3 && all.some((l) => l.msg === 'rollout done'),
    );
    const device = sim.deviceIds[0];
    const mine = lines.filter((l) => l.deviceId === device && typeof l.msg === 'string' && l.msg.startsWith('command '));
    expect(mine.map((l) => l.state)).toEqual(['Created', 'Sent', 'Acknowledged', 'Succeeded']);
    for (const l of mine) {
      expect(l).toMatchObject({ commandId: `${rolloutId}.${device}`, rolloutId, command: 'ping', workflowId: `command-${rolloutId}.${device}` });
    }
    const milestones = lines.filter((l) => l.rolloutId === rolloutId && typeof l.msg === 'string' && l.msg.startsWith('rollout '));
    expect(milestones.map((l) => `${l.state} ${l.wave}`)).toEqual(['running canary', 'running wave-1', 'done wave-1']);
    // The SDK's own logs (worker lifecycle) come through the same logger, marked sdk: true.
    expect(lines.some((l) => l.sdk === true && l.msg !== 'command Succeeded')).toBe(true);
  });
});
