import { MqttBridge, type BridgeOptions } from '../../bridge/mqtt-bridge';
import type { Harness } from './harness';

/** A started bridge on the harness's servers, one of the shared-subscription group `group`, with its own client ID. */
export async function startGroupBridge(h: Harness, clientId: string, group: string, options: Partial<BridgeOptions> = {}): Promise<MqttBridge> {
  const bridge = new MqttBridge({
    mqttUrl: h.mqttUrl,
    topicPrefix: h.topicPrefix,
    taskQueue: h.taskQueue,
    temporal: h.client.temporal,
    logger: h.logger,
    clientId,
    shareGroup: group,
    ...options,
  });
  await bridge.start();
  return bridge;
}
