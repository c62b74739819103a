import type { DevicePresence } from '../protocol/command-contract';

export type PresenceChange = 'came-online' | 'rebooted' | 'went-offline' | 'unchanged';

/**
 * The bridge's memory of each device's last status, to tell a change (came online, rebooted)
 * from a repeat (a heartbeat, a redelivered message). Pure: the caller decides what to do.
 */
export class PresenceTracker {
  private readonly devices = new Map<string, DevicePresence>();

  /** Records `next` and says how it differs from what was known. */
  observe(next: DevicePresence): PresenceChange {
    const before = this.devices.get(next.deviceId);
    this.devices.set(next.deviceId, next);
    if (next.state === 'offline') return before?.state === 'offline' ? 'unchanged' : 'went-offline';
    if (!before) return 'came-online';
    if (before.bootId !== next.bootId) return 'rebooted';
    return before.state === 'online' ? 'unchanged' : 'came-online';
  }

  get(deviceId: string): DevicePresence | undefined {
    return this.devices.get(deviceId);
  }

  all(): DevicePresence[] {
    return [...this.devices.values()];
  }
}
