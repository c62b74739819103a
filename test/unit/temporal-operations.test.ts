import { operationsPerDevice, temporalOperationCounts } from '../../bench/temporal-operations';
import { sumByLabel } from '../../bench/prometheus-sums';

const exposition = (signals: number, describes: number, updates: number, updateSeconds: number) =>
  [
    '# TYPE service_requests counter',
    `service_requests{namespace="default",operation="SignalWorkflowExecution",service_name="frontend"} ${signals}`,
    `service_requests{namespace="default",operation="DescribeWorkflowExecution",service_name="frontend"} ${describes}`,
    `service_requests{namespace="default",operation="RecordWorkflowTaskStarted",service_name="history"} 999`,
    `persistence_requests{namespace="default",operation="UpdateWorkflowExecution",service_name="history"} ${updates}`,
    `persistence_latency_sum{namespace="default",operation="UpdateWorkflowExecution",service_name="history"} ${updateSeconds}`,
    'persistence_latency_bucket{namespace="default",operation="UpdateWorkflowExecution",le="0.001"} 5',
    'task_requests{operation="TransferActiveTaskWorkflowTask",service_name="history"} 4',
  ].join('\n');

describe('Temporal operations per device (bench)', () => {
  it("counts the frontend's requests only, by operation, and the database's calls and seconds", () => {
    const counts = temporalOperationCounts(exposition(10, 20, 30, 1.5));
    expect(counts.frontendRequests).toEqual({ SignalWorkflowExecution: 10, DescribeWorkflowExecution: 20 });
    expect(counts.persistenceRequests).toEqual({ UpdateWorkflowExecution: 30 });
    expect(counts.persistenceSeconds).toEqual({ UpdateWorkflowExecution: 1.5 });
    expect(counts.historyTasks).toEqual({ TransferActiveTaskWorkflowTask: 4 });
  });

  it('divides what happened between two readings by the devices, largest first, database time in ms', () => {
    const before = temporalOperationCounts(exposition(10, 20, 30, 1.5));
    const after = temporalOperationCounts(exposition(110, 220, 830, 3.5));
    const per = operationsPerDevice(before, after, 100);
    expect(per.frontendRequests).toEqual({ total: 3, DescribeWorkflowExecution: 2, SignalWorkflowExecution: 1 });
    expect(Object.keys(per.frontendRequests)).toEqual(['total', 'DescribeWorkflowExecution', 'SignalWorkflowExecution']);
    expect(per.persistenceRequests).toEqual({ total: 8, UpdateWorkflowExecution: 8 });
    expect(per.persistenceMs).toEqual({ total: 20, UpdateWorkflowExecution: 20 });
  });

  it('sums a label over the other labels, whatever their order, and skips other metrics', () => {
    const text = ['m{a="x",b="1"} 2', 'm{b="2",a="x"} 3', 'm{a="y"} 1', 'm_other{a="x"} 100', 'm{a="z"} NaN'].join('\n');
    expect(sumByLabel(text, 'm', 'a')).toEqual({ x: 5, y: 1 });
    expect(sumByLabel(text, 'm', 'a', { b: '2' })).toEqual({ x: 3 });
  });
});
