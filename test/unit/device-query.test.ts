import { deviceQueryProblem, MAX_DEVICE_QUERY_LENGTH } from '../../protocol/device-query';

describe('deviceQueryProblem (a device query must stay one condition inside ours)', () => {
  it.each([
    "DeviceModel = 'pump-x'",
    "DeviceModel = 'pump-x' AND (DeviceSite = 'a' OR DeviceSite = 'b')",
    "DeviceSite = 'plant (7)'", // parentheses inside a value are text
    'DeviceTags = "north"',
  ])('accepts %s', (q) => expect(deviceQueryProblem(q)).toBeUndefined());

  it.each([
    ['', 'the device query is empty'],
    ['   ', 'the device query is empty'],
    ["DeviceSite = 'a') OR (WorkflowType = 'commandWorkflow'", 'the device query closes a parenthesis it did not open (it must stay one condition)'],
    ["(DeviceSite = 'a'", 'the device query leaves a parenthesis open'],
    ["DeviceSite = 'a", "the device query has an unterminated ' quote"],
    ['x'.repeat(MAX_DEVICE_QUERY_LENGTH + 1), `the device query is ${MAX_DEVICE_QUERY_LENGTH + 1} characters; at most ${MAX_DEVICE_QUERY_LENGTH}`],
  ])('refuses %j: %s', (q, problem) => expect(deviceQueryProblem(q)).toBe(problem));

  it('refuses what is not text', () => expect(deviceQueryProblem(42)).toBe('the device query is empty'));
});
