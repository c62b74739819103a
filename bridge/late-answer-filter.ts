/**
 * Whether a late answer (its command already ended) says anything the command's terminal state
 * does not. An ack `accepted` after the command Succeeded (MQTT delivered the result first, on
 * another lane), or the same result again, is only a late copy: attaching it would make every
 * such command look as if something happened afterwards. What contradicts the state, or comes
 * after the service stopped waiting (TimedOut, Expired, Cancelled, or a state not known), is
 * attached. Pure.
 */
export function isRedundantLateAnswer(endedAs: string | undefined, kind: 'ack' | 'result', status: string): boolean {
  switch (endedAs) {
    case 'Succeeded':
      return (kind === 'ack' && status === 'accepted') || (kind === 'result' && status === 'succeeded');
    case 'Failed':
      return (kind === 'ack' && status === 'accepted') || (kind === 'result' && status === 'failed');
    case 'Rejected':
      return kind === 'ack' && status === 'rejected';
    case 'Cancelled':
      // Not executed, and the device agrees: another copy of its confirmation, or the rejection
      // it journalled for a copy that arrived after the cancel, says nothing new.
      return (kind === 'result' && status === 'cancelled') || (kind === 'ack' && status === 'rejected');
    default:
      return false;
  }
}
