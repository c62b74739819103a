import path from 'node:path';
import { z } from 'zod';
import { AckMessage, CommandMessage, PROTOCOL_VERSION, ResultMessage, StatusMessage } from '../protocol/messages';

/**
 * JSON Schemas (draft 2020-12) of the four wire messages, rendered from the zod schemas in
 * protocol/messages.ts so that they can never drift from what the service actually accepts.
 * Firmware engineers validate against these files; they never read our TypeScript.
 *
 * `npm run gen:schemas` writes them to protocol/json-schema/; a unit test fails when the
 * committed files differ from what this module renders.
 */

/** Where the committed schema files live. */
export const JSON_SCHEMA_DIR = path.join(__dirname, '..', 'protocol', 'json-schema');

interface MessageSchema {
  schema: z.ZodType;
  title: string;
  description: string;
}

/** Keyed by the topic kind, which is also the file name: `<kind>.schema.json`. */
const MESSAGES: Record<'command' | 'ack' | 'result' | 'status', MessageSchema> = {
  command: {
    schema: CommandMessage,
    title: 'CommandMessage',
    description:
      'Service -> device on {prefix}/{deviceId}/commands. QoS 1, never retained, MQTT v5 message expiry set to expiresAt. ' +
      'The same commandId may arrive several times (attempt + 1 on each re-publish): execute it at most once.',
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
      'Device -> service on {prefix}/{deviceId}/result, QoS 1, not retained. The command was executed. ' +
      'A result without a prior ack counts as both.',
  },
  status: {
    schema: StatusMessage,
    title: 'StatusMessage',
    description:
      'Device -> service on {prefix}/{deviceId}/status, QoS 1, retained. "online" at every connect with a new bootId per boot; ' +
      'the Last Will publishes "offline".',
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
  // io "input": the schema describes what a sender may put on the wire, before zod applies
  // defaults. That matters for CommandMessage.params (`.default({})`): in "output" mode it would
  // be required, although a command without params is valid and is read as `params: {}`. The
  // default stays visible as `"default": {}`. (The service itself always sends params.)
  // "output" mode would also add `additionalProperties: false` to nested objects (the output
  // of a stripping object has no unknown keys), which is the opposite of the protocol rule.
  const generated = z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input' }) as { [key: string]: Json };
  const { $schema, ...rest } = generated;
  const document = allowUnknownFields({ $schema, $id: schemaId(kind), title, description, ...rest });
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
