import type { CommandRequest } from '../protocol/command-contract';
import { recordPublish } from './command-metrics';
import { recordPublished, startAttempt } from './command-record';
import type { publishAsActivity, publishAsLocalActivity } from './command-activity-proxies';
import type { CommandRun } from './command-run';
import type { UpdateRecord } from './command-observability';
import { now } from './workflow-clock';

/** What a publish needs of the running command (command-workflow.ts). */
export interface PublishingCommand {
  request: Pick<CommandRequest, 'commandId' | 'deviceId' | 'name' | 'params' | 'expiresAt'>;
  run: Pick<CommandRun, 'record' | 'presence' | 'attempt' | 'firstPublishedAt' | 'lastPublishAt' | 'lastSentAt' | 'publishCause'>;
  update: UpdateRecord;
  /** The publish activity: local since LEAN_HISTORY_PATCH (command-patches.ts). */
  publishCommand: typeof publishAsLocalActivity | typeof publishAsActivity;
}

/** Returns `publish`: publishes attempt `attempt + 1`; false when the device is offline (nothing published). */
export function attemptPublisher(c: PublishingCommand): () => Promise<boolean> {
  const { request, run, update, publishCommand } = c;
  const publish = async (): Promise<boolean> => {
    run.firstPublishedAt ??= Date.now();
    run.lastPublishAt = Date.now();
    update(startAttempt(run.record, run.attempt + 1));
    const result = await publishCommand({
      deviceId: request.deviceId,
      ...(run.presence ? { knownPresenceAt: run.presence.observedAt } : {}),
      command: {
        v: 1,
        commandId: request.commandId,
        name: request.name,
        params: request.params,
        attempt: run.attempt + 1,
        issuedAt: now(),
        expiresAt: request.expiresAt,
      },
    });
    if (result.presence && (!run.presence || Date.parse(result.presence.observedAt) >= Date.parse(run.presence.observedAt))) {
      run.presence = result.presence;
    }
    if (!result.published) {
      if (run.attempt === 0) run.firstPublishedAt = undefined; // waiting for an offline device is not ack latency
      update(startAttempt(run.record, run.attempt)); // nothing was sent: no attempt used
      return false;
    }
    run.attempt++;
    run.lastSentAt = run.lastPublishAt;
    recordPublish(run.publishCause);
    update(recordPublished(run.record, now()));
    return true;
  };
  return publish;
}
