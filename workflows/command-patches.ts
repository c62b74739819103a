/**
 * The command workflow's patches (`patched(id)`): each marks a change of behaviour, so commands
 * started before it replay as they ran. An ID never changes and is never reused.
 */

/**
 * Commands started since this patch keep their history lean (docs/operations.md, "Throughput"):
 * - the publish is a local activity: a PUBACK takes milliseconds, and running it inside the
 *   workflow task saves an activity task, a workflow task and 3 history events per attempt;
 * - the search attributes known at start come with the start request, not as upserts;
 * - several state changes in one workflow task become one CommandState upsert.
 * On the dev server's single SQLite connection every history write counts. Commands started
 * before the patch replay on the old path (regular activity, an upsert per change).
 */
export const LEAN_HISTORY_PATCH = 'lean-history';
// When the old path can go: `patched()` costs every command a marker and a TemporalChangeVersion
// search-attribute upsert (the SDK core adds it and has no switch): 2 of a succeeded command's
// 16 history events, but no CPU measurable in a rollout (the upsert shares its workflow task's
// visibility write; docs/operations.md, "Throughput"). Once no command started before this patch can be
// open (MAX_TTL_MS, 30 days, after every worker runs it) and none is queried by replay:
//   1. one release with `deprecatePatch(LEAN_HISTORY_PATCH)` (still a marker; old workers can
//      replay new histories), the old branch deleted;
//   2. the next release without the call: no marker, no upsert. The histories in
//      test/replay/histories/earlier-versions/ then no longer replay and leave the test.

// The expiry-grace and presence-budget patches are asked by the plan (command-plan.ts):
// - expiry-grace: nothing is published with less than MIN_PUBLISH_LEFT_MS left, and once
//   published a command waits EXPIRY_GRACE_MS past `expiresAt` for an answer in flight before
//   it ends `Expired`; asked only near expiry, so other histories carry no marker;
// - presence-budget: at most MAX_PRESENCE_REPUBLISHES re-publishes on presence; asked only
//   when the budget is spent.

/**
 * Serial ordering (protocol/command-ordering.ts) came after commands ran without it: a serial
 * command started by a worker without it ran in parallel, and replays so.
 */
export const SERIAL_ORDERING_PATCH = 'serial-ordering';
/**
 * Commands started since this patch continue as new when a run's history grows past
 * `tuning.maxHistoryEvents` (or Temporal suggests it). Asked only then, so shorter commands'
 * histories carry no marker, and long histories of older commands replay as they ran.
 */
export const CONTINUE_AS_NEW_PATCH = 'continue-as-new';

/**
 * Before this patch a cancelled command ended `Cancelled` at once and the device was not told.
 * Since, a command the device may have received asks the device to stop it and keeps the
 * device's real answer. Asked only when a cancel comes after a publish.
 */
export const CANCEL_REACHES_DEVICE_PATCH = 'cancel-reaches-device';

/**
 * Before this patch a result probe was skipped, without asking anyone, while the command
 * believed its device offline; and in the result phase nothing told it otherwise (it does not
 * ask the entity for wake-ups there). So a device that was offline at one probe was never
 * probed again, and a result lost in a broker crash ended `TimedOut` although the device had
 * executed the command (the chaos test caught it: a probe held at 06:12:02, none after). Since,
 * every probe goes through the publish, which reads the presence from the device's entity and
 * publishes only if it is not offline. Probes wait twice as long each time, so this adds at
 * most one presence read per probe. Asked only at a probe while the command believes the
 * device offline.
 */
export const PROBE_RECHECKS_PRESENCE_PATCH = 'probe-rechecks-presence';
