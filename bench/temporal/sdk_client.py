"""The Python SDK's side of the temporal-start comparison: starts and awaits
RUNS `hello` workflows through temporalio's Client, CONCURRENCY at once, and
prints one JSON line {"workflows": N, "seconds": S, "cpu_seconds": C}.

    python sdk_client.py --address HOST:PORT --task-queue Q [--runs N] [--concurrency K]
"""

import argparse
import asyncio
import json
import time
import uuid

from temporalio.client import Client


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--address", required=True)
    parser.add_argument("--namespace", default="default")
    parser.add_argument("--task-queue", required=True)
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()

    client = await Client.connect(args.address, namespace=args.namespace)
    prefix = f"bench-sdk-{uuid.uuid4()}-"
    next_id = 0

    async def starter() -> None:
        nonlocal next_id
        while next_id < args.runs:
            wid = prefix + str(next_id)
            next_id += 1
            await client.execute_workflow("hello", None, id=wid, task_queue=args.task_queue)

    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(starter() for _ in range(args.concurrency)))
    print(json.dumps({"workflows": args.runs, "seconds": time.perf_counter() - started,
                      "cpu_seconds": time.process_time() - cpu}), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
