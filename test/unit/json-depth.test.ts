import fc from 'fast-check';
import { jsonTextDepth, MAX_JSON_DEPTH } from '../../protocol/json-depth';

/** Depth by recursion over the parsed value: the reference the one-pass count must match. */
function depthOf(v: unknown): number {
  if (v === null || typeof v !== 'object') return 0;
  const children = Array.isArray(v) ? v : Object.values(v);
  return 1 + Math.max(0, ...children.map(depthOf));
}

describe('jsonTextDepth', () => {
  it.each([
    ['1', 0],
    ['"[{"', 0],
    ['{}', 1],
    ['[]', 1],
    ['[[],{}]', 2],
    ['{"a":{"b":[1,{"c":"}}}]"}]}}', 4],
    ['["\\\\", ["\\"["]]', 2],
  ])('%s is %d deep', (text, depth) => {
    expect(JSON.parse(text)).toBeDefined();
    expect(jsonTextDepth(text)).toBe(depth);
    expect(jsonTextDepth(Buffer.from(text))).toBe(depth);
  });

  it('equals the depth of the parsed value for any JSON (strings, bytes, unicode)', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 12 }), (value) => {
        const text = JSON.stringify(value);
        expect(jsonTextDepth(text)).toBe(depthOf(value));
        expect(jsonTextDepth(Buffer.from(text, 'utf8'))).toBe(depthOf(value));
      }),
      { numRuns: 2_000 },
    );
  });

  it('stops counting past the limit, so a million brackets cost one short scan', () => {
    const text = '['.repeat(1_000_000) + ']'.repeat(1_000_000);
    expect(jsonTextDepth(text, MAX_JSON_DEPTH)).toBe(MAX_JSON_DEPTH + 1);
    expect(jsonTextDepth(text)).toBe(1_000_000); // no recursion, no stack overflow
  });
});
