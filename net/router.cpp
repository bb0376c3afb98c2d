#include "net/router.hpp"

#include <boost/container/small_vector.hpp>
#include <boost/url/pct_string_view.hpp>

#include <algorithm>
#include <optional>
#include <stdexcept>

namespace cascadence::net {

struct router::segment {
  bool param = false;
  std::string text;  // the literal, or the parameter's name
};

struct router::entry {
  http_method method = http_method::get;
  std::vector<segment> segments;
  any_handler handler;
};

router::router() = default;
router::router(router&&) noexcept = default;
router& router::operator=(router&&) noexcept = default;
router::~router() = default;

namespace {

// Most paths have a handful of segments: keep them off the heap.
using segment_views = boost::container::small_vector<std::string_view, 16>;

// "/" -> {}, "/a/b" -> {"a", "b"}, "/a/" -> {"a", ""}. `path` starts with '/'.
template <typename Out>
void split_path(std::string_view path, Out& out) {
  if (path.size() <= 1) return;
  std::size_t start = 1;
  for (;;) {
    const auto slash = path.find('/', start);
    out.push_back(path.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
}

bool is_name_char(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// The percent-decoded segments of `path` as views: of `path` itself when no
// segment is encoded (the common case, no allocation), else of `decoded`.
bool decode_segments(std::string_view path, segment_views& out, std::vector<std::string>& decoded) {
  if (path.empty() || path.front() != '/') return false;
  split_path(path, out);
  if (path.find('%') == std::string_view::npos) return true;
  decoded.reserve(out.size());  // the views below must not move
  for (auto& segment : out) {
    auto pct = boost::urls::make_pct_string_view(segment);
    if (!pct) return false;
    decoded.push_back(pct->decode());
    segment = decoded.back();
  }
  return true;
}

std::string allow_header(unsigned methods) {
  std::string out;
  for (unsigned i = 0; i < 8; ++i) {
    if ((methods & (1U << i)) == 0) continue;
    if (!out.empty()) out += ", ";
    out += to_string(static_cast<http_method>(i));
  }
  return out;
}

constexpr unsigned bit(http_method m) noexcept {
  return 1U << static_cast<unsigned>(m);
}

}  // namespace

router& router::add_entry(http_method m, std::string_view pattern, any_handler h) {
  const auto fail = [&](std::string_view why) {
    throw std::invalid_argument("route " + std::string(to_string(m)) + " " + std::string(pattern) + ": " +
                                std::string(why));
  };
  if (pattern.empty() || pattern.front() != '/') fail("the pattern must start with '/'");
  entry e;
  e.method = m;
  std::vector<std::string_view> raws;
  split_path(pattern, raws);
  for (auto raw : raws) {
    segment s;
    if (raw.size() >= 2 && raw.front() == '{' && raw.back() == '}') {
      s.param = true;
      s.text = std::string(raw.substr(1, raw.size() - 2));
      if (s.text.empty() || !std::all_of(s.text.begin(), s.text.end(), is_name_char)) {
        fail("a parameter name is made of letters, digits and '_'");
      }
      for (const auto& other : e.segments) {
        if (other.param && other.text == s.text) fail("parameter '" + s.text + "' appears twice");
      }
    } else {
      if (raw.find_first_of("{}%?#") != std::string_view::npos) fail("a literal segment may not hold {, }, %, ? or #");
      s.text = std::string(raw);
    }
    e.segments.push_back(std::move(s));
  }
  for (const auto& other : entries_) {
    if (other.method != m || other.segments.size() != e.segments.size()) continue;
    const bool same_shape = std::equal(
        other.segments.begin(), other.segments.end(), e.segments.begin(),
        [](const segment& a, const segment& b) { return a.param == b.param && (a.param || a.text == b.text); });
    if (same_shape) fail("a route with the same method and shape is already registered");
  }
  e.handler = std::move(h);
  entries_.push_back(std::move(e));
  infos_.push_back(route_info{m, std::string(pattern)});
  return *this;
}

boost::asio::awaitable<response> router::handle(request& req) const {
  if (auto now = dispatch(req)) co_return std::move(*now);
  co_return co_await await_handler(req);
}

std::optional<response> router::dispatch(request& req) const {
  segment_views segments;
  std::vector<std::string> decoded;
  if (!decode_segments(req.path, segments, decoded)) return response::text(400, "bad request path\n");

  const auto matches = [&](const entry& e) {
    if (e.segments.size() != segments.size()) return false;
    for (std::size_t i = 0; i < e.segments.size(); ++i) {
      const auto& s = e.segments[i];
      if (s.param ? segments[i].empty() : s.text != segments[i]) return false;
    }
    return true;
  };
  // Literal beats parameter at the first position where two patterns differ.
  const auto more_specific = [](const entry& a, const entry& b) {
    for (std::size_t i = 0; i < a.segments.size(); ++i) {
      if (a.segments[i].param != b.segments[i].param) return !a.segments[i].param;
    }
    return false;
  };

  const entry* exact = nullptr;
  const entry* head_fallback = nullptr;
  unsigned allowed = 0;
  for (const auto& e : entries_) {
    if (!matches(e)) continue;
    allowed |= bit(e.method);
    if (e.method == req.method) {
      if (exact == nullptr || more_specific(e, *exact)) exact = &e;
    } else if (req.method == http_method::head && e.method == http_method::get) {
      if (head_fallback == nullptr || more_specific(e, *head_fallback)) head_fallback = &e;
    }
  }
  const entry* chosen = exact != nullptr ? exact : head_fallback;
  if (chosen == nullptr) {
    req.route = nullptr;
    if (allowed == 0) return response::text(404, "not found\n");
    if ((allowed & bit(http_method::get)) != 0) allowed |= bit(http_method::head);
    auto res = response::text(405, "method not allowed\n");
    res.headers.set("Allow", allow_header(allowed));
    return res;
  }

  req.route = &infos_[static_cast<std::size_t>(chosen - entries_.data())];
  req.params.clear();
  for (std::size_t i = 0; i < chosen->segments.size(); ++i) {
    if (chosen->segments[i].param) req.params.emplace_back(chosen->segments[i].text, segments[i]);
  }
  if (const auto* fn = std::get_if<sync_handler>(&chosen->handler)) return (*fn)(req);
  return std::nullopt;
}

boost::asio::awaitable<response> router::await_handler(request& req) const {
  const auto index = req.route == nullptr ? entries_.size() : static_cast<std::size_t>(req.route - infos_.data());
  const auto* fn = index < entries_.size() ? std::get_if<async_handler>(&entries_[index].handler) : nullptr;
  if (fn == nullptr) throw std::logic_error("router::await_handler: dispatch() matched no asynchronous handler");
  co_return co_await (*fn)(req);
}

}  // namespace cascadence::net
