import fc from 'fast-check';
import { allDevicesTopic, DEFAULT_TOPIC_PREFIX, deviceTopic, isValidTopicPrefix, parseDeviceTopic, TOPIC_KINDS, type TopicKind } from '../../protocol/topics';

const ID_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-'.split('');
const levelArb = (maxLength: number) => fc.string({ unit: fc.constantFrom(...ID_CHARS), minLength: 1, maxLength });
const prefixArb = fc.array(levelArb(12), { minLength: 1, maxLength: 4 }).map((levels) => levels.join('/'));
const deviceIdArb = levelArb(64);
const kindArb = fc.constantFrom(...TOPIC_KINDS);

describe('constants', () => {
  it('has one kind per question and the default prefix "devices"', () => {
    expect(TOPIC_KINDS).toEqual(['commands', 'ack', 'result', 'status', 'pending', 'cancel']);
    expect(DEFAULT_TOPIC_PREFIX).toBe('devices');
  });
});

describe('deviceTopic / allDevicesTopic', () => {
  it('builds {prefix}/{deviceId}/{kind}', () => {
    expect(deviceTopic('devices', 'pump-7', 'commands')).toBe('devices/pump-7/commands');
    expect(deviceTopic('site1/devices', 'pump-7', 'ack')).toBe('site1/devices/pump-7/ack');
  });

  it('builds a single-level wildcard filter over all devices', () => {
    expect(allDevicesTopic('devices', 'result')).toBe('devices/+/result');
    expect(allDevicesTopic('site1/devices', 'status')).toBe('site1/devices/+/status');
  });
});

describe('parseDeviceTopic', () => {
  it('parses each kind', () => {
    for (const kind of TOPIC_KINDS) {
      expect(parseDeviceTopic('devices', `devices/pump-7/${kind}`)).toEqual({ deviceId: 'pump-7', kind });
    }
    expect(parseDeviceTopic('site1/devices', 'site1/devices/d.1_x/result')).toEqual({ deviceId: 'd.1_x', kind: 'result' });
  });

  it('accepts a deviceId of 64 characters and rejects 65', () => {
    expect(parseDeviceTopic('devices', `devices/${'d'.repeat(64)}/ack`)).toEqual({ deviceId: 'd'.repeat(64), kind: 'ack' });
    expect(parseDeviceTopic('devices', `devices/${'d'.repeat(65)}/ack`)).toBeUndefined();
  });

  it.each([
    ['wildcard +', 'devices/+/ack'],
    ['wildcard #', 'devices/#'],
    ['wildcard # as kind', 'devices/pump-7/#'],
    ['wildcard + as kind', 'devices/pump-7/+'],
    ['an extra level', 'devices/pump-7/ack/extra'],
    ['a trailing slash', 'devices/pump-7/ack/'],
    ['a missing kind', 'devices/pump-7'],
    ['only the prefix', 'devices/'],
    ['the prefix alone', 'devices'],
    ['an empty deviceId', 'devices//ack'],
    ['a deviceId with a space', 'devices/pump 7/ack'],
    ['an unknown kind', 'devices/pump-7/acks'],
    ['an uppercase kind', 'devices/pump-7/ACK'],
    ['another prefix', 'things/pump-7/ack'],
    ['a prefix that only starts the same', 'devicesX/pump-7/ack'],
    ['a leading slash', '/devices/pump-7/ack'],
    ['a $SYS topic', '$SYS/broker/uptime'],
    ['an empty topic', ''],
  ])('rejects %s (%s)', (_label, topic) => {
    expect(parseDeviceTopic('devices', topic)).toBeUndefined();
  });

  it('with a multi-level prefix, rejects the topic of a shorter prefix', () => {
    expect(parseDeviceTopic('site1/devices', 'devices/pump-7/ack')).toBeUndefined();
    expect(parseDeviceTopic('site1/devices', 'site1/pump-7/ack')).toBeUndefined();
  });

  it('round trip: parseDeviceTopic(deviceTopic(p, id, kind)) = { id, kind }', () => {
    fc.assert(
      fc.property(prefixArb, deviceIdArb, kindArb, (prefix, deviceId, kind) => {
        expect(parseDeviceTopic(prefix, deviceTopic(prefix, deviceId, kind))).toEqual({ deviceId, kind });
      }),
      { numRuns: 500 },
    );
  });

  it('inverse: whatever parses is exactly deviceTopic of the result', () => {
    const pieceArb = fc.oneof(levelArb(70), fc.constantFrom('+', '#', '', ' ', 'a b', ...TOPIC_KINDS), fc.string({ maxLength: 8 }));
    fc.assert(
      fc.property(prefixArb, fc.array(pieceArb, { minLength: 0, maxLength: 5 }), fc.boolean(), (prefix, pieces, withPrefix) => {
        const topic = (withPrefix ? [prefix, ...pieces] : pieces).join('/');
        const parsed = parseDeviceTopic(prefix, topic);
        if (parsed) {
          expect(deviceTopic(prefix, parsed.deviceId, parsed.kind)).toBe(topic);
          expect(TOPIC_KINDS).toContain(parsed.kind);
          expect(parsed.deviceId).toMatch(/^[A-Za-z0-9._-]{1,64}$/);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('never throws on arbitrary prefixes and topics', () => {
    fc.assert(
      fc.property(fc.string(), fc.string({ unit: 'binary' }), (prefix, topic) => {
        const parsed = parseDeviceTopic(prefix, topic);
        if (parsed) expect(topic).toBe(deviceTopic(prefix, parsed.deviceId, parsed.kind as TopicKind));
      }),
      { numRuns: 500 },
    );
  });
});

describe('isValidTopicPrefix', () => {
  it.each(['devices', 'site1/devices', 'a/b/c/d', 'A.b_c-9', 'x'])('accepts %j', (prefix) => {
    expect(isValidTopicPrefix(prefix)).toBe(true);
  });

  it.each(['', '/', '/devices', 'devices/', 'a//b', '+', '#', 'devices/+', 'devices/#', 'a/+/b', 'dev ices', '$SYS', 'devices\n', 'dévices'])(
    'rejects %j',
    (prefix) => {
      expect(isValidTopicPrefix(prefix)).toBe(false);
    },
  );

  it('accepts every prefix made of plain levels', () => {
    fc.assert(fc.property(prefixArb, (prefix) => expect(isValidTopicPrefix(prefix)).toBe(true)));
  });

  it('rejects any prefix containing a wildcard or an empty level', () => {
    fc.assert(
      fc.property(prefixArb, fc.constantFrom('+', '#', '/', '//'), fc.nat(), (prefix, bad, at) => {
        const i = at % (prefix.length + 1);
        const broken = bad === '/' ? (at % 2 ? `/${prefix}` : `${prefix}/`) : prefix.slice(0, i) + bad + prefix.slice(i);
        expect(isValidTopicPrefix(broken)).toBe(false);
      }),
    );
  });
});
