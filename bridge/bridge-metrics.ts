import { Counter, type Registry } from 'prom-client';
import type { BridgeCounters } from './bridge-counters';
import { BRIDGE_DEAD_LETTER_REASONS } from './dead-letter-record';

/**
 * The bridge's counters as Prometheus metrics. Every outcome the bridge counts
 * (`ack:signalled`, `result:unknown-command`, `rejected:not-json`, `presence:signalled`, ...)
 * becomes `dco_bridge_messages_total{kind, outcome}`; rejections are also
 * `dco_bridge_dead_letters_total{reason}`, as are the bridge's own reasons (rate-limited,
 * unknown-command, spoofed, signal-refused, signal-failed).
 */
export function exportBridgeMetrics(counters: BridgeCounters, registry: Registry): void {
  const messages = new Counter({
    name: 'dco_bridge_messages_total',
    help: 'Messages and actions of the bridge by kind and outcome',
    labelNames: ['kind', 'outcome'],
    registers: [registry],
  });
  const deadLetters = new Counter({
    name: 'dco_bridge_dead_letters_total',
    help: 'Device messages rejected by the bridge, by reason',
    labelNames: ['reason'],
    registers: [registry],
  });
  counters.onAdd((name, n) => {
    const [kind, outcome = 'ok'] = name.split(':', 2);
    messages.inc({ kind, outcome }, n);
    // The same reasons as bridge/dead-letter-record.ts and `dco deadletters`.
    if (kind === 'rejected' || (BRIDGE_DEAD_LETTER_REASONS as readonly string[]).includes(outcome)) deadLetters.inc({ reason: outcome }, n);
  });
}
