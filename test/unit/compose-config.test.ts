import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_MAX_PAYLOAD_BYTES } from '../../bridge/parse-device-message';
import { loadSettings, SETTINGS_ENV } from '../../config/settings';
import { cliTypeName, probeClause, SEARCH_ATTRIBUTES } from '../../protocol/search-attributes';
import { allDevicesTopic, DEFAULT_TOPIC_PREFIX, deviceTopic, TOPIC_KINDS, type TopicKind } from '../../protocol/topics';
import { BrokerAuth } from '../../stack/broker-auth';
import { ensureComposeValidator } from '../../stack/compose-validator';
import { mosquittoConfig } from '../../stack/mosquitto-broker';
import { DYNAMIC_CONFIG } from '../../stack/temporal-server';

/**
 * docker-compose.yml and its files against the code: what compose sets, registers and
 * mounts must be what the processes read, the protocol defines and the local broker uses.
 */

const ROOT = path.resolve(__dirname, '..', '..');
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');

/** Values for the variables compose requires (`${VAR:?...}`), as a dummy `.env` would give. */
const REQUIRED_VARS = ['POSTGRES_PASSWORD', 'DCO_WORKER_MQTT_PASSWORD', 'DCO_BRIDGE_MQTT_PASSWORD', 'DCO_HEALTH_MQTT_PASSWORD'];
const DUMMY_ENV: Record<string, string> = Object.fromEntries(REQUIRED_VARS.map((v) => [v, `test-${v.toLowerCase()}`]));

// --- the file through Compose's own loader -------------------------------------------------

/**
 * tools/compose-validate: compose-go, the loader of Docker Compose v2, as a small Go program
 * (no Docker needed). It does what `docker compose config --quiet` does: the Compose
 * Specification's schema, `${VAR:?...}` interpolation, references between services and volumes.
 */
describe('docker-compose.yml through compose-go (what `docker compose config` accepts)', () => {
  let validator: string;
  // Built once per change of its source (normally by scripts/ensure-prereqs.sh already).
  beforeAll(() => {
    validator = ensureComposeValidator();
  }, 600_000);

  /** The validator on `file`, with `env` only (no `.env` of a real install, no stray variables). */
  const validate = (file: string, env: Record<string, string>) =>
    spawnSync(validator, ['-f', file], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '', HOME: os.homedir(), COMPOSE_DISABLE_ENV_FILE: 'true', ...env },
    });

  /** docker-compose.yml with `edit` applied, in a temporary file next to nothing else. */
  const brokenCopy = (edit: (text: string) => string) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'dco-compose-'));
    const file = path.join(dir, 'docker-compose.yml');
    const text = read('docker-compose.yml');
    const edited = edit(text);
    if (edited === text) throw new Error('the edit changed nothing: the test would prove nothing');
    writeFileSync(file, edited);
    return { file, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
  };

  it('accepts docker-compose.yml with the variables scripts/compose-init.sh writes', () => {
    const r = validate('docker-compose.yml', DUMMY_ENV);
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
    const count = (section: object | undefined) => Object.keys(section ?? {}).length;
    expect(r.stdout.trim()).toBe(`docker-compose.yml: valid, ${count(compose.services)} services, ${count(compose.volumes)} volumes`);
  });

  it('refuses it without a required variable, naming the variable', () => {
    const { POSTGRES_PASSWORD: _, ...rest } = DUMMY_ENV;
    const r = validate('docker-compose.yml', rest);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('required variable POSTGRES_PASSWORD is missing a value: run scripts/compose-init.sh first');
  });

  it.each([
    ['an unknown top-level key', (t: string) => `${t}\nbogus: true\n`, "additional properties 'bogus' not allowed"],
    [
      'a depends_on condition compose does not know',
      (t: string) => t.replace('condition: service_completed_successfully', 'condition: service_done'),
      'depends_on.temporal-admin-tools.condition value must be one of',
    ],
    [
      'an undeclared named volume',
      (t: string) => t.replace('- mosquitto-log:/mosquitto/log', '- mosquito-log:/mosquitto/log'),
      'undefined volume mosquito-log',
    ],
  ])('refuses a copy with %s (exit 1, the problem named)', (_name, edit, message) => {
    const { file, cleanup } = brokenCopy(edit);
    try {
      const r = validate(file, DUMMY_ENV);
      expect({ status: r.status, stdout: r.stdout }).toEqual({ status: 1, stdout: '' });
      expect(r.stderr).toContain(message);
    } finally {
      cleanup();
    }
  });
});

// --- the file as data ------------------------------------------------------------------------

type Yaml = { parse(text: string): unknown };

/**
 * A YAML parser from node_modules: `yaml` if installed, else `js-yaml` (today only a
 * transitive dependency of jest). Merge keys (`<<: *dco`) must be resolved, as compose does.
 */
function yamlParser(): Yaml {
  try {
    const YAML = require('yaml') as { parse(text: string, options?: object): unknown };
    return { parse: (text) => YAML.parse(text, { merge: true }) };
  } catch {
    // fall through
  }
  try {
    const jsYaml = require('js-yaml') as { load(text: string): unknown; safeLoad?: (text: string) => unknown };
    return { parse: (text) => (jsYaml.safeLoad ?? jsYaml.load)(text) };
  } catch {
    throw new Error('no YAML parser in node_modules: add one as a devDependency, e.g. npm install --save-dev yaml');
  }
}

interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string | number | boolean | null>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  volumes?: Array<string | { type: string; source: string; target: string; read_only?: boolean; bind?: { create_host_path?: boolean } }>;
  restart?: string;
  stop_grace_period?: string;
  ulimits?: { nofile?: { soft: number; hard: number } };
  ports?: string[];
}
interface ComposeFile {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

const yaml = yamlParser();
const compose = yaml.parse(read('docker-compose.yml')) as ComposeFile;
const services = compose.services;
const service = (name: string): Service => {
  const s = services[name];
  if (!s) throw new Error(`docker-compose.yml has no service "${name}"`);
  return s;
};

/** Compose's interpolation of `${VAR}`, `${VAR:?msg}`, `${VAR:-default}` and `$$`. */
function interpolate(value: string, env: Record<string, string>): string {
  return value.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}/g, (whole, name?: string, op?: string, arg?: string) => {
    if (whole === '$$') return '$';
    const v = env[name!];
    if (op?.endsWith('?')) {
      if (!v) throw new Error(`required variable ${name} is missing: ${arg}`);
      return v;
    }
    if (op?.endsWith('-')) return v || (arg ?? '');
    return v ?? '';
  });
}

function environmentOf(name: string): Record<string, string> {
  const env = service(name).environment ?? {};
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, interpolate(String(v ?? ''), DUMMY_ENV)]));
}

/** `variable` names compose requires from `.env` (the `${VAR:?...}` form). */
function requiredVariables(text: string): Set<string> {
  return new Set([...text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*):\?/g)].map((m) => m[1]));
}

type Settings = Map<string, string[]>;

/**
 * Mosquitto's config as Mosquitto 2 reads it with `per_listener_settings true`: the settings
 * before the first `listener` line (`global`), and each listener's, from its `listener` line
 * to the next one, by port. Each as `key → values` (repeated keys such as log_type keep every
 * value).
 */
function mosquittoSections(text: string): { global: Settings; listeners: Map<string, Settings> } {
  const global: Settings = new Map();
  const listeners = new Map<string, Settings>();
  let current = global;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const [key, ...rest] = line.split(/\s+/);
    if (key === 'listener') {
      current = new Map();
      listeners.set(rest[0], current);
      continue;
    }
    current.set(key, [...(current.get(key) ?? []), rest.join(' ')]);
  }
  return { global, listeners };
}

/** Settings that, with per_listener_settings true, belong to a listener (mosquitto.conf(5)). */
const LISTENER_SECURITY_KEYS = ['allow_anonymous', 'password_file', 'acl_file', 'psk_file', 'use_username_as_clientid', 'auth_plugin', 'plugin'];

/** Bind-mounted files that scripts/compose-init.sh creates (secrets: never committed). */
const GENERATED_FILES = ['./docker/mosquitto/passwords', './docker/mosquitto/service-passwords'];

const bindMounts = (s: Service) =>
  (s.volumes ?? []).map((v) => {
    if (typeof v !== 'string') return v;
    const [source, target, mode] = v.split(':');
    return { type: source.startsWith('.') || source.startsWith('/') ? 'bind' : 'volume', source, target, read_only: mode === 'ro' };
  });

describe('docker-compose.yml', () => {
  it('parses, and every service has an image or a build', () => {
    expect(Object.keys(services).sort()).toEqual(['bridge', 'mosquitto', 'postgresql', 'temporal', 'temporal-admin-tools', 'temporal-ui', 'worker'].sort());
    for (const [name, s] of Object.entries(services)) expect({ name, ok: Boolean(s.image || s.build) }).toEqual({ name, ok: true });
  });

  it('depends only on services that exist, with conditions those services can meet', () => {
    for (const [name, s] of Object.entries(services)) {
      for (const [dep, { condition }] of Object.entries(s.depends_on ?? {})) {
        expect({ name, dep, exists: dep in services }).toEqual({ name, dep, exists: true });
        expect(['service_started', 'service_healthy', 'service_completed_successfully']).toContain(condition);
        if (condition === 'service_healthy') expect({ dep, healthcheck: Boolean(services[dep].healthcheck) }).toEqual({ dep, healthcheck: true });
        if (condition === 'service_completed_successfully') expect({ dep, restart: services[dep].restart }).toEqual({ dep, restart: 'no' });
      }
    }
  });

  it('declares every named volume it uses, and every bind-mounted file exists (the password files are generated)', () => {
    const declared = Object.keys(compose.volumes ?? {});
    for (const [name, s] of Object.entries(services)) {
      for (const m of bindMounts(s)) {
        if (m.type === 'volume') expect({ name, volume: m.source, declared: declared.includes(m.source) }).toEqual({ name, volume: m.source, declared: true });
        else if (!GENERATED_FILES.includes(m.source))
          expect({ name, file: m.source, exists: existsSync(path.join(ROOT, m.source)) }).toEqual({ name, file: m.source, exists: true });
      }
    }
  });

  it('mounts only generated files that scripts/compose-init.sh writes and git ignores', () => {
    const script = read('scripts/compose-init.sh');
    expect(script).toContain('PWFILE="$MOSQ_DIR/passwords"');
    expect(script).toContain('SERVICE_PWFILE="$MOSQ_DIR/service-passwords"');
    for (const file of GENERATED_FILES) {
      const r = spawnSync('git', ['check-ignore', '-q', file], { cwd: ROOT });
      expect({ file, ignored: r.status === 0 }).toEqual({ file, ignored: true });
    }
  });

  it('requires only variables that scripts/compose-init.sh writes into .env', () => {
    const script = read('scripts/compose-init.sh');
    const required = requiredVariables(read('docker-compose.yml'));
    expect([...required].sort()).toEqual([...REQUIRED_VARS].sort());
    for (const v of required) expect({ v, inScript: script.includes(v) }).toEqual({ v, inScript: true });
  });
});

describe('worker and bridge services', () => {
  const ALSO_ALLOWED = ['DCO_BRIDGE_CLIENT_ID', 'LOG_LEVEL'];
  const settingVars = Object.values(SETTINGS_ENV);

  it.each(['worker', 'bridge'])('%s sets only variables the code reads, and valid settings', (name) => {
    const env = environmentOf(name);
    for (const key of Object.keys(env)) expect([...settingVars, ...ALSO_ALLOWED]).toContain(key);
    // Exactly what the process will do with them.
    const settings = loadSettings({}, env);
    expect(settings).toMatchObject({
      temporalAddress: 'temporal:7233',
      // The services' listener (docker/mosquitto/mosquitto.conf), never the devices' one.
      mqttUrl: 'mqtt://mosquitto:1884',
      mqttUsername: `dco-${name}`,
      topicPrefix: DEFAULT_TOPIC_PREFIX,
    });
    expect(settings.mqttPassword).toBe(DUMMY_ENV[`DCO_${name.toUpperCase()}_MQTT_PASSWORD`]);
  });

  it('both run the one image, with the process as the command', () => {
    const worker = service('worker');
    const bridge = service('bridge');
    expect(worker.build).toBeDefined();
    expect(bridge.image).toBe(worker.image);
    expect(worker.command).toEqual(['worker']);
    expect(bridge.command).toEqual(['bridge']);
    for (const s of [worker, bridge]) {
      expect(s.restart).toBe('unless-stopped');
      expect(s.stop_grace_period).toBe('30s');
      expect(s.depends_on).toEqual({
        temporal: { condition: 'service_healthy' },
        mosquitto: { condition: 'service_healthy' },
        'temporal-admin-tools': { condition: 'service_completed_successfully' },
      });
    }
    expect(environmentOf('bridge').DCO_BRIDGE_CLIENT_ID).toBe('dco-bridge');
  });
});

describe('Temporal services', () => {
  it('the setup job registers exactly the search attributes of protocol/search-attributes.ts, with their types', () => {
    const job = service('temporal-admin-tools');
    const pairs = environmentOf('temporal-admin-tools').DCO_SEARCH_ATTRIBUTES.split(/\s+/);
    expect(pairs).toEqual(SEARCH_ATTRIBUTES.map((a) => `${a.name}:${cliTypeName(a)}`));
    expect(pairs).toContain('DeviceTags:KeywordList');
    const script = interpolate(job.command!.join('\n'), {});
    expect(script).toContain('for pair in $DCO_SEARCH_ATTRIBUTES');
    expect(script).toContain('--type "$type"');
    expect(environmentOf('temporal-admin-tools').TEMPORAL_NAMESPACE).toBe(environmentOf('worker').TEMPORAL_NAMESPACE);
    // Its readiness probe is a query valid for every type (an Int is compared with a number):
    // run that part of the script with sh and compare with the launcher's own probe.
    const probe = script.slice(script.indexOf('query=""'), script.indexOf('tries=0'));
    const built = execFileSync('sh', ['-c', `${probe}\nprintf %s "$query"`], { env: { DCO_SEARCH_ATTRIBUTES: pairs.join(' ') }, encoding: 'utf8' });
    expect(built).toBe(SEARCH_ATTRIBUTES.map(probeClause).join(' AND '));
  });

  it('the server runs on PostgreSQL with the mounted dynamic config', () => {
    const env = environmentOf('temporal');
    expect(env).toMatchObject({ DB: 'postgres12', DB_PORT: '5432', POSTGRES_SEEDS: 'postgresql', DEFAULT_NAMESPACE: 'default' });
    const mount = bindMounts(service('temporal')).find((m) => m.source === './docker/temporal/dynamic-config.yaml');
    expect(mount?.target).toBe(env.DYNAMIC_CONFIG_FILE_PATH);
    const dynamicConfig = yaml.parse(read('docker/temporal/dynamic-config.yaml')) as Record<string, unknown>;
    for (const [key, values] of Object.entries(dynamicConfig)) expect({ key, list: Array.isArray(values) }).toEqual({ key, list: true });
  });

  it('suggests continue-as-new at the same history limits as the dev server the tests and the bench run', () => {
    const dynamicConfig = yaml.parse(read('docker/temporal/dynamic-config.yaml')) as Record<string, Array<{ value: unknown }>>;
    const limits = DYNAMIC_CONFIG.filter((kv) => kv.startsWith('limit.'));
    expect(limits.length).toBe(2);
    for (const kv of limits) {
      const [key, value] = kv.split('=');
      expect({ key, value: dynamicConfig[key]?.[0]?.value }).toEqual({ key, value: Number(value) });
    }
  });
});

describe('Mosquitto', () => {
  const { global: conf, listeners } = mosquittoSections(read('docker/mosquitto/mosquitto.conf'));
  const one = (settings: Settings, key: string, where = 'mosquitto.conf') => {
    const values = settings.get(key);
    if (values?.length !== 1) throw new Error(`${where}: expected one "${key}", found ${values?.length ?? 0}`);
    return values[0];
  };
  const listener = (port: string) => {
    const settings = listeners.get(port);
    if (!settings) throw new Error(`mosquitto.conf has no "listener ${port}"`);
    return settings;
  };
  const DEVICES = '1883';
  const SERVICES = '1884';
  // Looked up in each test, so that a missing listener fails those tests, not the whole file.
  const devices = () => listener(DEVICES);
  const servicesListener = () => listener(SERVICES);

  it('requires passwords, persists, and limits payloads to the protocol maximum', () => {
    expect(one(conf, 'per_listener_settings')).toBe('true');
    expect(one(conf, 'persistence')).toBe('true');
    expect(Number(one(conf, 'message_size_limit'))).toBe(DEFAULT_MAX_PAYLOAD_BYTES);
    expect([...listeners.keys()]).toEqual([DEVICES, SERVICES]);
    for (const [port, settings] of listeners) expect({ port, allow_anonymous: one(settings, 'allow_anonymous') }).toEqual({ port, allow_anonymous: 'false' });
  });

  it('writes every security setting after its listener line (before the first, Mosquitto would apply it to its default listener)', () => {
    for (const key of LISTENER_SECURITY_KEYS) expect({ key, global: conf.has(key) }).toEqual({ key, global: false });
  });

  it('devices (1883): device accounts only, the ACL, and the client ID forced to the username (no session takeover)', () => {
    expect(Object.fromEntries(devices())).toEqual({
      allow_anonymous: ['false'],
      password_file: ['/mosquitto/config/passwords'],
      acl_file: ['/mosquitto/config/acl'],
      use_username_as_clientid: ['true'],
    });
  });

  it('services (1884): a password file of their own, the same ACL, any client ID', () => {
    expect(Object.fromEntries(servicesListener())).toEqual({
      allow_anonymous: ['false'],
      password_file: ['/mosquitto/config/service-passwords'],
      acl_file: ['/mosquitto/config/acl'],
    });
    expect(one(servicesListener(), 'password_file')).not.toBe(one(devices(), 'password_file'));
  });

  it('shares its broker and listener settings with the broker of `dco up` and the tests', () => {
    const generated = mosquittoConfig({
      host: '127.0.0.1',
      port: 1883,
      dataDir: '/data',
      autosaveIntervalSeconds: 2,
      auth: new BrokerAuth('/broker'), // only its file names are used
      servicePort: 1884,
    });
    const local = mosquittoSections(generated);
    for (const key of [
      'per_listener_settings',
      'persistence',
      'autosave_interval',
      'max_queued_messages',
      'max_inflight_messages',
      'message_size_limit',
      'max_connections',
    ]) {
      expect({ key, value: conf.get(key) }).toEqual({ key, value: local.global.get(key) });
    }
    // The same listeners, in the same order (the first is the devices' one), with the same
    // settings; the files by name (their directories differ).
    expect([...local.listeners.keys()]).toEqual([DEVICES, SERVICES]);
    const comparable = (settings: Settings) =>
      Object.fromEntries([...settings].map(([key, values]) => [key, key.endsWith('_file') ? values.map((v) => path.basename(v)) : values]));
    for (const port of [DEVICES, SERVICES]) {
      expect({ port, settings: comparable(listener(port)) }).toEqual({ port, settings: comparable(local.listeners.get(port)!) });
    }
  });

  it('finds its files and data where compose mounts them', () => {
    const mosquitto = service('mosquitto');
    const mounts = bindMounts(mosquitto);
    const target = (source: string) => mounts.find((m) => m.source === source)?.target;
    expect(target('./docker/mosquitto/mosquitto.conf')).toBe('/mosquitto/config/mosquitto.conf');
    for (const settings of [devices(), servicesListener()]) expect(target('./docker/mosquitto/acl')).toBe(one(settings, 'acl_file'));
    expect(target('./docker/mosquitto/passwords')).toBe(one(devices(), 'password_file'));
    expect(target('./docker/mosquitto/service-passwords')).toBe(one(servicesListener(), 'password_file'));
    for (const file of GENERATED_FILES) expect(mounts.find((m) => m.source === file)).toMatchObject({ read_only: true, bind: { create_host_path: false } });
    expect(`${target('mosquitto-data')}/`).toBe(one(conf, 'persistence_location'));
    expect(mosquitto.ulimits?.nofile?.soft).toBeGreaterThan(1024);
  });

  it("publishes only the devices' listener; worker and bridge use the services' one on the compose network", () => {
    expect(service('mosquitto').ports).toEqual([`${DEVICES}:${DEVICES}`]);
    for (const name of ['worker', 'bridge']) {
      const url = new URL(environmentOf(name).MQTT_URL);
      expect({ name, host: url.hostname, port: url.port }).toEqual({ name, host: 'mosquitto', port: SERVICES });
    }
  });

  it('is the image scripts/compose-init.sh uses for mosquitto_passwd', () => {
    const script = read('scripts/compose-init.sh');
    const image = /MOSQUITTO_IMAGE="\$\{MOSQUITTO_IMAGE:-([^}]+)\}"/.exec(script)?.[1];
    expect(image).toBe(service('mosquitto').image);
  });

  it("checks health with the dco-health account that scripts/compose-init.sh creates, on the services' listener", () => {
    const test = service('mosquitto').healthcheck!.test.join(' ');
    expect(test).toContain('-u dco-health');
    expect(test).toContain('$$DCO_HEALTH_MQTT_PASSWORD');
    expect(/ -p (\d+) /.exec(test)?.[1]).toBe(SERVICES);
    expect(read('scripts/compose-init.sh')).toMatch(/SERVICE_USERS=\(dco-worker dco-bridge dco-health\)/);
  });
});

describe('ACL', () => {
  const lines = read('docker/mosquitto/acl')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));

  /** `user → rules`; rules before the first `user` line (patterns) are under ''. */
  const sections = new Map<string, string[]>();
  let current = '';
  for (const line of lines) {
    if (line.startsWith('user ')) {
      current = line.slice(5).trim();
      sections.set(current, []);
    } else sections.set(current, [...(sections.get(current) ?? []), line]);
  }
  const P = DEFAULT_TOPIC_PREFIX;
  const kinds = (...k: TopicKind[]) => k;

  it('lets each device read only its own commands and cancel requests and write only its own answers', () => {
    expect(sections.get('')).toEqual([
      ...kinds('commands', 'cancel').map((k) => `pattern read ${deviceTopic(P, '%u', k)}`),
      ...kinds('ack', 'result', 'status', 'pending').map((k) => `pattern write ${deviceTopic(P, '%u', k)}`),
    ]);
  });

  it('gives the worker and the bridge the topics of their jobs', () => {
    const worker = environmentOf('worker').MQTT_USERNAME;
    const bridge = environmentOf('bridge').MQTT_USERNAME;
    expect(sections.get(worker)).toEqual([
      ...kinds('commands', 'cancel').map((k) => `topic write ${allDevicesTopic(P, k)}`),
      `topic read ${allDevicesTopic(P, 'status')}`,
    ]);
    // The bridge reads the commands only to know whose each is (bridge/command-owners.ts).
    expect(sections.get(bridge)).toEqual(kinds('commands', 'ack', 'result', 'status', 'pending').map((k) => `topic read ${allDevicesTopic(P, k)}`));
    expect([...sections.keys()].sort()).toEqual(['', bridge, worker].sort());
  });

  it('names only topics of the protocol, under the default prefix', () => {
    for (const line of lines.filter((l) => !l.startsWith('user '))) {
      const topic = line.split(/\s+/).at(-1)!;
      const levels = topic.split('/');
      expect({ line, prefix: levels.slice(0, -2).join('/') }).toEqual({ line, prefix: P });
      expect(TOPIC_KINDS).toContain(levels.at(-1));
    }
  });
});

describe('Dockerfile', () => {
  const dockerfile = read('Dockerfile');
  const copied = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => m[1].split(/\s+/));

  it('copies every source folder the TypeScript project has, except tests and tooling', () => {
    const tsconfig = JSON.parse(read('tsconfig.json')) as { include: string[] };
    const sources = tsconfig.include.filter((dir) => !['test', 'scripts', 'bench'].includes(dir) && existsSync(path.join(ROOT, dir)));
    for (const dir of [...sources, 'bin', 'package.json', 'tsconfig.json']) expect(copied).toContain(dir);
  });

  it('has our patches of dependencies before npm ci applies them (its postinstall)', () => {
    const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string>; dependencies: Record<string, string> };
    expect(pkg.scripts.postinstall).toBe('patch-package --error-on-fail');
    // A runtime dependency: npm ci --omit=dev runs the postinstall too.
    expect(pkg.dependencies['patch-package']).toBeDefined();
    expect(dockerfile.indexOf('COPY patches ./patches')).toBeGreaterThan(-1);
    expect(dockerfile.indexOf('COPY patches ./patches')).toBeLessThan(dockerfile.indexOf('npm ci --omit=dev'));
  });

  it('runs bin/dco as user node, the worker by default', () => {
    expect(dockerfile).toMatch(/^FROM node:20-bookworm-slim|^ARG NODE_IMAGE=node:20-bookworm-slim$/m);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/^ENTRYPOINT \["\.\/bin\/dco"\]$/m);
    expect(dockerfile).toMatch(/^CMD \["worker"\]$/m);
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
  });

  it('keeps secrets and local state out of the build context', () => {
    const ignored = read('.dockerignore')
      .split('\n')
      .map((l) => l.trim());
    // `docker` covers docker/mosquitto/passwords and service-passwords.
    for (const entry of ['.env', '.env.*', 'docker', 'node_modules', '.data', '.git']) expect(ignored).toContain(entry);
  });
});
