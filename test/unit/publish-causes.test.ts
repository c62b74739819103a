import { countByCause } from '../../bench/publish-causes';

describe('countByCause', () => {
  it('sums the publishes of each cause over task queues and ignores other metrics', () => {
    const text = [
      '# HELP dco_command_publishes Commands published to devices',
      '# TYPE dco_command_publishes counter',
      'dco_command_publishes{cause="first",task_queue="a"} 2000',
      'dco_command_publishes{cause="first",task_queue="b"} 5',
      'dco_command_publishes_total{task_queue="a",cause="ack-timeout"} 3',
      'dco_commands_finished{state="Succeeded"} 2000',
      'dco_command_publishes_extra{cause="first"} 9',
    ].join('\n');
    expect(countByCause(text)).toEqual({ first: 2005, 'ack-timeout': 3 });
  });

  it('is empty when nothing was published', () => {
    expect(countByCause('dco_commands_finished{state="Succeeded"} 1\n')).toEqual({});
  });
});
