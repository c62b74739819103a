import { Command } from 'commander';

/**
 * `dco build-workflows`: bundles the workflow code into the cache (or --out), so workers load
 * it instead of bundling at start. Workers run it by themselves when the cache lacks the
 * current version; run it ahead (as the Dockerfile does) to make the first start quick too.
 */
export function buildWorkflowsCommand(): Command {
  return new Command('build-workflows')
    .description('bundle the workflow code for workers (cached by content; workers do this by themselves when needed)')
    .option('--out <file>', 'where to write the bundle (default: the cache, named by content hash)')
    .action(async (opts: { out?: string }) => {
      // Loaded here: the bundler (webpack, the SDK's worker) is heavy for every other dco command.
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- a lazy require (tsx runs us as CommonJS)
      const { bundlePathFor, workflowSourcesHash, writeWorkflowBundle } =
        require('../../workers/workflow-bundle') as typeof import('../../workers/workflow-bundle');
      const file = opts.out ?? bundlePathFor(workflowSourcesHash());
      await writeWorkflowBundle(file);
      process.stdout.write(`${file}\n`);
    });
}
