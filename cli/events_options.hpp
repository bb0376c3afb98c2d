#pragma once

#include <optional>
#include <string>

namespace cascadence::adapters::events {
struct settings;
}

namespace cascadence::cli {

/// The seed's global event options (`task --transport nats --nats-conn URL
/// --nats-subject S COMMAND ...`, `--grpc-stub HOST:PORT --grpc-method M`):
/// each set one wins over the configuration's `events:`.
struct events_options final {
  std::optional<std::string> transport;
  std::optional<std::string> nats_url;
  std::optional<std::string> nats_subject;
  std::optional<std::string> grpc_target;
  std::optional<std::string> grpc_method;

  void apply_to(adapters::events::settings& s) const;
};

}  // namespace cascadence::cli
