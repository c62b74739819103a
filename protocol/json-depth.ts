/**
 * How deeply JSON may nest on the wire: objects and arrays, counting the message object itself
 * as level 1 (so `{"output":{"a":[1]}}` is 3 deep). Payloads nested deeper are refused before
 * schema validation. Parsing is not the danger (V8's JSON.parse is iterative), but everything
 * after it is recursive: JSON.stringify in Temporal's payload converter throws "Maximum call
 * stack size exceeded" at about 10,000 levels, which 64 KiB of `[` easily reaches.
 */
export const MAX_JSON_DEPTH = 32;

const OPEN_BRACE = 0x7b; // {
const OPEN_BRACKET = 0x5b; // [
const CLOSE_BRACE = 0x7d; // }
const CLOSE_BRACKET = 0x5d; // ]
const QUOTE = 0x22; // "
const BACKSLASH = 0x5c; // \

/**
 * The nesting depth of a JSON text (0 for a scalar), computed in one pass without recursion
 * and without building the value. Stops counting once `stopAbove` is exceeded and returns
 * `stopAbove + 1`, so the cost is bounded by the text's length whatever its shape. Exact for
 * valid JSON; for anything else the number is meaningless (validate the syntax first).
 *
 * Works on UTF-8 bytes as well as on strings: every structural character is ASCII, and no
 * byte of a multi-byte UTF-8 sequence is below 0x80.
 */
export function jsonTextDepth(text: string | Uint8Array, stopAbove = Number.MAX_SAFE_INTEGER): number {
  const code = typeof text === 'string' ? (i: number) => text.charCodeAt(i) : (i: number) => text[i];
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = code(i);
    if (inString) {
      if (c === BACKSLASH)
        i++; // skip the escaped character (also an escaped quote)
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) {
      inString = true;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      depth++;
      if (depth > max) {
        max = depth;
        if (max > stopAbove) return stopAbove + 1;
      }
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      depth--;
    }
  }
  return max;
}
