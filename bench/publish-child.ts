/**
 * A separate publishing process for the isolation scenarios, so that a flood or a storm loads
 * the broker and the bridge, not the bench's own event loop (which also runs the worker and
 * the bridge under test). Reads `{"t": topic, "p": payload}` lines from stdin, publishes each
 * at QoS 1 with `window` unacknowledged at most, spread evenly over `overMs` when given, and
 * prints `{"published": n, "ms": elapsed}` when done.
 *
 *   tsx bench/publish-child.ts <mqttUrl> <clientId> [window=200] [overMs=0]
 */
import mqtt from 'mqtt';

async function main() {
  const [url, clientId, windowArg = '200', overArg = '0'] = process.argv.slice(2);
  const window = Number(windowArg);
  const overMs = Number(overArg);
  let input = '';
  for await (const chunk of process.stdin) input += chunk;
  const messages = input
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { t: string; p: string });
  const client = await mqtt.connectAsync(url, { protocolVersion: 5, clientId, clean: true, reconnectPeriod: 0 });
  const started = Date.now();
  for (let i = 0; i < messages.length; i += window) {
    await Promise.all(messages.slice(i, i + window).map((m) => client.publishAsync(m.t, m.p, { qos: 1 })));
    if (overMs > 0) {
      const due = started + ((i + window) / messages.length) * overMs;
      if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
    }
  }
  process.stdout.write(JSON.stringify({ published: messages.length, ms: Date.now() - started }) + '\n');
  await client.endAsync();
}

main().catch((err) => {
  process.stderr.write(`publish-child failed: ${err?.stack ?? err}\n`);
  process.exit(1);
});
