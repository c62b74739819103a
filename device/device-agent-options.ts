import type { AckMessage, CommandMessage, DeviceAttributes } from '../protocol/messages';

/*
 * What a device maker gives the reference agent (device-agent.ts): its handlers, its settings,
 * and for simulations and tests the faults to inject. Apart from the agent so that a maker
 * reads the contract without the MQTT plumbing.
 */

/** Thrown by a handler to report a failed execution with a code the service can act on. */
export class CommandFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'CommandFailure';
  }
}

export interface CommandContext {
  deviceId: string;
  commandId: string;
  attempt: number;
  expiresAt: string;
  /**
   * Aborted when the service cancels this command while it runs. A handler that can stop
   * without leaving an effect does so and throws (anything): the device then reports the
   * command `cancelled`. One that cannot simply finishes: its real result is the answer.
   */
  signal: AbortSignal;
}

/** Runs one command; returns its output, or throws (CommandFailure for a coded error). */
export type CommandHandler = (params: Record<string, unknown>, ctx: CommandContext) => Promise<Record<string, unknown> | void>;

/** Fault injection for simulations and tests; a real device leaves these unset. */
export interface DeviceFaults {
  /** Return true to act as if the command never arrived (a lost message). */
  ignore?: (command: CommandMessage) => boolean;
  /** Return a reason to reject the command (ack rejected). */
  reject?: (command: CommandMessage) => string | undefined;
  /** Return true to execute without sending the ack (the ack is "lost"). */
  dropAck?: (command: CommandMessage) => boolean;
  /** Return true to journal the result without publishing it (lost at a crash). */
  dropResult?: (command: CommandMessage) => boolean;
  /** Awaited before each ack is published (a slow link): lets a test order events exactly. */
  delayAck?: (ack: AckMessage) => Promise<void>;
}

export interface DeviceAgentOptions {
  deviceId: string;
  mqttUrl: string;
  username?: string;
  password?: string;
  /** CA certificate (PEM file) that signed the broker's certificate, for mqtts:// URLs. */
  caFile?: string;
  topicPrefix?: string;
  /** Directory of the dedupe journal; it must survive restarts of the device. */
  journalDir: string;
  handlers: Record<string, CommandHandler>;
  faults?: DeviceFaults;
  /**
   * Rule 5's shortcut: a command whose handler returns within this many ms is answered with its
   * result alone, no ack (a result counts as both; SUGGESTED_QUICK_RESULT_MS is 100). The ack of
   * a longer command goes out when this time has passed. 0 (default): ack first, always.
   */
  quickResultMs?: number;
  /** How long the broker keeps the device's session and queued commands while it is offline. */
  sessionExpirySeconds?: number;
  /** Re-publish the online status this often (its `ts` tells operators when it was last seen). */
  heartbeatMs?: number;
  /**
   * How long start() waits for the first connection before it fails (naming the broker's last
   * refusal). Until then, and after any later loss, it retries with backoff.
   */
  startTimeoutMs?: number;
  /**
   * What the device reports about itself (model, firmware, site, …), the full set, in every
   * `online` status; never in `offline` or the Last Will. Unset: the status has none, and the
   * service keeps what it was last told. Checked with the protocol's schema (RangeError).
   */
  attributes?: DeviceAttributes;
  onLog?: (message: string, details?: Record<string, unknown>) => void;
}
