import { DeviceAttributes } from '../protocol/messages';

/** The firmware every simulated device reports unless the simulator is given another. */
export const DEFAULT_SIMULATED_FIRMWARE = '1.0.0';

/**
 * What the simulated device at `index` (its 0-based place in the fleet: sim-001 is 0) reports
 * in its `online` status: models alternate `sim-a`, `sim-b`; sites take turns over `site-0` …
 * `site-3`; the firmware is the fleet's. Derived from the index alone, so a test knows which
 * devices a filter by attribute must find.
 */
export function simulatedAttributes(index: number, firmware: string = DEFAULT_SIMULATED_FIRMWARE): DeviceAttributes {
  return { model: index % 2 === 0 ? 'sim-a' : 'sim-b', firmware, site: `site-${index % 4}` };
}

/** The simulator's firmware option, checked as the protocol checks an attribute (RangeError). */
export function simulatedFirmware(firmware: string | undefined): string {
  if (firmware === undefined) return DEFAULT_SIMULATED_FIRMWARE;
  const parsed = DeviceAttributes.shape.firmware.safeParse(firmware);
  if (!parsed.success) throw new RangeError(`firmware "${firmware}" is not a valid attribute value: ${parsed.error.issues[0]?.message}`);
  return firmware;
}
