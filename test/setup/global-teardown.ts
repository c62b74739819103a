import type { MosquittoBroker } from '../../stack/mosquitto-broker';
import type { TemporalServer } from '../../stack/temporal-server';

export default async function globalTeardown(): Promise<void> {
  const servers = (globalThis as Record<string, unknown>).__dcoServers as { temporal: TemporalServer; mosquitto: MosquittoBroker } | undefined;
  await Promise.all([servers?.temporal.stop(), servers?.mosquitto.stop()]);
}
