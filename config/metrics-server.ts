import http from 'node:http';
import { collectDefaultMetrics, Registry } from 'prom-client';

/**
 * A Prometheus endpoint (`/metrics`) and a liveness probe (`/healthz`) for processes that are
 * not Temporal workers (the bridge). Returns the registry to add metrics to, and a close function.
 */
export async function serveMetrics(address: string, health: () => boolean = () => true): Promise<{ registry: Registry; close: () => Promise<void> }> {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const [host, portText] = address.includes(':')
    ? [address.slice(0, address.lastIndexOf(':')), address.slice(address.lastIndexOf(':') + 1)]
    : ['0.0.0.0', address];
  const server = http.createServer(async (req, res) => {
    if (req.url === '/metrics') {
      res.writeHead(200, { 'content-type': registry.contentType });
      res.end(await registry.metrics());
    } else if (req.url === '/healthz') {
      const ok = health();
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' });
      res.end(ok ? 'ok\n' : 'unhealthy\n');
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(portText), host || '0.0.0.0', () => resolve());
  });
  return { registry, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
