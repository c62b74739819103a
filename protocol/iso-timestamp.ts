/**
 * RFC 3339 timestamps with seconds and an explicit offset, as the wire protocol requires
 * (docs/protocol.md, "Timestamps"): the same expression as zod's `z.iso.datetime({ offset:
 * true })` (zod 4), copied so that workflow code can check timestamps without zod. Calendar
 * dates are exact (no February 30: Date.parse would accept it and roll over to March).
 * test/unit/validate-command-request.test.ts checks that both agree.
 */
const DATE =
  '(?:(?:\\d\\d[2468][048]|\\d\\d[13579][26]|\\d\\d0[48]|[02468][048]00|[13579][26]00)-02-29|\\d{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\\d|3[01])|(?:0[469]|11)-(?:0[1-9]|[12]\\d|30)|(?:02)-(?:0[1-9]|1\\d|2[0-8])))';
const TIME = '(?:[01]\\d|2[0-3]):[0-5]\\d:[0-5]\\d(?:\\.\\d+)?';
const OFFSET = '(?:Z|[+-](?:[01]\\d|2[0-3]):[0-5]\\d)';

export const ISO_TIMESTAMP_PATTERN = new RegExp(`^${DATE}T${TIME}${OFFSET}$`);
