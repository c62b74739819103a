import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  appendFileSync,
  chmodSync,
  chownSync,
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { logSince, logSize } from './log-file';
import { freePort } from './net';

export interface PostgresClusterOptions {
  /** Holds the data directory (`data/`) and the generated password; reused by later starts. */
  dir: string;
  /** The server's log (pg_ctl -l). */
  logFile: string;
  /** The superuser initdb creates (docker-compose.yml's POSTGRES_USER). */
  user: string;
  /** On 127.0.0.1; a free one when not given. */
  port?: number;
  startTimeoutMs?: number;
}

export interface PostgresCluster {
  host: string;
  port: number;
  user: string;
  password: string;
  /** The postmaster's process ID (its backends are its children), from `data/postmaster.pid`; undefined once stopped. */
  pid(): number | undefined;
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';
/** A port picked free can be taken before postgres binds it: then we pick again. */
const PICKED_PORT_ATTEMPTS = 3;

/**
 * Appended to postgresql.conf by the first start. TCP on loopback only: no Unix socket in
 * /var/run/postgresql, shared with the machine's own clusters. Everything else stays at the
 * defaults, which the postgres image of docker-compose.yml also keeps.
 */
const SETTINGS = `
# dco (stack/postgres-cluster.ts): a private cluster for the Temporal server, loopback only.
listen_addresses = '${HOST}'
unix_socket_directories = ''
`;

/** Debian's layout (/usr/lib/postgresql/<major>/bin, newest major first), else PATH. */
export function postgresBinDir(): string {
  const root = '/usr/lib/postgresql';
  const majors = existsSync(root)
    ? readdirSync(root)
        .filter((v) => /^\d+$/.test(v))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  for (const major of majors) {
    const bin = path.join(root, major, 'bin');
    if (existsSync(path.join(bin, 'initdb'))) return bin;
  }
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir && existsSync(path.join(dir, 'initdb')) && existsSync(path.join(dir, 'pg_ctl'))) return dir;
  }
  throw new Error('PostgreSQL is not installed (no initdb found). Install it: `apt-get install -y postgresql` (Debian), then start again.');
}

/** postgres refuses to run as root: as root, every PostgreSQL program runs as the `postgres` user. */
interface Runner {
  run(program: string, args: string[]): Promise<{ code: number; output: string }>;
  /** Gives a file or directory we created to the user the programs run as. */
  own(file: string): void;
}

function runner(binDir: string, cwd: string): Runner {
  const root = process.getuid?.() === 0;
  let uid = -1;
  let gid = -1;
  if (root) {
    const entry = readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('postgres:'));
    if (!entry) throw new Error('Running as root, PostgreSQL needs the `postgres` user: `apt-get install -y postgresql` creates it.');
    [uid, gid] = entry.split(':').slice(2, 4).map(Number);
  }
  return {
    run: (program, args) =>
      new Promise((resolve) => {
        const [command, argv] = root ? ['runuser', ['-u', 'postgres', '--', path.join(binDir, program), ...args]] : [path.join(binDir, program), args];
        // cwd: a directory the postgres user can enter (not root's home).
        execFile(command, argv, { cwd, encoding: 'utf8' }, (err, stdout, stderr) => {
          const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
          resolve({ code, output: `${stdout}${stderr}`.trim() });
        });
      }),
    own: (file) => {
      if (root) chownSync(file, uid, gid);
    },
  };
}

/** The cluster's password: generated at the first start, kept next to the data (mode 0600). */
function readOrCreatePassword(dir: string): string {
  const file = path.join(dir, 'password');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const password = randomBytes(18).toString('base64url');
  writeFileSync(file, password + '\n', { mode: 0o600 });
  return password;
}

/** initdb into a temporary name, then renamed: an interrupted initdb never looks like a cluster. */
async function initCluster(r: Runner, dir: string, data: string, user: string, password: string): Promise<void> {
  const partial = `${data}.init`;
  rmSync(partial, { recursive: true, force: true });
  // initdb reads the password as the postgres user: a short-lived copy it can read.
  const pwfile = path.join(dir, 'initdb-password.tmp');
  writeFileSync(pwfile, password + '\n', { mode: 0o600 });
  r.own(pwfile);
  try {
    const init = await r.run('initdb', [
      '-D',
      partial,
      '-U',
      user,
      `--pwfile=${pwfile}`,
      '-E',
      'UTF8',
      '--locale=C.UTF-8',
      // Passwords over TCP, as the postgres image does; there is no Unix socket to trust.
      '--auth-host=scram-sha-256',
      '--auth-local=scram-sha-256',
    ]);
    if (init.code !== 0) throw new Error(`initdb failed:\n${init.output}`);
  } finally {
    rmSync(pwfile, { force: true });
  }
  appendFileSync(path.join(partial, 'postgresql.conf'), SETTINGS);
  renameSync(partial, data);
}

/**
 * A new directory under the system's temporary directory that PostgreSQL can live under. As
 * root, PostgreSQL runs as the postgres user (it refuses root), which must be able to enter
 * every parent of its data; mkdtemp makes the directory 0700, so it is opened (0755).
 */
export function tempDirForPostgres(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  chmodSync(dir, 0o755);
  return dir;
}

/**
 * A private PostgreSQL: initdb at the first start (data under `dir`), then `pg_ctl start` on
 * 127.0.0.1 and the given or a free port. State survives a stop; a server left running on the
 * same data by a killed run is stopped first.
 */
export async function startPostgresCluster(o: PostgresClusterOptions): Promise<PostgresCluster> {
  const binDir = postgresBinDir();
  mkdirSync(o.dir, { recursive: true });
  mkdirSync(path.dirname(o.logFile), { recursive: true });
  const denied = accessDenied(o.dir);
  if (denied) throw new Error(denied);
  const r = runner(binDir, o.dir);
  r.own(o.dir);
  const password = readOrCreatePassword(o.dir);
  const data = path.join(o.dir, 'data');
  if (!existsSync(path.join(data, 'PG_VERSION'))) await initCluster(r, o.dir, data, o.user, password);
  if ((await r.run('pg_ctl', ['status', '-D', data])).code === 0) {
    await r.run('pg_ctl', ['stop', '-D', data, '-m', 'fast', '-w']);
  }
  closeSync(openSync(o.logFile, 'a'));
  r.own(o.logFile);

  const timeoutS = Math.ceil((o.startTimeoutMs ?? 60_000) / 1000);
  const attempts = o.port === undefined ? PICKED_PORT_ATTEMPTS : 1;
  for (let attempt = 1; ; attempt++) {
    const port = o.port ?? (await freePort());
    const offset = logSize(o.logFile);
    // -w: pg_ctl polls until the server accepts connections (or exits), at most -t seconds.
    const start = await r.run('pg_ctl', ['start', '-D', data, '-l', o.logFile, '-w', '-t', String(timeoutS), '-o', `-p ${port}`]);
    if (start.code === 0) {
      return { host: HOST, port, user: o.user, password, pid: () => postmasterPid(data), stop: () => stopCluster(r, data) };
    }
    const log = logSince(o.logFile, offset);
    if (!/address already in use/i.test(log) || attempt >= attempts) {
      await stopCluster(r, data).catch(() => {});
      throw new Error(`PostgreSQL did not start on ${HOST}:${port} (${start.output}); see ${o.logFile}:\n${log.trim().split('\n').slice(-10).join('\n')}`);
    }
  }
}

/** The running postmaster's PID: the first line of `postmaster.pid`, which it removes when it stops. */
function postmasterPid(data: string): number | undefined {
  try {
    const pid = Number(readFileSync(path.join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Why the postgres user cannot use `dir` (a parent it cannot enter), or undefined. */
function accessDenied(dir: string): string | undefined {
  if (process.getuid?.() !== 0) return undefined;
  for (let d = path.resolve(dir); d !== path.dirname(d); d = path.dirname(d)) {
    const mode = statSync(d).mode;
    if (path.resolve(dir) !== d && (mode & 0o001) === 0) {
      return `PostgreSQL runs as the postgres user, which cannot enter ${d} (mode ${(mode & 0o777).toString(8)}): \`chmod o+x ${d}\`, or choose a directory under ${os.tmpdir()}.`;
    }
  }
  return undefined;
}

/** pg_ctl stop in fast mode: open sessions are ended, everything is written (a clean shutdown). */
async function stopCluster(r: Runner, data: string): Promise<void> {
  const stop = await r.run('pg_ctl', ['stop', '-D', data, '-m', 'fast', '-w', '-t', '60']);
  if (stop.code === 0) return;
  // Already gone (a Ctrl-C reaches postgres too, which then shuts down by itself): nothing to do.
  if ((await r.run('pg_ctl', ['status', '-D', data])).code === 3) return;
  throw new Error(`pg_ctl stop failed: ${stop.output}`);
}
