// The `grpc` transport: one unary call per event, in order, to
// /cascadence.events.v1.EventSink/METHOD (adapters/events/proto), with
// Debian's gRPC. The calls use gRPC's callback API, whose completions run
// on gRPC's own threads; each is posted back to the loop. The gRPC headers
// stay in this one TU.

#include "adapters/events/transports.hpp"

#include "cascadence/events/v1/events.pb.h"

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/impl/codegen/proto_utils.h>  // SerializationTraits of protobuf messages
#include <grpcpp/security/credentials.h>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <stdexcept>

namespace cascadence::adapters::events {

namespace asio = boost::asio;
namespace pb = cascadence::events::v1;

namespace {

using stub_type = grpc::TemplatedGenericStub<pb::Event, pb::Ack>;

// What one call needs until its completion, which gRPC runs on its thread.
struct call final {
  grpc::ClientContext context;
  pb::Event request;
  pb::Ack response;
};

class grpc_transport final : public transport {
 public:
  grpc_transport(const std::string& target, const std::string& method)
      : target_(target),
        method_("/cascadence.events.v1.EventSink/" + method),
        stub_(grpc::CreateChannel(target, grpc::InsecureChannelCredentials())) {}

  [[nodiscard]] std::string_view name() const noexcept override { return "grpc"; }

  asio::awaitable<std::optional<send_failure>> send(std::vector<event> batch,
                                                    std::chrono::milliseconds timeout) override {
    const auto deadline = std::chrono::system_clock::now() + timeout;
    for (std::size_t i = 0; i < batch.size(); ++i) {
      auto c = std::make_shared<call>();
      c->context.set_deadline(deadline);
      c->request.set_json(std::move(batch[i].json));
      c->request.set_task(std::move(batch[i].task));
      auto calling = asio::async_initiate<decltype(asio::use_awaitable), void(grpc::Status)>(
          [this, c](auto handler) {
            auto resume = asio::get_associated_executor(handler);
            // gRPC keeps the completion in a std::function, which must be
            // copyable: the (move-only) handler waits in a shared box.
            auto box = std::make_shared<decltype(handler)>(std::move(handler));
            auto work = std::make_shared<decltype(asio::make_work_guard(resume))>(asio::make_work_guard(resume));
            stub_.UnaryCall(&c->context, method_, grpc::StubOptions(), &c->request, &c->response,
                            [c, resume, box, work](const grpc::Status& status) {
                              asio::post(resume, [box, status]() mutable { std::move (*box)(status); });
                            });
          },
          asio::use_awaitable);
      const grpc::Status status = co_await std::move(calling);
      if (!status.ok()) {
        const bool late = status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED;
        co_return send_failure{late ? "timeout" : "send_failed",
                               target_ + method_ + ": " + status.error_message() + " (code " +
                                   std::to_string(static_cast<int>(status.error_code())) + ")",
                               i};
      }
    }
    co_return std::nullopt;
  }

 private:
  std::string target_;
  std::string method_;
  stub_type stub_;
};

}  // namespace

std::unique_ptr<transport> make_grpc_transport(const std::string& target, const std::string& method) {
  if (target.empty()) throw std::runtime_error("events: transport grpc needs a server (--grpc-stub HOST:PORT)");
  if (method.empty() || method.find('/') != std::string::npos) {
    throw std::runtime_error("events: '" + method + "' is not a method name of cascadence.events.v1.EventSink");
  }
  return std::make_unique<grpc_transport>(target, method);
}

}  // namespace cascadence::adapters::events
