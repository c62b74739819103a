import path from 'node:path';
import { readFileSync } from 'node:fs';
import { defaultPayloadConverter } from '@temporalio/common';
import { commandWorkflowId } from '../../protocol/command-contract';
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
    await eventually(
      async () => readLog(workerLog),
      (t) => t.includes('worker started'),
      60_000,
    );
  }, 90_000);
  afterAll(async () => {
    await worker?.stop();
    await h.stop();
  });

  test('client, workflow and activity spans form one trace, each span the child of the one before', async () => {
    await h.startDevice('traced-1');
    const sent = await runCli(['send', 'traced-1', 'ping', '--tracing', '--wait', '--json'], env);
    expect(sent.code).toBe(0);
    const { commandId, state } = JSON.parse(sent.stdout);
    expect(state).toBe('Succeeded');
    const mine = (s: Span) => JSON.stringify(s.attributes ?? {}).includes(commandId);
    const client = spansIn(sent.stderr).find((s) => s.span === 'StartWorkflow:commandWorkflow' && mine(s));
    expect(client).toMatchObject({ service: 'dco-client' });

    // The client put the W3C context of its span into the workflow's start header.
    const started = (await h.client.temporal.workflow.getHandle(commandWorkflowId(commandId)).fetchHistory()).events![0];
    const carried = defaultPayloadConverter.fromPayload<Record<string, string>>(
      started.workflowExecutionStartedEventAttributes!.header!.fields!['_tracer-data'],
    );
    expect(carried.traceparent).toBe(`00-${client!.traceId}-${client!.spanId}-01`);

    const names = ['RunWorkflow:commandWorkflow', 'StartActivity:publishCommand', 'RunActivity:publishCommand'];
    const spans = await eventually(
      async () => spansIn(readLog(workerLog)).filter(mine),
      (all) => names.every((n) => all.some((s) => s.span === n)),
    );
    expect(spans.every((s) => s.service === 'dco-worker')).toBe(true);
    const [runs, starts, executions] = names.map((n) => spans.filter((s) => s.span === n));
    for (const s of [...runs, ...starts, ...executions]) expect({ span: s.span, traceId: s.traceId }).toEqual({ span: s.span, traceId: client!.traceId });
    // StartWorkflow (client) → RunWorkflow → StartActivity → RunActivity.
    for (const run of runs) expect(run.parentSpanId).toBe(client!.spanId);
    for (const start of starts) expect(runs.map((r) => r.spanId)).toContain(start.parentSpanId);
    for (const execution of executions) expect(starts.map((s) => s.spanId)).toContain(execution.parentSpanId);
  });
});
