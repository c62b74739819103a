/**
 * Isolation scenarios of `npm run bench`, on the in-process full path of the throughput bench:
 *   - noisy neighbour: N commands to well-behaved devices, once quiet and once while one
 *     device publishes 50,000 messages (acks and results for its own and made-up commands,
 *     statuses with a new boot ID); the well-behaved throughput as a ratio of the quiet run;
 *   - reconnect storm: N commands while 10,000 devices announce a new boot within 10 s (their
 *     statuses, as the bridge sees a fleet coming back after a broker restart); every command
 *     must still succeed without a re-publish.
 * Ack latency here is the command's own record: from its first publish to the ack's arrival in
 * the workflow, so it includes the broker, the bridge's queue and lanes, and the signal.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import type { CommandSnapshot } from '../protocol/command-contract';
import type { DcoClient } from '../client/dco-client';
import type { MqttBridge } from '../bridge/mqtt-bridge';
import { deviceTopic } from '../protocol/topics';
import { percentile, runConcurrently, summarize } from './percentiles';

interface Setup {
  mqttUrl: string;
  topicPrefix: string;
  client: DcoClient;
  bridge: MqttBridge;
  deviceIds: readonly string[];
  commands: number;
  concurrency: number;
  say: (line: string) => void;
}

/** Milliseconds from the first publish to the ack, from the command's own history. */
function ackLatencyMs(s: CommandSnapshot): number | undefined {
  const published = s.history.find((e) => e.event === 'published');
  const acked = s.history.find((e) => e.state === 'Acknowledged');
  return published && acked ? Date.parse(acked.at) - Date.parse(published.at) : undefined;
}

/** Publishes from a child process (bench/publish-child.ts); resolves with what it reports. */
function publishFromChild(
  mqttUrl: string,
  clientId: string,
  messages: Array<{ t: string; p: string }>,
  overMs = 0,
): Promise<{ published: number; ms: number }> {
  return new Promise((resolve, reject) => {
    const tsx = path.join(__dirname, '..', 'node_modules', '.bin', 'tsx');
    const child = spawn(tsx, [path.join(__dirname, 'publish-child.ts'), mqttUrl, clientId, '200', String(overMs)], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`publish-child exited ${code}`))));
    child.stdin.end(messages.map((m) => JSON.stringify(m)).join('\n') + '\n');
  });
}

async function runCommands(o: Setup, label: string) {
  const outcomes: CommandSnapshot[] = [];
  const run = await runConcurrently(o.commands, o.concurrency, async (i) => {
    outcomes.push(await (await o.client.send({ deviceId: o.deviceIds[i % o.deviceIds.length], name: 'ping' })).result());
  });
  const acks = outcomes.map(ackLatencyMs).filter((x): x is number => x !== undefined);
  const states: Record<string, number> = {};
  for (const s of outcomes) states[s.state] = (states[s.state] ?? 0) + 1;
  return {
    ...summarize(label, run),
    states,
    publishesPerCommand: Math.round((outcomes.reduce((a, s) => a + s.attempts, 0) / outcomes.length) * 1000) / 1000,
    ackP50Ms: percentile(acks, 50),
    ackP99Ms: percentile(acks, 99),
  };
}

export async function noisyNeighbour(o: Setup) {
  o.say(`   noisy neighbour: ${o.commands} commands, quiet, then while one device publishes 50,000 messages`);
  const quiet = await runCommands(o, 'quiet');
  o.say(`   ${JSON.stringify(quiet)}`);
  const topic = (kind: 'ack' | 'result' | 'status') => deviceTopic(o.topicPrefix, 'noisy-bench-1', kind);
  const before = o.bridge.counters.toJSON();
  const messages = Array.from({ length: 50_000 }, (_, k) => {
    const kind = k % 3 === 0 ? 'ack' : k % 3 === 1 ? 'result' : 'status';
    const payload =
      kind === 'status'
        ? { v: 1, state: 'online', bootId: `boot-${k}`, ts: new Date().toISOString() }
        : { v: 1, commandId: kind === 'ack' ? 'noisy-own' : `noisy-ghost-${k}`, status: kind === 'ack' ? 'accepted' : 'succeeded' };
    return { t: topic(kind), p: JSON.stringify(payload) };
  });
  const flood = publishFromChild(o.mqttUrl, 'bench-noisy', messages);
  const noisy = await runCommands(o, 'while flooded');
  const flooded = await flood;
  const after = o.bridge.counters.toJSON();
  const delta = Object.fromEntries(
    Object.entries(after)
      .map(([k, v]) => [k, v - (before[k] ?? 0)])
      .filter(([, v]) => (v as number) > 0),
  );
  o.say(`   ${JSON.stringify(noisy)}`);
  return {
    quiet,
    noisy,
    floodMessages: flooded.published,
    floodPublishedInMs: flooded.ms,
    bridgeCounters: delta,
    throughputRatio: Math.round((noisy.perSecond / quiet.perSecond) * 100) / 100,
    target: 'throughputRatio >= 0.8',
  };
}

export async function reconnectStorm(o: Setup, devices = 10_000, withinMs = 10_000) {
  o.say(`   reconnect storm: ${devices} devices announce a new boot within ${withinMs / 1000} s while ${o.commands} commands run`);
  const before = o.bridge.counters.toJSON();
  const bootId = `storm-boot-${Date.now()}`;
  const statuses = Array.from({ length: devices }, (_, i) => ({
    t: deviceTopic(o.topicPrefix, `storm-${i}`, 'status'),
    p: JSON.stringify({ v: 1, state: 'online', bootId, ts: new Date().toISOString() }),
  }));
  const storm = publishFromChild(o.mqttUrl, 'bench-storm', statuses, withinMs);
  const run = await runCommands(o, 'during the storm');
  const published = await storm;
  const entityBacklog = o.bridge.router.deviceStatuses.backlog;
  const after = o.bridge.counters.toJSON();
  const d = (k: string) => (after[k] ?? 0) - (before[k] ?? 0);
  o.say(`   ${JSON.stringify(run)}`);
  return {
    devices,
    statusesPublishedInMs: published.ms,
    commands: run,
    timedOut: run.states.TimedOut ?? 0,
    // The bridge searches nothing on a status change: the entities wake their own commands.
    // The storm's statuses reach the device entities at the forwarder's rate, behind the commands.
    deviceEntities: {
      reportsForwarded: d('device-status:forwarded'),
      reportsCoalesced: d('device-status:coalesced'),
      backlogWhenCommandsDone: entityBacklog,
    },
    target: 'no command TimedOut; ack p99 reported',
  };
}
