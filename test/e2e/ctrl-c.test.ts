import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { canConnect, freePort } from '../../stack/net';
import { testEnv } from '../setup/test-env';
import { eventually } from '../support/eventually';

const DCO = path.join(__dirname, '..', '..', 'bin', 'dco');

/**
 * `dco demo` (and `dco up`) at a terminal: Ctrl-C signals the whole foreground process group.
 * Their processes live in groups of their own, so only the supervisor hears it and stops them
 * in order: devices, then the bridge and the worker while Temporal still runs, Temporal and
 * Mosquitto last. Before, Temporal died at once; the bridge, forwarding the devices' last
 * statuses (their Last Wills) to it, hung until it was killed after its 10 s grace.
 */
describe('a terminal Ctrl-C', () => {
  test('dco demo, SIGINT to its process group: the bridge stops cleanly before Temporal, and nothing is left listening', async () => {
    const dir = mkdtempSync(path.join(testEnv().dir, 'demo-'));
    const ports = { temporal: await freePort(), ui: await freePort(), mqtt: await freePort() };
    const args = ['demo', '--data-dir', dir, '--temporal-port', String(ports.temporal), '--ui-port', String(ports.ui), '--mqtt-port', String(ports.mqtt)];
    // A process group of its own, as a shell gives a foreground job.
    const demo = spawn(DCO, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    demo.stdout.on('data', (d) => (out += d));
    demo.stderr.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((resolve) => demo.once('exit', (code) => resolve(code)));
    try {
      await eventually(
        async () => out,
        (s) => s.includes('The system keeps running'),
        240_000,
      );
      process.kill(-demo.pid!, 'SIGINT');
      // When Temporal stops answering (polled, so this is at or after its real end).
      let temporalGoneAt: number | undefined;
      const poll = (async () => {
        while (temporalGoneAt === undefined) {
          if (!(await canConnect('127.0.0.1', ports.temporal))) temporalGoneAt = Date.now();
          else await new Promise((r) => setTimeout(r, 20));
        }
      })();
      expect(await exited).toBe(0);
      await poll;
      expect(out).toContain('Stopped.');
      // The bridge stopped on its own (it logs its counters), not killed after its grace, and
      // before Temporal went away.
      const stopped = readFileSync(path.join(dir, 'logs', 'bridge.log'), 'utf8')
        .split('\n')
        .filter((l) => l.includes('"msg":"bridge stopped"'))
        .map((l) => (JSON.parse(l) as { time: number }).time);
      expect(stopped).toHaveLength(1);
      expect(stopped[0]).toBeLessThanOrEqual(temporalGoneAt!);
      expect(await canConnect('127.0.0.1', ports.mqtt)).toBe(false);
    } finally {
      if (demo.exitCode === null) process.kill(-demo.pid!, 'SIGKILL');
    }
  });
});
