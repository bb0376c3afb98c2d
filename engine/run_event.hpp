#pragma once

#include <string>

namespace cascadence::engine {

/// The external event that started a run (a webhook delivery). When a run
/// carries one, its `input` is the event's payload: processors that hand
/// their input to the outside (the `command` processor) give the payload
/// itself rather than the usual `{"task", "input", "dependencies"}` wrapper,
/// and say where it came from (see make_command_processor).
struct run_event final {
  /// Who sent it: `github`, `calcom`, or any other webhook source name.
  std::string source;
  /// What happened, as the source names it (`push`, `BOOKING_CREATED`).
  std::string type;
  /// The delivery's id (CASCADENCE_DELIVERY_ID), the same on every attempt
  /// to deliver the event; empty when it did not come through the journal.
  std::string delivery_id{};
};

}  // namespace cascadence::engine
