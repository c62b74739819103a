import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { trackChild, untrackChild } from './reaper';

export interface NodeProcessOptions {
  name: string;
  /** A TypeScript or JavaScript entry point; run with tsx's require hook. */
  script: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  /** Working directory: the run's data directory, so no default path under `.data/` is shared with other runs. */
  cwd: string;
  /** stdout and stderr are appended here. */
  logFile: string;
  /** Text the process prints once it is ready (e.g. `worker started`). */
  readyText: string;
  startTimeoutMs: number;
}

const TSX = require.resolve('tsx/cjs');

/**
 * A Node.js child in its own process group (so a SIGKILL takes everything it may have started),
 * ready when it prints `readyText`.
 */
export class NodeProcess {
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private done = false;

  private constructor(
    readonly name: string,
    private readonly child: ChildProcess,
  ) {
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.done = true;
        untrackChild(child.pid);
        resolve({ code, signal });
      });
      child.once('error', () => {
        this.done = true;
        untrackChild(child.pid);
        resolve({ code: -1, signal: null });
      });
    });
  }

  static async start(o: NodeProcessOptions): Promise<NodeProcess> {
    const log = createWriteStream(o.logFile, { flags: 'a' });
    log.write(`--- ${new Date().toISOString()} starting ${o.name}\n`);
    const child = spawn(process.execPath, ['--require', TSX, o.script, ...o.args], {
      env: o.env,
      cwd: o.cwd,
      detached: true, // its own process group
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    trackChild(child.pid, o.name, true);
    const p = new NodeProcess(o.name, child);
    let tail = '';
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${o.name} did not print "${o.readyText}" within ${o.startTimeoutMs} ms; see ${o.logFile}`)),
        o.startTimeoutMs,
      );
      const watch = (chunk: Buffer) => {
        tail = (tail + chunk.toString('utf8')).slice(-4096);
        if (tail.includes(o.readyText)) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout!.on('data', watch);
      child.stderr!.on('data', watch);
      void p.exited.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(new Error(`${o.name} exited during start (code ${code}, signal ${signal}); see ${o.logFile}`));
      });
    });
    child.stdout!.pipe(log);
    child.stderr!.pipe(log);
    try {
      await ready;
    } catch (err) {
      await p.kill();
      throw err;
    }
    return p;
  }

  get running(): boolean {
    return !this.done;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** `kill -9` of the process group. */
  async kill(): Promise<void> {
    if (this.done) return;
    try {
      process.kill(-this.child.pid!, 'SIGKILL');
    } catch {
      this.child.kill('SIGKILL');
    }
    await this.exited;
  }

  /** SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.done) return;
    try {
      process.kill(-this.child.pid!, 'SIGTERM');
    } catch {
      this.child.kill('SIGTERM');
    }
    const timer = setTimeout(() => void this.kill(), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}
