import { bundleWorkflowCode } from '@temporalio/worker';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MosquittoBroker } from '../../stack/mosquitto-broker';
import { TemporalServer } from '../../stack/temporal-server';
import { workflowsPath } from '../../workers/command-worker';
import { TEST_ENV_VARS, TEST_SIGNAL_LIMIT } from './test-env';

/**
 * Starts one real Temporal dev server and one real Mosquitto for the whole run, on free ports
 * with temporary data, and bundles the workflows once. A missing prerequisite fails the run
 * with the command that fixes it.
 */
export default async function globalSetup(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dco-test-'));
  const started = Date.now();
  const [temporal, mosquitto] = await Promise.all([
    // The Web UI is on: a browser test inspects commands there.
    TemporalServer.start({
      dataDir: path.join(dir, 'temporal'),
      // Temporal's per-execution signal limit (10,000 by default), lowered so that a test can
      // reach it in seconds: the bridge must dead-letter the refused signal, not retry it forever.
      dynamicConfig: [`history.maximumSignalsPerExecution=${TEST_SIGNAL_LIMIT}`],
    }),
    MosquittoBroker.start({ dataDir: path.join(dir, 'mosquitto') }),
  ]);
  const bundle = await bundleWorkflowCode({ workflowsPath: workflowsPath(), logger: quietLogger });
  const bundlePath = path.join(dir, 'workflow-bundle.js');
  writeFileSync(bundlePath, bundle.code);

  process.env[TEST_ENV_VARS.dir] = dir;
  process.env[TEST_ENV_VARS.temporalAddress] = temporal.address;
  process.env[TEST_ENV_VARS.uiUrl] = temporal.uiUrl!;
  process.env[TEST_ENV_VARS.mqttUrl] = mosquitto.url;
  process.env[TEST_ENV_VARS.bundlePath] = bundlePath;
  (globalThis as Record<string, unknown>).__dcoServers = { temporal, mosquitto };
  process.stderr.write(`\n[test setup] Temporal ${temporal.address}, Mosquitto ${mosquitto.url}, data ${dir} (${Date.now() - started} ms)\n`);
}

const quietLogger = {
  log() {},
  trace() {},
  debug() {},
  info() {},
  warn(message: string) {
    process.stderr.write(`[bundler] ${message}\n`);
  },
  error(message: string) {
    process.stderr.write(`[bundler] ${message}\n`);
  },
};
