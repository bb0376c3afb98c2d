// The remote plugin client's readers of a server's answers
// (adapters/cronyx/detail/answers): the input's first line is a header
// value (Retry-After) and a Location, the rest a JSON answer given to
// every reader as if it answered each request: GET /v1/info, /tasks,
// /tasks/{id} and a run's status. Checks what the client relies on: a
// poll interval within the protocol's bounds, a poll URL on the server
// only, a listed task id that can name a task.

#include "adapters/cronyx/detail/answers.hpp"
#include "fuzz_input.hpp"
#include "net/json.hpp"

using namespace cascadence;
namespace cronyx = adapters::cronyx;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto text = fuzz::text_of(data, size);
  const auto line_end = text.find('\n');
  const auto line = text.substr(0, line_end);
  const auto body = line_end == std::string_view::npos ? std::string_view() : text.substr(line_end + 1);

  net::header_map headers;
  headers.append("Retry-After", line);
  const auto pause = cronyx::detail::retry_after(headers);
  if (pause < std::chrono::milliseconds(50) || pause > std::chrono::seconds(5)) {
    fuzz::fail("a poll interval outside 50 ms to 5 s", std::to_string(pause.count()) + " ms");
  }

  constexpr std::string_view base = "http://plugins.example:8080/cronyx";
  if (const auto url = cronyx::detail::poll_url(base, line)) {
    if (!url->starts_with("http://plugins.example:8080")) {
      // Only a Location with another spelling of the same origin may differ.
      if (cronyx::detail::origin_of(*url).size() != std::string_view("http://plugins.example:8080").size()) {
        fuzz::fail("a poll URL on another server", *url);
      }
    }
  }

  const auto doc = net::parse_json(body);
  if (!doc) return 0;
  cronyx::catalog found;
  if (!cronyx::detail::read_info(doc.value(), found) && found.protocol_version == 0) {
    fuzz::fail("an info answer accepted without a version");
  }
  std::vector<cronyx::task_info> tasks;
  if (!cronyx::detail::read_task_list(doc.value(), tasks)) {
    for (auto& t : tasks) {
      if (t.id.empty() || t.id.size() > 128 || t.id.find('/') != std::string::npos) {
        fuzz::fail("a task id that cannot name a task", t.id);
      }
      (void)cronyx::detail::read_task_detail(doc.value(), t);
    }
  }
  (void)cronyx::detail::terminal_outcome("remote server " + std::string(base) + ": ", "task", doc.value());
  (void)cronyx::detail::problem_text(doc.value());
  return 0;
}
