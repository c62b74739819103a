import net from 'node:net';
import { freePort } from './net';
import type { ServerPorts } from './temporal-server-processes';

/** The cluster's only address: every part of it listens here. */
export const HOST = '127.0.0.1';

/** Every port on 127.0.0.1. `frontend` is the gRPC address clients use; `metrics` the server's (or its frontend's) Prometheus endpoint. */
export interface TemporalClusterPorts extends ServerPorts {
  postgres: number;
  /** The Web UI (compose's `temporal-ui`, port 8080 there). */
  ui: number;
}

/**
 * A free port below 32768. PostgreSQL's cluster_membership.rpc_port is a SMALLINT: a
 * membership port above 32767 makes the server die at start ("value out of range for type
 * smallint"), and the ports the OS hands out for port 0 are all above it (32768-60999).
 */
async function freeMembershipPort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_768);
    const free = await new Promise<boolean>((resolve) => {
      const server = net.createServer();
      server.once('error', () => resolve(false));
      server.listen(port, HOST, () => server.close(() => resolve(true)));
    });
    if (free) return port;
  }
}

/** The server's and the Web UI's ports: those `given`, the others picked free (PostgreSQL's is its own). */
export async function pickPorts(given: Partial<TemporalClusterPorts>): Promise<Omit<TemporalClusterPorts, 'postgres'>> {
  const pick = async (p: number | undefined) => p ?? (await freePort());
  const pickMembership = async (p: number | undefined) => p ?? (await freeMembershipPort());
  return {
    frontend: await pick(given.frontend),
    frontendHttp: await pick(given.frontendHttp),
    frontendMembership: await pickMembership(given.frontendMembership),
    history: await pick(given.history),
    historyMembership: await pickMembership(given.historyMembership),
    matching: await pick(given.matching),
    matchingMembership: await pickMembership(given.matchingMembership),
    worker: await pick(given.worker),
    workerMembership: await pickMembership(given.workerMembership),
    metrics: await pick(given.metrics),
    historyMetrics: await pick(given.historyMetrics),
    matchingMetrics: await pick(given.matchingMetrics),
    workerMetrics: await pick(given.workerMetrics),
    ui: await pick(given.ui),
  };
}
