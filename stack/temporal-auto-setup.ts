import { Connection } from '@temporalio/client';
import { execFile } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import path from 'node:path';
import { cliTypeName, probeClause, SEARCH_ATTRIBUTES } from '../protocol/search-attributes';
import { waitFor } from './net';
import type { PostgresCluster } from './postgres-cluster';
import { ensureTemporalBinary } from './temporal-binary';

/** The databases the schemas go into (compose's, in COMPOSE_TEMPORAL). */
export interface SchemaSettings {
  plugin: string;
  database: string;
  visibilityDatabase: string;
}

/** The namespace to register (compose's, in COMPOSE_TEMPORAL). */
export interface NamespaceSettings {
  namespace: string;
  retention: string;
}

/** Runs a program; resolves with its exit code and output (also appended to `logFile`). */
function run(command: string, args: string[], logFile: string, env?: NodeJS.ProcessEnv): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { encoding: 'utf8', env: { ...process.env, ...env } }, (err, stdout, stderr) => {
      const output = `${stdout}${stderr}`.trim();
      appendFileSync(logFile, `$ ${path.basename(command)} ${args.join(' ')}\n${output}\n`);
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, output });
    });
  });
}

/**
 * What auto-setup does before it starts the server: create both databases, the version tables,
 * then every schema version up to the one this server needs. Each step is a no-op when done,
 * so a second start on the same data only checks. The schemas are the ones the tool embeds
 * (schema/postgresql/v12/... of the server module), so nothing depends on the Go module cache.
 */
export async function setupSchemas(sqlTool: string, pg: PostgresCluster, logFile: string, s: SchemaSettings): Promise<void> {
  const connect = ['--plugin', s.plugin, '--ep', pg.host, '-p', String(pg.port), '-u', pg.user];
  // The password in the environment (the tool's SQL_PASSWORD), not on a command line others can read.
  const env = { SQL_PASSWORD: pg.password };
  const steps = [
    [s.database, 'postgresql/v12/temporal'],
    [s.visibilityDatabase, 'postgresql/v12/visibility'],
  ];
  for (const [db, schema] of steps) {
    const create = await run(sqlTool, [...connect, '--db', db, 'create-database'], logFile, env);
    if (create.code !== 0 && !/already exists/.test(create.output)) throw new Error(`temporal-sql-tool create-database ${db} failed; see ${logFile}`);
    for (const step of [
      ['setup-schema', '-v', '0.0'],
      ['update-schema', '--schema-name', schema],
    ]) {
      const done = await run(sqlTool, [...connect, '--db', db, ...step], logFile, env);
      if (done.code !== 0) throw new Error(`temporal-sql-tool ${step[0]} on ${db} failed; see ${logFile}`);
    }
  }
}

/**
 * What auto-setup and the temporal-admin-tools job do once the server is up: register the
 * namespace (the server does not create it) and dco's search attributes, then wait until the
 * frontend accepts a query that uses all of them (it learns them when its namespace cache
 * refreshes), so the first command cannot be refused.
 */
export async function setupNamespace(address: string, logFile: string, timeoutMs: number, s: NamespaceSettings): Promise<void> {
  const cli = ensureTemporalBinary();
  const ns = ['--namespace', s.namespace, '--address', address];
  let last = '';
  await waitFor(
    async () => {
      if ((await run(cli, ['operator', 'namespace', 'describe', ...ns], logFile)).code === 0) return true;
      const created = await run(cli, ['operator', 'namespace', 'create', ...ns, '--retention', s.retention], logFile);
      last = created.output;
      return created.code === 0;
    },
    timeoutMs,
    () => `could not create the namespace ${s.namespace}: ${last}`,
  );
  // One call with every attribute, as `--name N --type T` pairs. The CLI refuses an attribute
  // that exists with another type (the server, on SQL visibility, would skip it silently); one
  // with the same type is skipped. A new namespace reaches the frontend's namespace cache within
  // seconds; until then this fails with "Namespace default is not found": retried.
  const pairs = SEARCH_ATTRIBUTES.flatMap((key) => ['--name', key.name, '--type', cliTypeName(key)]);
  await waitFor(
    async () => {
      const added = await run(cli, ['operator', 'search-attribute', 'create', ...ns, ...pairs], logFile);
      last = added.output;
      if (/different type/.test(last)) throw new Error(last);
      return added.code === 0;
    },
    timeoutMs,
    () => `could not register the search attributes: ${last}`,
  );
  const connection = await Connection.connect({ address });
  try {
    const query = SEARCH_ATTRIBUTES.map(probeClause).join(' AND ');
    await waitFor(
      () =>
        connection.workflowService
          .listWorkflowExecutions({ namespace: s.namespace, query, pageSize: 1 })
          .then(() => true)
          .catch(() => false),
      timeoutMs,
      () => `the search attributes are still not queryable after ${timeoutMs} ms`,
    );
  } finally {
    await connection.close();
  }
}
