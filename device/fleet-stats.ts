/** What a simulated fleet counts: FleetSimulator.stats() sums its connections' counters (or derives them from its per-device agents). */
export interface FleetStats {
  devices: number;
  /** Online devices whose connection is up. */
  online: number;
  offline: number;
  connections: number;
  /** Valid commands delivered to online devices, repeats included. */
  commandsReceived: number;
  /** Repeats answered from the journal (same ack, same result) without executing again. */
  duplicatesAnswered: number;
  executions: number;
  acksSent: number;
  acksDropped: number;
  resultsSent: number;
  /** Must stay at most 1: the protocol's first rule. */
  maxExecutionsPerCommand: number;
  /** Commands for devices that are offline here (or not ours), and payloads that are not valid commands. */
  ignored: number;
}

/** A connection's counters before its first command. */
export function emptyStats(): Omit<FleetStats, 'devices' | 'online' | 'offline' | 'connections'> {
  return { commandsReceived: 0, duplicatesAnswered: 0, executions: 0, acksSent: 0, acksDropped: 0, resultsSent: 0, maxExecutionsPerCommand: 0, ignored: 0 };
}
