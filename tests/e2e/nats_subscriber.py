"""A real NATS client (nats-py) for the run-event tests: subscribes to a
subject and prints one JSON line per message, `{"subject", "data"}`, after a
first line `ready` once the server has the subscription. Run with the
virtualenv's python that scripts/services/nats makes (NATS_PYTHON).

    python nats_subscriber.py nats://127.0.0.1:4222 'events.>'
"""

import asyncio
import json
import sys

import nats


async def main(url: str, subject: str) -> None:
    async def on_message(msg):
        print(json.dumps({"subject": msg.subject, "data": msg.data.decode()}), flush=True)

    # Reconnect for ever: the tests stop and restart the server under it.
    nc = await nats.connect(url, max_reconnect_attempts=-1, reconnect_time_wait=0.2)
    await nc.subscribe(subject, cb=on_message)
    await nc.flush()
    print("ready", flush=True)
    while True:
        await asyncio.sleep(3600)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
