import type { DeviceQueueEntry, DeviceQueueRequest, DeviceQueueState, DeviceQueueView } from '../protocol/device-queue-contract';
import { COMMAND_ID_PATTERN, COMMAND_NAME_PATTERN } from '../protocol/id-patterns';
import { PRIORITY_LIMITS } from '../protocol/command-ordering';

/**
 * A device's serial queue as pure functions (no Temporal API): the device entity applies the
 * serial commands' requests with them and acts on what they return. Every request may arrive
 * twice (a retried signal, a command replayed after a crash), so every step is idempotent.
 */

/** Commands whose turn ended, kept so that a late duplicate enqueue does not queue them again. */
export const RELEASED_KEPT = 100;

export type DeviceQueue = DeviceQueueState;

export function emptyQueue(): DeviceQueue {
  return { waiting: [], served: 0, reclaimed: 0, released: [] };
}

/** What operators see: the queue without its bookkeeping. */
export function queueView(q: DeviceQueue): DeviceQueueView {
  return { ...(q.inFlight ? { inFlight: q.inFlight } : {}), waiting: q.waiting, served: q.served, reclaimed: q.reclaimed };
}

/** Highest priority first; among equals, the one that asked first; then by ID, so the order is total. */
function before(a: DeviceQueueEntry, b: DeviceQueueEntry): number {
  return b.priority - a.priority || Date.parse(a.enqueuedAt) - Date.parse(b.enqueuedAt) || (a.commandId < b.commandId ? -1 : a.commandId > b.commandId ? 1 : 0);
}

function remember(released: string[], commandId: string): string[] {
  const next = released.filter((id) => id !== commandId);
  next.push(commandId);
  return next.length > RELEASED_KEPT ? next.slice(next.length - RELEASED_KEPT) : next;
}

export function isQueued(q: DeviceQueue, commandId: string): boolean {
  return q.inFlight?.commandId === commandId || q.waiting.some((e) => e.commandId === commandId);
}

/** Applies one request. Unchanged (the same object) when it was a duplicate or too late. */
export function applyQueueRequest(q: DeviceQueue, request: DeviceQueueRequest): DeviceQueue {
  if (request.kind === 'enqueue') {
    const { entry } = request;
    if (isQueued(q, entry.commandId) || q.released.includes(entry.commandId)) return q;
    return { ...q, waiting: [...q.waiting, withoutGrant(entry)].sort(before) };
  }
  if (!isQueued(q, request.commandId)) {
    // A release of a command still unknown (it stopped waiting before its enqueue arrived):
    // remembered, so that the enqueue, when it comes, queues nothing.
    return q.released.includes(request.commandId) ? q : { ...q, released: remember(q.released, request.commandId) };
  }
  return {
    ...q,
    inFlight: q.inFlight?.commandId === request.commandId ? undefined : q.inFlight,
    waiting: q.waiting.filter((e) => e.commandId !== request.commandId),
    released: remember(q.released, request.commandId),
  };
}

function withoutGrant(e: DeviceQueueEntry): DeviceQueueEntry {
  const { grantedAt: _granted, ...rest } = e;
  return rest;
}

/**
 * The turn to give now, if the device has none in flight: the first waiting command. The
 * entity tells that command; the queue records it as in flight at `nowIso`.
 */
export function grantNext(q: DeviceQueue, nowIso: string): { queue: DeviceQueue; granted?: DeviceQueueEntry } {
  if (q.inFlight || q.waiting.length === 0) return { queue: q };
  const [first, ...rest] = q.waiting;
  const granted = { ...first, grantedAt: nowIso };
  return { queue: { ...q, inFlight: granted, waiting: rest, served: q.served + 1 }, granted };
}

/**
 * Takes back what is held past its hold time: the turn of a command that cannot still be
 * running, and waiting entries of commands that have ended by now. Returns the IDs taken back.
 */
export function reclaimExpired(q: DeviceQueue, nowMs: number): { queue: DeviceQueue; reclaimed: string[] } {
  const reclaimed: string[] = [];
  let inFlight = q.inFlight;
  if (inFlight && inFlight.holdUntilMs <= nowMs) {
    reclaimed.push(inFlight.commandId);
    inFlight = undefined;
  }
  const waiting = q.waiting.filter((e) => {
    if (e.holdUntilMs > nowMs) return true;
    reclaimed.push(e.commandId);
    return false;
  });
  if (reclaimed.length === 0) return { queue: q, reclaimed };
  let released = q.released;
  for (const id of reclaimed) released = remember(released, id);
  return { queue: { ...q, inFlight, waiting, released, reclaimed: q.reclaimed + reclaimed.length }, reclaimed };
}

/** A turn given to a command that could not be told (it had ended): free it, counted as reclaimed. */
export function reclaimTurn(q: DeviceQueue, commandId: string): DeviceQueue {
  if (q.inFlight?.commandId !== commandId) return q;
  return { ...q, inFlight: undefined, released: remember(q.released, commandId), reclaimed: q.reclaimed + 1 };
}

/** The next time (epoch ms) something held must be taken back, if anything is held. */
export function nextHoldEnd(q: DeviceQueue): number | undefined {
  const ends = [q.inFlight, ...q.waiting].filter((e): e is DeviceQueueEntry => e !== undefined).map((e) => e.holdUntilMs);
  return ends.length ? Math.min(...ends) : undefined;
}

/**
 * A queue request as another caller may send it: only the command workflow should, but the
 * signal is open to anyone with access to the namespace. Errors are values.
 */
export function checkQueueRequest(raw: unknown): { ok: true; request: DeviceQueueRequest } | { ok: false; reason: string } {
  if (typeof raw !== 'object' || raw === null) return { ok: false, reason: 'not an object' };
  const r = raw as Record<string, unknown>;
  if (r.kind === 'release') {
    return typeof r.commandId === 'string' && COMMAND_ID_PATTERN.test(r.commandId)
      ? { ok: true, request: { kind: 'release', commandId: r.commandId } }
      : { ok: false, reason: 'release needs a valid commandId' };
  }
  if (r.kind !== 'enqueue' || typeof r.entry !== 'object' || r.entry === null) return { ok: false, reason: 'kind must be enqueue (with an entry) or release' };
  const e = r.entry as Record<string, unknown>;
  const fine =
    typeof e.commandId === 'string' &&
    COMMAND_ID_PATTERN.test(e.commandId) &&
    typeof e.name === 'string' &&
    COMMAND_NAME_PATTERN.test(e.name) &&
    Number.isInteger(e.priority) &&
    (e.priority as number) >= PRIORITY_LIMITS.min &&
    (e.priority as number) <= PRIORITY_LIMITS.max &&
    typeof e.enqueuedAt === 'string' &&
    !Number.isNaN(Date.parse(e.enqueuedAt)) &&
    typeof e.holdUntilMs === 'number' &&
    Number.isFinite(e.holdUntilMs);
  if (!fine) return { ok: false, reason: 'entry needs commandId, name, priority 0-9, enqueuedAt and holdUntilMs' };
  const entry: DeviceQueueEntry = {
    commandId: e.commandId as string,
    name: e.name as string,
    priority: e.priority as number,
    enqueuedAt: e.enqueuedAt as string,
    holdUntilMs: e.holdUntilMs as number,
  };
  return { ok: true, request: { kind: 'enqueue', entry } };
}
