import { connectMqtt, waitForConnect } from '../config/mqtt-connect';
import { PROTOCOL_VERSION, type CommandMessage } from '../protocol/messages';
import { allDevicesTopic, deviceTopic } from '../protocol/topics';
import { runConcurrently } from './percentiles';

/**
 * Baseline without Temporal: publish a command and wait for the device's result on the same
 * broker and simulated devices, with the same concurrency. The fastest a round trip can be.
 */
export async function rawMqttRoundTrip(mqttUrl: string, topicPrefix: string, deviceIds: readonly string[], n: number, concurrency: number) {
  const name = 'raw MQTT baseline';
  const client = connectMqtt({ url: mqttUrl, name, clean: true });
  await waitForConnect(client, { name, url: mqttUrl });
  const waiting = new Map<string, () => void>();
  client.on('message', (_topic, payload) => {
    const { commandId } = JSON.parse(payload.toString()) as { commandId: string };
    waiting.get(commandId)?.();
    waiting.delete(commandId);
  });
  await client.subscribeAsync(allDevicesTopic(topicPrefix, 'result'), { qos: 1 });
  const run = Date.now().toString(36);
  try {
    return await runConcurrently(n, concurrency, async (i) => {
      const deviceId = deviceIds[i % deviceIds.length];
      const command: CommandMessage = {
        v: PROTOCOL_VERSION,
        commandId: `raw-${run}-${i}`,
        name: 'ping',
        params: {},
        attempt: 1,
        issuedAt: new Date().toISOString(),
        expiresAt: new Date(Date.now() + 60_000).toISOString(),
      };
      const answered = new Promise<void>((resolve) => waiting.set(command.commandId, resolve));
      await client.publishAsync(deviceTopic(topicPrefix, deviceId, 'commands'), JSON.stringify(command), { qos: 1, properties: { messageExpiryInterval: 60 } });
      await answered;
    });
  } finally {
    await client.endAsync();
  }
}
