/** How the global setup tells each test file where the servers are. */
export const TEST_ENV_VARS = {
  dir: 'DCO_TEST_DIR',
  temporalAddress: 'DCO_TEST_TEMPORAL_ADDRESS',
  uiUrl: 'DCO_TEST_UI_URL',
  mqttUrl: 'DCO_TEST_MQTT_URL',
  bundlePath: 'DCO_TEST_WORKFLOW_BUNDLE',
} as const;

export interface TestEnv {
  dir: string;
  temporalAddress: string;
  uiUrl: string;
  mqttUrl: string;
  bundlePath: string;
}

export function testEnv(): TestEnv {
  const read = (name: string) => {
    const v = process.env[name];
    if (!v) throw new Error(`${name} is not set: run the tests with \`npm test\` (jest's global setup starts the servers)`);
    return v;
  };
  return {
    dir: read(TEST_ENV_VARS.dir),
    temporalAddress: read(TEST_ENV_VARS.temporalAddress),
    uiUrl: read(TEST_ENV_VARS.uiUrl),
    mqttUrl: read(TEST_ENV_VARS.mqttUrl),
    bundlePath: read(TEST_ENV_VARS.bundlePath),
  };
}

/** The test server's per-execution signal limit (Temporal's default is 10,000). */
export const TEST_SIGNAL_LIMIT = 400;
