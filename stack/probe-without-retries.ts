/**
 * gRPC interceptors for a readiness probe's connection: none, so not the SDK's default retry.
 * A probe asks once and its caller asks again; with the retry interceptor a "not yet" answer
 * (UNAVAILABLE, a frontend restarting) is retried behind the probe's back, and a retry whose
 * timer fires after the probe closed its connection throws from that timer ("Channel has been
 * shut down": an uncaught exception; test/unit/temporal-probe.test.ts).
 */
export const NO_RETRIES: [] = [];
