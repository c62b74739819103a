import path from 'node:path';
import type { MqttBridge } from '../../bridge/mqtt-bridge';
import { FleetSimulator } from '../../device/fleet-simulator';
import { eventually } from '../support/eventually';
import { startGroupBridge } from '../support/group-bridge';
import { Harness } from '../support/harness';

/**
 * Scaling the bridge out: two bridges in one MQTT v5 shared-subscription group split the acks
 * and results. One dies in the middle and comes back: nothing is lost, nothing counted twice.
 */
describe('two bridges sharing device topics ($share)', () => {
  const h = new Harness();
  const group = `g-${h.id}`;
  const bridges: MqttBridge[] = [];
  let fleet: FleetSimulator;

  const bridge = async (clientId: string) => {
    const b = await startGroupBridge(h, clientId, group);
    bridges.push(b);
    return b;
  };

  beforeAll(async () => {
    await h.start({ bridge: false });
    fleet = new FleetSimulator({
      mqttUrl: h.mqttUrl,
      topicPrefix: h.topicPrefix,
      devices: 60,
      idPrefix: 'share-',
      connections: 1,
      latencyMs: 400,
      journalDir: path.join(h.dir, 'share'),
      clientIdPrefix: `share-${h.id}`,
    });
    await fleet.start();
  });
  afterAll(async () => {
    await Promise.all(bridges.map((b) => b.stop().catch(() => {})));
    await fleet?.stop();
    await h.stop();
  });

  test('a bridge that dies and returns loses nothing; every forwarded message is accounted for', async () => {
    const b1 = await bridge(`b1-${h.id}`);
    const b2 = await bridge(`b2-${h.id}`);
    const handles = await Promise.all(fleet.deviceIds.map((deviceId) => h.client.send({ deviceId, name: 'ping', resultTimeoutMs: 60_000 })));
    await eventually(
      async () => b2.counters.get('ack:signalled'),
      (n) => n >= 5,
    );
    await b2.crash(); // acks and results it held, and its share of new ones, wait in its session
    await new Promise((r) => setTimeout(r, 1_500));
    const b2again = await bridge(`b2-${h.id}`);
    const outcomes = await Promise.all(handles.map((c) => c.result()));

    expect(outcomes.map((o) => o.state)).toEqual(fleet.deviceIds.map(() => 'Succeeded'));
    expect(fleet.stats()).toMatchObject({ executions: 60, maxExecutionsPerCommand: 1 });
    const signalled = (kind: string) => [b1, b2, b2again].reduce((n, b) => n + b.counters.get(`${kind}:signalled`), 0);
    // Both members did a share of the work.
    expect(b1.counters.get('ack:signalled')).toBeGreaterThan(0);
    expect(b2.counters.get('ack:signalled') + b2again.counters.get('ack:signalled')).toBeGreaterThan(0);
    // Nothing lost: every device's ack and result reached its workflow. Nothing doubled
    // unnoticed: a message delivered again after the crash shows up as a duplicate or late note.
    const repeats = (kind: string) =>
      outcomes.reduce((n, o) => n + o.history.filter((e) => e.event === `duplicate-${kind}` || e.event === `late-${kind}`).length, 0);
    const implied = outcomes.filter((o) => o.history.some((e) => e.event === 'ack-implied-by-result')).length;
    expect(signalled('ack')).toBe(60 - implied + repeats('ack'));
    expect(signalled('result')).toBeGreaterThanOrEqual(60);
  });
});
