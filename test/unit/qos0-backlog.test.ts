import { BridgeCounters } from '../../bridge/bridge-counters';
import { Qos0Backlog } from '../../bridge/qos0-backlog';

describe('Qos0Backlog', () => {
  it('routes QoS 0 messages one at a time, in the order they came', async () => {
    const routed: string[] = [];
    let running = 0;
    let most = 0;
    const router = {
      route: async (topic: string) => {
        most = Math.max(most, ++running);
        await new Promise((r) => setImmediate(r));
        routed.push(topic);
        running--;
      },
    };
    const counters = new BridgeCounters();
    const backlog = new Qos0Backlog(router, counters);
    for (const t of ['a', 'b', 'c', 'd']) backlog.add(t, Buffer.from('{}'), false);
    await backlog.drained();
    expect(routed).toEqual(['a', 'b', 'c', 'd']);
    expect(most).toBe(1);
    expect(counters.get('qos0:received')).toBe(4);
  });

  it('drops and counts what comes past MAX_WAITING, and takes messages again once it has drained', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const routed: string[] = [];
    const router = {
      route: async (topic: string) => {
        await gate;
        routed.push(topic);
      },
    };
    const counters = new BridgeCounters();
    const backlog = new Qos0Backlog(router, counters);
    const max = Qos0Backlog.MAX_WAITING;
    for (let i = 0; i < max + 25; i++) backlog.add(`t${i}`, Buffer.from('{}'), false);
    expect(counters.get('qos0:dropped')).toBe(25);
    release();
    await backlog.drained();
    expect(routed).toHaveLength(max);
    expect(routed.at(-1)).toBe(`t${max - 1}`);
    backlog.add('later', Buffer.from('{}'), false);
    await backlog.drained();
    expect(routed.at(-1)).toBe('later');
  });
});
