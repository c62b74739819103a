import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ManagedProcess } from '../../stack/managed-process';
import { MosquittoBroker } from '../../stack/mosquitto-broker';
import { eventually } from '../support/eventually';

/**
 * Offline is a normal state: a device program whose only work is MQTT keeps running while the
 * broker is down, and reconnects when it is back. The reconnect timer (config/mqtt-connect.ts)
 * is that work: it used to be unref()ed, so when a broker restart closed every socket, `dco sim`
 * (and the chaos run's devices) had nothing left that kept Node alive and exited with code 0,
 * silently, instead of reconnecting.
 */
describe('a broker restart', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dco-broker-restart-'));
  let broker: MosquittoBroker;
  let sim: ManagedProcess | undefined;
  const logFile = path.join(dir, 'sim.log');
  const log = () => {
    try {
      return readFileSync(logFile, 'utf8');
    } catch {
      return ''; // not created yet
    }
  };

  beforeAll(async () => {
    broker = await MosquittoBroker.start({ dataDir: path.join(dir, 'mosquitto') });
  });

  afterAll(async () => {
    await sim?.stop();
    await broker?.process.stop();
  });

  it('leaves `dco sim` running, and its devices reconnect when the broker is back', async () => {
    sim = new ManagedProcess({
      name: 'sim',
      command: process.execPath,
      args: [path.join(__dirname, '..', '..', 'bin', 'dco'), 'sim', '--devices', '2', '--id-prefix', 'keep-', '--data-dir', path.join(dir, 'sim')],
      logFile,
      env: { ...process.env, MQTT_URL: broker.url, LOG_LEVEL: 'info' },
    });
    await eventually(
      async () => log(),
      (text) => text.includes('2 simulated devices online'),
      60_000,
    );

    await broker.process.stop();
    await eventually(
      async () => log(),
      (text) => text.includes('MQTT connection lost or refused; reconnecting'),
    );
    broker = await broker.restart();

    // Without the fix the sim exits (code 0) before its first reconnect attempt.
    const outcome = await Promise.race([
      eventually(
        async () => (log().match(/MQTT connected again/g) ?? []).length,
        (n) => n >= 2,
      ).then(
        () => 'both devices reconnected',
        (err: Error) => err.message,
      ),
      sim.exited.then((how) => `dco sim exited while the broker was down: ${JSON.stringify(how)}`),
    ]);
    expect(outcome).toBe('both devices reconnected');
    expect(sim.running).toBe(true);
  });
});
