/**
 * Resolves on Ctrl-C (SIGINT) or SIGTERM: how long-running commands wait for their end.
 *
 * Until then it holds the process open itself. A pending promise does not keep Node running; a
 * timer does. MQTT clients deliberately do not (their reconnect timer is unref()ed, so a client
 * never holds a process open by itself: config/mqtt-connect.ts), so a process whose only work
 * is MQTT (`dco sim`) used to exit, with code 0 and without a word, when a broker restart
 * closed all its sockets, instead of waiting for the broker and reconnecting.
 */
export function untilStopped(): Promise<void> {
  return new Promise<void>((resolve) => {
    const keepAlive = setInterval(() => {}, 2 ** 30);
    const stop = () => {
      clearInterval(keepAlive);
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
