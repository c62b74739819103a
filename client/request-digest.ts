import { createHash } from 'node:crypto';

/**
 * A fingerprint of what a command is (device, name, params), stored in the command's memo at
 * start, so that a second `send` with the same commandId can tell "the same command again"
 * (idempotent: returns it) from "another command under a used ID" (a conflict: refused).
 * Params are compared as JSON with sorted keys: `{a:1,b:2}` and `{b:2,a:1}` are the same.
 */
export function requestDigest(r: { deviceId: string; name: string; params: Record<string, unknown> }): string {
  return createHash('sha256')
    .update(canonicalJson({ deviceId: r.deviceId, name: r.name, params: r.params }))
    .digest('base64url');
}

export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** The memo key under which the digest is stored. */
export const REQUEST_DIGEST_MEMO = 'dcoRequestDigest';
