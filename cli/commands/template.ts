import { Command, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { TemplateClient, TemplateNotFoundError } from '../../client/template-client';
import { settingsFrom, withConnectionOptions } from '../connection-options';
import { parsePositiveInt } from '../parse-options';
import { UsageError } from '../usage-error';
import { withTemporal } from '../with-temporal';

/** A template's JSON file; unreadable or not JSON is a usage error that names the file. */
function readTemplateFile(file: string): unknown {
  let text: string;
  try {
    text = file === '-' ? readFileSync(0, 'utf8') : readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read template file ${file}: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${file} is not JSON: ${(err as Error).message}`);
  }
}

/** Runs `act` with a template client; the client's refusals become usage errors (exit code 2). */
async function withTemplates<T>(opts: Record<string, unknown>, act: (templates: TemplateClient) => Promise<T>): Promise<T> {
  const settings = settingsFrom(opts);
  return withTemporal(settings, ({ client }) =>
    act(new TemplateClient(client, settings.taskQueue)).catch((err: unknown) => {
      if (err instanceof TemplateNotFoundError) throw new UsageError(err.message);
      throw err;
    }),
  );
}

/** `dco template add|list|show`: named, versioned rollout definitions for `dco rollout start --template`. */
export function templateCommand(): Command {
  const template = new Command('template').description('named, versioned rollout definitions (dco rollout start --template NAME)');
  withConnectionOptions(template.command('add'))
    .description('store a template (a JSON rollout spec without targets, with an optional paramsSchema) as its next version')
    .argument('<name>', 'template name, e.g. firmware-update')
    .requiredOption('--file <file>', 'the template as JSON (- for stdin); docs/examples/firmware-update.template.json is one')
    .option('--note <text>', 'why this version (kept with it)')
    .option('--json', 'machine-readable output')
    .action(async (name: string, opts) => {
      const body = readTemplateFile(opts.file);
      const added = await withTemplates(opts, (t) => t.add(name, body, opts.note));
      if (opts.json) process.stdout.write(JSON.stringify({ name, ...added }) + '\n');
      else
        process.stdout.write(
          added.unchanged ? `template ${name}: unchanged, still version ${added.version}\n` : `template ${name}: version ${added.version} stored\n`,
        );
    });
  withConnectionOptions(template.command('list'))
    .description('every template, with its command and latest version')
    .option('--json', 'machine-readable output')
    .action(async (opts) => {
      const all = await withTemplates(opts, (t) => t.list());
      if (opts.json) {
        process.stdout.write(JSON.stringify(all) + '\n');
        return;
      }
      if (!all.length) {
        process.stdout.write('no templates yet: add one with `dco template add NAME --file FILE`\n');
        return;
      }
      for (const t of all)
        process.stdout.write(
          `${t.name.padEnd(24)} v${String(t.latestVersion).padEnd(4)} ${t.command.padEnd(20)} ${t.updatedAt}${t.description ? `  ${t.description}` : ''}\n`,
        );
    });
  withConnectionOptions(template.command('show'))
    .description('one version of a template (default: the latest), as JSON')
    .argument('<name>')
    .addOption(new Option('--version <n>', 'the version to show').argParser(parsePositiveInt))
    .option('--versions', 'list the kept versions instead (number, time, note)')
    .action(async (name: string, opts) => {
      if (opts.versions) {
        const view = await withTemplates(opts, (t) => t.versions(name));
        for (const v of view.versions) process.stdout.write(`v${v.version}  ${v.addedAt}${v.note ? `  ${v.note}` : ''}\n`);
        return;
      }
      const shown = await withTemplates(opts, (t) => t.show(name, opts.version));
      process.stdout.write(JSON.stringify(shown, null, 2) + '\n');
    });
  return template;
}
