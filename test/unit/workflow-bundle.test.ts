import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bundlePathFor, prebuiltWorkflowBundle, workflowSourcesHash } from '../../workers/workflow-bundle';

/** Workers load a prebuilt, content-addressed workflow bundle instead of bundling at every start. */
describe('prebuilt workflow bundle', () => {
  const tree = () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'dco-bundle-hash-'));
    mkdirSync(path.join(root, 'workflows', 'nested'), { recursive: true });
    mkdirSync(path.join(root, 'protocol'));
    writeFileSync(path.join(root, 'workflows', 'a.ts'), 'export const a = 1;');
    writeFileSync(path.join(root, 'workflows', 'nested', 'b.ts'), 'export const b = 2;');
    writeFileSync(path.join(root, 'protocol', 'c.ts'), 'export const c = 3;');
    writeFileSync(path.join(root, 'package-lock.json'), '{"lockfileVersion":3}');
    return root;
  };

  test('the hash follows the workflow and protocol sources and the lockfile, nothing else', () => {
    const root = tree();
    const first = workflowSourcesHash(root);
    expect(workflowSourcesHash(tree())).toBe(first); // same content elsewhere: same bundle
    writeFileSync(path.join(root, 'README.md'), 'docs do not go into the bundle');
    expect(workflowSourcesHash(root)).toBe(first);
    for (const [file, text] of [
      ['workflows/nested/b.ts', 'export const b = 3;'],
      ['protocol/c.ts', 'export const c = 4;'],
      ['package-lock.json', '{"lockfileVersion":3,"packages":{}}'],
    ]) {
      const before = workflowSourcesHash(root);
      writeFileSync(path.join(root, file), text);
      expect(workflowSourcesHash(root)).not.toBe(before);
    }
  });

  test('built once by `dco build-workflows`, then reused; the file is a workflow bundle', () => {
    const env = { ...process.env, DCO_CACHE_DIR: mkdtempSync(path.join(os.tmpdir(), 'dco-bundle-cache-')) };
    const first = prebuiltWorkflowBundle(env);
    expect(first.built).toBe(true);
    expect(first.codePath).toBe(bundlePathFor(workflowSourcesHash(), env));
    expect(readFileSync(first.codePath, 'utf8')).toContain('commandWorkflow');
    expect(prebuiltWorkflowBundle(env)).toEqual({ codePath: first.codePath, built: false });
  }, 60_000);
});
