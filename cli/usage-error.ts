/** Bad input from the user: printed without a stack trace, exit code 2 (cli/main.ts). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
