import { DefaultLogger, Runtime } from '@temporalio/worker';

// Temporal SDK logs at WARN and above only: test output stays readable.
try {
  Runtime.install({ logger: new DefaultLogger('WARN') });
} catch {
  // already installed for this process
}
