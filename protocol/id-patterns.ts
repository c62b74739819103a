/**
 * Identifier formats as plain regular expressions. They live apart from the zod schemas
 * (ids.ts) so workflow code can use them without bundling zod into every workflow sandbox.
 *
 * Identifiers travel in MQTT topic levels and Temporal workflow IDs, so they are restricted to
 * characters that are safe in both: no `/`, `+`, `#` (topic syntax) and no whitespace.
 */
export const DEVICE_ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
export const COMMAND_ID_PATTERN = /^[A-Za-z0-9._-]{1,128}$/;
export const COMMAND_NAME_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * Every device command of a rollout gets the commandId `{rolloutId}.{deviceId}`. The first `.`
 * must mark where the rolloutId ends, or two rollouts could claim the same commandId
 * (`a.b` + `c` and `a` + `b.c`), so a rolloutId has no `.`. At most 63 characters, so that
 * 63 + 1 + a 64-character deviceId fits the 128 allowed for a commandId.
 */
export const ROLLOUT_ID_PATTERN = /^[A-Za-z0-9_-]{1,63}$/;

/** A rollout template's name (`template-<name>` is its workflow ID): like a rolloutId. */
export const TEMPLATE_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;
/** A device group's name (`group-<name>`; a value of the DeviceGroups search attribute, quoted in queries): the same. */
export const GROUP_NAME_PATTERN = TEMPLATE_NAME_PATTERN;

/**
 * Reported device attributes (the status message's `attributes`): short, printable, no quotes,
 * so that a value can be a search attribute and sit inside a visibility query as it is.
 */
export const ATTRIBUTE_VALUE_PATTERN = /^[A-Za-z0-9._:/+@ -]{1,64}$/;
/** An IANA time zone name, e.g. `Europe/Berlin` or `America/Argentina/Buenos_Aires`. */
export const TIME_ZONE_PATTERN = /^[A-Za-z_]{1,32}(\/[A-Za-z0-9_+-]{1,32}){0,3}$/;
export const TAG_PATTERN = /^[A-Za-z0-9._:-]{1,32}$/;
export const MAX_TAGS = 16;
