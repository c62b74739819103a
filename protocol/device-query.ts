/**
 * A device query (`--where`, a continuous rollout's `query`) is a visibility condition over what
 * devices report (`DeviceModel = 'pump-x' AND DeviceFirmware != '2.1'`). We put it inside our
 * own query, `WorkflowType = 'deviceWorkflow' AND (...) AND DeviceAttributesAt >= ...`, so it
 * must stay one condition: a `)` that closes what it did not open would let it escape the
 * parentheses and drop the conditions around it.
 */

export const MAX_DEVICE_QUERY_LENGTH = 1_000;

/** Why a device query cannot be used as it is, or undefined when it can (Temporal still judges its grammar). */
export function deviceQueryProblem(where: unknown): string | undefined {
  if (typeof where !== 'string' || !where.trim()) return 'the device query is empty';
  if (where.length > MAX_DEVICE_QUERY_LENGTH) return `the device query is ${where.length} characters; at most ${MAX_DEVICE_QUERY_LENGTH}`;
  let depth = 0;
  let quote: string | undefined;
  for (const ch of where) {
    if (quote) {
      if (ch === quote) quote = undefined;
    } else if (ch === "'" || ch === '"' || ch === '`') {
      quote = ch;
    } else if (ch === '(') {
      depth++;
    } else if (ch === ')' && --depth < 0) {
      return 'the device query closes a parenthesis it did not open (it must stay one condition)';
    }
  }
  if (quote) return `the device query has an unterminated ${quote} quote`;
  if (depth > 0) return 'the device query leaves a parenthesis open';
  return undefined;
}
