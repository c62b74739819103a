import { Command, Option } from 'commander';
import { z } from 'zod';
import { CommandConflictError, DcoClient } from '../../client/dco-client';
import { MAX_TTL_TEXT, SendRequest, type SendRequestInput } from '../../client/send-request';
import { tracingPlugin } from '../../config/tracing';
import { isTerminal } from '../../protocol/command-state';
import type { CommandSnapshot } from '../../protocol/command-contract';
import { settingsFrom, withConnectionOptions } from '../connection-options';
import { commandJson, commandText, historyLines } from '../format-command';
import { parseDuration, parseJsonObject, parsePositiveInt, parsePriority, parseTimestamp } from '../parse-options';
import { UsageError } from '../usage-error';
import { withTemporal } from '../with-temporal';

export function sendCommand(): Command {
  return withConnectionOptions(new Command('send'))
    .description('send a command to a device')
    .argument('<deviceId>', 'target device')
    .argument('<name>', 'command name, e.g. reboot')
    .addOption(new Option('--params <json>', 'command parameters as a JSON object').argParser(parseJsonObject))
    .addOption(new Option('--id <commandId>', 'your own commandId: sending it again returns the same command'))
    .addOption(new Option('--ack-timeout <duration>', 'per attempt: wait for the ack (default 10s)').argParser(parseDuration))
    .addOption(new Option('--result-timeout <duration>', 'after the ack: wait for the result (default 60s)').argParser(parseDuration))
    .addOption(
      new Option('--ttl <duration>', `time to live: the device must not execute it later (default 10m, at most ${MAX_TTL_TEXT})`).argParser(parseDuration),
    )
    .addOption(
      new Option('--expires-at <timestamp>', `absolute deadline instead of --ttl, e.g. 2026-02-04T10:00:00Z (at most ${MAX_TTL_TEXT} from now)`)
        .argParser(parseTimestamp)
        .conflicts('ttl'),
    )
    .addOption(new Option('--max-attempts <n>', 'publishes at most, counting the first (default 5)').argParser(parsePositiveInt))
    .option('--serial', "one at a time on this device: published once the device's serial commands ahead of it ended")
    .addOption(new Option('--priority <0-9>', 'with --serial: a higher one goes before waiting commands of lower ones (default 0)').argParser(parsePriority))
    .option('--wait', 'wait for the outcome, showing each step; exit 1 unless it Succeeded')
    .option('--json', 'print one JSON object')
    .option('--tracing', 'OpenTelemetry spans (JSON lines on stderr), continued by a traced worker (or DCO_TRACING=1)')
    .action(async (deviceId: string, name: string, opts) => {
      const settings = settingsFrom(opts);
      const request: SendRequestInput = {
        deviceId,
        name,
        params: opts.params ?? {},
        ...(opts.id ? { commandId: opts.id } : {}),
        ...(opts.ackTimeout ? { ackTimeoutMs: opts.ackTimeout } : {}),
        ...(opts.resultTimeout ? { resultTimeoutMs: opts.resultTimeout } : {}),
        ...(opts.ttl ? { ttlMs: opts.ttl } : {}),
        ...(opts.expiresAt ? { expiresAt: opts.expiresAt } : {}),
        ...(opts.maxAttempts ? { maxAttempts: opts.maxAttempts } : {}),
        ...(opts.serial ? { ordering: { mode: 'serial', priority: opts.priority ?? 0 } } : {}),
      };
      if (opts.priority !== undefined && !opts.serial) throw new UsageError('--priority orders serial commands: add --serial');
      // Bad input is reported before anything is contacted.
      const invalid = SendRequest.safeParse(request);
      if (!invalid.success) throw new UsageError(z.prettifyError(invalid.error));
      await withTemporal(settings, async ({ connection }) => {
        const tracing = tracingPlugin('client', opts.tracing || undefined);
        const client = new DcoClient({ connection, namespace: settings.namespace, taskQueue: settings.taskQueue, ...(tracing ? { plugins: [tracing] } : {}) });
        const handle = await client.send(request).catch((err: unknown) => {
          throw err instanceof CommandConflictError ? new UsageError(err.message) : err;
        });
        if (!opts.wait) {
          const snapshot = await handle.state();
          process.stdout.write(opts.json ? JSON.stringify(commandJson(snapshot)) + '\n' : `${handle.commandId}\n`);
          return;
        }
        const outcome = opts.json ? await handle.result() : await follow(() => handle.state(), handle.result());
        process.stdout.write(opts.json ? JSON.stringify(commandJson(outcome)) + '\n' : commandText(outcome) + '\n');
        if (outcome.state !== 'Succeeded') process.exitCode = 1;
      });
    });
}

/** Prints history entries on stderr as they happen, until the outcome is known. */
async function follow(state: () => Promise<CommandSnapshot>, outcome: Promise<CommandSnapshot>): Promise<CommandSnapshot> {
  let printed = 0;
  let done = false;
  void outcome.finally(() => (done = true)).catch(() => {});
  while (!done) {
    const s = await state().catch(() => undefined);
    if (s) {
      const lines = historyLines(s);
      for (const line of lines.slice(printed)) process.stderr.write(line + '\n');
      printed = lines.length;
      if (isTerminal(s.state)) break;
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  return outcome;
}
