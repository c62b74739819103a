import { Command, InvalidArgumentError, Option } from 'commander';
import { readDeadLetters } from '../../bridge/dead-letter-files';
import { DEAD_LETTER_REASONS, DEFAULT_DEADLETTER_DIR, type DeadLetter } from '../../bridge/dead-letter-record';

/**
 * What the bridge rejected: counts per reason since the record began (exact, also for entries
 * rotated away) and the latest entries with their topic, reason and payload.
 */
export function deadlettersCommand(): Command {
  return new Command('deadletters')
    .description('messages the bridge rejected (malformed, oversized, too deep, unknown command, spoofed ...): counts per reason and the latest ones')
    .addOption(
      new Option('--dir <dir>', "the bridge's dead-letter directory").default(
        process.env.DCO_DEADLETTER_DIR || DEFAULT_DEADLETTER_DIR,
        'env DCO_DEADLETTER_DIR, else .data/deadletters',
      ),
    )
    .addOption(new Option('--limit <n>', 'how many of the latest entries to show').default(20).argParser(parseCount))
    .option('--json', 'print one JSON object: {dir, total, totals, firstAt, lastAt, kept, latest}')
    .action((opts) => {
      const report = readDeadLetters(opts.dir, opts.limit);
      if (!report.exists) {
        process.stderr.write(`no dead-letter record in ${opts.dir}: nothing was rejected yet, or the bridge writes elsewhere (--dir, DCO_DEADLETTER_DIR)\n`);
      }
      if (opts.json) {
        process.stdout.write(JSON.stringify(report) + '\n');
        return;
      }
      const out: string[] = [];
      out.push(`${report.total} dead letters in ${report.dir}` + (report.firstAt ? ` (${report.firstAt} … ${report.lastAt})` : ''));
      const width = Math.max(...DEAD_LETTER_REASONS.map((r) => r.length));
      for (const reason of DEAD_LETTER_REASONS) out.push(`  ${reason.padEnd(width)}  ${String(report.totals[reason] ?? 0).padStart(8)}`);
      if (report.latest.length) {
        out.push('', `latest ${report.latest.length} (oldest first; ${report.kept} kept on disk):`);
        for (const letter of report.latest) out.push(...entryLines(letter));
      }
      process.stdout.write(out.join('\n') + '\n');
    });
}

function entryLines(l: DeadLetter): string[] {
  const payload =
    l.payloadEncoding === 'utf8' ? JSON.stringify(l.payload.length > 160 ? l.payload.slice(0, 160) : l.payload) : `base64:${l.payload.slice(0, 160)}`;
  const cut = l.payloadTruncated || l.payload.length > 160 ? ' …' : '';
  return [
    `  #${l.seq} ${l.receivedAt}  ${l.reason}  ${l.topic}${l.commandId ? `  command ${l.commandId}` : ''}`,
    `      ${l.detail.split('\n')[0].slice(0, 200)}`,
    `      ${l.payloadBytes} bytes: ${payload}${cut}`,
  ];
}

function parseCount(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`expected a whole number >= 0, got "${value}"`);
  return Number(value);
}
