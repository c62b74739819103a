import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';

/**
 * Where we keep the tools we build with Go (the Temporal CLI, server and Web UI, the compose
 * validator): ~/.cache/dco/<name>, or under XDG_CACHE_HOME when set. Outside the clone, so fresh
 * clones on the same machine reuse one build.
 */
export function toolCacheDir(name: string): string {
  const base = process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache');
  return path.join(base, 'dco', name);
}

/** The path of a command on PATH, or undefined. */
export function onPath(name: string): string | undefined {
  const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  const p = found.stdout.trim();
  return found.status === 0 && p ? p : undefined;
}
