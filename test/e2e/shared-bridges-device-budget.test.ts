import type { MqttBridge } from '../../bridge/mqtt-bridge';
import { eventually } from '../support/eventually';
import { startGroupBridge } from '../support/group-bridge';
import { Harness } from '../support/harness';
import { RawDevice } from '../support/raw-device';

const BURST = 10;
const FLOOD = 200;

/**
 * One device's budget is the group's, not each bridge's: two bridges share the device topics,
 * the broker deals each of them half of a flooding device's acks, and each charges an ack 2 of
 * the device's tokens (`shareGroupSize`). Together they let through BURST acks, as one bridge
 * would; each charging 1, they let through twice that.
 */
describe('bridges in a shared group share each device budget', () => {
  const h = new Harness();
  const bridges: MqttBridge[] = [];
  let flooder: RawDevice;

  beforeAll(async () => {
    await h.start({ bridge: false });
    for (const name of ['b1', 'b2']) {
      // No refill worth counting during the test: what passes is the burst, exactly.
      bridges.push(await startGroupBridge(h, `${name}-${h.id}`, `budget-${h.id}`, { shareGroupSize: 2, deviceRate: { burst: BURST, perSecond: 0.001 } }));
    }
    flooder = await new RawDevice('budget-flood-1', h.env.mqttUrl, h.topicPrefix).start();
  });
  afterAll(async () => {
    await flooder?.stop();
    await Promise.all(bridges.map((b) => b.stop().catch(() => {})));
    await h.stop();
  });

  test(`${FLOOD} acks from one device through two bridges: ${BURST} pass (the burst), the rest are rate-limited`, async () => {
    // Made-up commands, each its own: nothing but the budget (and then the unknown command) stops them.
    await Promise.all(Array.from({ length: FLOOD }, (_, i) => flooder.ack(`ghost-${i}`)));
    const sum = (key: string) => bridges.reduce((n, b) => n + b.counters.get(key), 0);
    await eventually(
      async () => sum('ack:rate-limited') + sum('ack:unknown-command'),
      (n) => n === FLOOD,
      60_000,
    );
    // Both bridges had their share of the flood, and each passed half the burst.
    for (const b of bridges) expect(b.counters.get('ack:rate-limited')).toBeGreaterThan(0);
    expect(bridges.map((b) => b.counters.get('ack:unknown-command'))).toEqual([BURST / 2, BURST / 2]);
    expect(sum('ack:rate-limited')).toBe(FLOOD - BURST);
  });
});
