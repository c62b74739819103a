import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { guardChild } from './process-group-guard';

export interface ManagedProcessOptions {
  name: string;
  command: string;
  args: string[];
  /** stdout and stderr are appended here, so a failure can be diagnosed afterwards. */
  logFile: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /**
   * Run it in a process group of its own, so that a terminal's Ctrl-C (which signals the whole
   * foreground group) reaches only its supervisor, which stops its processes in order: the
   * services before Temporal and Mosquitto, which they need to stop cleanly. Such a child is
   * still ended with us (process-group-guard.ts), since it no longer shares our group's fate.
   */
  ownProcessGroup?: boolean;
}

/** How long an exited process's output may take to reach its log. */
const OUTPUT_DRAIN_MS = 2_000;

/** A child process we start, watch and stop; its output goes to a log file. */
export class ManagedProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private exitedFlag = false;

  constructor(readonly options: ManagedProcessOptions) {
    const log = createWriteStream(options.logFile, { flags: 'a' });
    this.child = spawn(options.command, options.args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: options.ownProcessGroup === true,
    });
    if (options.ownProcessGroup) guardChild(this.child);
    // Both streams into one file: neither may end it for the other.
    this.child.stdout!.pipe(log, { end: false });
    this.child.stderr!.pipe(log, { end: false });
    // Output still in the pipes when the process exits (its last words: why it failed to
    // start) must be in the log before anyone reads it: the exit counts once both streams
    // closed and the file has it, or after OUTPUT_DRAIN_MS if a grandchild holds a pipe open.
    const closed = (stream: NodeJS.ReadableStream) => new Promise<void>((resolve) => stream.once('close', () => resolve()));
    const bothClosed = Promise.all([closed(this.child.stdout!), closed(this.child.stderr!)]);
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        const drained = Promise.race([bothClosed, new Promise<void>((r) => setTimeout(r, OUTPUT_DRAIN_MS).unref())]);
        void drained.then(() => {
          log.end(() => {
            this.exitedFlag = true;
            resolve({ code, signal });
          });
        });
      });
      this.child.once('error', (err) => {
        this.exitedFlag = true;
        log.write(`failed to start ${options.command}: ${err.message}\n`);
        resolve({ code: -1, signal: null });
      });
    });
  }

  get running(): boolean {
    return !this.exitedFlag;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** SIGTERM, then SIGKILL if it has not exited after `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** An abrupt death (`kill -9`), for restart tests. */
  async kill(): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }
}
