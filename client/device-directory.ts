import type { Client } from '@temporalio/client';
import { connectMqtt, waitForConnect } from '../config/mqtt-connect';
import { COMMAND_WORKFLOW_TYPE } from '../protocol/command-contract';
import { StatusMessage } from '../protocol/messages';
import { CommandStateAttribute, DeviceIdAttribute } from '../protocol/search-attributes';
import { allDevicesTopic, parseDeviceTopic } from '../protocol/topics';

export interface DeviceEntry {
  deviceId: string;
  /** `unknown`: the device never published a status, but has open commands. */
  state: 'online' | 'offline' | 'unknown';
  bootId?: string;
  /** The `ts` of its last status (heartbeat), by the device's clock. */
  lastSeen?: string;
  openCommands: Array<{ commandId: string; state: string }>;
}

/**
 * Presence as the broker holds it: the retained status of every device, read with a
 * throw-away subscription. Returns when no new status arrived for `quietMs`.
 */
export async function readRetainedStatuses(
  o: {
    mqttUrl: string;
    username?: string;
    password?: string;
    caFile?: string;
    topicPrefix: string;
    /** Fail after this long without a connection, naming the broker's last refusal or error. */
    connectTimeoutMs?: number;
    log?: (message: string, details: Record<string, unknown>) => void;
  },
  quietMs = 300,
  maxMs = 10_000,
): Promise<Map<string, StatusMessage>> {
  const name = 'status reader';
  const client = connectMqtt({ url: o.mqttUrl, name, clean: true, username: o.username, password: o.password, caFile: o.caFile, log: o.log });
  const statuses = new Map<string, StatusMessage>();
  try {
    await waitForConnect(client, { name, url: o.mqttUrl }, o.connectTimeoutMs ?? 10_000);
    let last = Date.now();
    client.on('message', (topic, payload, packet) => {
      if (!packet.retain) return;
      const parsed = parseDeviceTopic(o.topicPrefix, topic);
      const status = parsed && StatusMessage.safeParse(safeJson(payload.toString('utf8')));
      if (parsed && status?.success) statuses.set(parsed.deviceId, status.data);
      last = Date.now();
    });
    await client.subscribeAsync(allDevicesTopic(o.topicPrefix, 'status'), { qos: 1 });
    const started = Date.now();
    while (Date.now() - last < quietMs && Date.now() - started < maxMs) await new Promise((r) => setTimeout(r, 50));
  } finally {
    await client.endAsync(!client.connected);
  }
  return statuses;
}

/** Every device with a status or an open command, sorted by deviceId. */
export async function listDevices(temporal: Client, mqttOptions: Parameters<typeof readRetainedStatuses>[0]): Promise<DeviceEntry[]> {
  const statuses = await readRetainedStatuses(mqttOptions);
  const devices = new Map<string, DeviceEntry>();
  for (const [deviceId, s] of statuses) {
    devices.set(deviceId, { deviceId, state: s.state, bootId: s.bootId, ...(s.ts ? { lastSeen: s.ts } : {}), openCommands: [] });
  }
  const query = `WorkflowType = '${COMMAND_WORKFLOW_TYPE}' AND ExecutionStatus = 'Running'`;
  for await (const w of temporal.workflow.list({ query })) {
    const deviceId = w.typedSearchAttributes.get(DeviceIdAttribute);
    if (!deviceId) continue;
    const entry = devices.get(deviceId) ?? { deviceId, state: 'unknown' as const, openCommands: [] };
    entry.openCommands.push({ commandId: w.workflowId.replace(/^command-/, ''), state: w.typedSearchAttributes.get(CommandStateAttribute) ?? '?' });
    devices.set(deviceId, entry);
  }
  return [...devices.values()].sort((a, b) => a.deviceId.localeCompare(b.deviceId));
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
