import path from 'node:path';
import { DeviceAgent, type DeviceAgentOptions } from '../../device/device-agent';
import type { LocalStack } from '../../stack/local-stack';

/**
 * A device of a running LocalStack: its broker has authentication on, as with `dco up`, so the
 * device gets its own login first (the password is the one the broker now knows).
 */
export async function startStackDevice(stack: LocalStack, deviceId: string, dir: string, handlers: DeviceAgentOptions['handlers']): Promise<DeviceAgent> {
  const password = stack.mosquitto.auth!.addDevice(deviceId);
  await stack.mosquitto.auth!.reloadAndWait();
  const device = new DeviceAgent({ deviceId, mqttUrl: stack.mqttUrl, username: deviceId, password, journalDir: path.join(dir, 'journals'), handlers });
  await device.start();
  return device;
}
