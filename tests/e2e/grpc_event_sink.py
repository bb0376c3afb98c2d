"""A real gRPC server (grpcio) implementing cascadence.events.v1.EventSink
from Cascadence's own .proto (compiled here with grpcio-tools): prints
`listening PORT`, then one JSON line `{"method", "task", "json"}` per call.
Run with the run-event tests' virtualenv python (scripts/services/nats).

    python grpc_event_sink.py PROTO_ROOT [--fail]
"""

import concurrent.futures
import json
import pathlib
import sys
import tempfile

import grpc
from grpc_tools import protoc


def main(proto_root: str, fail: bool) -> None:
    out = tempfile.mkdtemp()
    rc = protoc.main(["protoc", f"--proto_path={proto_root}", f"--python_out={out}",
                      f"{proto_root}/cascadence/events/v1/events.proto"])
    if rc != 0:
        raise SystemExit(f"protoc failed: {rc}")
    sys.path.insert(0, out)
    from cascadence.events.v1 import events_pb2  # noqa: E402 (generated above)

    def handler(method):
        def call(request, context):
            print(json.dumps({"method": method, "task": request.task, "json": request.json}), flush=True)
            if fail:
                context.abort(grpc.StatusCode.UNAVAILABLE, "refusing on purpose")
            return events_pb2.Ack()

        return grpc.unary_unary_rpc_method_handler(
            call, request_deserializer=events_pb2.Event.FromString,
            response_serializer=events_pb2.Ack.SerializeToString)

    service = grpc.method_handlers_generic_handler(
        "cascadence.events.v1.EventSink", {"Send": handler("Send"), "Record": handler("Record")})
    server = grpc.server(concurrent.futures.ThreadPoolExecutor(max_workers=4))
    server.add_generic_rpc_handlers((service,))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(f"listening {port}", flush=True)
    server.wait_for_termination()


if __name__ == "__main__":
    main(sys.argv[1], "--fail" in sys.argv[2:])
