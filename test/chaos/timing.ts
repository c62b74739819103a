/**
 * Command timing for a chaos run, derived from the kill scheduler's two rules: no stretch of
 * time with any process down is longer than `maxOutageMs` (B), and after a stretch of S the
 * whole system runs undisturbed for at least `calmRatio` × S before the next kill. One "cycle"
 * (a worst-case stretch and its calm) therefore lasts at most B × (1 + calmRatio), and every
 * message held up or lost in a stretch gets through in the calm that follows (directly, or on
 * the workflow's next re-publish). Every command gets a time to live, ack and result timeouts
 * that span several such cycles, so its outcome is decided by what the device did, not by how
 * long the chaos lasted.
 */

import { resultProbeMs, resultProbeWaitMs } from '../../workflows/command-plan';

export interface ChaosTimingInput {
  /** B: upper bound on a continuous stretch with at least one of the five processes down. */
  maxOutageMs: number;
  /** Calm after a stretch, as a share of the stretch. */
  calmRatio: number;
  /** Per attempt: how long the workflow waits for an ack before publishing again. */
  ackTimeoutMs: number;
  /** The longest execution a simulated device can take. */
  maxExecutionMs: number;
}

export interface ChaosTiming extends ChaosTimingInput {
  /** A worst-case stretch plus the calm after it. */
  cycleMs: number;
  /** Silence after the ack before the workflow re-publishes (probes for a lost result). */
  resultProbeMs: number;
  resultTimeoutMs: number;
  ttlMs: number;
  maxAttempts: number;
  backoff: { initialMs: number; maxMs: number; multiplier: number; jitter: number };
  /** After a command's last possible moment, time for Temporal to close it. */
  settleMs: number;
}

/** The silence after the ack before the first result probe (workflows/command-plan.ts). */
export function workflowResultProbeMs(ackTimeoutMs: number): number {
  return resultProbeMs(ackTimeoutMs);
}

/** When, after the ack, the first result probe at or after `atMs` goes out: probes back off (resultProbeWaitMs). */
export function firstProbeAtOrAfter(ackTimeoutMs: number, atMs: number): number {
  let t = 0;
  for (let k = 0; t < atMs; k++) t += resultProbeWaitMs(ackTimeoutMs, k, () => true);
  return t;
}

/** The workflow's schema allows at most 100 attempts. */
const MAX_ATTEMPTS = 100;

export function chaosTiming(i: ChaosTimingInput): ChaosTiming {
  const cycleMs = Math.ceil(i.maxOutageMs * (1 + i.calmRatio));
  const resultProbeMs = workflowResultProbeMs(i.ackTimeoutMs);
  // After the ack: the device may be down, or its result lost by a killed broker and asked for
  // again by a probe. Probes back off, so: the first probe after two whole cycles and the
  // execution, then one more probe interval for its answer.
  const resultTimeoutMs = roundUpToSecond(firstProbeAtOrAfter(i.ackTimeoutMs, 2 * cycleMs + i.maxExecutionMs) + resultProbeMs + 10_000);
  // Before the ack: a cycle and two ack windows; then the whole result phase must still fit
  // before expiry, because the workflow never publishes (so never probes) after it.
  const ttlMs = roundUpToSecond(cycleMs + 2 * i.ackTimeoutMs + resultTimeoutMs + 30_000);
  // Attempts never run out before the time to live: a command the broker still holds for a
  // device (message expiry = time to live) must not be declared TimedOut and then executed.
  const maxAttempts = Math.min(MAX_ATTEMPTS, Math.ceil(ttlMs / i.ackTimeoutMs) + 1);
  return {
    ...i,
    cycleMs,
    resultProbeMs,
    resultTimeoutMs,
    ttlMs,
    maxAttempts,
    backoff: { initialMs: 1_000, maxMs: i.ackTimeoutMs, multiplier: 2, jitter: 0.2 },
    settleMs: 30_000,
  };
}

/** The last moment a command may still be open: expiry, then a full result timeout, then settling. */
export function commandDeadlineMs(expiresAtMs: number, t: Pick<ChaosTiming, 'resultTimeoutMs' | 'settleMs'>): number {
  return expiresAtMs + t.resultTimeoutMs + t.settleMs;
}

function roundUpToSecond(ms: number): number {
  return Math.ceil(ms / 1000) * 1000;
}

/** Why the deadlines are longer than the outages, in words, for the report. */
export function explainTiming(t: ChaosTiming, observedLongestOutageMs: number): string[] {
  const s = (ms: number) => `${Math.round(ms / 100) / 10} s`;
  const held = observedLongestOutageMs <= t.maxOutageMs;
  return [
    `1. No stretch with any process down lasts more than ${s(t.maxOutageMs)}: the scheduler kills only while the current`,
    `   stretch plus the longest downtime and a restart allowance still fit. Longest observed: ${s(observedLongestOutageMs)}` +
      (held ? ' (bound held).' : ' — BOUND EXCEEDED: the checks are not guaranteed to be decidable.'),
    `2. After a stretch of S, everything runs undisturbed for at least ${Math.round(t.calmRatio * 100)}% of S before the next kill,`,
    `   so what piled up (or was lost and is asked for again) gets through: a worst-case cycle is ${s(t.cycleMs)}.`,
    `3. Every command: result timeout ${s(t.resultTimeoutMs)} = 2 cycles + 2 result probes (${s(t.resultProbeMs)} each) + longest`,
    `   execution + 10 s; time to live ${s(t.ttlMs)} = 1 cycle + 2 ack timeouts + result timeout + 30 s, so the result phase`,
    `   ends before expiry (nothing is published after it); ack timeout ${s(t.ackTimeoutMs)} × ${t.maxAttempts} attempts, so`,
    `   attempts outlast the time to live and a command still queued in the broker is never declared TimedOut.`,
    `   A command counts as past its deadline at expiresAt + result timeout + ${s(t.settleMs)}.`,
  ];
}
