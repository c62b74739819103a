import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { DeviceAgent } from '../../device/device-agent';
import { ManagedProcess } from '../../stack/managed-process';
import { freePort } from '../../stack/net';
import { ensureTlsCertificates } from '../../stack/tls-certs';
import { testEnv } from '../setup/test-env';
import { eventually } from '../support/eventually';
import { runCli } from '../support/run-cli';

const DCO = path.join(__dirname, '..', '..', 'bin', 'dco');

/**
 * Temporal behind TLS with client certificates (mTLS), as a self-hosted cluster runs it (issue
 * 14). The dev server speaks plain gRPC, so a TLS terminator that demands a client certificate
 * signed by our CA stands in front of it: the worker, the bridge and the CLI reach Temporal only
 * through it, configured by Temporal's own environment variables.
 */
describe('Temporal over mTLS: worker, bridge and CLI', () => {
  const env = testEnv();
  const dir = mkdtempSync(path.join(env.dir, 'temporal-tls-'));
  const id = Math.random().toString(36).slice(2, 8);
  const taskQueue = `tls-${id}`;
  const topicPrefix = `tls${id}/devices`;
  let proxy: tls.Server;
  let tlsEnv: Record<string, string>;
  const services: ManagedProcess[] = [];
  let device: DeviceAgent;

  beforeAll(async () => {
    const certs = ensureTlsCertificates(path.join(dir, 'certs'));
    // A client certificate signed by the same CA (the server's CA key is beside it).
    const clientKey = path.join(dir, 'certs', 'client.key');
    const clientCsr = path.join(dir, 'certs', 'client.csr');
    const clientCert = path.join(dir, 'certs', 'client.crt');
    execFileSync('openssl', [
      'req',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      clientKey,
      '-out',
      clientCsr,
      '-subj',
      '/CN=dco worker',
    ]);
    // An X.509 v3 certificate (extensions): rustls, inside the Temporal SDK's core, refuses v1.
    const clientExt = path.join(dir, 'certs', 'client.ext');
    writeFileSync(clientExt, 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n');
    execFileSync('openssl', [
      'x509',
      '-req',
      '-in',
      clientCsr,
      '-CA',
      certs.caFile,
      '-CAkey',
      path.join(dir, 'certs', 'ca.key'),
      '-set_serial',
      '0x2a',
      '-days',
      '2',
      '-extfile',
      clientExt,
      '-out',
      clientCert,
    ]);
    const [host, port] = env.temporalAddress.split(':');
    proxy = tls.createServer(
      {
        key: readFileSync(certs.keyFile),
        cert: readFileSync(certs.certFile),
        ca: readFileSync(certs.caFile),
        requestCert: true,
        rejectUnauthorized: true,
        ALPNProtocols: ['h2'],
      },
      (socket) => {
        const upstream = net.connect(Number(port), host);
        socket.pipe(upstream).pipe(socket);
        socket.on('error', () => upstream.destroy());
        upstream.on('error', () => socket.destroy());
      },
    );
    const proxyPort = await freePort();
    await new Promise<void>((resolve) => proxy.listen(proxyPort, '127.0.0.1', resolve));
    tlsEnv = {
      TEMPORAL_ADDRESS: `localhost:${proxyPort}`,
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: certs.caFile,
      TEMPORAL_TLS_CLIENT_CERT_PATH: clientCert,
      TEMPORAL_TLS_CLIENT_KEY_PATH: clientKey,
      MQTT_URL: env.mqttUrl,
      DCO_TASK_QUEUE: taskQueue,
      DCO_TOPIC_PREFIX: topicPrefix,
      LOG_LEVEL: 'info',
    };
    for (const name of ['worker', 'bridge']) {
      const extra = name === 'bridge' ? ['--client-id', `tls-bridge-${id}`, '--deadletter-dir', path.join(dir, 'deadletters')] : [];
      services.push(
        new ManagedProcess({
          name,
          command: process.execPath,
          args: [DCO, name, ...extra],
          logFile: path.join(dir, `${name}.log`),
          env: { ...process.env, ...tlsEnv },
        }),
      );
    }
    await eventually(
      async () =>
        ['worker', 'bridge'].map(
          (name) => existsSync(path.join(dir, `${name}.log`)) && readFileSync(path.join(dir, `${name}.log`), 'utf8').includes(`${name} started`),
        ),
      (ready) => ready.every(Boolean),
      120_000,
    );
    device = new DeviceAgent({
      deviceId: 'tls-1',
      mqttUrl: env.mqttUrl,
      topicPrefix,
      journalDir: path.join(dir, 'journal'),
      handlers: { ping: async () => ({ over: 'mtls' }) },
    });
    await device.start();
  }, 180_000);

  afterAll(async () => {
    await device?.stop();
    await Promise.all(services.map((s) => s.stop()));
    await new Promise((r) => proxy?.close(r));
  });

  test('a command sent by the CLI through the TLS endpoint is executed: worker and bridge connected over mTLS', async () => {
    const r = await runCli(['send', 'tls-1', 'ping', '--wait', '--json'], tlsEnv);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ state: 'Succeeded', output: { over: 'mtls' } });
  });

  test('without the client certificate the endpoint refuses, and the CLI says what to check', async () => {
    const { TEMPORAL_TLS_CLIENT_CERT_PATH: _c, TEMPORAL_TLS_CLIENT_KEY_PATH: _k, ...noClientCert } = tlsEnv;
    const r = await runCli(['get', 'anything'], { ...noClientCert, TEMPORAL_TLS_CLIENT_CERT_PATH: '', TEMPORAL_TLS_CLIENT_KEY_PATH: '' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`cannot reach Temporal at ${tlsEnv.TEMPORAL_ADDRESS}`);
  });

  test('only a certificate and no key is a clear configuration error', async () => {
    const r = await runCli(['get', 'anything'], { ...tlsEnv, TEMPORAL_TLS_CLIENT_KEY_PATH: '' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('mTLS needs both TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH');
  });
});
