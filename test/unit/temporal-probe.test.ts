import * as grpc from '@grpc/grpc-js';
import { isTemporalServing } from '../../stack/temporal-server';
import { frontendAnswers } from '../../stack/temporal-server-processes';

/**
 * The readiness probes ask a Temporal frontend once and close their connection. Against a
 * frontend that answers UNAVAILABLE (one being restarted, as the chaos test does), the SDK's
 * retry interceptor would keep asking after the probe gave up: its timer then calls a channel
 * that close() has shut down and throws from the timer ("Channel has been shut down"), an
 * uncaught exception that failed the PostgreSQL chaos test once. So the probes ask exactly
 * once, and a "no" is theirs to repeat.
 */
describe('Temporal readiness probes', () => {
  let server: grpc.Server;
  let address: string;
  let calls = 0;
  const identity = (b: Buffer) => b;

  beforeAll(async () => {
    server = new grpc.Server();
    const unary = (method: string) => ({
      path: `/temporal.api.workflowservice.v1.WorkflowService/${method}`,
      requestStream: false,
      responseStream: false,
      requestSerialize: identity,
      requestDeserialize: identity,
      responseSerialize: identity,
      responseDeserialize: identity,
    });
    const unavailable: grpc.handleUnaryCall<Buffer, Buffer> = (_call, callback) => {
      calls++;
      callback({ code: grpc.status.UNAVAILABLE, details: 'frontend restarting' });
    };
    server.addService(
      { GetSystemInfo: unary('GetSystemInfo'), DescribeNamespace: unary('DescribeNamespace') },
      { GetSystemInfo: unavailable, DescribeNamespace: unavailable },
    );
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    address = `127.0.0.1:${port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.tryShutdown(() => resolve())));

  test.each([
    ['isTemporalServing (dev server)', (a: string) => isTemporalServing(a)],
    ['frontendAnswers (cluster)', (a: string) => frontendAnswers(a)],
  ])('%s: an UNAVAILABLE frontend is a "no" after one call, with nothing left to fire later', async (_name, probe) => {
    calls = 0;
    expect(await probe(address)).toBe(false);
    expect(calls).toBe(1);
    // The SDK's first retry would come within a second (100 ms and up); none may come.
    await new Promise((r) => setTimeout(r, 2_000));
    expect(calls).toBe(1);
  });
});
