import type { MqttPublisher } from '../../activities/mqtt-publisher';
import type { PresenceSource } from '../../activities/entity-presence';
import { createCommandActivities } from '../../activities/publish-command';
import type { DevicePresence } from '../../protocol/command-contract';
import type { CommandMessage } from '../../protocol/messages';

/**
 * The publish activity asks the device's entity for presence and holds a command only for a
 * device the entity says is offline, and only when that is newer than what the workflow heard.
 * A recording publisher and a fixed presence source: the logic alone, no broker, no Temporal.
 */
const NOW = Date.UTC(2026, 1, 4, 10, 0, 0);
const at = (s: number) => new Date(NOW + s * 1000).toISOString();
const command: CommandMessage = { v: 1, commandId: 'c-1', name: 'ping', params: {}, attempt: 1, issuedAt: at(0), expiresAt: at(600) };

function activities(presence: DevicePresence | undefined) {
  const published: string[] = [];
  const publisher = { publish: async (topic: string) => void published.push(topic) } as unknown as MqttPublisher;
  const source: PresenceSource = { get: async () => presence };
  return { published, publish: createCommandActivities({ publisher, topicPrefix: 'devices', presence: source, now: () => NOW }).publishCommand };
}
const offline = (s: number): DevicePresence => ({ deviceId: 'd1', state: 'offline', bootId: 'b1', observedAt: at(s) });

describe('publish activity and presence', () => {
  test('unknown presence (no entity, or it predates the memo): published', async () => {
    const a = activities(undefined);
    expect(await a.publish({ deviceId: 'd1', command })).toEqual({ published: true });
    expect(a.published).toEqual(['devices/d1/commands']);
  });

  test('the entity says offline and the workflow knows nothing newer: held, nothing published', async () => {
    const a = activities(offline(-5));
    expect(await a.publish({ deviceId: 'd1', command })).toEqual({ published: false, presence: offline(-5) });
    expect(await a.publish({ deviceId: 'd1', command, knownPresenceAt: at(-10) })).toEqual({ published: false, presence: offline(-5) });
    expect(a.published).toEqual([]);
  });

  test('the workflow heard newer news from the bridge (the entity lags): published, the entity ignored', async () => {
    const a = activities(offline(-5));
    expect(await a.publish({ deviceId: 'd1', command, knownPresenceAt: at(-5) })).toEqual({ published: true, presence: offline(-5) });
    expect(await a.publish({ deviceId: 'd1', command, knownPresenceAt: at(-1) })).toEqual({ published: true, presence: offline(-5) });
    expect(a.published).toHaveLength(2);
  });

  test('online: published', async () => {
    const online = { ...offline(-5), state: 'online' as const };
    const a = activities(online);
    expect(await a.publish({ deviceId: 'd1', command })).toEqual({ published: true, presence: online });
  });
});
