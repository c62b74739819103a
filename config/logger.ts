import pino, { type Logger } from 'pino';

/**
 * Structured JSON logs on stderr (stdout stays free for command output such as `--json`).
 * LOG_LEVEL sets the level; LOG_PRETTY=1 makes them readable for people.
 */
export function createLogger(name: string, level = process.env.LOG_LEVEL ?? 'info'): Logger {
  if (process.env.LOG_PRETTY === '1') {
    return pino({ name, level, transport: { target: 'pino-pretty', options: { destination: 2 } } });
  }
  return pino({ name, level }, pino.destination(2));
}

export type { Logger };
