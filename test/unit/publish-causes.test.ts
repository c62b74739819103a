import { countByCause, countOutcomes } from '../../bench/publish-causes';

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

describe('countOutcomes', () => {
  it("sums one kind's outcomes of the bridge's counters, whatever the label order, and ignores other kinds", () => {
    const text = [
      '# TYPE dco_bridge_messages_total counter',
      'dco_bridge_messages_total{kind="device-status",outcome="forwarded"} 120',
      'dco_bridge_messages_total{outcome="unchanged",kind="device-status"} 7',
      'dco_bridge_messages_total{kind="ack",outcome="signalled"} 3000',
      'dco_bridge_dead_letters_total{reason="spoofed"} 2',
    ].join('\n');
    expect(countOutcomes(text, 'device-status')).toEqual({ forwarded: 120, unchanged: 7 });
    expect(countOutcomes(text, 'presence')).toEqual({});
  });
});
