#include "scheduling/time_zone.hpp"

#include "scheduling/detail/posix_tz_rule.hpp"
#include "scheduling/detail/zone_rules.hpp"

#include <date/tz.h>

#include <algorithm>
#include <exception>
#include <limits>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

namespace cascadence::scheduling {

namespace {

using std::chrono::local_seconds;
using std::chrono::seconds;
using std::chrono::sys_seconds;

std::shared_ptr<const detail::zone_rules> make_utc_rules() {
  auto rules = std::make_shared<detail::zone_rules>();
  rules->name = "UTC";
  rules->begins = {detail::zone_rules::earliest};
  rules->offsets = {0};
  return rules;
}

const std::shared_ptr<const detail::zone_rules>& utc_rules() {
  static const std::shared_ptr<const detail::zone_rules> rules = make_utc_rules();
  return rules;
}

// Where date/tz finds the system tzdata on Linux (it checks this first).
constexpr std::string_view zoneinfo_dir = "/usr/share/zoneinfo";

// Offsets are extended this far by the footer rule; one Gregorian cycle
// past today covers every next-fire search.
constexpr int last_extended_year = 2500;

// date/tz in OS-database mode stops at the TZif file's last transition,
// which for zones with ongoing DST is in 2037: after that it would report
// standard time forever. The file's footer rule carries the zone on.
void extend_with_footer(detail::zone_rules& rules, std::string_view name) {
  if (name.find("..") != std::string_view::npos || name.front() == '/') return;
  const auto footer = detail::read_tzif_footer(std::string(zoneinfo_dir) + "/" + std::string(name));
  if (!footer) return;
  const auto rule = detail::posix_tz_rule::parse(*footer);
  if (!rule || !rule->has_dst) return;
  const std::int64_t last = rules.begins.back();
  const int first_year =
      last == detail::zone_rules::earliest
          ? 1970
          : static_cast<int>(date::year_month_day{date::floor<date::days>(sys_seconds{seconds{last}})}.year());
  for (int year = first_year; year <= last_extended_year; ++year) {
    for (const auto& [at, offset] : rule->transitions_in(year)) {
      if (at <= rules.begins.back()) continue;
      if (offset == rules.offsets.back()) continue;
      rules.begins.push_back(at);
      rules.offsets.push_back(offset);
    }
  }
}

// Walks date's view of the zone from 1800 onwards, keeping only the
// instants where the total UTC offset changes (abbreviation or DST-flag
// changes that keep the offset are invisible to wall-clock arithmetic).
std::shared_ptr<const detail::zone_rules> load_rules(std::string_view name) {
  const date::time_zone* zone = date::locate_zone(name);
  auto rules = std::make_shared<detail::zone_rules>();
  rules->name = std::string(name);

  const sys_seconds first = date::sys_days{date::year{1800} / 1 / 1};
  const sys_seconds horizon = date::sys_days{date::year{10000} / 1 / 1};
  auto info = zone->get_info(first);
  rules->begins.push_back(detail::zone_rules::earliest);
  rules->offsets.push_back(static_cast<std::int32_t>(info.offset.count()));
  // date returns a far-future `end` for the last period; a zone has a few
  // hundred changes, so the cap only guards against a malformed database.
  for (int guard = 0; info.end < horizon && guard < 100000; ++guard) {
    info = zone->get_info(info.end);
    const auto offset = static_cast<std::int32_t>(info.offset.count());
    if (offset != rules->offsets.back()) {
      rules->begins.push_back(info.begin.time_since_epoch().count());
      rules->offsets.push_back(offset);
    }
  }
  extend_with_footer(*rules, name);
  return rules;
}

}  // namespace

time_zone::time_zone() noexcept : rules_(utc_rules()) {}

time_zone::time_zone(std::shared_ptr<const detail::zone_rules> rules) noexcept : rules_(std::move(rules)) {}

time_zone time_zone::utc() noexcept {
  return time_zone{};
}

core::result<time_zone, time_zone_error> time_zone::locate(std::string_view name) {
  if (name == "UTC") return time_zone{};
  if (name.empty()) return time_zone_error{"empty time zone name"};

  static std::mutex mutex;
  static std::unordered_map<std::string, std::shared_ptr<const detail::zone_rules>> cache;
  std::string key(name);
  {
    const std::lock_guard lock(mutex);
    if (auto it = cache.find(key); it != cache.end()) return time_zone{it->second};
  }
  try {
    (void)date::get_tzdb();
  } catch (const std::exception& e) {
    return time_zone_error{"cannot read the system tz database (" + std::string(e.what()) + ")"};
  }
  std::shared_ptr<const detail::zone_rules> rules;
  try {
    rules = load_rules(name);
  } catch (const std::exception&) {
    return time_zone_error{"unknown time zone \"" + key + "\" (not in the system tz database)"};
  }
  const std::lock_guard lock(mutex);
  auto [it, inserted] = cache.emplace(std::move(key), std::move(rules));
  return time_zone{it->second};
}

const std::string& time_zone::name() const noexcept {
  return rules_->name;
}

offset_period time_zone::period_at(sys_seconds t) const noexcept {
  const auto& r = *rules_;
  const std::size_t i = r.index_of(t.time_since_epoch().count());
  offset_period p;
  p.begin = i == 0 ? sys_seconds::min() : sys_seconds{seconds{r.begins[i]}};
  p.end = i + 1 == r.begins.size() ? sys_seconds::max() : sys_seconds{seconds{r.begins[i + 1]}};
  p.offset = seconds{r.offsets[i]};
  p.previous_offset = seconds{r.offsets[i == 0 ? 0 : i - 1]};
  return p;
}

seconds time_zone::offset_at(sys_seconds t) const noexcept {
  const auto& r = *rules_;
  return seconds{r.offsets[r.index_of(t.time_since_epoch().count())]};
}

local_seconds time_zone::to_local(sys_seconds t) const noexcept {
  return local_seconds{t.time_since_epoch() + offset_at(t)};
}

sys_seconds time_zone::to_sys(local_seconds t) const noexcept {
  const auto& r = *rules_;
  constexpr std::int64_t day = 86400;
  const std::int64_t local = t.time_since_epoch().count();
  const auto end_of = [&r](std::size_t i) {
    return i + 1 == r.begins.size() ? std::numeric_limits<std::int64_t>::max() : r.begins[i + 1];
  };
  // Offsets stay within a day of UTC, so only periods overlapping
  // (local - 1 day, local + 1 day) can hold the answer. Walking back, the
  // last fit found is the earliest instant (the first occurrence).
  const std::size_t top = r.index_of(local + day);
  std::optional<std::int64_t> earliest;
  for (std::size_t i = top; end_of(i) > local - day; --i) {
    const std::int64_t candidate = local - r.offsets[i];
    if (candidate >= r.begins[i] && candidate < end_of(i)) earliest = candidate;
    if (i == 0) break;
  }
  if (earliest) return sys_seconds{seconds{*earliest}};
  // Skipped by a gap: read it with the offset in force before the gap.
  for (std::size_t k = top; k > 0; --k) {
    const std::int64_t before = local - r.offsets[k - 1];
    if (before >= r.begins[k] && local - r.offsets[k] < r.begins[k]) return sys_seconds{seconds{before}};
  }
  return sys_seconds{seconds{local - r.offsets[top]}};
}

bool operator==(const time_zone& a, const time_zone& b) noexcept {
  return a.rules_ == b.rules_ || a.rules_->name == b.rules_->name;
}

}  // namespace cascadence::scheduling
