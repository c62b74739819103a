import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DeviceAgent } from '../../device/device-agent';
import { FleetSimulator } from '../../device/fleet-simulator';
import { DEFAULT_SIMULATED_FIRMWARE, simulatedAttributes, simulatedFirmware } from '../../device/simulated-attributes';
import { DeviceAttributes } from '../../protocol/messages';

/** What a device reports about itself (status `attributes`): the simulators' derivation and the agent's checks. */
describe("simulated devices' attributes", () => {
  test("derived from the index: models alternate, sites take turns over four, the fleet's firmware", () => {
    expect([0, 1, 2, 3, 4, 5].map((i) => simulatedAttributes(i))).toEqual([
      { model: 'sim-a', firmware: '1.0.0', site: 'site-0' },
      { model: 'sim-b', firmware: '1.0.0', site: 'site-1' },
      { model: 'sim-a', firmware: '1.0.0', site: 'site-2' },
      { model: 'sim-b', firmware: '1.0.0', site: 'site-3' },
      { model: 'sim-a', firmware: '1.0.0', site: 'site-0' },
      { model: 'sim-b', firmware: '1.0.0', site: 'site-1' },
    ]);
    expect(simulatedAttributes(7, '2.1.0-rc1')).toEqual({ model: 'sim-b', firmware: '2.1.0-rc1', site: 'site-3' });
  });

  test("valid by the protocol's schema, unchanged by it", () => {
    for (const i of [0, 1, 9_999]) expect(DeviceAttributes.parse(simulatedAttributes(i))).toEqual(simulatedAttributes(i));
  });

  test('the firmware option: default 1.0.0; an invalid one is a RangeError, also from the fleet simulator', () => {
    expect(DEFAULT_SIMULATED_FIRMWARE).toBe('1.0.0');
    expect(simulatedFirmware(undefined)).toBe('1.0.0');
    expect(simulatedFirmware('3.2.1')).toBe('3.2.1');
    expect(() => simulatedFirmware('1.0"')).toThrow(
      new RangeError('firmware "1.0"" is not a valid attribute value: letters, digits, spaces and . _ : / + @ -, 1 to 64 characters'),
    );
    expect(() => new FleetSimulator({ devices: 2, mqttUrl: 'mqtt://127.0.0.1:1', firmware: '' })).toThrow(RangeError);
  });
});

describe('DeviceAgent attributes', () => {
  const journalDir = mkdtempSync(path.join(os.tmpdir(), 'dco-agent-attributes-'));

  test('invalid attributes are refused when the agent is made, and by setAttributes', async () => {
    const make = (attributes: DeviceAttributes) => new DeviceAgent({ deviceId: 'attr-1', mqttUrl: 'mqtt://127.0.0.1:1', journalDir, handlers: {}, attributes });
    expect(() => make({ timeZone: 'not a zone' })).toThrow(/^invalid device attributes: ✖ an IANA time zone name such as Europe\/Berlin\n {2}→ at timeZone$/);
    const agent = make({ model: 'pump-x2' });
    await expect(agent.setAttributes({ tags: ['no spaces allowed'] })).rejects.toThrow(RangeError);
    // Not connected: nothing is published, the next connect sends the new set.
    await expect(agent.setAttributes({ firmware: '1.1.0' })).resolves.toBeUndefined();
    agent.journal.close();
  });
});
