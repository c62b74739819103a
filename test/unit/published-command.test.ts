import { publishedCommand } from '../../bridge/published-command';

describe('publishedCommand', () => {
  const json = (v: unknown) => Buffer.from(JSON.stringify(v));

  it("reads the device from the topic and the command's ID from the payload", () => {
    expect(publishedCommand('devices', 'devices/pump-7/commands', json({ v: 1, commandId: 'c-1', name: 'ping', attempt: 1 }))).toEqual({
      deviceId: 'pump-7',
      commandId: 'c-1',
    });
  });

  it.each([
    ['another kind of topic', 'devices/pump-7/ack', json({ commandId: 'c-1' })],
    ['another prefix', 'other/pump-7/commands', json({ commandId: 'c-1' })],
    ['not JSON', 'devices/pump-7/commands', Buffer.from('{nope')],
    ['JSON null', 'devices/pump-7/commands', json(null)],
    ['no commandId', 'devices/pump-7/commands', json({ name: 'ping' })],
    ['an invalid commandId', 'devices/pump-7/commands', json({ commandId: 'a b' })],
    ['a commandId that is not a string', 'devices/pump-7/commands', json({ commandId: 7 })],
  ])('ignores %s', (_what, topic, payload) => {
    expect(publishedCommand('devices', topic, payload)).toBeUndefined();
  });
});
