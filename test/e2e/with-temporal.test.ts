import type { Connection } from '@temporalio/client';
import { devicesMatching } from '../../client/devices-matching';
import { GroupClient } from '../../client/group-client';
import { RolloutClient } from '../../client/rollout-client';
import { TemplateClient } from '../../client/template-client';
import { rolloutCommand } from '../../cli/commands/rollout';
import { UsageError } from '../../cli/usage-error';
import { withTemporal } from '../../cli/with-temporal';
import { loadSettings } from '../../config/settings';
import { connectClient, type TemporalTarget } from '../../config/temporal-connect';
import { eventually } from '../support/eventually';
import { Harness } from '../support/harness';

/**
 * cli/with-temporal.ts, the one place the CLI connects to Temporal: the connection is closed
 * whatever the work does, a request the client refuses is a usage error, and `dco rollout start`
 * opens one connection for everything it asks Temporal.
 */
describe('withTemporal', () => {
  const h = new Harness();
  beforeAll(() => h.start());
  afterAll(() => h.stop());

  /** Counts the connections opened through it, and keeps them to look at afterwards. */
  const countingConnect = () => {
    const opened: Connection[] = [];
    const connect = async (target: TemporalTarget) => {
      const connection = await connectClient(target);
      opened.push(connection);
      return connection;
    };
    return { opened, connect };
  };
  const settings = () => loadSettings({ temporalAddress: h.env.temporalAddress, taskQueue: h.taskQueue });
  const usable = (connection: Connection) =>
    connection.workflowService.getSystemInfo({}).then(
      () => true,
      () => false,
    );

  test('work that throws: the error comes out as it was, and the connection is closed', async () => {
    const { opened, connect } = countingConnect();
    const boom = new Error('boom');
    let seen: Connection | undefined;
    const out = await withTemporal(
      settings(),
      async ({ connection }) => {
        seen = connection;
        expect(await usable(connection)).toBe(true);
        throw boom;
      },
      connect,
    ).catch((err: unknown) => err);
    expect(out).toBe(boom);
    expect(opened).toEqual([seen]);
    expect(await usable(seen!)).toBe(false);
  });

  test('a request the client refuses (InvalidRequestError) is a UsageError with its message; the connection is closed', async () => {
    const { opened, connect } = countingConnect();
    const out = await withTemporal(
      settings(),
      async ({ client, settings }) => new RolloutClient(client, settings.taskQueue).get('not a rollout id!'),
      connect,
    ).catch((err: unknown) => err);
    expect(out).toBeInstanceOf(UsageError);
    expect((out as UsageError).message).toMatch(/^invalid request: /);
    expect(opened).toHaveLength(1);
    expect(await usable(opened[0]!)).toBe(false);
  });

  test('`rollout start --template T --group G` resolves the group, its devices and the template, and starts, on one connection', async () => {
    const site = `site-${h.id}`;
    const deviceId = `${h.id}-one`;
    const group = `one-${h.id}`;
    const template = `one-${h.id}`;
    const rolloutId = `one-${h.id}`;
    await h.startDevice(deviceId, undefined, undefined, undefined, { site });
    await eventually(
      () => devicesMatching(h.client.temporal, `DeviceSite = '${site}'`),
      (ids) => ids.length === 1,
      30_000,
    );
    await new GroupClient(h.client.temporal, h.taskQueue).define(group, { where: `DeviceSite = '${site}'` });
    await new TemplateClient(h.client.temporal, h.taskQueue).add(template, { name: 'ping', canary: { count: 1 }, waves: [{ percent: 100 }] });

    const { opened, connect } = countingConnect();
    const written: string[] = [];
    const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => (written.push(String(chunk)), true));
    try {
      await rolloutCommand(connect).parseAsync(
        [
          'start',
          '--template',
          template,
          '--group',
          group,
          '--id',
          rolloutId,
          '--temporal-address',
          h.env.temporalAddress,
          '--task-queue',
          h.taskQueue,
          '--mqtt-url',
          h.env.mqttUrl,
          '--topic-prefix',
          h.topicPrefix,
        ],
        { from: 'user' },
      );
    } finally {
      write.mockRestore();
    }
    expect(written.join('')).toBe(`${rolloutId}\n`);
    expect(opened).toHaveLength(1);
    const final = await new RolloutClient(h.client.temporal, h.taskQueue).get(rolloutId).result();
    expect(final).toMatchObject({ state: 'done', targets: 1, overall: { succeeded: 1 } });
  });
});
