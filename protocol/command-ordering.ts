/**
 * How a command shares its device with the device's other commands.
 * - `parallel` (the default, and every command before ordering existed): published at once,
 *   whatever else the device is doing.
 * - `serial`: the device entity (`device-<deviceId>`) gives the device's serial commands one
 *   turn at a time: a command is published only when the serial command before it ended, so
 *   the device executes them one after the other. Among the waiting ones the highest
 *   `priority` goes first, then the earliest; the one in flight is never interrupted.
 * Parallel commands do not wait for serial ones, nor the other way round.
 */
export type CommandOrderingMode = 'parallel' | 'serial';

export interface CommandOrdering {
  mode: CommandOrderingMode;
  /** Serial only: 0 (default) to 9; a higher one overtakes the waiting commands of lower ones. */
  priority: number;
}

export const ORDERING_MODES: readonly CommandOrderingMode[] = ['parallel', 'serial'];
export const PRIORITY_LIMITS = { min: 0, max: 9, default: 0 } as const;
