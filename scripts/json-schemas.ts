import path from 'node:path';
import { z } from 'zod';
import { AckMessage, CancelMessage, CommandMessage, PROTOCOL_VERSION, ResultMessage, StatusMessage, PendingRequestMessage } from '../protocol/messages';
import {
  CommandRequestSchema,
  CommandSnapshotSchema,
  DeviceMessageSchema,
  DevicePresenceSchema,
  LateAnswersSchema,
  RolloutInputSchema,
  RolloutStatusSchema,
  SERVICE_API_VERSION,
} from '../protocol/service-schemas';

/**
 * JSON Schemas (draft 2020-12) of the four wire messages, rendered from the zod schemas in
 * protocol/messages.ts so that they can never drift from what the service actually accepts.
 * Firmware engineers validate against these files; they never read our TypeScript.
 *
 * Likewise for the Temporal contract (protocol/service-schemas.ts: workflow inputs, results,
 * queries and signals), in protocol/json-schema/service/, for services written in other
 * languages (docs/service-api.md).
 *
 * `npm run gen:schemas` writes them to protocol/json-schema/; a unit test fails when the
 * committed files differ from what this module renders.
 */

/** Where the committed schema files live. */
export const JSON_SCHEMA_DIR = path.join(__dirname, '..', 'protocol', 'json-schema');
/** Where the schemas of the Temporal contract live. */
export const SERVICE_JSON_SCHEMA_DIR = path.join(JSON_SCHEMA_DIR, 'service');

interface MessageSchema {
  schema: z.ZodType;
  title: string;
  description: string;
}

/** Keyed by the topic kind, which is also the file name: `<kind>.schema.json`. */
const MESSAGES: Record<'command' | 'cancel' | 'ack' | 'result' | 'status' | 'pending', MessageSchema> = {
  command: {
    schema: CommandMessage,
    title: 'CommandMessage',
    description:
      'Service -> device on {prefix}/{deviceId}/commands. QoS 1, never retained, MQTT v5 message expiry set to expiresAt. ' +
      'The same commandId may arrive several times (attempt + 1 on each re-publish): execute it at most once.',
  },
  cancel: {
    schema: CancelMessage,
    title: 'CancelMessage',
    description:
      'Service -> device on {prefix}/{deviceId}/cancel, QoS 1, never retained, MQTT v5 message expiry = how long the service waits for the answer. ' +
      'Stop this command if it has not taken effect. Answer on result: "cancelled" (it did not and will not run), or its real outcome when too late.',
  },
  ack: {
    schema: AckMessage,
    title: 'AckMessage',
    description:
      'Device -> service on {prefix}/{deviceId}/ack, QoS 1, not retained. The command was received and accepted or rejected ' +
      '(reason "expired" when it arrived after expiresAt).',
  },
  result: {
    schema: ResultMessage,
    title: 'ResultMessage',
    description:
      'Device -> service on {prefix}/{deviceId}/result, QoS 1, not retained. The command was executed (succeeded, failed), ' +
      'or, answering a cancel request, will never be (cancelled). A succeeded or failed result without a prior ack counts as both.',
  },
  status: {
    schema: StatusMessage,
    title: 'StatusMessage',
    description:
      'Device -> service on {prefix}/{deviceId}/status, QoS 1, retained. "online" at every connect with a new bootId per boot; ' +
      'the Last Will publishes "offline".',
  },
  pending: {
    schema: PendingRequestMessage,
    title: 'PendingRequestMessage',
    description:
      'Device -> service on {prefix}/{deviceId}/pending, QoS 1, not retained. A device that wakes up asks for its pending commands: ' +
      'every open command waiting for its answer is published again at once. At most one request per device every 5 s is acted on.',
  },
};

/** A stable, location-independent identifier; the protocol major version is part of it. */
export function schemaId(kind: keyof typeof MESSAGES): string {
  return `urn:dco:protocol:v${PROTOCOL_VERSION}:${kind}`;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/**
 * zod leaves `additionalProperties` out in "input" mode (its default object mode strips unknown
 * keys, so any key is accepted). We say it explicitly on every object with declared properties,
 * because "unknown fields are ignored" is a protocol rule a reader must not have to infer.
 */
function allowUnknownFields(node: Json): Json {
  if (Array.isArray(node)) return node.map(allowUnknownFields);
  if (node === null || typeof node !== 'object') return node;
  const out: { [key: string]: Json } = {};
  for (const [key, value] of Object.entries(node)) out[key] = allowUnknownFields(value);
  if (out.type === 'object' && out.properties !== undefined && out.additionalProperties === undefined) {
    out.additionalProperties = true;
  }
  return out;
}

function render(kind: keyof typeof MESSAGES): string {
  const { schema, title, description } = MESSAGES[kind];
  return renderDocument(schema, schemaId(kind), title, description);
}

function renderDocument(schema: z.ZodType, $id: string, title: string, description: string): string {
  // io "input": the schema describes what a sender may put on the wire, before zod applies
  // defaults. That matters for CommandMessage.params (`.default({})`): in "output" mode it would
  // be required, although a command without params is valid and is read as `params: {}`. The
  // default stays visible as `"default": {}`. (The service itself always sends params.)
  // "output" mode would also add `additionalProperties: false` to nested objects (the output
  // of a stripping object has no unknown keys), which is the opposite of the protocol rule.
  const generated = z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input' }) as { [key: string]: Json };
  const { $schema, ...rest } = generated;
  const document = allowUnknownFields({ $schema, $id, title, description, ...rest });
  return JSON.stringify(document, null, 2) + '\n';
}

/** File name → file content, for every wire message. Pure: no I/O. */
export function renderJsonSchemas(): Record<string, string> {
  const files: Record<string, string> = {};
  for (const kind of Object.keys(MESSAGES) as (keyof typeof MESSAGES)[]) {
    files[`${kind}.schema.json`] = render(kind);
  }
  return files;
}

/**
 * The Temporal contract, keyed by file name: `service/<name>.schema.json`. Rendered like the
 * wire messages (io "input": defaults visible, unknown fields allowed): the workflows ignore
 * unknown input fields, and a reader of a result or query must expect fields added later. The
 * one strict object is a wave size (exactly `{count}` or `{percent}`), strict in zod and in
 * the rollout workflow's own check alike.
 */
type ServiceSchemaName =
  'command-request' | 'command-snapshot' | 'device-message-signal' | 'device-presence-signal' | 'late-answers' | 'rollout-input' | 'rollout-status';

const SERVICE: Record<ServiceSchemaName, MessageSchema> = {
  'command-request': {
    schema: CommandRequestSchema,
    title: 'CommandRequest',
    description:
      'Input of the Temporal workflow commandWorkflow (workflow ID command-<commandId>, task queue dco-commands unless configured). ' +
      'Unknown fields are ignored. Invalid input does not fail the start call: the command ends at once as Rejected with reason ' +
      '"invalid request: ...", and nothing is published.',
  },
  'command-snapshot': {
    schema: CommandSnapshotSchema,
    title: 'CommandSnapshot',
    description: 'Result of commandWorkflow (always a terminal state: the workflow does not fail) and answer of its query "snapshot" while it runs.',
  },
  'device-message-signal': {
    schema: DeviceMessageSchema,
    title: 'DeviceMessage',
    description:
      'Argument of the signal "deviceMessage": an ack or result the bridge forwards from a device topic to command-<commandId>, ' +
      'or to late-<commandId> once the command has ended. Sent by the bridge, not by callers.',
  },
  'device-presence-signal': {
    schema: DevicePresenceSchema,
    title: 'DevicePresence',
    description:
      'Argument of the signal "devicePresence": the bridge saw the device come online or reboot and tells its running commands. Sent by the bridge, not by callers.',
  },
  'late-answers': {
    schema: LateAnswersSchema,
    title: 'LateAnswers',
    description:
      'Result of lateAnswersWorkflow (workflow ID late-<commandId>) and answer of its query "lateAnswers": what the device reported ' +
      "after its command had ended. It never changes the command's state.",
  },
  'rollout-input': {
    schema: RolloutInputSchema,
    title: 'RolloutInput',
    description:
      'Input of the Temporal workflow rolloutWorkflow (workflow ID rollout-<rolloutId>). An invalid spec does not fail the start call: ' +
      'the rollout ends at once as "aborted" with abortReason "invalid rollout: ...", and no command is started. ' +
      'Each target device gets the command workflow command-<rolloutId>.<deviceId>.',
  },
  'rollout-status': {
    schema: RolloutStatusSchema,
    title: 'RolloutStatus',
    description: 'Result of rolloutWorkflow, answer of its query "rolloutStatus" and result of its update "approve".',
  },
};

/** A stable identifier like the wire schemas'; the contract's major version is part of it. */
export function serviceSchemaId(name: ServiceSchemaName): string {
  return `urn:dco:service:v${SERVICE_API_VERSION}:${name}`;
}

/** File name → file content, for every schema of the Temporal contract (in service/). Pure: no I/O. */
export function renderServiceJsonSchemas(): Record<string, string> {
  const files: Record<string, string> = {};
  for (const name of Object.keys(SERVICE) as ServiceSchemaName[]) {
    const { schema, title, description } = SERVICE[name];
    files[`${name}.schema.json`] = renderDocument(schema, serviceSchemaId(name), title, description);
  }
  return files;
}
