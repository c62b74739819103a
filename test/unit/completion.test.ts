import { execFileSync } from 'node:child_process';
import path from 'node:path';

const DCO = path.join(__dirname, '..', '..', 'bin', 'dco');
const script = execFileSync(DCO, ['completion', 'bash'], { encoding: 'utf8' });

/** What bash offers after the typed words (the last one is completed), with the generated script. */
function complete(...words: string[]): string[] {
  const line = ['dco', ...words].map((w) => `'${w}'`).join(' ');
  const out = execFileSync('bash', ['-c', `${script}\nCOMP_WORDS=(${line}); COMP_CWORD=${words.length}; _dco_complete; printf '%s\\n' "\${COMPREPLY[@]}"`], {
    encoding: 'utf8',
  });
  return out.split('\n').filter(Boolean).sort();
}

describe('dco completion bash', () => {
  test('completes commands, subcommands and the flags of the command being typed', () => {
    expect(complete('rol')).toEqual(['rollout']);
    expect(complete('rollout', 'st')).toEqual(['start', 'status']);
    expect(complete('send', '--js')).toEqual(['--json']);
    expect(complete('rollout', 'start', '--targets', 'fleet.txt', '--can')).toEqual(['--canary']);
    expect(complete('send', 'pump-7', 'reboot', '--mqtt-pass')).toEqual(['--mqtt-password', '--mqtt-password-file']);
  });

  test('zsh gets the same script through bashcompinit; another shell is a usage error (exit 2)', () => {
    expect(execFileSync(DCO, ['completion', 'zsh'], { encoding: 'utf8' })).toContain('bashcompinit');
    let code = 0;
    try {
      execFileSync(DCO, ['completion', 'fish'], { stdio: 'pipe' });
    } catch (err) {
      code = (err as { status: number }).status;
    }
    expect(code).toBe(2);
  });
});
