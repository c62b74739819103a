import { FleetSimulator, type FleetSimulatorOptions } from '../../device/fleet-simulator';
import { RolloutClient, isFinal } from '../../client/rollout-client';
import { RolloutIdAttribute } from '../../protocol/search-attributes';
import { rolloutCommandId } from '../../workflows/rollout-command-ids';
import type { RolloutStatusView } from '../../protocol/rollout-contract';
import { eventually } from '../support/eventually';
import { Harness } from '../support/harness';
import path from 'node:path';
import { writeFileSync } from 'node:fs';
import { runCli } from '../support/run-cli';

/** Fleet rollouts through the real worker, bridge and broker, to simulated fleets. */
describe('fleet rollouts', () => {
  const h = new Harness();
  let rollouts: RolloutClient;
  const sims: FleetSimulator[] = [];
  beforeAll(async () => {
    await h.start();
    const client = new RolloutClient(h.client.temporal, h.taskQueue);
    // Rollouts are replayed at the end like commands (see Harness.stop).
    rollouts = Object.assign(Object.create(client), {
      start: async (spec: Parameters<RolloutClient['start']>[0]) => {
        const r = await client.start(spec);
        if (!h.started.includes(r.workflowId)) h.started.push(r.workflowId);
        return r;
      },
    });
  });
  afterAll(async () => {
    await Promise.all(sims.map((s) => s.stop()));
    await h.stop();
  });

  let n = 0;
  const fleet = async (devices: number, o: Partial<FleetSimulatorOptions> = {}) => {
    const name = `f${++n}`;
    const sim = new FleetSimulator({
      mqttUrl: h.env.mqttUrl,
      topicPrefix: h.topicPrefix,
      devices,
      idPrefix: `${name}-`,
      connections: 1,
      latencyMs: 20,
      journalDir: path.join(h.dir, name),
      clientIdPrefix: `${h.id}-${name}`,
      seed: 7,
      ...o,
    });
    await sim.start();
    sims.push(sim);
    return sim;
  };
  const finished = (s: RolloutStatusView) =>
    s.overall.succeeded + s.overall.failed + s.overall.rejected + s.overall.timedOut + s.overall.expired + s.overall.cancelled;

  test('all devices succeed in waves; every command carries the RolloutId', async () => {
    const sim = await fleet(30);
    const r = await rollouts.start({ rolloutId: `all-${h.id}`, name: 'ping', targets: [...sim.deviceIds], canary: { count: 3 }, waves: [{ percent: 100 }] });
    const final = await r.result();
    expect(final.state).toBe('done');
    expect(final.overall).toMatchObject({ succeeded: 30, pending: 0, inFlight: 0 });
    expect(final.waves.map((w) => [w.name, w.end - w.start, w.counts.succeeded])).toEqual([
      ['canary', 3, 3],
      ['wave-1', 27, 27],
    ]);
    expect(sim.stats()).toMatchObject({ executions: 30, maxExecutionsPerCommand: 1 });
    const count = await eventually(
      async () => (await h.client.temporal.workflow.count(`RolloutId = 'all-${h.id}' AND WorkflowType = 'commandWorkflow'`)).count,
      (c) => c === 30,
    );
    expect(count).toBe(30);
    const one = await h.client.temporal.workflow.getHandle(`command-all-${h.id}.${sim.deviceIds[0]}`).describe();
    expect(one.typedSearchAttributes.get(RolloutIdAttribute)).toBe(`all-${h.id}`);
  });

  test('adaptive concurrency: fast answers raise the limit (never above --concurrency); answers that needed a re-publish cut it', async () => {
    const quick = await fleet(60, { latencyMs: 0 });
    const fast = await (
      await rollouts.start({
        rolloutId: `adapt-${h.id}`,
        name: 'ping',
        targets: [...quick.deviceIds],
        canary: { count: 1 },
        waves: [{ percent: 100 }],
        concurrency: 30,
      })
    ).result();
    expect(fast.state).toBe('done');
    expect(fast.concurrency).toBeDefined();
    expect(fast.concurrency!.max).toBeGreaterThan(10); // grew from its start at 10
    expect(fast.concurrency!.max).toBeLessThanOrEqual(30);
    expect(fast.concurrency!.limit).toBeLessThanOrEqual(30);

    // Every first ack is lost and the result takes longer than the ack timeout: each command is
    // acknowledged only after a re-publish, the congestion signal.
    const lossy = await fleet(20, { dropAckRate: 1, latencyMs: 2_000 });
    const cut = await (
      await rollouts.start({
        rolloutId: `adapt-cut-${h.id}`,
        name: 'ping',
        targets: [...lossy.deviceIds],
        canary: { count: 1 },
        waves: [{ percent: 100 }],
        options: { ackTimeoutMs: 1_000, backoff: { initialMs: 100, maxMs: 100, jitter: 0 } },
        abort: { minFinished: 1 },
      })
    ).result();
    expect(cut.overall.succeeded).toBe(20);
    expect(cut.concurrency!.decreases).toBeGreaterThanOrEqual(1);
    expect(cut.concurrency!.min).toBeLessThan(10);

    const fixed = await (
      await rollouts.start({
        rolloutId: `adapt-off-${h.id}`,
        name: 'ping',
        targets: [...quick.deviceIds].slice(0, 5),
        canary: { count: 1 },
        waves: [{ percent: 100 }],
        adaptive: false,
      })
    ).result();
    expect(fixed.state).toBe('done');
    expect(fixed.concurrency).toBeUndefined();
  }, 120_000);

  test('a failing canary aborts the rollout: with the ramp-up only minFinished devices get the command', async () => {
    const sim = await fleet(40, { failureRate: 1 });
    const r = await rollouts.start({
      rolloutId: `bad-${h.id}`,
      name: 'update-firmware',
      targets: [...sim.deviceIds],
      canary: { count: 4 },
      waves: [{ percent: 100 }],
      abort: { failureShare: 0.1, minFinished: 2 },
    });
    const final = await r.result();
    expect(final.state).toBe('aborted');
    expect(final.abortReason).toMatch(/^wave canary: /);
    // The canary ramps up from minFinished (2): both fail, so its other 2 devices are never sent anything.
    expect(final.overall.pending).toBe(38);
    expect(final.waves[0].counts).toMatchObject({ pending: 2, inFlight: 0, failed: 2 });
    expect(final.waves[1].counts).toMatchObject({ pending: 36, inFlight: 0, succeeded: 0, failed: 0 });
    expect(sim.stats().commandsReceived).toBe(2);
  });

  test('an approval gate after the canary holds the rollout until approved; a wrong approval is refused', async () => {
    const sim = await fleet(10);
    const r = await rollouts.start({
      rolloutId: `gate-${h.id}`,
      name: 'ping',
      targets: [...sim.deviceIds],
      canary: { count: 2 },
      waves: [{ percent: 100 }],
      approvalAfter: [0],
    });
    const waiting = await eventually(
      () => r.status(),
      (s) => s.state === 'await-approval',
    );
    expect(waiting.overall.succeeded).toBe(2);
    expect(waiting.overall.pending).toBe(8);
    await expect(r.approve(1)).rejects.toThrow(/has no approval gate/);
    await r.approve();
    const final = await r.result();
    expect(final.state).toBe('done');
    expect(final.overall.succeeded).toBe(10);
  });

  test('pause stops new starts (in-flight ones finish); resume continues; the rate limit holds', async () => {
    const sim = await fleet(20);
    const r = await rollouts.start({
      rolloutId: `pause-${h.id}`,
      name: 'ping',
      targets: [...sim.deviceIds],
      canary: { count: 1 },
      waves: [{ percent: 100 }],
      ratePerMinute: 300,
    });
    await eventually(
      () => r.status(),
      (s) => finished(s) >= 3,
    );
    await r.pause('maintenance window');
    const paused = await eventually(
      () => r.status(),
      (s) => s.state === 'paused' && s.overall.inFlight === 0,
    );
    expect(paused.pauseReason).toBe('maintenance window');
    await new Promise((res) => setTimeout(res, 1_500));
    const still = await r.status();
    expect(finished(still)).toBe(finished(paused)); // nothing new started while paused
    await r.resume();
    const final = await r.result();
    expect(final.state).toBe('done');
    expect(final.overall.succeeded).toBe(20);
  });

  test('cancel stops the rollout; commands already sent finish and are counted', async () => {
    const sim = await fleet(30);
    const r = await rollouts.start({
      rolloutId: `cancel-${h.id}`,
      name: 'ping',
      targets: [...sim.deviceIds],
      canary: { count: 1 },
      waves: [{ percent: 100 }],
      ratePerMinute: 300,
    });
    await eventually(
      () => r.status(),
      (s) => finished(s) >= 2,
    );
    await r.cancel('wrong firmware');
    const final = await r.result();
    expect(final.state).toBe('cancelled');
    expect(final.cancelReason).toBe('wrong firmware');
    expect(final.overall.inFlight).toBe(0);
    expect(final.overall.pending).toBeGreaterThan(0);
    expect(sim.stats().executions).toBe(finished(final));
  });

  test('a worker restart in the middle of a rollout: it completes, and no device gets the command twice', async () => {
    const sim = await fleet(60, { latencyMs: 200 });
    const r = await rollouts.start({
      rolloutId: `restart-${h.id}`,
      name: 'ping',
      targets: [...sim.deviceIds],
      canary: { count: 5 },
      waves: [{ percent: 100 }],
      concurrency: 10,
    });
    await eventually(
      () => r.status(),
      (s) => finished(s) >= 10,
    );
    await h.stopWorker();
    await new Promise((res) => setTimeout(res, 500));
    await h.startWorker();
    const final = await r.result();
    expect(final.state).toBe('done');
    expect(final.overall.succeeded).toBe(60);
    expect(sim.stats()).toMatchObject({ executions: 60, maxExecutionsPerCommand: 1 });
  });

  test('running the same rollout again sends nothing new: earlier outcomes are counted', async () => {
    const sim = await fleet(8);
    const spec = { rolloutId: `again-${h.id}`, name: 'ping', targets: [...sim.deviceIds], canary: { count: 2 }, waves: [{ percent: 100 }] };
    expect((await (await rollouts.start(spec)).result()).overall.succeeded).toBe(8);
    const second = await (await rollouts.start(spec)).result();
    expect(second.state).toBe('done');
    expect(second.overall.succeeded).toBe(8);
    expect(sim.stats()).toMatchObject({ commandsReceived: 8, executions: 8 });
  });

  test('a device whose command was terminated counts as failed; the rollout does not retry it forever', async () => {
    const sim = await fleet(3);
    const rolloutId = `term-${h.id}`;
    const [victim] = sim.deviceIds;
    // Someone terminated this device's command of an earlier run of the rollout.
    const earlier = await h.client.send({ commandId: rolloutCommandId(rolloutId, victim), deviceId: victim, name: 'ping', ttlMs: 600_000 });
    await h.client.temporal.workflow.getHandle(earlier.workflowId).terminate('operator stopped it');
    const spec = { rolloutId, name: 'ping', targets: [...sim.deviceIds], waves: [{ percent: 100 }], abort: { failureShare: 1, minFinished: 1 } };
    const final = await (await rollouts.start(spec)).result();
    expect(final.state).toBe('done');
    expect(final.overall).toMatchObject({ succeeded: 2, failed: 1 });
  });

  test('the CLI: start --wait --json streams progress, gates wait for `dco rollout approve`', async () => {
    const sim = await fleet(12);
    const file = path.join(h.dir, 'targets.txt');
    writeFileSync(file, `# fleet\n${sim.deviceIds.join('\n')}\n`);
    const env = { TEMPORAL_ADDRESS: h.env.temporalAddress, MQTT_URL: h.env.mqttUrl, DCO_TASK_QUEUE: h.taskQueue, DCO_TOPIC_PREFIX: h.topicPrefix };
    const id = `cli-${h.id}`;
    const started = runCli(
      ['rollout', 'start', 'ping', '--targets', file, '--id', id, '--canary', '25%', '--waves', '100%', '--approve-after-canary', '--wait', '--json'],
      env,
    );
    await eventually(
      async () => (await runCli(['rollout', 'status', id, '--json'], env)).stdout,
      (out) => out.includes('"await-approval"'),
      30_000,
    );
    const approved = await runCli(['rollout', 'approve', id], env);
    expect(approved.code).toBe(0);
    const again = await runCli(['rollout', 'approve', id, '--wave', '0'], env);
    expect([again.code, again.stderr]).toEqual([2, expect.stringContaining('approval refused')]);
    expect(again.stderr).toContain('approval refused');
    const r = await started;
    expect(r.code).toBe(0);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.length).toBeGreaterThan(1); // progress, then the end
    expect(lines.at(-1)).toMatchObject({ rolloutId: id, state: 'done', overall: { succeeded: 12 } });
    expect(lines.at(-1).waves.map((w: { name: string; end: number; start: number }) => [w.name, w.end - w.start])).toEqual([
      ['canary', 3],
      ['wave-1', 9],
    ]);
  });

  test('bad rollout definitions are refused with the reason', async () => {
    await expect(rollouts.start({ rolloutId: 'has.dot', name: 'ping', targets: ['a'] })).rejects.toThrow(/rolloutId must be/);
    await expect(rollouts.start({ rolloutId: 'dups', name: 'ping', targets: ['a', 'b', 'a'] })).rejects.toThrow(/appears more than once: a/);
    expect(isFinal({ state: 'done' } as RolloutStatusView)).toBe(true);
  });
});
