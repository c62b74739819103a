import type { CommandSnapshot } from '../protocol/command-contract';

/** The line an operator reads in the Web UI ("current details") without decoding payloads. */
export function describeForHumans(c: CommandSnapshot): string {
  const parts = [`**${c.state}**: \`${c.name}\` on device \`${c.deviceId}\``, `attempts: ${c.attempts}`];
  if (c.reason) parts.push(`reason: ${c.reason}`);
  if (c.error) parts.push(`error: ${c.error.code}`);
  parts.push(`expires: ${c.expiresAt}`);
  return parts.join(' · ');
}
