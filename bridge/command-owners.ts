import type { Client } from '@temporalio/client';
import { commandWorkflowId } from '../protocol/command-contract';
import { DeviceIdAttribute } from '../protocol/search-attributes';

/**
 * Which device each command belongs to, so the bridge can count and dead-letter a message sent
 * on one device's topic for another device's command ("spoofed"). The workflow is the
 * authority and already ignores such a message (history `ignored-ack` / `ignored-result`); the
 * bridge still forwards it so the command's history shows the attempt, and learns the owner
 * with one DescribeWorkflowExecution per command (the `DeviceId` search attribute), remembered
 * for the `capacity` most recent commands. A commandId is never reused (workflow ID reuse
 * policy REJECT_DUPLICATE), so a remembered owner never goes stale.
 */
export class CommandOwners {
  private readonly owners = new Map<string, string>();

  constructor(
    private readonly temporal: Pick<Client, 'workflow'>,
    private readonly capacity = 10_000,
  ) {}

  /** The command's device, or undefined if Temporal could not say (the caller skips the check). */
  async ownerOf(commandId: string): Promise<string | undefined> {
    const known = this.owners.get(commandId);
    if (known !== undefined) {
      // Most recently used last: the first key is the one to forget.
      this.owners.delete(commandId);
      this.owners.set(commandId, known);
      return known;
    }
    try {
      const description = await this.temporal.workflow.getHandle(commandWorkflowId(commandId)).describe();
      const owner = description.typedSearchAttributes.get(DeviceIdAttribute);
      if (owner === undefined) return undefined;
      this.owners.set(commandId, owner);
      if (this.owners.size > this.capacity) this.owners.delete(this.owners.keys().next().value!);
      return owner;
    } catch {
      return undefined;
    }
  }

  get size(): number {
    return this.owners.size;
  }
}
