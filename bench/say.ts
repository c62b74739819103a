/** A progress line of the bench, on stderr: stdout carries the results' JSON alone. */
export const say = (line: string) => process.stderr.write(line + '\n');
