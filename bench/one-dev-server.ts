import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TemporalServer } from '../stack/temporal-server';

/** What a small bench gets: one dev server of its own, a client and a worker connection to it. */
export interface OneDevServer {
  server: TemporalServer;
  /** The server's process, whose CPU the bench reads. */
  pid: number;
  connection: Connection;
  client: Client;
  native: NativeConnection;
}

/**
 * Runs one of the small benches (`npx tsx bench/<name>.ts`): on a dev server of its own with
 * temporary data, everything stopped and removed afterwards, a failure printed with exit code 1.
 */
export function benchOnOneDevServer(name: string, bench: (s: OneDevServer) => Promise<void>): void {
  const run = async () => {
    Runtime.install({ logger: new DefaultLogger('WARN') });
    const dir = mkdtempSync(path.join(os.tmpdir(), `dco-${name}-bench-`));
    const server = await TemporalServer.start({ dataDir: path.join(dir, 'temporal'), ui: false });
    const connection = await Connection.connect({ address: server.address });
    const native = await NativeConnection.connect({ address: server.address });
    try {
      await bench({ server, pid: server.process.pid!, connection, client: new Client({ connection }), native });
    } finally {
      await native.close();
      await connection.close();
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  };
  run().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}

/** Runs `work` while the workers poll; shuts them down after it, however it ends. */
export async function whileWorkersRun(workers: Worker[], work: () => Promise<void>): Promise<void> {
  const running = workers.map((w) => w.run());
  try {
    await work();
  } finally {
    for (const w of workers) w.shutdown();
    await Promise.all(running);
  }
}
