import type { Client } from '@temporalio/client';
import { CommandOwners } from '../../bridge/command-owners';
import { CommandStateAttribute, DeviceIdAttribute } from '../../protocol/search-attributes';

/** Temporal as CommandOwners sees it: describe() of a command workflow, counted. */
function fakeTemporal(commands: Record<string, { owner: string; running: boolean; state?: string }>) {
  const calls: string[] = [];
  const temporal = {
    workflow: {
      getHandle: (workflowId: string) => ({
        describe: async () => {
          calls.push(workflowId);
          const c = commands[workflowId.replace(/^command-/, '')];
          if (!c) throw Object.assign(new Error('not found'), { name: 'WorkflowNotFoundError' });
          const attrs = new Map<unknown, unknown>([[DeviceIdAttribute, c.owner], ...(c.state ? [[CommandStateAttribute, c.state] as const] : [])]);
          return { status: { name: c.running ? 'RUNNING' : 'COMPLETED' }, typedSearchAttributes: { get: (k: unknown) => attrs.get(k) } };
        },
      }),
    },
  } as unknown as Pick<Client, 'workflow'>;
  return { temporal, calls };
}

describe('CommandOwners', () => {
  it('knows the owner of a command it saw published without asking Temporal', async () => {
    const { temporal, calls } = fakeTemporal({ c1: { owner: 'dev-1', running: true } });
    const owners = new CommandOwners(temporal);
    owners.published('c1', 'dev-1');
    expect(await owners.lookup('c1')).toEqual({ kind: 'open', owner: 'dev-1' });
    expect(calls).toEqual([]);
  });

  it('asks Temporal for a command it did not see published, once', async () => {
    const { temporal, calls } = fakeTemporal({ c1: { owner: 'dev-1', running: true } });
    let describes = 0;
    const owners = new CommandOwners(temporal, { onDescribe: () => describes++ });
    expect(await owners.lookup('c1')).toEqual({ kind: 'open', owner: 'dev-1' });
    expect(await owners.lookup('c1')).toEqual({ kind: 'open', owner: 'dev-1' });
    expect(calls).toEqual(['command-c1']);
    expect(describes).toBe(1);
  });

  it('does not believe a command published for two devices: Temporal decides', async () => {
    // Only the worker may publish commands (ACL); without ACLs anyone may, and a forged copy
    // must not make the real device's answers look spoofed.
    const { temporal, calls } = fakeTemporal({ c1: { owner: 'dev-1', running: true } });
    const owners = new CommandOwners(temporal);
    owners.published('c1', 'forger-9');
    owners.published('c1', 'dev-1');
    expect(await owners.lookup('c1')).toEqual({ kind: 'open', owner: 'dev-1' });
    expect(calls).toEqual(['command-c1']);
  });

  it('keeps a closed command closed when a copy of it is seen again (a re-publish read late)', async () => {
    const { temporal } = fakeTemporal({ c1: { owner: 'dev-1', running: false, state: 'Succeeded' } });
    const owners = new CommandOwners(temporal);
    expect(await owners.lookup('c1')).toMatchObject({ kind: 'closed', owner: 'dev-1', state: 'Succeeded' });
    owners.published('c1', 'dev-1');
    expect(await owners.lookup('c1')).toMatchObject({ kind: 'closed', state: 'Succeeded' });
  });

  it('forgets that an ID was unknown once the command is seen published', async () => {
    const commands: Record<string, { owner: string; running: boolean }> = {};
    const { temporal, calls } = fakeTemporal(commands);
    const owners = new CommandOwners(temporal);
    expect(await owners.lookup('c2')).toEqual({ kind: 'unknown' });
    owners.published('c2', 'dev-2');
    expect(await owners.lookup('c2')).toEqual({ kind: 'open', owner: 'dev-2' });
    expect(calls).toEqual(['command-c2']);
  });
});
