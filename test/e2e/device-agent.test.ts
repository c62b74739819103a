import mqtt from 'mqtt';
import { mkdtempSync } from 'node:fs';
import path from 'node:path';
import { DeviceAgent, type DeviceFaults } from '../../device/device-agent';
import type { AckMessage, ResultMessage } from '../../protocol/messages';
import { deviceTopic } from '../../protocol/topics';
import { testEnv } from '../setup/test-env';
import { eventually } from '../support/eventually';

/**
 * The reference agent that device makers copy, on a real broker, driven by hand: repeats of a
 * command arrive while the first copy is still being handled (QoS 1 redelivery, a re-publish).
 * It must run the command once and report its real result, never `interrupted`. The ack
 * publishes are held (`delayAck`) so that each race happens in the order the test names.
 */
describe('reference device agent: repeats while the command is in progress', () => {
  const env = testEnv();
  const prefix = `agent${Math.random().toString(36).slice(2, 7)}/devices`;
  const dir = mkdtempSync(path.join(env.dir, 'agent-'));
  let n = 0;

  async function setup(faults: (ctx: { acks: AckMessage[]; results: ResultMessage[]; finish: () => void }) => DeviceFaults) {
    const deviceId = `rep-${++n}`;
    let executions = 0;
    let finish!: () => void;
    const slow = new Promise<void>((r) => (finish = r));
    const acks: AckMessage[] = [];
    const results: ResultMessage[] = [];
    const agent = new DeviceAgent({
      deviceId,
      mqttUrl: env.mqttUrl,
      topicPrefix: prefix,
      journalDir: dir,
      handlers: { work: async () => (executions++, await slow, { real: true }) },
      faults: faults({ acks, results, finish: () => finish() }),
    });
    await agent.start();
    const service = await mqtt.connectAsync(env.mqttUrl, { protocolVersion: 5, clientId: `svc-${prefix}-${n}`, clean: true, reconnectPeriod: 0 });
    service.on('message', (topic, payload) => (topic.endsWith('/ack') ? acks : results).push(JSON.parse(payload.toString())));
    await service.subscribeAsync([deviceTopic(prefix, deviceId, 'ack'), deviceTopic(prefix, deviceId, 'result')], { qos: 1 });
    const commandId = `cmd-${deviceId}`;
    const command = {
      v: 1,
      commandId,
      name: 'work',
      params: {},
      attempt: 1,
      issuedAt: new Date().toISOString(),
      expiresAt: new Date(Date.now() + 60_000).toISOString(),
    };
    const send = (attempt: number) => service.publishAsync(deviceTopic(prefix, deviceId, 'commands'), JSON.stringify({ ...command, attempt }), { qos: 1 });
    const close = async () => {
      await agent.stop();
      await service.endAsync();
    };
    return { agent, acks, results, send, finish: () => finish(), executions: () => executions, commandId, close };
  }

  test('a repeat that arrives while the first ack is on its way is not run a second time', async () => {
    let ackCalls = 0;
    const t = await setup(({ acks }) => ({
      // The first copy's ack is held until the repeat's ack has reached the service: the repeat
      // is handled while the first copy has journaled its ack but not yet started the handler.
      delayAck: async () => {
        if (++ackCalls === 1)
          await eventually(
            async () => acks.length,
            (k) => k >= 1,
          );
      },
    }));
    await t.send(1);
    await eventually(
      async () => ackCalls,
      (k) => k >= 1,
    );
    await t.send(2);
    await eventually(
      async () => t.acks.length,
      (k) => k === 2,
    );
    t.finish();
    await eventually(
      async () => t.results.length,
      (k) => k >= 1,
    );
    expect(t.executions()).toBe(1);
    expect(t.agent.journal.get(t.commandId)).toMatchObject({ executions: 1, result: { status: 'succeeded', output: { real: true } } });
    await t.close();
  });

  test('the first execution finishing while a repeat is being answered: the repeat sends the real result, never `interrupted`', async () => {
    let ackCalls = 0;
    const t = await setup(({ finish }) => ({
      // While the repeat's ack is on its way, the first execution finishes and records its result.
      delayAck: async () => {
        if (++ackCalls === 2) {
          finish();
          await eventually(
            async () => t.agent.journal.get(t.commandId)?.result,
            (r) => r !== undefined,
          );
        }
      },
    }));
    await t.send(1);
    await eventually(
      async () => t.executions(),
      (k) => k === 1,
    );
    await t.send(2);
    // The first copy's result, and the repeat's answer: both the real result.
    await eventually(
      async () => t.results.length,
      (k) => k === 2,
    );
    expect(t.results.map((r) => r.status)).toEqual(['succeeded', 'succeeded']);
    expect(t.executions()).toBe(1);
    expect(t.agent.journal.get(t.commandId)).toMatchObject({ executions: 1, result: { status: 'succeeded', output: { real: true } } });
    await t.close();
  });

  test('stop() twice, and crash() after stop(), return at once', async () => {
    const t = await setup(() => ({}));
    await t.agent.stop();
    await t.agent.stop();
    await t.agent.crash();
    await t.close();
  }, 15_000);
});
