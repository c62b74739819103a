import { Harness } from '../support/harness';
import { statePath } from '../support/state-path';

describe('one command end to end (real Temporal + Mosquitto)', () => {
  const h = new Harness();
  beforeAll(() => h.start());
  afterAll(() => h.stop());

  test('a command reaches the device, is acknowledged, executed, and reported Succeeded', async () => {
    await h.startDevice('pump-1', { ping: async (params) => ({ pong: true, echo: params.x }) });
    const handle = await h.client.send({ deviceId: 'pump-1', name: 'ping', params: { x: 42 } });
    const outcome = await handle.result();
    expect(outcome.state).toBe('Succeeded');
    expect(outcome.output).toEqual({ pong: true, echo: 42 });
    expect(outcome.attempts).toBe(1);
    expect(statePath(outcome)).toEqual(['Created', 'Sent', 'Acknowledged', 'Succeeded']);
    const device = h.devices[0];
    expect(device.journal.get(handle.commandId)?.executions).toBe(1);
  });
});
