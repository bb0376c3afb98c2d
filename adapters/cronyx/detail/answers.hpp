#pragma once

// The remote plugin protocol's answers read without I/O (docs/plugins.md):
// what the client makes of GET /v1/info, /tasks and /tasks/{id}, of a run
// document, of Retry-After and of a 202's Location. The client's coroutines
// do the exchanges and call these; tests and the fuzz target call them
// directly.

#include "adapters/cronyx/cronyx_client.hpp"
#include "core/result.hpp"
#include "engine/outcome.hpp"
#include "net/http_message.hpp"

#include <boost/json/value.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cascadence::adapters::cronyx::detail {

/// The member `key` of `v` when `v` is an object that has it, else null.
[[nodiscard]] const boost::json::value* member(const boost::json::value& v, std::string_view key);
/// The string member `key` of `v`; empty when missing or not a string.
[[nodiscard]] std::string string_member(const boost::json::value& v, std::string_view key);
/// "title: detail" of a problem document (RFC 9457) or of a run's error.
[[nodiscard]] std::string problem_text(const boost::json::value& doc);

/// GET /v1/info: negotiates the version and sets `found`'s version and the
/// server's name, version and runtime. The refusal, when there is one,
/// names the request.
[[nodiscard]] std::optional<std::string> read_info(const boost::json::value& info, catalog& found);
/// GET /tasks: appends the listed tasks (ids checked, no duplicates) to
/// `tasks`, or says why the list is refused.
[[nodiscard]] std::optional<std::string> read_task_list(const boost::json::value& list, std::vector<task_info>& tasks);
/// GET /tasks/{id}: the task's name, description and params schema when
/// the answer gives them, or why the answer is refused.
[[nodiscard]] std::optional<std::string> read_task_detail(const boost::json::value& detail, task_info& task);

/// The outcome of a terminal run document, or nothing while it goes on.
/// `prefix` starts every failure message.
[[nodiscard]] std::optional<engine::outcome> terminal_outcome(const std::string& prefix, const std::string& task_id,
                                                              const boost::json::value& doc);

/// How long to wait before the next poll: Retry-After in seconds, within
/// the protocol's bounds (50 ms to 5 s), 500 ms without a usable one.
[[nodiscard]] std::chrono::milliseconds retry_after(const net::header_map& headers);

/// The part of an absolute URL before its path: `scheme://authority`.
[[nodiscard]] std::string_view origin_of(std::string_view url);
/// Where a 202's Location says to poll, or why it is refused: only the
/// server at `base_url` is followed.
[[nodiscard]] core::result<std::string, url_refusal> poll_url(std::string_view base_url, std::string_view location);

}  // namespace cascadence::adapters::cronyx::detail
