import { isRedundantLateAnswer } from '../../bridge/late-answer-filter';

describe('which late answers are attached', () => {
  test.each([
    // endedAs, kind, status, redundant
    ['Succeeded', 'ack', 'accepted', true], // the result came first: the ack adds nothing
    ['Succeeded', 'result', 'succeeded', true], // a late copy of the result
    ['Succeeded', 'result', 'failed', false], // contradicts the outcome
    ['Succeeded', 'ack', 'rejected', false],
    ['Failed', 'ack', 'accepted', true],
    ['Failed', 'result', 'failed', true],
    ['Failed', 'result', 'succeeded', false],
    ['Rejected', 'ack', 'rejected', true],
    ['Rejected', 'result', 'succeeded', false], // rejected, and yet executed
    ['TimedOut', 'ack', 'accepted', false], // the service stopped waiting: everything counts
    ['TimedOut', 'result', 'succeeded', false],
    ['Expired', 'ack', 'accepted', false],
    ['Cancelled', 'result', 'failed', false], // cancelled, and yet executed
    ['Cancelled', 'ack', 'accepted', false], // a copy reached the device after all
    ['Cancelled', 'result', 'cancelled', true], // a copy of the device's confirmation
    ['Cancelled', 'ack', 'rejected', true], // a copy that came after the cancel, refused
    ['TimedOut', 'result', 'cancelled', false], // the device stopped it after the service stopped waiting
    [undefined, 'ack', 'accepted', false], // state not known: keep it
  ] as const)('ended %s, late %s %s: redundant %s', (endedAs, kind, status, redundant) => {
    expect(isRedundantLateAnswer(endedAs, kind, status)).toBe(redundant);
  });
});
