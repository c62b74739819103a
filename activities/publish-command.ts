import { ApplicationFailure } from '@temporalio/common';
import {
  PUBLISH_FAILURE_TYPES,
  type CommandActivities,
  type PublishCancelInput,
  type PublishCommandInput,
  type PublishCommandResult,
} from '../protocol/command-contract';
import { deviceTopic } from '../protocol/topics';
import type { MqttPublisher } from './mqtt-publisher';
import type { PresenceSource } from './entity-presence';
import { MAX_MESSAGE_EXPIRY_SECONDS, PublishRefusedError } from './publish-guard';

export interface CommandActivityDeps {
  publisher: MqttPublisher;
  topicPrefix: string;
  /** Where device presence is read (the device entity); without it every command is published. */
  presence?: PresenceSource;
  /** Injected for tests; defaults to the wall clock. */
  now?: () => number;
}

/**
 * Seconds until the command expires, rounded up: the MQTT v5 message expiry, so a broker never
 * delivers a stale command to a device that comes back late. Clamped into [1, 2^32 - 1], the
 * range of the four-byte property (callers check for expiry first: 1 is not "expired").
 */
export function messageExpirySeconds(expiresAt: string, nowMs: number): number {
  const seconds = Math.ceil((Date.parse(expiresAt) - nowMs) / 1000);
  if (Number.isNaN(seconds)) return 1;
  return Math.min(MAX_MESSAGE_EXPIRY_SECONDS, Math.max(1, seconds));
}

export function createCommandActivities(deps: CommandActivityDeps): CommandActivities {
  const now = deps.now ?? Date.now;
  return {
    async publishCommand({ deviceId, command, knownPresenceAt }: PublishCommandInput): Promise<PublishCommandResult> {
      const expiresAtMs = Date.parse(command.expiresAt);
      if (Number.isNaN(expiresAtMs)) {
        throw ApplicationFailure.nonRetryable(`expiresAt ${JSON.stringify(command.expiresAt)} is not a date`, PUBLISH_FAILURE_TYPES.refused);
      }
      const nowMs = now();
      if (expiresAtMs <= nowMs) {
        throw ApplicationFailure.nonRetryable(`command ${command.commandId} expired at ${command.expiresAt}`, PUBLISH_FAILURE_TYPES.expired);
      }
      const presence = await deps.presence?.get(deviceId);
      // Offline is a normal state: hold the command (the workflow waits without using attempts),
      // unless the workflow heard newer news from the bridge (the entity lags behind in a storm).
      const newer = presence !== undefined && (knownPresenceAt === undefined || Date.parse(presence.observedAt) > Date.parse(knownPresenceAt));
      if (presence?.state === 'offline' && newer) return { published: false, presence };
      try {
        // A BrokerUnavailableError or a missing PUBACK fails this attempt; Temporal retries it.
        await deps.publisher.publish(
          deviceTopic(deps.topicPrefix, deviceId, 'commands'),
          JSON.stringify(command),
          messageExpirySeconds(command.expiresAt, nowMs),
        );
      } catch (err) {
        if (!(err instanceof PublishRefusedError)) throw err;
        // Refused for good (the broker said so, or it could not be encoded): retrying would only
        // be refused again. The workflow ends the command with this reason.
        throw ApplicationFailure.create({
          message: err.reason,
          type: PUBLISH_FAILURE_TYPES.refused,
          nonRetryable: true,
          details: err.reasonCode === undefined ? [] : [{ reasonCode: err.reasonCode }],
        });
      }
      return presence ? { published: true, presence } : { published: true };
    },

    async publishCancel({ deviceId, cancel, expirySeconds }: PublishCancelInput): Promise<void> {
      try {
        await deps.publisher.publish(deviceTopic(deps.topicPrefix, deviceId, 'cancel'), JSON.stringify(cancel), Math.max(1, Math.ceil(expirySeconds)));
      } catch (err) {
        if (!(err instanceof PublishRefusedError)) throw err;
        // The broker will not take it (e.g. an ACL without the cancel topic): the workflow says so
        // and waits for the device's answer to the command itself.
        throw ApplicationFailure.create({ message: err.reason, type: PUBLISH_FAILURE_TYPES.refused, nonRetryable: true });
      }
    },
  };
}
