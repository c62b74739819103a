import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadSettings } from '../../config/settings';

/**
 * Secrets stay off command lines (issue 14): `ps` shows every process's arguments to everyone
 * on the machine. `mosquitto_passwd` is run through a wrapper that records its arguments.
 */
describe('passwords never travel as arguments', () => {
  test('adding a device hashes its password without passing it to mosquitto_passwd as an argument', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'dco-secrets-'));
    const argvLog = path.join(dir, 'argv.log');
    const bin = path.join(dir, 'bin');
    mkdirSync(bin);
    const real = execFileSync('bash', ['-c', 'command -v mosquitto_passwd'], { encoding: 'utf8' }).trim();
    writeFileSync(path.join(bin, 'mosquitto_passwd'), `#!/bin/sh\necho "$*" >> '${argvLog}'\nexec '${real}' "$@"\n`);
    chmodSync(path.join(bin, 'mosquitto_passwd'), 0o755);
    // A process of its own, with the recording wrapper first on its PATH.
    const brokerDir = path.join(dir, 'broker');
    const script = `
      const { mkdirSync } = require('node:fs');
      const { BrokerAuth } = require(${JSON.stringify(path.join(__dirname, '../../stack/broker-auth'))});
      mkdirSync(${JSON.stringify(brokerDir)});
      const auth = new BrokerAuth(${JSON.stringify(brokerDir)});
      auth.ensure(['devices']);
      process.stdout.write(auth.addDevice('pump-7'));`;
    const password = execFileSync(process.execPath, ['--require', 'tsx/cjs', '-e', script], {
      encoding: 'utf8',
      env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
    });
    expect(password.length).toBeGreaterThan(10);
    expect(readFileSync(path.join(brokerDir, 'passwords'), 'utf8')).toMatch(/^pump-7:\$7\$/m);
    const argv = readFileSync(argvLog, 'utf8');
    expect(argv).toContain('pump-7'); // the wrapper did run
    const services = Object.values(JSON.parse(readFileSync(path.join(brokerDir, 'service-credentials.json'), 'utf8')) as Record<string, string>);
    expect([password, ...services].filter((secret) => argv.includes(secret))).toEqual([]);
  });
});

describe('MQTT_PASSWORD_FILE', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dco-secret-file-'));
  const file = (name: string, content: string) => {
    const f = path.join(dir, name);
    writeFileSync(f, content, { mode: 0o600 });
    return f;
  };

  test("the file's content is the password, without the trailing newline", () => {
    expect(loadSettings({}, { MQTT_PASSWORD_FILE: file('a', 's3cret\n') }).mqttPassword).toBe('s3cret');
    expect(loadSettings({ mqttPasswordFile: file('b', 'other\r\n') }, {}).mqttPassword).toBe('other');
  });

  test('a password and a password file together, a missing file or an empty one: a clear error', () => {
    expect(() => loadSettings({}, { MQTT_PASSWORD: 'x', MQTT_PASSWORD_FILE: file('c', 'y') })).toThrow(/MQTT_PASSWORD or MQTT_PASSWORD_FILE, not both/);
    const missing = path.join(dir, 'nope');
    expect(existsSync(missing)).toBe(false);
    expect(() => loadSettings({}, { MQTT_PASSWORD_FILE: missing })).toThrow(/MQTT_PASSWORD_FILE: cannot read .*nope \(ENOENT\)/);
    expect(() => loadSettings({}, { MQTT_PASSWORD_FILE: file('d', '\n') })).toThrow(/MQTT_PASSWORD_FILE: .* is empty/);
  });
});
