import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { temporalConnectionOptions } from '../../config/temporal-connect';

describe('temporalConnectionOptions', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dco-temporal-tls-'));
  const pem = (name: string) => {
    const f = path.join(dir, name);
    writeFileSync(f, `-----BEGIN ${name}-----\n`);
    return f;
  };

  test('a bare address is a plain connection', () => {
    expect(temporalConnectionOptions({ temporalAddress: 'localhost:7233' })).toEqual({ address: 'localhost:7233' });
  });

  test('an API key implies TLS with the system CAs (Temporal Cloud); TEMPORAL_TLS=false turns TLS off', () => {
    expect(temporalConnectionOptions({ temporalAddress: 'ns.acct.tmprl.cloud:7233', temporalApiKey: 'k' })).toEqual({
      address: 'ns.acct.tmprl.cloud:7233',
      apiKey: 'k',
      tls: true,
    });
    expect(temporalConnectionOptions({ temporalAddress: 'a:1', temporalApiKey: 'k', temporalTls: 'false' })).toEqual({ address: 'a:1', apiKey: 'k' });
    expect(temporalConnectionOptions({ temporalAddress: 'a:1', temporalTls: '1' })).toEqual({ address: 'a:1', tls: true });
  });

  test("CA, client pair and server name become the SDK's TLS config", () => {
    const o = temporalConnectionOptions({
      temporalAddress: 'a:1',
      temporalTlsServerCaCertPath: pem('CA'),
      temporalTlsClientCertPath: pem('CRT'),
      temporalTlsClientKeyPath: pem('KEY'),
      temporalTlsServerName: 'temporal.internal',
    });
    expect(o.tls).toEqual({
      serverRootCACertificate: Buffer.from('-----BEGIN CA-----\n'),
      clientCertPair: { crt: Buffer.from('-----BEGIN CRT-----\n'), key: Buffer.from('-----BEGIN KEY-----\n') },
      serverNameOverride: 'temporal.internal',
    });
  });

  test('a client certificate without its key is refused', () => {
    expect(() => temporalConnectionOptions({ temporalAddress: 'a:1', temporalTlsClientCertPath: pem('ONLY') })).toThrow(
      /both TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH/,
    );
  });
});
