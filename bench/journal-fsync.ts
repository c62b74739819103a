/**
 * `npx tsx bench/journal-fsync.ts [--commands N]`: what fsyncing the device journal costs.
 * Runs the same command sequence (ack, executing, result, delivered: four records a command)
 * through a CommandJournal with and without fsync, in one process on the same disk, and
 * prints per-command times and their ratio. The figure in docs/protocol.md comes from here.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CommandJournal } from '../device/command-journal';
import { PROTOCOL_VERSION } from '../protocol/messages';

let runs = 0;

function run(dir: string, durable: boolean, commands: number): number {
  const journal = new CommandJournal(dir, `bench-${durable ? 'fsync' : 'plain'}`, durable);
  const run = ++runs; // fresh command IDs: a command the journal already knows is answered, not recorded again
  const started = process.hrtime.bigint();
  for (let i = 0; i < commands; i++) {
    const commandId = `c-${run}-${i}`;
    const now = Date.now();
    const command = {
      v: PROTOCOL_VERSION,
      commandId,
      name: 'ping',
      params: {},
      attempt: 1,
      issuedAt: new Date(now).toISOString(),
      expiresAt: new Date(now + 60_000).toISOString(),
    };
    journal.book.receive(command, now, () => undefined);
    journal.book.started(commandId, now);
    journal.book.finished(commandId, { v: PROTOCOL_VERSION, commandId, status: 'succeeded', output: { i } }, now);
    journal.book.delivered(commandId, now);
  }
  journal.close();
  return Number(process.hrtime.bigint() - started) / 1e6;
}

const arg = process.argv.indexOf('--commands');
const commands = arg > 0 ? Number(process.argv[arg + 1]) : 500;
const dir = mkdtempSync(path.join(process.env.DCO_BENCH_DIR ?? os.tmpdir(), 'journal-bench-'));
try {
  run(dir, false, 50); // warm-up
  const plainMs = run(dir, false, commands);
  const fsyncMs = run(dir, true, commands);
  const perCommand = (ms: number) => Math.round((ms / commands) * 1000) / 1000;
  console.log(
    JSON.stringify(
      {
        commands,
        recordsPerCommand: 4,
        dir,
        plainMsPerCommand: perCommand(plainMs),
        fsyncMsPerCommand: perCommand(fsyncMs),
        ratio: Math.round((fsyncMs / plainMs) * 10) / 10,
      },
      null,
      2,
    ),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
