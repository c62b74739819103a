import { existsSync } from 'node:fs';
import path from 'node:path';
import { BrokerAuth, type ServiceAccount } from './broker-auth';

/** Where `dco up` keeps the broker's files by default. */
export const DEFAULT_BROKER_DIR = path.join('.data', 'mosquitto');

/**
 * A service account's MQTT credentials from a local broker started by `dco up`, so commands
 * run next to it need no passwords typed in. Undefined when there is no such broker.
 */
export function localCredentials(account: ServiceAccount, brokerDir = DEFAULT_BROKER_DIR): { username: string; password: string } | undefined {
  const auth = new BrokerAuth(brokerDir);
  if (!existsSync(auth.credentialsFile)) return undefined;
  try {
    return auth.credentialsOf(account);
  } catch {
    return undefined;
  }
}
