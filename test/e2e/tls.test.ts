import mqtt from 'mqtt';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { MosquittoBroker } from '../../stack/mosquitto-broker';
import { ensureTlsCertificates, type TlsFiles } from '../../stack/tls-certs';
import { Harness } from '../support/harness';
import { runCli } from '../support/run-cli';

/** MQTT over TLS: a second listener with certificates made by openssl, same logins and ACL. */
describe('TLS listener (mqtts://) with a development CA', () => {
  let broker: MosquittoBroker;
  let h: Harness;
  let tls: TlsFiles;
  let device: { username: string; password: string };

  beforeAll(async () => {
    const base = new Harness(); // only for its temp dir
    tls = ensureTlsCertificates(path.join(base.dir, 'tls'));
    broker = await MosquittoBroker.start({ dataDir: path.join(base.dir, 'tls-broker'), auth: { topicPrefixes: ['+/devices'] }, tls });
    const auth = broker.auth!;
    device = { username: 'tls-dev-1', password: auth.addDevice('tls-dev-1') };
    await auth.reloadAndWait();
    expect(broker.tlsUrl).toMatch(/^mqtts:\/\/127\.0\.0\.1:\d+$/);
    h = new Harness({ url: broker.tlsUrl!, worker: auth.credentialsOf('worker'), bridge: auth.credentialsOf('bridge'), caFile: tls.caFile });
    // A device listener keys each login's session by its username (use_username_as_clientid),
    // so the bridge's lanes, all logged in as `bridge`, would take each other's session: one lane.
    await h.start({ bridgeOptions: { lanes: 1 } });
  });
  afterAll(async () => {
    await h?.stop();
    await broker?.stop();
  });

  const connect = (url: string, options: mqtt.IClientOptions) =>
    mqtt.connectAsync(url, { protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 5_000, ...options });

  test('the certificates: a CA, and a server certificate it signed for localhost and 127.0.0.1', () => {
    const { X509Certificate } = require('node:crypto') as typeof import('node:crypto');
    const ca = new X509Certificate(readFileSync(tls.caFile));
    const server = new X509Certificate(readFileSync(tls.certFile));
    expect(ca.ca).toBe(true);
    expect(server.ca).toBe(false);
    expect(server.verify(ca.publicKey)).toBe(true);
    expect(server.subjectAltName).toContain('DNS:localhost');
    expect(server.subjectAltName).toContain('IP Address:127.0.0.1');
    // Made once: a second call keeps the files (an operator may put their own there).
    const before = readFileSync(tls.certFile);
    expect(ensureTlsCertificates(path.dirname(tls.caFile))).toEqual(tls);
    expect(readFileSync(tls.certFile)).toEqual(before);
  });

  test('worker, bridge and a device all over TLS: a command completes', async () => {
    await h.startDevice('tls-dev-1', { ping: async () => ({ over: 'tls' }) }, undefined, device);
    const outcome = await (await h.client.send({ deviceId: 'tls-dev-1', name: 'ping' })).result();
    expect(outcome.state).toBe('Succeeded');
    expect(outcome.output).toEqual({ over: 'tls' });
  });

  test('a client that does not trust the CA is refused (certificate not verified)', async () => {
    await expect(connect(broker.tlsUrl!, { ...device })).rejects.toThrow(/self[- ]signed certificate|unable to (get local issuer|verify)/i);
  });

  test('a client that trusts the CA but connects by a name not in the certificate is refused', async () => {
    await expect(connect(broker.tlsUrl!, { ...device, ca: readFileSync(tls.caFile), servername: 'not-in-the-cert.example' })).rejects.toThrow(
      /does not match certificate's altnames|not in the cert's altnames/,
    );
  });

  test('TLS does not replace the login: the right CA with a wrong password is refused', async () => {
    await expect(connect(broker.tlsUrl!, { username: 'tls-dev-1', password: 'guess', ca: readFileSync(tls.caFile) })).rejects.toThrow(
      /Not authorized|Bad User Name or Password/,
    );
  });

  test('plain MQTT on the TLS port gets nowhere', async () => {
    await expect(connect(broker.tlsUrl!.replace('mqtts:', 'mqtt:'), { ...device, connectTimeout: 2_000 })).rejects.toThrow(/closed|timeout|ECONNRESET/i);
  });

  test('the CLI takes the CA with --mqtt-ca-file / MQTT_CA_FILE (dco devices over mqtts://)', async () => {
    const env = {
      TEMPORAL_ADDRESS: h.env.temporalAddress,
      MQTT_URL: broker.tlsUrl!,
      MQTT_USERNAME: 'dco-worker',
      MQTT_PASSWORD: broker.auth!.credentialsOf('worker').password,
      DCO_TOPIC_PREFIX: h.topicPrefix,
    };
    const ok = await runCli(['devices', '--json', '--mqtt-ca-file', tls.caFile], env);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toEqual(expect.arrayContaining([expect.objectContaining({ deviceId: 'tls-dev-1', state: 'online' })]));
    const viaEnv = await runCli(['devices', '--json'], { ...env, MQTT_CA_FILE: tls.caFile });
    expect(viaEnv.code).toBe(0);
    const without = await runCli(['devices', '--json'], env);
    expect(without.code).toBe(1);
    expect(without.stderr).toMatch(/certificate/i);
    const missing = await runCli(['devices', '--json', '--mqtt-ca-file', '/no/such/ca.crt'], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('mqttCaFile (MQTT_CA_FILE): no such file');
  });
});
