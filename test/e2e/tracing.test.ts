import path from 'node:path';
import { readFileSync } from 'node:fs';
import { ManagedProcess } from '../../stack/managed-process';
import { eventually } from '../support/eventually';
import { Harness } from '../support/harness';
import { runCli } from '../support/run-cli';

type Span = { span: string; service: string; traceId: string; spanId: string; parentSpanId?: string; attributes?: Record<string, unknown> };

const readLog = (file: string) => {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return ''; // not created yet
  }
};

const spansIn = (text: string): Span[] =>
  text
    .split('\n')
    .filter((l) => l.startsWith('{"trace":'))
    .map((l) => JSON.parse(l).trace as Span);

/** `--tracing`: one trace from the client through the workflow to the publish activity. */
describe('tracing (OpenTelemetry interceptors, optional)', () => {
  const h = new Harness();
  let worker: ManagedProcess;
  let env: NodeJS.ProcessEnv;
  const workerLog = path.join(h.dir, 'traced-worker.log');

  beforeAll(async () => {
    await h.start({ worker: false }); // the traced worker is a real `dco worker --tracing` process
    env = { TEMPORAL_ADDRESS: h.env.temporalAddress, MQTT_URL: h.env.mqttUrl, DCO_TASK_QUEUE: h.taskQueue, DCO_TOPIC_PREFIX: h.topicPrefix };
    worker = new ManagedProcess({
      name: 'worker',
      command: process.execPath,
      args: [path.join(__dirname, '..', '..', 'bin', 'dco'), 'worker', '--tracing'],
      logFile: workerLog,
      env: { ...process.env, ...env },
    });
    await eventually(async () => readLog(workerLog), (t) => t.includes('worker started'), 60_000);
  }, 90_000);
  afterAll(async () => {
    await worker?.stop();
    await h.stop();
  });

  // Known gap (see the issue note): the trace context does not yet cross into the workflow
  // sandbox, so client, workflow and activity spans are three traces, not one.
  test('client, workflow and activity spans are emitted; the workflow links its activity', async () => {
    await h.startDevice('traced-1');
    const sent = await runCli(['send', 'traced-1', 'ping', '--tracing', '--wait', '--json'], env);
    expect(sent.code).toBe(0);
    const { commandId, state } = JSON.parse(sent.stdout);
    expect(state).toBe('Succeeded');
    expect(spansIn(sent.stderr).some((s) => s.span.startsWith('StartWorkflow:commandWorkflow') && s.service === 'dco-client')).toBe(true);
    const mine = (s: Span & { attributes?: Record<string, unknown> }) => JSON.stringify(s.attributes ?? {}).includes(commandId);
    const spans = await eventually(
      async () => spansIn(readLog(workerLog)).filter(mine),
      (all) => ['RunWorkflow:commandWorkflow', 'StartActivity:publishCommand', 'RunActivity:publishCommand'].every((n) => all.some((s) => s.span.startsWith(n))),
    );
    const run = spans.find((s) => s.span.startsWith('RunWorkflow:commandWorkflow'))!;
    const start = spans.find((s) => s.span.startsWith('StartActivity:publishCommand'))!;
    expect(start.traceId).toBe(run.traceId); // scheduling the publish belongs to the workflow's trace
    expect(spans.every((s) => s.service === 'dco-worker')).toBe(true);
  });
});
