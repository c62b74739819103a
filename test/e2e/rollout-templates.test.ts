import path from 'node:path';
import { writeFileSync } from 'node:fs';
import { RolloutClient } from '../../client/rollout-client';
import { rolloutSpecOf } from '../../client/rollout-report';
import { InvalidRequestError } from '../../client/errors';
import { TemplateClient, TemplateNotFoundError } from '../../client/template-client';
import { commandWorkflowId } from '../../protocol/command-contract';
import { MAX_TEMPLATE_VERSIONS_KEPT, templateWorkflowId } from '../../protocol/template-contract';
import { rolloutCommandId } from '../../workflows/rollout-command-ids';
import { eventually } from '../support/eventually';
import { testFleets } from '../support/fleets';
import { Harness } from '../support/harness';
import { runCli } from '../support/run-cli';

/**
 * Rollout templates: stored as versions by a workflow per name, listed and shown from the
 * client and the CLI, and used by `dco rollout start --template`, with the run's flags over the
 * template's fields, params checked against the template's params schema, and the template's
 * name and version recorded in the rollout's spec.
 */
describe('rollout templates', () => {
  const h = new Harness();
  let templates: TemplateClient;
  let rollouts: RolloutClient;
  const fleets = testFleets(h, { seed: 5, latencyMs: 10 });
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    await h.start();
    templates = new TemplateClient(h.client.temporal, h.taskQueue);
    rollouts = new RolloutClient(h.client.temporal, h.taskQueue);
    env = { TEMPORAL_ADDRESS: h.env.temporalAddress, MQTT_URL: h.env.mqttUrl, DCO_TASK_QUEUE: h.taskQueue, DCO_TOPIC_PREFIX: h.topicPrefix };
  });
  afterAll(async () => {
    await fleets.stopAll();
    await h.stop();
  });

  const paramsSchema = {
    type: 'object',
    properties: { url: { type: 'string', format: 'uri' }, level: { type: 'integer', minimum: 1, maximum: 5 } },
    required: ['url', 'level'],
    additionalProperties: false,
  };

  test('versions are added, listed and shown; the same body again adds none; a rollout from a template records it, takes the run flags over its fields and merges params', async () => {
    const name = `fw-${h.id}`;
    const v1 = {
      name: 'ping',
      description: 'firmware update, careful',
      params: { level: 1 },
      paramsSchema,
      canary: { count: 1 },
      waves: [{ percent: 100 }],
      concurrency: 3,
      abort: { failureShare: 0.5, minFinished: 2 },
    };
    expect(await templates.add(name, v1, 'first')).toEqual({ version: 1, unchanged: false });
    expect(await templates.add(name, v1, 'retried')).toEqual({ version: 1, unchanged: true });
    expect(await templates.add(name, { ...v1, concurrency: 5 }, 'wider')).toEqual({ version: 2, unchanged: false });

    expect(await templates.show(name, 1)).toMatchObject({ name, version: 1, latestVersion: 2, note: 'first', body: v1 });
    expect((await templates.show(name)).body).toEqual({ ...v1, concurrency: 5 });
    // Listing reads visibility, which lags the workflow by a moment.
    const listed = (
      await eventually(
        () => templates.list(),
        (all) => all.some((t) => t.name === name && t.latestVersion === 2),
      )
    ).find((t) => t.name === name);
    expect(listed).toMatchObject({ name, command: 'ping', latestVersion: 2, description: 'firmware update, careful' });

    const sim = await fleets.start(4);
    const spec = await templates.rolloutSpec(
      name,
      {
        rolloutId: `tpl-${h.id}`,
        targets: [...sim.deviceIds],
        params: { url: 'https://fw.example/2.1.bin' },
        overrides: { concurrency: 2, abort: { minFinished: 1 } },
      },
      1,
    );
    const final = await (await rollouts.start(spec)).result();
    expect(final.overall).toMatchObject({ succeeded: 4 });
    const recorded = await rolloutSpecOf(h.client.temporal.workflow, `tpl-${h.id}`);
    expect(recorded).toMatchObject({
      name: 'ping',
      template: { name, version: 1 },
      params: { level: 1, url: 'https://fw.example/2.1.bin' },
      concurrency: 2, // the run's flag over the template's 3
      canary: { count: 1 },
      abort: { failureShare: 0.5, minFinished: 1 }, // merged field by field
    });
    expect(recorded).not.toHaveProperty('paramsSchema');
    const child = await h.client.temporal.workflow.getHandle(commandWorkflowId(rolloutCommandId(`tpl-${h.id}`, sim.deviceIds[0]!))).result();
    expect(child.params).toEqual({ level: 1, url: 'https://fw.example/2.1.bin' });
  });

  test('bad input is refused with what to fix, and nothing is stored or started', async () => {
    const name = `bad-${h.id}`;
    const refused = (p: Promise<unknown>) =>
      p.then(
        () => 'accepted',
        (err: Error) => err,
      );
    // Per-run fields have no place in a template; cross-field rules apply; a misspelt schema keyword is caught.
    expect(String(await refused(templates.add(name, { name: 'ping', targets: ['a'] })))).toMatch(/Unrecognized key: "targets"/);
    expect(String(await refused(templates.add(name, { name: 'ping', rateRamp: { factor: 2, everySucceeded: 5, maxPerMinute: 100 } })))).toContain(
      'rateRamp needs ratePerMinute',
    );
    expect(String(await refused(templates.add(name, { name: 'ping', paramsSchema: { type: 'object', reqiured: ['x'] } })))).toContain(
      'paramsSchema is not a usable JSON Schema: strict mode: unknown keyword: "reqiured"',
    );
    expect(String(await refused(templates.add('no spaces', { name: 'ping' })))).toContain('a template name is 1-63 characters');
    await expect(templates.show(name)).rejects.toThrow(TemplateNotFoundError);

    await templates.add(name, { name: 'ping', paramsSchema });
    const run = { rolloutId: `bad-${h.id}`, targets: ['dev-1'] };
    const err = await refused(templates.rolloutSpec(name, { ...run, params: { url: 'not a uri', level: 9, extra: true } }));
    expect(err).toBeInstanceOf(InvalidRequestError);
    expect(String(err)).toContain('params/url: must match format "uri"');
    expect(String(err)).toContain('params/level: must be <= 5');
    expect(String(err)).toContain('params: must NOT have additional properties (extra)');
    await expect(templates.show(name, 7)).rejects.toThrow(`template ${name} has no version 7: its latest is 1`);
    await expect(rollouts.get(`bad-${h.id}`).status()).rejects.toThrow(); // never started
  });

  test(`only the last ${MAX_TEMPLATE_VERSIONS_KEPT} versions keep their body; older ones say so`, async () => {
    const name = `many-${h.id}`;
    for (let i = 1; i <= MAX_TEMPLATE_VERSIONS_KEPT + 2; i++) await templates.add(name, { name: 'ping', concurrency: i });
    const view = await templates.versions(name);
    expect(view.latestVersion).toBe(MAX_TEMPLATE_VERSIONS_KEPT + 2);
    expect(view.versions.map((v) => v.version)).toEqual(Array.from({ length: MAX_TEMPLATE_VERSIONS_KEPT }, (_, i) => i + 3));
    await expect(templates.show(name, 2)).rejects.toThrow(`template ${name} has no version 2: only versions 3-${MAX_TEMPLATE_VERSIONS_KEPT + 2} are kept`);
    // Templates run forever; ended here so that the harness replays (and can record) this history at stop.
    await h.client.temporal.workflow.getHandle(templateWorkflowId(name)).terminate('recorded for replay');
    h.started.push(templateWorkflowId(name));
  });

  test('from the CLI: template add, list and show; rollout start --template NAME@VERSION with flags and params; refusals exit 2', async () => {
    const name = `cli-${h.id}`;
    const file = path.join(h.dir, `${name}.json`);
    writeFileSync(file, JSON.stringify({ name: 'ping', params: { level: 2 }, paramsSchema, canary: { count: 1 }, waves: [{ percent: 100 }] }));
    const added = await runCli(['template', 'add', name, '--file', file, '--note', 'from the CLI'], env);
    expect({ code: added.code, out: added.stdout }).toEqual({ code: 0, out: `template ${name}: version 1 stored\n` });
    expect((await runCli(['template', 'add', name, '--file', file], env)).stdout).toBe(`template ${name}: unchanged, still version 1\n`);
    const listed = await eventually(
      () => runCli(['template', 'list', '--json'], env),
      (r) => r.stdout.includes(`"${name}"`),
    );
    expect(JSON.parse(listed.stdout)).toContainEqual(expect.objectContaining({ name, command: 'ping', latestVersion: 1 }));
    const shown = await runCli(['template', 'show', name, '--version', '1'], env);
    expect(JSON.parse(shown.stdout)).toMatchObject({ name, version: 1, note: 'from the CLI', body: { params: { level: 2 } } });

    const sim = await fleets.start(3);
    const targets = path.join(h.dir, `${name}-targets.txt`);
    writeFileSync(targets, sim.deviceIds.join('\n'));
    const started = await runCli(
      [
        'rollout',
        'start',
        '--template',
        `${name}@1`,
        '--targets',
        targets,
        '--id',
        `cli-${h.id}`,
        '--params',
        '{"url":"https://fw.example/a.bin"}',
        '--concurrency',
        '1',
        '--wait',
        '--json',
      ],
      env,
    );
    expect(started.code).toBe(0);
    const recorded = await rolloutSpecOf(h.client.temporal.workflow, `cli-${h.id}`);
    expect(recorded).toMatchObject({ template: { name, version: 1 }, concurrency: 1, params: { level: 2, url: 'https://fw.example/a.bin' } });

    const badParams = await runCli(['rollout', 'start', '--template', name, '--targets', targets, '--params', '{"level":9}'], env);
    expect(badParams.code).toBe(2);
    expect(badParams.stderr).toContain(`--template ${name}: invalid request`);
    expect(badParams.stderr).toContain("params: must have required property 'url'");
    const both = await runCli(['rollout', 'start', 'ping', '--template', name, '--targets', targets], env);
    expect({ code: both.code, err: both.stderr }).toMatchObject({ code: 2, err: expect.stringContaining('give the command name or --template, not both') });
    const missing = await runCli(['template', 'show', `none-${h.id}`], env);
    expect({ code: missing.code, err: missing.stderr }).toMatchObject({ code: 2, err: expect.stringContaining(`no template named none-${h.id}`) });
    const notJson = path.join(h.dir, 'not.json');
    writeFileSync(notJson, '{name: ping}');
    expect((await runCli(['template', 'add', name, '--file', notJson], env)).stderr).toContain(`${notJson} is not JSON`);
    // The template's workflow is where an operator finds it in the Web UI.
    expect((await h.client.temporal.workflow.getHandle(templateWorkflowId(name)).describe()).type).toBe('rolloutTemplateWorkflow');
  });
});
