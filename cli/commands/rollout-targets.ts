import type { Client } from '@temporalio/client';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { grpcCode } from '../../bridge/temporal-errors';
import { InvalidRequestError } from '../../client/dco-client';
import { devicesMatching } from '../../client/devices-matching';
import { GroupClient, GroupNotFoundError } from '../../client/group-client';
import { UsageError } from '../usage-error';

/** A targets file: one device ID per line (# comments allowed), or a JSON array. */
export function readTargetsFile(file: string): string[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read targets file ${file}: ${(err as Error).message}`);
  }
  if (text.trimStart().startsWith('[')) {
    const parsed = z.array(z.string()).safeParse(JSON.parse(text));
    if (!parsed.success) throw new UsageError(`${file}: a JSON targets file must be an array of device IDs`);
    return parsed.data;
  }
  return text
    .split('\n')
    .map((l) => l.replace(/#.*/, '').trim())
    .filter(Boolean);
}

/** `--group NAME`: the group's device query; an unknown group is a usage error. */
export function groupQueryOf(temporal: Client, taskQueue: string, name: string): Promise<string> {
  return new GroupClient(temporal, taskQueue).queryOf(name).catch((err: unknown) => {
    if (err instanceof GroupNotFoundError || err instanceof InvalidRequestError) throw new UsageError(`--group: ${err.message}`);
    throw err;
  });
}

/** gRPC's code for a request the server refuses as malformed (a query it cannot parse). */
const INVALID_ARGUMENT = 3;

/**
 * `--where`: the matching devices' IDs, from their entities; a query Temporal refuses is a usage
 * error, and so is one that matches none, unless the rollout is continuous (it waits for them).
 */
export async function resolveWhere(temporal: Client, where: string, flag: string, continuous: boolean): Promise<string[]> {
  const targets = await devicesMatching(temporal, where).catch((err: unknown) => {
    if (err instanceof RangeError || grpcCode(err) === INVALID_ARGUMENT) throw new UsageError(`${flag}: ${(err as Error).message}`);
    throw err;
  });
  if (!targets.length && !continuous) {
    throw new UsageError(
      `${flag}: no device entity matches ${JSON.stringify(where)} (\`dco devices show <deviceId>\` shows what a device reports; with --continuous the rollout starts anyway and waits for devices that come to match)`,
    );
  }
  if (!targets.length) process.stderr.write(`${flag}: no device matches yet; the continuous rollout waits for devices that come to match\n`);
  return targets;
}
