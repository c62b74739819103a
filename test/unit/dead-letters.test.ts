import fc from 'fast-check';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readDeadLetters } from '../../bridge/dead-letter-files';
import { DEAD_LETTER_REASONS, deadLetterOf, emptyTotals, type DeadLetterReason } from '../../bridge/dead-letter-record';
import { DeadLetterStore } from '../../bridge/dead-letter-store';

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'dco-dl-'));
const T = '2026-02-04T10:00:00.000Z';
const letter = (reason: DeadLetterReason, payload: string | Uint8Array = 'x', topic = 'devices/d1/ack') =>
  deadLetterOf(topic, typeof payload === 'string' ? Buffer.from(payload) : payload, reason, `because ${reason}`, { prefix: 'devices', receivedAt: T });

describe('deadLetterOf', () => {
  it('keeps text payloads as text, with topic, device, reason and detail', () => {
    expect(letter('not-json', '{"v":1,')).toEqual({
      receivedAt: T,
      reason: 'not-json',
      detail: 'because not-json',
      topic: 'devices/d1/ack',
      deviceId: 'd1',
      payloadBytes: 7,
      payload: '{"v":1,',
      payloadEncoding: 'utf8',
      payloadTruncated: false,
    });
  });

  it('keeps binary payloads (invalid UTF-8, control characters, a BOM) as base64', () => {
    for (const bytes of [Buffer.from([0xff, 0xfe, 0x00, 0x41]), Buffer.from('a\u0000b'), Buffer.from('\uFEFF{}')]) {
      const l = letter('not-json', bytes);
      expect(l.payloadEncoding).toBe('base64');
      expect(Buffer.from(l.payload, 'base64')).toEqual(bytes);
    }
  });

  it('cuts the payload to keepPayloadBytes, at a character boundary for text', () => {
    const text = 'é'.repeat(1000); // 2 bytes each
    const l = deadLetterOf('devices/d1/ack', Buffer.from(text), 'too-large', 'big', { keepPayloadBytes: 101 });
    expect(l).toMatchObject({ payloadBytes: 2000, payloadTruncated: true, payloadEncoding: 'utf8', payload: 'é'.repeat(50) });
  });

  it('cuts long topics and details, and names no device for a topic without a valid one', () => {
    const l = deadLetterOf(`devices/${'x'.repeat(1000)}/ack`, Buffer.alloc(0), 'bad-topic', 'd'.repeat(2000), { prefix: 'devices' });
    expect(l.topic).toHaveLength(256);
    expect(l.detail).toHaveLength(500);
    expect(l.deviceId).toBeUndefined();
    expect(l.payload).toBe('');
  });

  it('never throws and always keeps a prefix of the payload (property)', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 300 }),
        fc.uint8Array({ maxLength: 3000 }),
        fc.integer({ min: 0, max: 2000 }),
        (topic, payload, keep) => {
          const l = deadLetterOf(topic, payload, 'not-json', 'x', { prefix: 'devices', keepPayloadBytes: keep });
          const kept = l.payloadEncoding === 'utf8' ? Buffer.from(l.payload, 'utf8') : Buffer.from(l.payload, 'base64');
          expect(kept.byteLength).toBeLessThanOrEqual(keep);
          expect(Buffer.from(payload).subarray(0, kept.byteLength)).toEqual(kept);
          expect(l.payloadTruncated).toBe(payload.byteLength > keep);
          expect(l.payloadBytes).toBe(payload.byteLength);
        },
      ),
      { numRuns: 1_000 },
    );
  });
});

describe('DeadLetterStore', () => {
  it('without a directory: counts per reason and keeps the latest in memory', () => {
    const store = new DeadLetterStore({ memoryEntries: 3 });
    for (const r of ['not-json', 'not-json', 'too-deep', 'spoofed', 'unknown-command'] as const) store.add(letter(r));
    expect(store.totals()).toEqual({ ...emptyTotals(), 'not-json': 2, 'too-deep': 1, spoofed: 1, 'unknown-command': 1 });
    expect(store.total()).toBe(5);
    expect(store.latest(10).map((l) => [l.seq, l.reason])).toEqual([
      [3, 'too-deep'],
      [4, 'spoofed'],
      [5, 'unknown-command'],
    ]);
  });

  it('appends JSON lines and a summary that `readDeadLetters` reads back', () => {
    const dir = tmp();
    const store = new DeadLetterStore({ dir });
    store.add(letter('not-json', 'oops'));
    store.add(letter('bad-topic', '{}', 'devices/a b/ack'));
    store.close();
    const lines = readFileSync(path.join(dir, 'deadletters.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.seq, l.reason, l.payload])).toEqual([
      [1, 'not-json', 'oops'],
      [2, 'bad-topic', '{}'],
    ]);
    const report = readDeadLetters(dir, 1);
    expect(report).toMatchObject({ exists: true, total: 2, kept: 2, firstAt: T, lastAt: T });
    expect(report.totals).toEqual({ ...emptyTotals(), 'not-json': 1, 'bad-topic': 1 });
    expect(report.latest.map((l) => l.seq)).toEqual([2]);
  });

  it('a directory without a record reads as empty', () => {
    expect(readDeadLetters(path.join(tmp(), 'none'))).toMatchObject({ exists: false, total: 0, latest: [] });
  });

  it('rotates by size, deletes the oldest files, and keeps exact totals', () => {
    const dir = tmp();
    const store = new DeadLetterStore({ dir, maxFileBytes: 2_000, keepFiles: 2 });
    const sent = emptyTotals();
    for (let i = 0; i < 500; i++) {
      const reason = DEAD_LETTER_REASONS[i % DEAD_LETTER_REASONS.length];
      sent[reason]++;
      store.add(letter(reason, `payload ${i}`));
    }
    const files = readdirSync(dir)
      .filter((f) => f.endsWith('.jsonl'))
      .sort();
    expect(files).toEqual(['deadletters.1.jsonl', 'deadletters.2.jsonl', 'deadletters.jsonl']);
    for (const f of files) expect(statSync(path.join(dir, f)).size).toBeLessThanOrEqual(2_000);
    expect(store.totals()).toEqual(sent);
    // A reader sees the exact totals too, though most entries are gone, while the store is open.
    const report = readDeadLetters(dir, 5);
    expect(report.totals).toEqual(sent);
    expect(report.total).toBe(500);
    expect(report.kept).toBeLessThan(100);
    expect(report.latest.map((l) => l.seq)).toEqual([496, 497, 498, 499, 500]);
    store.close();
    // And a new store (a restarted bridge) continues the count and the sequence.
    const again = new DeadLetterStore({ dir, maxFileBytes: 2_000, keepFiles: 2 });
    expect(again.totals()).toEqual(sent);
    expect(again.add(letter('spoofed')).seq).toBe(501);
    again.close();
    expect(readDeadLetters(dir).totals.spoofed).toBe(sent.spoofed + 1);
  });

  it('after a crash: entries written after the last summary are counted from the file, a cut line is skipped', () => {
    const dir = tmp();
    const store = new DeadLetterStore({ dir, summaryIntervalMs: 60_000 });
    store.add(letter('not-json'));
    store.flush();
    store.add(letter('too-deep'));
    store.add(letter('too-deep'));
    // "crash": no close, and half a line at the end of the file
    appendFileSync(path.join(dir, 'deadletters.jsonl'), '{"seq":4,"reason":"too-d');
    expect(JSON.parse(readFileSync(path.join(dir, 'summary.json'), 'utf8')).lastSeq).toBe(1);
    expect(readDeadLetters(dir).totals).toMatchObject({ 'not-json': 1, 'too-deep': 2 });
    const restarted = new DeadLetterStore({ dir });
    expect(restarted.totals()).toMatchObject({ 'not-json': 1, 'too-deep': 2 });
    expect(restarted.add(letter('spoofed')).seq).toBe(4);
    restarted.close();
    const lines = readFileSync(path.join(dir, 'deadletters.jsonl'), 'utf8').split('\n').filter(Boolean);
    expect(JSON.parse(lines.at(-1)!)).toMatchObject({ seq: 4, reason: 'spoofed' });
    expect(readDeadLetters(dir).total).toBe(4);
    store.close();
  });

  it('a directory that becomes unusable: dead letters are still counted, the errors logged, nothing thrown', () => {
    const dir = tmp();
    const errors: unknown[] = [];
    const logger = { error: (o: unknown) => errors.push(o), warn: () => {} } as never;
    const store = new DeadLetterStore({ dir, logger, maxFileBytes: 1 });
    rmSync(dir, { recursive: true });
    writeFileSync(dir, 'not a directory any more');
    expect(() => {
      for (let i = 0; i < 5; i++) store.add(letter('not-json'));
    }).not.toThrow();
    expect(store.totals()['not-json']).toBe(5);
    expect(store.writeErrors).toBeGreaterThan(0);
    expect(errors.length).toBeGreaterThan(0);
    expect(() => store.close()).not.toThrow();
  });

  it('logs at most logPerMinute dead letters a minute, without the payload', () => {
    const warned: Array<[Record<string, unknown>, string]> = [];
    const logger = { warn: (o: Record<string, unknown>, m: string) => warned.push([o, m]), error: () => {} } as never;
    const store = new DeadLetterStore({ logger, logPerMinute: 3 });
    for (let i = 0; i < 10; i++) store.add(letter('not-json', 'secret'));
    expect(warned).toHaveLength(3);
    expect(warned[0][1]).toBe('dead letter: not-json');
    expect(warned[0][0]).toMatchObject({ reason: 'not-json', topic: 'devices/d1/ack', payloadBytes: 6 });
    expect(JSON.stringify(warned)).not.toContain('secret');
  });
});
