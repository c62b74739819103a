import { loadSettings, Settings, SETTINGS_ENV } from '../../config/settings';

const DEFAULTS = {
  temporalAddress: 'localhost:7233',
  namespace: 'default',
  taskQueue: 'dco-commands',
  mqttUrl: 'mqtt://localhost:1883',
  mqttUsername: undefined,
  mqttPassword: undefined,
  topicPrefix: 'devices',
};

/** Every env var set, to a value different from the default. */
const FULL_ENV = {
  TEMPORAL_ADDRESS: 'temporal.env:7233',
  TEMPORAL_NAMESPACE: 'env-ns',
  DCO_TASK_QUEUE: 'env-queue',
  MQTT_URL: 'mqtts://broker.env:8883',
  MQTT_USERNAME: 'env-user',
  MQTT_PASSWORD: 'env-pass',
  DCO_TOPIC_PREFIX: 'site1/devices',
};

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected an error');
}

describe('loadSettings', () => {
  it('uses the defaults when nothing is set', () => {
    expect(loadSettings({}, {})).toEqual(DEFAULTS);
  });

  it('does not read process.env when an env object is given', () => {
    const saved = process.env.DCO_TOPIC_PREFIX;
    process.env.DCO_TOPIC_PREFIX = 'from-process-env';
    try {
      expect(loadSettings({}, {}).topicPrefix).toBe('devices');
      expect(loadSettings({}).topicPrefix).toBe('from-process-env');
    } finally {
      if (saved === undefined) delete process.env.DCO_TOPIC_PREFIX;
      else process.env.DCO_TOPIC_PREFIX = saved;
    }
  });

  it('names one environment variable per setting', () => {
    expect(SETTINGS_ENV).toEqual({
      temporalAddress: 'TEMPORAL_ADDRESS',
      namespace: 'TEMPORAL_NAMESPACE',
      taskQueue: 'DCO_TASK_QUEUE',
      mqttUrl: 'MQTT_URL',
      mqttUsername: 'MQTT_USERNAME',
      mqttPassword: 'MQTT_PASSWORD',
      mqttCaFile: 'MQTT_CA_FILE',
      topicPrefix: 'DCO_TOPIC_PREFIX',
      temporalTls: 'TEMPORAL_TLS',
      temporalTlsServerCaCertPath: 'TEMPORAL_TLS_SERVER_CA_CERT_PATH',
      temporalTlsClientCertPath: 'TEMPORAL_TLS_CLIENT_CERT_PATH',
      temporalTlsClientKeyPath: 'TEMPORAL_TLS_CLIENT_KEY_PATH',
      temporalTlsServerName: 'TEMPORAL_TLS_SERVER_NAME',
      temporalApiKey: 'TEMPORAL_API_KEY',
    });
    expect(Object.keys(SETTINGS_ENV).sort()).toEqual(Object.keys(Settings.shape).sort());
  });

  it('the environment wins over the defaults', () => {
    expect(loadSettings({}, FULL_ENV)).toEqual({
      temporalAddress: 'temporal.env:7233',
      namespace: 'env-ns',
      taskQueue: 'env-queue',
      mqttUrl: 'mqtts://broker.env:8883',
      mqttUsername: 'env-user',
      mqttPassword: 'env-pass',
      topicPrefix: 'site1/devices',
    });
  });

  it('flags win over the environment', () => {
    const flags = {
      temporalAddress: 'temporal.flag:7233',
      namespace: 'flag-ns',
      taskQueue: 'flag-queue',
      mqttUrl: 'ws://broker.flag:9001/mqtt',
      mqttUsername: 'flag-user',
      mqttPassword: 'flag-pass',
      topicPrefix: 'flag/devices',
    };
    expect(loadSettings(flags, FULL_ENV)).toEqual(flags);
  });

  it('resolves each setting on its own: flag, else env, else default', () => {
    const s = loadSettings(
      { namespace: 'flag-ns', topicPrefix: undefined },
      { TEMPORAL_NAMESPACE: 'env-ns', DCO_TOPIC_PREFIX: 'env/devices', MQTT_URL: 'tcp://b:1883' },
    );
    expect(s).toEqual({ ...DEFAULTS, namespace: 'flag-ns', topicPrefix: 'env/devices', mqttUrl: 'tcp://b:1883' });
  });

  it('ignores environment variables it does not know', () => {
    expect(loadSettings({}, { DCO_TOPIC: 'x', TOPIC_PREFIX: 'y', temporalAddress: 'z' })).toEqual(DEFAULTS);
  });

  it.each(['mqtt://b:1883', 'mqtts://b:8883', 'ws://b:9001/mqtt', 'wss://b/mqtt', 'tcp://b:1883'])('accepts the broker URL %s', (url) => {
    expect(loadSettings({}, { MQTT_URL: url }).mqttUrl).toBe(url);
  });

  it.each([
    ['MQTT_URL', 'mqttUrl', { MQTT_URL: 'http://broker:1883' }],
    ['MQTT_URL', 'mqttUrl', { MQTT_URL: 'not a url' }],
    ['DCO_TOPIC_PREFIX', 'topicPrefix', { DCO_TOPIC_PREFIX: 'devices/+' }],
    ['DCO_TOPIC_PREFIX', 'topicPrefix', { DCO_TOPIC_PREFIX: 'devices/#' }],
    ['DCO_TOPIC_PREFIX', 'topicPrefix', { DCO_TOPIC_PREFIX: '/devices' }],
    ['DCO_TOPIC_PREFIX', 'topicPrefix', { DCO_TOPIC_PREFIX: 'devices/' }],
  ])('an invalid %s fails with the setting and the variable named', (envVar, key, env) => {
    const message = errorOf(() => loadSettings({}, env));
    expect(message.startsWith('invalid settings:\n  ')).toBe(true);
    expect(message).toContain(`${key} (${envVar}): `);
    expect(message.split('\n')).toHaveLength(2);
  });

  it('rejects a broker URL without a host', () => {
    for (const url of ['mqtt://', 'mqtt:broker:1883']) {
      expect(errorOf(() => loadSettings({}, { MQTT_URL: url }))).toContain('mqttUrl (MQTT_URL): ');
    }
  });

  it('the topic prefix error explains the rule', () => {
    expect(errorOf(() => loadSettings({}, { DCO_TOPIC_PREFIX: 'a//b' }))).toBe(
      'invalid settings:\n  topicPrefix (DCO_TOPIC_PREFIX): topic prefix must be plain topic levels, e.g. "devices" or "site1/devices"',
    );
  });

  it('an invalid flag names the variable too (the same setting)', () => {
    expect(errorOf(() => loadSettings({ mqttUrl: 'ftp://b' }, { MQTT_URL: 'mqtt://ok:1883' }))).toContain('mqttUrl (MQTT_URL): ');
  });

  it('a valid flag hides an invalid environment value', () => {
    expect(loadSettings({ topicPrefix: 'ok' }, { DCO_TOPIC_PREFIX: 'bad/#' }).topicPrefix).toBe('ok');
  });

  it('reports every invalid setting, one per line', () => {
    const message = errorOf(() => loadSettings({}, { MQTT_URL: 'http://b', DCO_TOPIC_PREFIX: '#' }));
    const lines = message
      .split('\n')
      .slice(1)
      .map((l) => l.trim().split(':')[0]);
    expect(lines.sort()).toEqual(['mqttUrl (MQTT_URL)', 'topicPrefix (DCO_TOPIC_PREFIX)']);
  });

  it('keeps credentials as given', () => {
    expect(loadSettings({}, { MQTT_USERNAME: 'u', MQTT_PASSWORD: 'p w:@' })).toMatchObject({ mqttUsername: 'u', mqttPassword: 'p w:@' });
  });

  it('takes a CA file for mqtts:// brokers, and names a missing one', () => {
    expect(loadSettings({}, { MQTT_CA_FILE: __filename }).mqttCaFile).toBe(__filename);
    expect(loadSettings({ mqttCaFile: __filename }, { MQTT_CA_FILE: '/nope' }).mqttCaFile).toBe(__filename);
    expect(errorOf(() => loadSettings({}, { MQTT_CA_FILE: '/no/such/ca.crt' }))).toBe(
      'invalid settings:\n  mqttCaFile (MQTT_CA_FILE): no such file (expected the PEM file of the CA that signed the broker certificate)',
    );
  });

  it('treats an empty variable as unset (compose files and shells leave them empty)', () => {
    const empty = { TEMPORAL_ADDRESS: '', TEMPORAL_NAMESPACE: '', DCO_TASK_QUEUE: '', MQTT_URL: '', MQTT_USERNAME: '', DCO_TOPIC_PREFIX: '' };
    expect(loadSettings({}, empty)).toEqual(DEFAULTS);
  });
});
