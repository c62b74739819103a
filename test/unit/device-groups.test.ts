import fc from 'fast-check';
import { MAX_GROUPS_PER_DEVICE } from '../../protocol/device-group-contract';
import { applyGroupsChange, checkGroupsChange } from '../../workflows/device-groups';
import { emptyDeviceRecord } from '../../workflows/device-record';

const AT = '2026-12-06T12:00:00.000Z';

describe("a device's groups (device-groups)", () => {
  it('a change is checked: names, lists, bounds; errors are values', () => {
    expect(checkGroupsChange({ add: ['north'] })).toEqual({ ok: true, change: { add: ['north'], remove: [] } });
    expect(checkGroupsChange(null)).toEqual({ ok: false, reason: 'a groups change is {add?, remove?}' });
    expect(checkGroupsChange({ add: 'north' })).toEqual({ ok: false, reason: `add must be a list of at most ${MAX_GROUPS_PER_DEVICE} group names` });
    expect(checkGroupsChange({ remove: ["x' OR 'y"] })).toEqual({ ok: false, reason: `remove: "x' OR 'y" is not a group name` });
  });

  it('adds and removes, sorted, with an event; a repeat changes nothing', () => {
    const r0 = emptyDeviceRecord('pump-7');
    const r1 = applyGroupsChange(r0, { add: ['south', 'north'], remove: [] }, AT);
    if (!('record' in r1)) throw new Error(r1.refused);
    expect(r1.record.groups).toEqual(['north', 'south']);
    expect(r1.record.recent.at(-1)).toEqual({ at: AT, event: 'groups-changed', detail: '+north +south' });
    const again = applyGroupsChange(r1.record, { add: ['north'], remove: [] }, AT);
    expect(again).toEqual({ record: r1.record });
    const r2 = applyGroupsChange(r1.record, { add: [], remove: ['north', 'south'] }, AT);
    if (!('record' in r2)) throw new Error(r2.refused);
    expect(r2.record).not.toHaveProperty('groups');
    expect(r2.record.recent.at(-1)?.detail).toBe('-north -south');
  });

  it(`property: never more than ${MAX_GROUPS_PER_DEVICE} groups, whatever the changes; a refused change leaves the record as it was`, () => {
    const name = fc.stringMatching(/^[a-z][a-z0-9-]{0,5}$/);
    fc.assert(
      fc.property(fc.array(fc.record({ add: fc.array(name, { maxLength: 16 }), remove: fc.array(name, { maxLength: 4 }) }), { maxLength: 30 }), (changes) => {
        let record = emptyDeviceRecord('d');
        for (const change of changes) {
          const r = applyGroupsChange(record, change, AT);
          if ('record' in r) record = r.record;
          expect((record.groups ?? []).length).toBeLessThanOrEqual(MAX_GROUPS_PER_DEVICE);
          expect(record.groups ?? []).toEqual([...new Set(record.groups ?? [])].sort());
        }
      }),
    );
  });
});
