"""A test-only Temporal worker, written with the official Python SDK
(temporalio), that serves the workflows the Temporal e2e tests start.

    python temporal_worker.py --address HOST:PORT --namespace NS --task-queue Q

It prints "ready" on stdout once it polls, and stops on SIGTERM or SIGINT.
One workflow per behaviour the tests need:

  hello     returns {"greeting": "hello <input.name or world>"}
  pipeline  three activities in a row (extract -> transform -> load)
  flaky     one activity that fails twice, then succeeds (retries in history)
  fails     fails with a non-retryable ApplicationError of type BoomError
  slow      sleeps five minutes: long enough to be cancelled or terminated
  sleepy    sleeps input.seconds (default 10), returns {"slept": true}
  rolling   continues-as-new until input.n reaches 2, returns {"n": 2}
"""

import argparse
import asyncio
import signal
import sys
from datetime import timedelta
from typing import Any

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError
from temporalio.worker import UnsandboxedWorkflowRunner, Worker


def field(arg: Any, key: str, default: Any) -> Any:
    return arg.get(key, default) if isinstance(arg, dict) else default


@activity.defn(name="extract")
async def extract(_: Any) -> list:
    return [1, 2, 3]


@activity.defn(name="transform")
async def transform(rows: list) -> list:
    return [r * 10 for r in rows]


@activity.defn(name="load")
async def load(rows: list) -> dict:
    return {"count": len(rows)}


@activity.defn(name="wobble")
async def wobble(_: Any) -> str:
    if activity.info().attempt < 3:
        raise ApplicationError(f"wobble attempt {activity.info().attempt} failed", type="Wobble")
    return "steady"


@workflow.defn(name="hello")
class Hello:
    @workflow.run
    async def run(self, arg: Any = None) -> dict:
        return {"greeting": f"hello {field(arg, 'name', 'world')}"}


SHORT = {"start_to_close_timeout": timedelta(seconds=10)}


@workflow.defn(name="pipeline")
class Pipeline:
    @workflow.run
    async def run(self, arg: Any = None) -> dict:
        rows = await workflow.execute_activity(extract, arg, **SHORT)
        rows = await workflow.execute_activity(transform, rows, **SHORT)
        return {"loaded": await workflow.execute_activity(load, rows, **SHORT)}


@workflow.defn(name="flaky")
class Flaky:
    @workflow.run
    async def run(self, arg: Any = None) -> str:
        retry = RetryPolicy(initial_interval=timedelta(milliseconds=100), backoff_coefficient=1.0)
        return await workflow.execute_activity(wobble, arg, retry_policy=retry, **SHORT)


@workflow.defn(name="fails")
class Fails:
    @workflow.run
    async def run(self, arg: Any = None) -> None:
        raise ApplicationError("boom: the data was bad", type="BoomError", non_retryable=True)


@workflow.defn(name="slow")
class Slow:
    @workflow.run
    async def run(self, arg: Any = None) -> str:
        await asyncio.sleep(300)
        return "woke up"


@workflow.defn(name="sleepy")
class Sleepy:
    @workflow.run
    async def run(self, arg: Any = None) -> dict:
        await asyncio.sleep(float(field(arg, "seconds", 10)))
        return {"slept": True}


@workflow.defn(name="rolling")
class Rolling:
    @workflow.run
    async def run(self, arg: Any = None) -> dict:
        n = int(field(arg, "n", 0))
        if n < 2:
            workflow.continue_as_new({"n": n + 1})
        return {"n": n}


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--address", required=True)
    parser.add_argument("--namespace", default="default")
    parser.add_argument("--task-queue", required=True)
    args = parser.parse_args()

    client = await Client.connect(args.address, namespace=args.namespace)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    worker = Worker(
        client,
        task_queue=args.task_queue,
        workflows=[Hello, Pipeline, Flaky, Fails, Slow, Sleepy, Rolling],
        activities=[extract, transform, load, wobble],
        workflow_runner=UnsandboxedWorkflowRunner(),
    )
    async with worker:
        print("ready", flush=True)
        await stop.wait()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(130)
