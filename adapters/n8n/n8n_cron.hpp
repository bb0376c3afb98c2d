#pragma once

// Our cron schedules in n8n's terms: the Schedule Trigger's cron rule has a
// leading seconds field and is evaluated by the `cron` npm package, whose
// day-of-month / day-of-week rule differs from cronie's in corner cases.

#include "core/result.hpp"

#include <string>

namespace cascadence::scheduling {
class cron_expression;
}

namespace cascadence::adapters::n8n {

/// Why something cannot be exported to n8n: one line, ready to print after `error: `.
struct refusal final {
  std::string message;
};

/// The six-field expression n8n's Schedule Trigger fires on exactly when
/// `expr` does (in the same zone), written from the fields' values as plain
/// numbers, ranges, steps and lists; or why n8n cannot mean the same: a
/// schedule that never fires, or days both fields restrict in a way where
/// n8n's rule (by value count) and cron's rule (by a leading `*`) differ.
[[nodiscard]] core::result<std::string, refusal> to_n8n_cron(const scheduling::cron_expression& expr);

}  // namespace cascadence::adapters::n8n
