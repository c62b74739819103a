import { messageExpirySeconds } from '../../activities/publish-command';
import {
  brokerRefusal,
  MAX_MESSAGE_EXPIRY_SECONDS,
  MAX_PUBLISH_PACKET_BYTES,
  publishPacketBytes,
  publishProblem,
  PublishRefusedError,
} from '../../activities/publish-guard';

describe('the Message Expiry Interval fits its four bytes', () => {
  const now = Date.parse('2026-02-04T10:00:00.000Z');
  it('rounds up and clamps into [1, 2^32 - 1]', () => {
    expect(messageExpirySeconds('2026-02-04T10:00:00.001Z', now)).toBe(1);
    expect(messageExpirySeconds('2026-02-04T10:10:00.000Z', now)).toBe(600);
    expect(messageExpirySeconds('9999-12-31T23:59:59Z', now)).toBe(MAX_MESSAGE_EXPIRY_SECONDS);
    expect(MAX_MESSAGE_EXPIRY_SECONDS).toBe(4_294_967_295);
    expect(messageExpirySeconds('2026-02-04T09:00:00.000Z', now)).toBe(1);
    expect(messageExpirySeconds('not a date', now)).toBe(1);
  });
});

describe('publishProblem: nothing that would cost the shared connection reaches MQTT.js', () => {
  const topic = 'devices/pump-7/commands';
  it('lets an ordinary command through', () => {
    expect(publishProblem(topic, '{"v":1}', 600, 'application/json')).toBeUndefined();
  });
  it.each([
    ['an expiry above 2^32 - 1', topic, '{}', 2 ** 32, /message expiry 4294967296 s is not a whole number from 1 to 4294967295/],
    ['an expiry of 0', topic, '{}', 0, /message expiry/],
    ['a NaN expiry', topic, '{}', NaN, /message expiry/],
    ['a fractional expiry', topic, '{}', 1.5, /message expiry/],
    ['a wildcard topic', 'devices/+/commands', '{}', 1, /wildcard/],
    ['a # topic', 'devices/#', '{}', 1, /wildcard/],
    ['an empty topic', '', '{}', 1, /empty/],
    ['a payload above 64 KiB with the packet', topic, 'x'.repeat(MAX_PUBLISH_PACKET_BYTES), 1, /too large/],
  ])('refuses %s', (_what, t, payload, expiry, message) => {
    expect(publishProblem(t, payload, expiry as number, 'application/json')).toMatch(message);
  });
  it('counts the whole packet', () => {
    // fixed header (1 + 2) + topic (2 + 23) + packet id (2) + properties length (1) + properties
    // (expiry 1 + 4, content type 1 + 2 + 16) + payload
    expect(publishPacketBytes(topic, 'x'.repeat(1_000), 'application/json')).toBe(3 + 25 + 2 + 1 + 24 + 1_000);
    const room = MAX_PUBLISH_PACKET_BYTES - publishPacketBytes(topic, '', 'application/json');
    expect(publishProblem(topic, 'x'.repeat(room - 2), 1, 'application/json')).toBeUndefined();
    expect(publishProblem(topic, 'x'.repeat(room + 1), 1, 'application/json')).toMatch(/too large/);
  });
});

describe('brokerRefusal: PUBACK reason codes >= 0x80 are final, with the reason', () => {
  const mqttError = (message: string, code: number) => Object.assign(new Error(message), { code });
  it.each([
    [0x87, 'Publish error: Not authorized', 'refused by the broker: Not authorized (PUBACK reason code 0x87)'],
    [0x97, 'Publish error: Quota exceeded', 'refused by the broker: Quota exceeded (PUBACK reason code 0x97)'],
    [0x80, 'Publish error: Unspecified error', 'refused by the broker: Unspecified error (PUBACK reason code 0x80)'],
    [0x90, 'Publish error: Topic Name invalid', 'refused by the broker: Topic Name invalid (PUBACK reason code 0x90)'],
  ])('0x%s', (code, message, reason) => {
    const r = brokerRefusal(mqttError(message, code));
    expect(r).toBeInstanceOf(PublishRefusedError);
    expect(r?.reason).toBe(reason);
    expect(r?.reasonCode).toBe(code);
  });
  it('anything else is retried: outages, timeouts, 0x91 (a packet id in use), socket codes', () => {
    expect(brokerRefusal(new Error('no PUBACK within 8000 ms'))).toBeUndefined();
    expect(brokerRefusal(mqttError('Publish error: Packet identifier in use', 0x91))).toBeUndefined();
    expect(brokerRefusal(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).toBeUndefined();
    expect(brokerRefusal(undefined)).toBeUndefined();
  });
});
