import { ApplicationFailure } from '@temporalio/common';
import type { CommandActivities, PublishCommandInput, PublishCommandResult } from '../protocol/command-contract';
import { deviceTopic } from '../protocol/topics';
import type { MqttPublisher } from './mqtt-publisher';
import type { PresenceView } from './presence-view';

export interface CommandActivityDeps {
  publisher: MqttPublisher;
  topicPrefix: string;
  /** Known device presence; without it every command is published. */
  presence?: PresenceView;
  /** Injected for tests; defaults to the wall clock. */
  now?: () => number;
}

/**
 * Seconds until the command expires, rounded up: the MQTT v5 message expiry, so a broker never
 * delivers a stale command to a device that comes back late.
 */
export function messageExpirySeconds(expiresAt: string, nowMs: number): number {
  return Math.ceil((Date.parse(expiresAt) - nowMs) / 1000);
}

export function createCommandActivities(deps: CommandActivityDeps): CommandActivities {
  const now = deps.now ?? Date.now;
  return {
    async publishCommand({ deviceId, command }: PublishCommandInput): Promise<PublishCommandResult> {
      const expiry = messageExpirySeconds(command.expiresAt, now());
      if (expiry <= 0) {
        throw ApplicationFailure.nonRetryable(`command ${command.commandId} expired at ${command.expiresAt}`, 'CommandExpired');
      }
      const presence = deps.presence?.get(deviceId);
      // Offline is a normal state: hold the command (the workflow waits without using attempts).
      if (presence?.state === 'offline') return { published: false, presence };
      // A BrokerUnavailableError or a missing PUBACK fails this attempt; Temporal retries it.
      await deps.publisher.publish(deviceTopic(deps.topicPrefix, deviceId, 'commands'), JSON.stringify(command), expiry);
      return presence ? { published: true, presence } : { published: true };
    },
  };
}
