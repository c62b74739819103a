"""Send one device command through dco from Python, and wait for its outcome.

Starts the Temporal workflow `commandWorkflow` the way dco's own client does
(docs/service-api.md): workflow ID `command-<commandId>`, the dco task queue, the search
attributes the bridge and the Web UI look for, and the same workflow ID policies, so that
sending the same commandId again returns the same command instead of starting another.

    pip install temporalio
    python send_command.py pump-7 reboot
    python send_command.py pump-7 set-config --params '{"rpm": 1200}' --ttl 300 --command-id pump-7.cfg.42

Environment: TEMPORAL_ADDRESS (localhost:7233), TEMPORAL_NAMESPACE (default),
DCO_TASK_QUEUE (dco-commands). Exit code 0 when the command Succeeded, 1 when it ended in
another state, 2 when the commandId is taken by another command (or --params is not JSON).
"""

import argparse
import asyncio
import json
import os
import sys
import time
from datetime import datetime, timedelta, timezone

from temporalio.client import Client
from temporalio.common import (
    SearchAttributeKey,
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError

DEVICE_ID = SearchAttributeKey.for_keyword("DeviceId")
COMMAND_NAME = SearchAttributeKey.for_keyword("CommandName")
COMMAND_STATE = SearchAttributeKey.for_keyword("CommandState")


async def send(device_id: str, name: str, params: dict, ttl_s: int, command_id: str) -> dict:
    client = await Client.connect(
        os.environ.get("TEMPORAL_ADDRESS", "localhost:7233"),
        namespace=os.environ.get("TEMPORAL_NAMESPACE", "default"),
    )
    # The input: protocol/json-schema/service/command-request.schema.json. Options left out
    # get their defaults (10 s ack timeout, 5 attempts, 60 s for the result).
    request = {
        "commandId": command_id,
        "deviceId": device_id,
        "name": name,
        "params": params,
        # RFC 3339 with an offset, at most 30 days ahead.
        "expiresAt": (datetime.now(timezone.utc) + timedelta(seconds=ttl_s)).isoformat(timespec="milliseconds"),
    }
    workflow_id = f"command-{command_id}"
    try:
        handle = await client.start_workflow(
            "commandWorkflow",
            request,
            id=workflow_id,
            task_queue=os.environ.get("DCO_TASK_QUEUE", "dco-commands"),
            # Running: return it. Ended: refuse, and we read its (final) outcome below.
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(DEVICE_ID, device_id),
                    SearchAttributePair(COMMAND_NAME, name),
                    SearchAttributePair(COMMAND_STATE, "Created"),
                ]
            ),
        )
    except WorkflowAlreadyStartedError:
        handle = client.get_workflow_handle(workflow_id)
    # The same commandId for another device or command is a conflict, not the same command
    # again (DcoClient raises CommandConflictError; with the memo digest it compares params too).
    found = (await handle.describe()).typed_search_attributes
    if any(found.get(key) not in (None, ours) for key, ours in ((DEVICE_ID, device_id), (COMMAND_NAME, name))):
        raise ValueError(f"command {command_id} already exists for device {found.get(DEVICE_ID)}, command {found.get(COMMAND_NAME)}")
    print(f"command {command_id} ({workflow_id}): waiting for the outcome", file=sys.stderr)
    # The workflow never fails: its result is the command's snapshot in a terminal state
    # (protocol/json-schema/service/command-snapshot.schema.json).
    return await handle.result()


def main() -> None:
    parser = argparse.ArgumentParser(description="Send one dco command and wait for its outcome.")
    parser.add_argument("device_id")
    parser.add_argument("name")
    parser.add_argument("--params", default="{}", help="JSON object for the device")
    parser.add_argument("--ttl", type=int, default=600, help="seconds until the command expires")
    parser.add_argument("--command-id", help="idempotency key; default: <device>.<name>.<time>")
    args = parser.parse_args()
    command_id = args.command_id or f"{args.device_id}.{args.name}.{time.time_ns() // 1_000_000:x}"

    try:
        snapshot = asyncio.run(send(args.device_id, args.name, json.loads(args.params), args.ttl, command_id))
        print(f"{snapshot['state']} after {snapshot['attempts']} attempt(s)" + (f": {snapshot['reason']}" if snapshot.get("reason") else ""))
        for key in ("output", "error"):
            if key in snapshot:
                print(f"{key}: {json.dumps(snapshot[key])}")
        code = 0 if snapshot["state"] == "Succeeded" else 1
    except ValueError as err:  # a conflict, or --params that is not JSON
        print(err, file=sys.stderr)
        code = 2
    sys.stdout.flush()
    sys.stderr.flush()
    # os._exit, not sys.exit: the SDK's Rust threads can crash a short-lived client process
    # while Python shuts down ("PyGILState_Release", temporalio/sdk-python#300).
    os._exit(code)


if __name__ == "__main__":
    main()
