import { Command, type OptionValues } from 'commander';
import { SUGGESTED_QUICK_RESULT_MS } from '../device/command-decisions';

/** The bench's options as commander parses them; saved with the results (`options`). */
export type BenchOptions = OptionValues;

const program = new Command('bench')
  .option('--commands <n>', 'commands per throughput variant', (v) => Number(v), 1000)
  .option('--concurrency <n>', 'commands in flight per variant', (v) => Number(v), 50)
  .option('--fleet <n>', 'devices in the rollout benchmarks', (v) => Number(v), 10_000)
  .option('--instances <n>', 'rollouts: workers and bridges (the bridges in one shared-subscription group), each a process of its own', (v) => Number(v), 1)
  // In flight = throughput × latency: at the dev server's ~45 commands/s, 200 in flight is ~4.5 s
  // per command; 500 queued acks past the 10 s ack timeout and caused re-publishes.
  .option('--rollout-concurrency <n>', 'rollout: device commands in flight', (v) => Number(v), 200)
  // Documented worker knobs (docs/operations.md, "Throughput and memory"): a V8 heap cap keeps
  // the worker's RSS down (V8 otherwise grows its heap towards a limit set by the machine's
  // memory), and an explicit cache size keeps the SDK from deriving a small one from that cap.
  .option('--worker-heap-mb <n>', 'rollout worker: --max-old-space-size (0: Node default)', (v) => Number(v), 400)
  .option('--worker-profile <dir>', 'rollout workers: write a V8 CPU profile (.cpuprofile) into this directory when each stops')
  .option('--workflow-stack-traces', "every worker (in-process and spawned) records the SDK's per-promise stack traces, as before they were off by default")
  .option('--worker-cached-workflows <n>', 'rollout worker: --max-cached-workflows (0: SDK default)', (v) => Number(v), 1000)
  .option(
    '--first-start',
    "rollouts: the fleet's device entities do not exist yet, so the bridge creates them (at its live rate) during the rollout, as at a first start over a connected fleet (default: they exist, as after a bridge restart)",
  )
  .option(
    '--statuses-live',
    "rollouts: the fleet connects after the bridge, so every device's first status is live and creates its entity at the live rate (default: before it, so the bridge reads retained statuses; see --first-start)",
  )
  .option(
    '--backend <kind>',
    "Temporal to run against: dev (the CLI's dev server, SQLite), postgres (temporal-server on PostgreSQL, as docker-compose.yml), or both, side by side",
    'dev',
  )
  .option(
    '--dynamic-config <key=json...>',
    'dev backend: more --dynamic-config-value settings for the dev server (experiments, e.g. history.hostLevelCacheMaxSize=256000)',
  )
  .option('--shards <n>', "postgres backend: history shards (default docker-compose.yml's 512)", (v) => Number(v))
  .option('--skip-rollouts', 'only the throughput comparison')
  .option('--skip-abort', 'rollouts: not the one that aborts at its canary (3)')
  .option('--skip-query', 'rollouts: not the campaign targeted by query (4)')
  .option('--query-status-rate <n>', "campaign by query: the bridge's --device-status-rate while the fleet's entities are created", (v) => Number(v), 500)
  .option('--skip-throughput', 'only the rollouts')
  .option('--skip-isolation', 'no noisy-neighbour and reconnect-storm scenarios')
  .option('--lanes <n>', 'rollouts: lane workflows that start the commands (RolloutSpec.lanes; default 1: the rollout itself)', (v) => Number(v), 1)
  .option('--fixed-concurrency', 'rollouts keep --rollout-concurrency in flight (adaptive off): the baseline for the adaptive runs')
  // Protocol rule 5's shortcut: the simulated devices (50 ms per command) answer with the result
  // alone when it is ready within this window; 0: they always ack first (two messages each).
  .option(
    '--quick-result-ms <n>',
    'rollouts: devices answer with the result alone when done within this (0: always ack first)',
    (v) => Number(v),
    SUGGESTED_QUICK_RESULT_MS,
  )
  .option('--slowed', 'also run the all-succeed rollout with every process pinned to one core (taskset): a machine about half as fast');

/** Parses the command line and checks it: a wrong option ends the process with commander's message, as --help does. */
export function parseBenchOptions(): BenchOptions {
  program.parse();
  const opts = program.opts();
  if (!['dev', 'postgres', 'both'].includes(opts.backend)) program.error(`--backend must be dev, postgres or both, not ${opts.backend}`);
  if (!Number.isInteger(opts.instances) || opts.instances < 1 || opts.instances > 8)
    program.error(`--instances must be a whole number from 1 to 8, not ${opts.instances}`);
  return opts;
}
