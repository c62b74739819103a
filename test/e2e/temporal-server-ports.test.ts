import { mkdtempSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { freePort } from '../../stack/net';
import { isTemporalServing, TemporalServer } from '../../stack/temporal-server';
import { testEnv } from '../setup/test-env';

/**
 * A port we picked can be taken before the dev server binds it (CI once lost a whole run to
 * "bind: address already in use" on the Web UI's port). When the ports are ours to pick, the
 * start picks new ones and tries again.
 */
describe('the Temporal dev server on picked ports', () => {
  let holder: net.Server;
  let takenPort: number;
  let server: TemporalServer | undefined;

  beforeAll(async () => {
    // Whatever connects to the held port (the start's readiness probe) is hung up on, so that
    // closing the holder does not wait for it.
    holder = net.createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    takenPort = (holder.address() as net.AddressInfo).port;
  });

  afterAll(async () => {
    await server?.stop();
    await new Promise((resolve) => holder.close(resolve));
  });

  it('starts on new ports when a picked port was taken in the meantime', async () => {
    const dataDir = mkdtempSync(path.join(testEnv().dir, 'ports-'));
    let picks = 0;
    // The first pick (the frontend's port) is one another process holds.
    const pickPort = async () => (picks++ === 0 ? takenPort : freePort());

    server = await TemporalServer.start({ dataDir, ui: false, pickPort });

    expect(server.address).not.toBe(`127.0.0.1:${takenPort}`);
    expect(await isTemporalServing(server.address)).toBe(true);
    // The first attempt really failed on the taken port.
    expect(readFileSync(path.join(dataDir, 'temporal.log'), 'utf8')).toMatch(new RegExp(`${takenPort}.*address already in use`, 'i'));
  });

  it('with the frontend port fixed by the caller, a clash on a port it picked (HTTP) is still retried', async () => {
    const dataDir = mkdtempSync(path.join(testEnv().dir, 'ports-http-'));
    let picks = 0;
    const pickPort = async () => (picks++ === 0 ? takenPort : freePort()); // the first pick is the HTTP port
    const fixed = await TemporalServer.start({ dataDir, ui: false, port: await freePort(), pickPort });
    try {
      expect(await isTemporalServing(fixed.address)).toBe(true);
      expect(readFileSync(path.join(dataDir, 'temporal.log'), 'utf8')).toMatch(new RegExp(`${takenPort}.*address already in use`, 'i'));
    } finally {
      await fixed.stop();
    }
  });

  it('does not dodge a clash on a port the caller chose', async () => {
    const dataDir = mkdtempSync(path.join(testEnv().dir, 'ports-fixed-'));
    await expect(TemporalServer.start({ dataDir, ui: false, port: takenPort })).rejects.toThrow(/exited during start/);
  });
});
