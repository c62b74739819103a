import { wellFormedLaneCommands, wellFormedLaneEnds } from '../../workflows/rollout-lane-signals';

describe("a rollout's lane signals, from whoever sent them", () => {
  it('keeps the well-formed commands and drops the rest, whatever the payload', () => {
    const good = { target: 2, deviceId: 'pump-1', expiresAt: '2026-12-07T12:00:00Z', startedAtMs: 1 };
    expect(wellFormedLaneCommands([good, null, { ...good, target: -1 }, { ...good, deviceId: 'a/b' }, { ...good, expiresAt: 'soon' }])).toEqual([good]);
    for (const odd of [null, undefined, 'x', 42, { target: 1 }]) expect(wellFormedLaneCommands(odd)).toEqual([]);
  });

  it('keeps the ends with a terminal state; an odd adaptive sample is left out, the end kept', () => {
    const sample = { latencyMs: 120, attempts: 1, answered: true };
    expect(
      wellFormedLaneEnds([
        { target: 0, state: 'Succeeded', sample },
        { target: 1, state: 'Failed', sample: { latencyMs: 'x' } },
        { target: 2, state: 'Sent' },
        { target: 1.5, state: 'Failed' },
        [],
      ]),
    ).toEqual([
      { target: 0, state: 'Succeeded', sample },
      { target: 1, state: 'Failed' },
    ]);
    for (const odd of [null, 'garbage', { target: 0, state: 'Failed' }]) expect(wellFormedLaneEnds(odd)).toEqual([]);
  });
});
