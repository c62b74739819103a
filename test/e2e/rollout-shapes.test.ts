import path from 'node:path';
import { writeFileSync } from 'node:fs';
import { FleetSimulator, type FleetSimulatorOptions } from '../../device/fleet-simulator';
import { RolloutClient } from '../../client/rollout-client';
import type { RolloutReportRow } from '../../client/rollout-report';
import type { RolloutStatusView } from '../../protocol/rollout-contract';
import { eventually } from '../support/eventually';
import { Harness } from '../support/harness';
import { runCli } from '../support/run-cli';

/** Rate shapes and abort rules beyond one failure share: an exponential rate, thresholds per outcome. */
describe('rollout rate ramps and abort thresholds per outcome', () => {
  const h = new Harness();
  let rollouts: RolloutClient;
  const sims: FleetSimulator[] = [];
  beforeAll(async () => {
    await h.start();
    rollouts = new RolloutClient(h.client.temporal, h.taskQueue);
  });
  afterAll(async () => {
    await Promise.all(sims.map((s) => s.stop()));
    await h.stop();
  });

  let n = 0;
  const fleet = async (devices: number, o: Partial<FleetSimulatorOptions> = {}) => {
    const name = `s${++n}`;
    const sim = new FleetSimulator({ mqttUrl: h.env.mqttUrl, topicPrefix: h.topicPrefix, devices, idPrefix: `${h.id}-${name}-`, connections: 1, latencyMs: 5, journalDir: path.join(h.dir, name), clientIdPrefix: `${h.id}-${name}`, seed: 3, ...o });
    await sim.start();
    sims.push(sim);
    return sim;
  };

  test('an exponential rate starts slow and speeds up as devices succeed, up to its ceiling', async () => {
    const sim = await fleet(24);
    const rolloutId = `ramp-${h.id}`;
    const final = await (
      await rollouts.start({
        rolloutId,
        name: 'ping',
        targets: [...sim.deviceIds],
        canary: { count: 24 },
        waves: [{ percent: 100 }],
        rampUp: false,
        ratePerMinute: 60,
        rateRamp: { factor: 4, everySucceeded: 4, maxPerMinute: 960 },
      })
    ).result();
    expect(final.state).toBe('done');
    expect(final.overall.succeeded).toBe(24);
    expect(final.ratePerMinute).toBe(960); // 60 × 4^6, capped
    const rows: RolloutReportRow[] = await eventually(
      async () => {
        const all: RolloutReportRow[] = [];
        for await (const r of rollouts.get(rolloutId).report()) all.push(r);
        return all;
      },
      (all) => all.length === 24 && all.every((r) => r.startedAt),
    );
    const starts = rows.map((r) => Date.parse(r.startedAt!)).sort((a, b) => a - b);
    // At 1/s (a bucket of one), the first four starts take at least 3 s whatever the machine's
    // speed; the ramp then lets the other 20 start far faster than 1/s would (20 s).
    expect(starts[3] - starts[0]).toBeGreaterThanOrEqual(2_900);
    expect(sim.stats()).toMatchObject({ executions: 24, maxExecutionsPerCommand: 1 });
  });

  test('`--abort-on rejected=0` stops a rollout at the first refusal, though the failure share would allow it', async () => {
    const sim = await fleet(40, { rejectRate: 0.1 });
    const rejecting = sim.deviceIds.filter((d) => sim.profile(d)?.rejecting);
    expect(rejecting).toHaveLength(4);
    const file = path.join(h.dir, 'shapes-targets.txt');
    writeFileSync(file, sim.deviceIds.join('\n'));
    const env = { TEMPORAL_ADDRESS: h.env.temporalAddress, MQTT_URL: h.env.mqttUrl, DCO_TASK_QUEUE: h.taskQueue, DCO_TOPIC_PREFIX: h.topicPrefix };
    const id = `abort-on-${h.id}`;
    // --concurrency 1: one device at a time, so the first refusal is the last command it starts.
    const run = await runCli(['rollout', 'start', 'ping', '--targets', file, '--id', id, '--canary', '100%', '--waves', '100%', '--concurrency', '1', '--no-ramp-up', '--no-adaptive', '--abort-at', '100%', '--min-finished', '1', '--abort-on', 'rejected=0', '--wait', '--json'], env, undefined, 110_000);
    expect(run.code).toBe(1);
    const final = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as RolloutStatusView;
    expect(final.state).toBe('aborted');
    expect(final.overall.rejected).toBe(1);
    expect(final.abortReason).toMatch(/^wave canary: 1 of \d+ finished commands were rejected \(\d+(\.\d+)?% > 0%, the limit for rejected\)$/);
    // Exactly the devices up to the first rejecting one were reached.
    const firstRejecting = sim.deviceIds.findIndex((d) => rejecting.includes(d));
    expect(final.overall.succeeded).toBe(firstRejecting);
    expect(final.overall.pending).toBe(40 - firstRejecting - 1);
  }, 120_000);
});
