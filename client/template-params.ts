import Ajv2020, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';

/**
 * A template's `paramsSchema` is a JSON Schema (draft 2020-12): the contract of the command's
 * parameters, so a rollout made from the template cannot send a device params its firmware does
 * not understand. Strict mode: a misspelt keyword (`reqiured`) is an error when the template is
 * added, not a schema that silently allows everything.
 */
function newAjv(): Ajv2020 {
  // One per schema: an instance keeps every schema it compiled by its `$id`, and refuses a second with the same one.
  const ajv = new Ajv2020({ allErrors: true, strict: true });
  addFormats(ajv);
  return ajv;
}

/** Compiles a schema; a schema ajv refuses is an error that says why. */
export function compileParamsSchema(schema: Record<string, unknown>): { ok: true; validate: ValidateFunction } | { ok: false; reason: string } {
  try {
    return { ok: true, validate: newAjv().compile(schema) };
  } catch (err) {
    return { ok: false, reason: `paramsSchema is not a usable JSON Schema: ${(err as Error).message}` };
  }
}

/** Every way `params` misses the schema, one line each (`/level: must be <= 5`). Empty when they match. */
export function paramsProblems(schema: Record<string, unknown>, params: Record<string, unknown>): string[] {
  const compiled = compileParamsSchema(schema);
  if (!compiled.ok) return [compiled.reason];
  if (compiled.validate(params)) return [];
  return (compiled.validate.errors ?? []).map(describe);
}

function describe(e: ErrorObject): string {
  const where = e.instancePath === '' ? 'params' : `params${e.instancePath}`;
  const extra = e.keyword === 'additionalProperties' ? ` (${String((e.params as { additionalProperty?: string }).additionalProperty)})` : '';
  return `${where}: ${e.message ?? e.keyword}${extra}`;
}
