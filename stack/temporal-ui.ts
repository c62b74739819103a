import { logSize, logTail } from './log-file';
import { ManagedProcess } from './managed-process';
import { waitFor } from './net';
import type { TemporalUiBuild } from './temporal-ui-binary';

export interface TemporalUiOptions {
  build: TemporalUiBuild;
  /** The frontend's gRPC address, as compose's TEMPORAL_ADDRESS. */
  temporalAddress: string;
  /** Its HTTP port on 127.0.0.1. */
  port: number;
  logFile: string;
  timeoutMs: number;
}

/** The UI server answers its health check (GET /healthz, 200) once it listens. */
async function healthy(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1_000) });
    return res.ok;
  } catch {
    return false;
  }
}

/**
 * The Web UI of docker-compose.yml's `temporal-ui` service, without Docker: the image's own
 * config template (config/docker.yaml) rendered from the environment compose gives it. Only
 * compose's variables reach it, so a TEMPORAL_* variable of the caller's shell cannot change it.
 */
export async function startTemporalUi(o: TemporalUiOptions): Promise<{ process: ManagedProcess; url: string }> {
  const url = `http://127.0.0.1:${o.port}`;
  const offset = logSize(o.logFile);
  const child = new ManagedProcess({
    name: 'temporal-ui-server',
    command: o.build.server,
    args: ['--root', o.build.root, '--config', 'config', '--env', 'docker', 'start'],
    logFile: o.logFile,
    env: { PATH: process.env.PATH, TEMPORAL_ADDRESS: o.temporalAddress, TEMPORAL_UI_PORT: String(o.port) },
  });
  try {
    await waitFor(
      async () => {
        if (!child.running) throw new Error('temporal-ui-server exited during start');
        return healthy(url);
      },
      o.timeoutMs,
      () => `the Temporal Web UI did not answer at ${url} within ${o.timeoutMs} ms`,
    );
  } catch (err) {
    await child.stop();
    throw new Error(`${(err as Error).message}; see ${o.logFile}:\n${logTail(o.logFile, offset)}`);
  }
  return { process: child, url };
}
