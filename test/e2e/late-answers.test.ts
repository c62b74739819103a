import { LateOutcomeAttribute } from '../../protocol/search-attributes';
import { RolloutClient } from '../../client/rollout-client';
import { commandWorkflowId } from '../../protocol/command-contract';
import { lateAnswersWorkflowId } from '../../protocol/late-answers-contract';
import { eventually } from '../support/eventually';
import { Harness } from '../support/harness';
import { RawDevice } from '../support/raw-device';
import { runCli } from '../support/run-cli';

/**
 * An answer that comes after its command ended is evidence of what the device did: it is
 * attached to the command (`late-<commandId>`), never only a dead letter, and the command's
 * terminal state does not change.
 */
describe('late answers are attached to their command', () => {
  const h = new Harness();
  // Short idle window, so the records close within the file and their histories are replayed.
  beforeAll(() => h.start({ bridgeOptions: { lateAnswersIdleMs: 2_000 } }));
  afterAll(() => h.stop());

  const raw = (deviceId: string) => new RawDevice(deviceId, h.env.mqttUrl, h.topicPrefix).start();
  const timedOut = async (deviceId: string) => {
    const handle = await h.client.send({ deviceId, name: 'ping', ackTimeoutMs: 1_000, maxAttempts: 1 });
    const outcome = await handle.result();
    expect(outcome.state).toBe('TimedOut');
    return handle;
  };

  test('a device executes a command after it ended TimedOut: the late result is attached, visible in dco get and the Web UI query; the state stays TimedOut', async () => {
    const device = await raw('late-1');
    const handle = await timedOut('late-1');
    h.started.push(lateAnswersWorkflowId(handle.commandId)); // replayed at the end, like the commands
    const [cmd] = await device.waitForCommands(1);
    const recorded = () => h.bridge!.counters.get('ack:late-recorded') + h.bridge!.counters.get('result:late-recorded');
    const before = recorded();
    await device.ack(cmd.commandId);
    await device.result(cmd.commandId, 'succeeded', { output: { rebooted: true } });
    // QoS 1 repeats of the result: counted, kept once.
    await device.result(cmd.commandId, 'succeeded', { output: { rebooted: true } });
    await eventually(
      async () => recorded(),
      (n) => n === before + 3,
    );

    const late = await eventually(
      () => handle.lateAnswers(),
      (l) => l?.answers.length === 2,
    );
    expect(late).toMatchObject({ commandId: cmd.commandId, deviceId: 'late-1', endedAs: 'TimedOut', lateOutcome: 'succeeded', repeats: 1 });
    expect(late!.answers.map((a) => [a.kind, a.status])).toEqual([
      ['ack', 'accepted'],
      ['result', 'succeeded'],
    ]);
    expect(late!.answers[1].output).toEqual({ rebooted: true });
    expect((await handle.state()).state).toBe('TimedOut');
    expect(h.bridge!.deadLetters.latest(20).filter((l) => l.commandId === cmd.commandId)).toEqual([]);

    // The operator's view: the Web UI query, and `dco get`.
    const query = `LateOutcome = "succeeded" AND DeviceId = "late-1"`;
    const found = await eventually(
      async () => {
        const ids: string[] = [];
        for await (const w of h.client.temporal.workflow.list({ query })) ids.push(w.workflowId);
        return ids;
      },
      (ids) => ids.length === 1,
    );
    expect(found).toEqual([lateAnswersWorkflowId(cmd.commandId)]);
    const env = { TEMPORAL_ADDRESS: h.env.temporalAddress, DCO_TASK_QUEUE: h.taskQueue };
    const json = JSON.parse((await runCli(['get', cmd.commandId, '--json'], env)).stdout);
    expect(json).toMatchObject({ state: 'TimedOut', lateOutcome: 'succeeded' });
    const text = (await runCli(['get', cmd.commandId], env)).stdout;
    expect(text).toMatch(/late outcome: succeeded \(reported after the command ended TimedOut/);

    // The record closes after its idle window and stays readable; its search attribute too.
    await eventually(
      async () => (await h.client.temporal.workflow.getHandle(lateAnswersWorkflowId(cmd.commandId)).describe()).status.name,
      (s) => s === 'COMPLETED',
    );
    expect((await handle.lateAnswers())?.lateOutcome).toBe('succeeded');
    const d = await h.client.temporal.workflow.getHandle(lateAnswersWorkflowId(cmd.commandId)).describe();
    expect(d.typedSearchAttributes.get(LateOutcomeAttribute)).toBe('succeeded');
    await device.stop();
  });

  test('a late rejection is attached as such; a command answered in time has no late answers', async () => {
    const device = await raw('late-2');
    const handle = await timedOut('late-2');
    h.started.push(lateAnswersWorkflowId(handle.commandId));
    const [cmd] = await device.waitForCommands(1);
    await device.ack(cmd.commandId, 'rejected', 'battery low');
    const late = await eventually(
      () => handle.lateAnswers(),
      (l) => l !== undefined,
    );
    expect(late).toMatchObject({ lateOutcome: 'rejected', answers: [{ kind: 'ack', status: 'rejected', reason: 'battery low' }] });

    const onTime = await h.client.send({ deviceId: 'late-2', name: 'ping' });
    const [, second] = await device.waitForCommands(2);
    await device.result(second.commandId, 'succeeded');
    expect((await onTime.result()).state).toBe('Succeeded');
    expect(await onTime.lateAnswers()).toBeUndefined();
    await eventually(
      async () => (await h.client.temporal.workflow.getHandle(lateAnswersWorkflowId(cmd.commandId)).describe()).status.name,
      (s) => s === 'COMPLETED',
    );
    await device.stop();
  });

  test("a rollout counts its devices' late answers apart from the terminal states", async () => {
    const device = await raw('late-r1');
    const rollouts = new RolloutClient(h.client.temporal, h.taskQueue);
    const rolloutId = `late-${h.id}`;
    const rollout = await rollouts.start({
      rolloutId,
      name: 'ping',
      targets: ['late-r1'],
      canary: { count: 1 },
      waves: [{ percent: 100 }],
      options: { ackTimeoutMs: 1_000, maxAttempts: 1 },
    });
    h.started.push(rollout.workflowId);
    const final = await rollout.result();
    expect(final.overall.timedOut).toBe(1);
    const [cmd] = await device.waitForCommands(1);
    h.started.push(commandWorkflowId(cmd.commandId), lateAnswersWorkflowId(cmd.commandId));
    await device.result(cmd.commandId, 'succeeded');
    expect(
      await eventually(
        () => rollout.lateAnswers(),
        (l) => l.succeeded === 1,
      ),
    ).toEqual({ succeeded: 1 });
    expect((await rollout.status()).overall.timedOut).toBe(1); // the outcome stays what it was
    const env = { TEMPORAL_ADDRESS: h.env.temporalAddress, DCO_TASK_QUEUE: h.taskQueue };
    const text = (await runCli(['rollout', 'status', rolloutId], env)).stdout;
    expect(text).toMatch(/late answers \(after the command ended; states above unchanged\): succeeded 1/);
    await eventually(
      async () => (await h.client.temporal.workflow.getHandle(lateAnswersWorkflowId(cmd.commandId)).describe()).status.name,
      (st) => st === 'COMPLETED',
    );
    await device.stop();
  });

  test('another device cannot attach a late answer to a command that is not its own', async () => {
    const owner = await raw('late-3');
    const intruder = await raw('late-3x');
    const handle = await timedOut('late-3');
    const [cmd] = await owner.waitForCommands(1);
    const spoofed = () => h.bridge!.counters.get('result:spoofed');
    const before = spoofed();
    await intruder.result(cmd.commandId, 'failed', { error: { code: 'pwned', message: 'not mine' } });
    await eventually(
      async () => spoofed(),
      (n) => n === before + 1,
    );
    expect(await handle.lateAnswers()).toBeUndefined();
    await owner.stop();
    await intruder.stop();
  });
});
