import { COMMAND_NAME_PATTERN } from '../protocol/id-patterns';
import { jsonByteLength } from '../protocol/json-size';
import {
  MAX_TEMPLATE_BYTES,
  MAX_TEMPLATE_NOTE_LENGTH,
  MAX_TEMPLATE_VERSIONS_KEPT,
  type AddTemplateVersionRequest,
  type AddTemplateVersionResult,
  type TemplateView,
} from '../protocol/template-contract';

/**
 * The template workflow's pure part: which add requests it takes and how versions are kept.
 * The client checks a body's whole shape with zod; this is the workflow's own guard for any
 * caller (another language, the `temporal` CLI): errors are values, and nothing here can make
 * the workflow keep more than MAX_TEMPLATE_VERSIONS_KEPT bodies of MAX_TEMPLATE_BYTES.
 */

export function newTemplateView(name: string): TemplateView {
  return { name, latestVersion: 0, versions: [] };
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Undefined when the request may be taken, else why not (the update's validator throws it). */
export function addRequestProblem(req: unknown): string | undefined {
  if (!isPlainObject(req)) return 'the request must be {body, note?}';
  if (!isPlainObject(req.body)) return 'body must be a JSON object (a rollout template)';
  if (typeof req.body.name !== 'string' || !COMMAND_NAME_PATTERN.test(req.body.name))
    return 'body.name must be the command name (1-64 characters of A-Z a-z 0-9 . _ -)';
  let size: number;
  try {
    size = jsonByteLength(req.body);
  } catch {
    return 'body must be plain JSON';
  }
  if (size > MAX_TEMPLATE_BYTES) return `body is ${size} bytes of JSON; a template is at most ${MAX_TEMPLATE_BYTES}`;
  if (req.note !== undefined && (typeof req.note !== 'string' || req.note.length > MAX_TEMPLATE_NOTE_LENGTH))
    return `note must be text of at most ${MAX_TEMPLATE_NOTE_LENGTH} characters`;
  return undefined;
}

/**
 * Adds the request's body as the next version, unless it equals the latest one (then nothing
 * changes and the latest version is the answer: a retried add is harmless). Keeps the last
 * MAX_TEMPLATE_VERSIONS_KEPT bodies.
 */
export function addVersion(view: TemplateView, req: AddTemplateVersionRequest, addedAt: string): { view: TemplateView; result: AddTemplateVersionResult } {
  const latest = view.versions[view.versions.length - 1];
  if (latest && latest.version === view.latestVersion && JSON.stringify(latest.body) === JSON.stringify(req.body)) {
    return { view, result: { version: latest.version, unchanged: true } };
  }
  const version = view.latestVersion + 1;
  const entry = { version, addedAt, body: req.body, ...(req.note !== undefined ? { note: req.note } : {}) };
  const versions = [...view.versions, entry].slice(-MAX_TEMPLATE_VERSIONS_KEPT);
  return { view: { ...view, latestVersion: version, versions }, result: { version, unchanged: false } };
}
