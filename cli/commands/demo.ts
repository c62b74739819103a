import { Command, Option } from 'commander';
import path from 'node:path';
import { EntityPresence } from '../../activities/entity-presence';
import { COMMAND_TASK_QUEUE } from '../../protocol/command-contract';
import { deviceTaskQueue } from '../../protocol/device-contract';
import { DcoClient, type CommandHandle } from '../../client/dco-client';
import { connectClient } from '../../config/temporal-connect';
import { CommandFailure, DeviceAgent, type DeviceAgentOptions, type DeviceFaults } from '../../device/device-agent';
import type { SendRequestInput } from '../../client/send-request';
import { isTerminal } from '../../protocol/command-state';
import { LocalStack } from '../../stack/local-stack';
import { historyLines } from '../format-command';
import { parsePort } from '../parse-options';
import { printAddresses } from './up';
import { untilStopped } from '../until-stopped';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Five devices, five stories: success, failure, a lost message and a retry, offline, rejection. */
const SCENARIOS: Array<{ story: string; request: SendRequestInput }> = [
  { story: 'healthy device', request: { deviceId: 'thermostat-1', name: 'set-config', params: { targetC: 21.5 } } },
  { story: 'device reports a failure', request: { deviceId: 'pump-2', name: 'calibrate' } },
  {
    story: 'first publish lost, re-published',
    request: { deviceId: 'lock-3', name: 'unlock', params: { door: 'north' }, ackTimeoutMs: 2_000, backoff: { initialMs: 500 } },
  },
  { story: 'device offline until expiry', request: { deviceId: 'meter-4', name: 'read', ttlMs: 5_000 } },
  { story: 'device rejects an unknown command', request: { deviceId: 'gateway-5', name: 'self-destruct' } },
];

export function demoCommand(): Command {
  return new Command('demo')
    .description('start the whole system with simulated devices, send commands with every kind of outcome, and show them')
    .addOption(new Option('--data-dir <dir>', 'state of all services').default('.data'))
    .addOption(new Option('--temporal-port <port>').default(7233).argParser(parsePort))
    .addOption(new Option('--ui-port <port>').default(8233).argParser(parsePort))
    .addOption(new Option('--mqtt-port <port>').default(1883).argParser(parsePort))
    .option('--exit', 'stop everything when the commands have finished (for scripts)')
    .action(async (opts) => {
      const say = (line: string) => process.stdout.write(line + '\n');
      const stack = await LocalStack.start({
        dataDir: opts.dataDir,
        temporalPort: opts.temporalPort,
        uiPort: opts.uiPort,
        mqttPort: opts.mqttPort,
      });
      const devices: DeviceAgent[] = [];
      const connection = await connectClient(stack.temporalAddress);
      try {
        printAddresses(stack);
        // Each device gets its own credentials, as a real one would (`dco device add`).
        const auth = stack.mosquitto.auth;
        const device = (deviceId: string, handlers: DeviceAgentOptions['handlers'], faults?: DeviceFaults) =>
          new DeviceAgent({
            deviceId,
            mqttUrl: stack.mqttUrl,
            ...(auth ? { username: deviceId, password: auth.addDevice(deviceId) } : {}),
            journalDir: path.join(opts.dataDir, 'demo-devices'),
            handlers,
            faults,
            // What it reports about itself: kept by its device entity (`dco devices show`).
            attributes: { model: deviceId.replace(/-\d+$/, '-demo'), firmware: '1.0.0', site: 'demo-lab' },
          });
        devices.push(
          device('thermostat-1', { 'set-config': async (p) => (await sleep(400), { applied: p }) }),
          device('pump-2', {
            calibrate: async () => {
              await sleep(300);
              throw new CommandFailure('sensor-fault', 'pressure sensor not responding');
            },
          }),
          device('lock-3', { unlock: async (p) => (await sleep(200), { unlocked: p.door }) }, { ignore: (c) => c.attempt === 1 }),
          device('gateway-5', { reboot: async () => ({}) }),
        );
        const meter = device('meter-4', { read: async () => ({ kWh: 1 }) });
        // Every device has its credentials now; the broker applies a reload some time after
        // the signal, so wait until it did (or fail loudly) before any device connects.
        await auth?.reloadAndWait();
        // meter-4 was online once and went offline: its retained status says so.
        await meter.start();
        await meter.stop();
        await Promise.all(devices.map((d) => d.start()));
        say(`\nDevices online: ${devices.map((d) => d.deviceId).join(', ')}; meter-4 stays offline.\n`);

        const client = new DcoClient({ connection });
        // Its record (the device entity, which the worker asks before publishing) knows it too:
        // the bridge forwards statuses at a bounded rate, so this takes a moment.
        const meterPresence = new EntityPresence(client.temporal, deviceTaskQueue(COMMAND_TASK_QUEUE));
        const knownBy = Date.now() + 15_000;
        while ((await meterPresence.get('meter-4'))?.state !== 'offline' && Date.now() < knownBy) await sleep(100);
        const handles: Array<{ story: string; handle: CommandHandle; printed: number; done: boolean }> = [];
        for (const { story, request } of SCENARIOS) {
          const handle = await client.send(request);
          handles.push({ story, handle, printed: 0, done: false });
          say(`sent ${request.name} to ${request.deviceId}: ${handle.commandId}  (${story})`);
        }
        say('\nWhat happens, as it happens:');
        while (handles.some((h) => !h.done)) {
          for (const h of handles.filter((x) => !x.done)) {
            const s = await h.handle.state();
            const lines = historyLines(s);
            for (const line of lines.slice(h.printed)) say(`${s.deviceId.padEnd(13)}${line}`);
            h.printed = lines.length;
            h.done = isTerminal(s.state);
          }
          await sleep(300);
        }
        say('\nOutcomes:');
        for (const h of handles) {
          const s = await h.handle.result();
          const path = s.history
            .map((e) => e.state)
            .filter((x, i, a) => i === 0 || a[i - 1] !== x)
            .join(' → ');
          say(
            `  ${s.deviceId.padEnd(13)} ${s.name.padEnd(13)} ${s.state.padEnd(10)} ${String(s.attempts)} attempt(s)  ${path}${s.reason ? `  (${s.reason})` : ''}`,
          );
        }
        if (stack.uiUrl) {
          say(`\nInspect them in the Temporal Web UI: ${stack.uiUrl}/namespaces/default/workflows`);
          say(`  e.g. only pump-2: ${stack.uiUrl}/namespaces/default/workflows?query=${encodeURIComponent(`DeviceId="pump-2"`)}`);
          say(`  the devices' own records: ${stack.uiUrl}/namespaces/default/workflows?query=${encodeURIComponent(`WorkflowType="deviceWorkflow"`)}`);
        }
        say(`Try it yourself:  TEMPORAL_ADDRESS=${stack.temporalAddress} ./bin/dco send thermostat-1 set-config --params '{"targetC":19}' --wait`);
        say(
          `  one device's record (presence, boots, attributes, open commands):  TEMPORAL_ADDRESS=${stack.temporalAddress} ./bin/dco devices show thermostat-1`,
        );
        if (!opts.exit) {
          say('\nThe system keeps running; press Ctrl-C to stop it.');
          await untilStopped();
        }
      } finally {
        await Promise.all(devices.map((d) => d.stop().catch(() => {})));
        await connection.close();
        await stack.stop();
        say('Stopped.');
      }
    });
}
