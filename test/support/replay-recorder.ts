import type { Client } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Set RECORD_HISTORIES=<dir> to also save the histories as JSON files (that is how the
 * committed ones under test/replay/histories were made: `npm run record:histories`).
 */
const RECORD_DIR = process.env.RECORD_HISTORIES;

/** Replays each closed workflow's history against the bundle; throws on any divergence. */
export async function replayAndRecord(client: Client, workflowIds: string[], bundlePath: string): Promise<void> {
  const histories = [];
  for (const workflowId of workflowIds) {
    const handle = client.workflow.getHandle(workflowId);
    const { status } = await handle.describe();
    if (status.name === 'RUNNING') continue; // only complete stories are worth replaying
    histories.push({ workflowId, history: await handle.fetchHistory() });
  }
  const failures: string[] = [];
  for await (const result of Worker.runReplayHistories({ workflowBundle: { codePath: bundlePath } }, histories)) {
    if (result.error) failures.push(`${result.workflowId}: ${String(result.error)}`);
  }
  if (failures.length) throw new Error(`replay diverged from recorded history:\n${failures.join('\n')}`);
  if (RECORD_DIR) {
    mkdirSync(RECORD_DIR, { recursive: true });
    for (const { workflowId, history } of histories) {
      writeFileSync(path.join(RECORD_DIR, `${workflowId.replace(/[^A-Za-z0-9._-]/g, '_')}.json`), historyToJSON(history) + '\n');
    }
  }
}
