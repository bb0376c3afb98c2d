#include "adapters/temporal/schedule_spec.hpp"

#include "scheduling/cron_expression.hpp"
#include "scheduling/iso_time.hpp"
#include "scheduling/time_zone.hpp"

#include <boost/json/array.hpp>
#include <boost/json/value.hpp>

#include <array>
#include <bit>
#include <cctype>
#include <cstdint>

namespace cascadence::adapters::temporal {

namespace json = boost::json;
using namespace std::chrono;

namespace {

// The values set in `bits` between `lo` and `hi` as Temporal's Range list
// ({start, end, step}): from each lowest value left, the longest arithmetic
// run of set values, so */2 stays one range and 1,2,3,9 is 1-3 and 9.
json::array ranges(std::uint64_t bits, int lo, int hi) {
  const auto set = [&](int v) { return v <= hi && (bits >> v & 1U) != 0; };
  json::array out;
  for (int v = lo; v <= hi; ++v) {
    if (!set(v)) continue;
    int best_step = 1;
    int best_end = v;
    int best_count = 1;
    for (int step = 1; v + step <= hi; ++step) {
      int end = v;
      int count = 1;
      for (; set(end + step); end += step) ++count;
      if (count > best_count) {
        best_step = step;
        best_end = end;
        best_count = count;
      }
    }
    out.push_back(json::object{{"start", v}, {"end", best_end}, {"step", best_step}});
    for (int x = v; x <= best_end; x += best_step) bits &= ~(std::uint64_t{1} << x);
  }
  return out;
}

json::array all(int lo, int hi) {
  return json::array{json::object{{"start", lo}, {"end", hi}, {"step", 1}}};
}

std::string proto_duration(milliseconds d) {
  const auto ms = d.count();
  auto text = std::to_string(ms / 1000);
  if (ms % 1000 != 0) text += "." + std::to_string(1000 + ms % 1000).substr(1);
  return text + "s";
}

// A fixed-time schedule (no `*` in minute and hour) meeting a DST change:
// cron runs a time that a spring-forward skips once right after the gap and
// a time that a fall-back repeats once; Temporal's calendar does neither
// the same way. The first such change within two years, as a message.
std::optional<std::string> dst_conflict(const scheduling::cron_expression& expr, const scheduling::time_zone& zone,
                                        sys_seconds now) {
  if (expr.has_wildcard_time()) return std::nullopt;
  const auto until = now + hours(24 * 366 * 2);
  auto t = now;
  for (int guard = 0; guard < 16 && t < until; ++guard) {
    const auto p = zone.period_at(t);
    if (p.end >= until || p.end == sys_seconds::max()) break;
    const auto next = zone.period_at(p.end);
    const auto jump = next.offset - p.offset;
    if (jump.count() != 0) {
      // Skipped (spring-forward) or repeated (fall-back) local times.
      const auto first =
          local_seconds((next.offset > p.offset ? p.end + p.offset : p.end + next.offset).time_since_epoch());
      const auto width = jump.count() > 0 ? jump : -jump;
      const auto hit = expr.next_match(
          first, static_cast<int>(year_month_day(floor<days>(sys_seconds(first.time_since_epoch()))).year()) + 1);
      if (hit && *hit < first + width) {
        const auto when = scheduling::format_iso8601(p.end, zone);
        return std::string("\"") + expr.text() + "\" fires in the hour that the DST change of " + when + " in " +
               zone.name() + (jump.count() > 0 ? " skips" : " repeats") +
               "; our cron runs such a time once, Temporal's calendar spec would not (choose a time outside the "
               "change, a schedule with * in the minute or hour field, or the UTC time zone)";
      }
    }
    t = p.end;
  }
  return std::nullopt;
}

std::string field_text(const json::value& v, int lo, int hi) {
  const auto* list = v.if_array();
  if (list == nullptr || list->empty()) return std::to_string(lo);
  std::string out;
  for (const auto& item : *list) {
    const auto* r = item.if_object();
    if (r == nullptr) return "?";
    const auto num = [&](std::string_view key, std::int64_t dflt) {
      const auto* x = r->if_contains(key);
      return x != nullptr && x->is_int64() ? x->as_int64() : dflt;
    };
    const auto start = num("start", 0);
    const auto end = std::max(num("end", start), start);
    const auto step = std::max<std::int64_t>(num("step", 1), 1);
    std::string part;
    if (start == lo && end == hi && step == 1) {
      part = "*";
    } else if (start == lo && end + step > hi) {
      part = "*/" + std::to_string(step);
    } else if (start == end) {
      part = std::to_string(start);
    } else {
      part = std::to_string(start) + "-" + std::to_string(end) + (step == 1 ? "" : "/" + std::to_string(step));
    }
    out += (out.empty() ? "" : ",") + part;
  }
  return out;
}

}  // namespace

core::result<json::object, std::string> calendar_spec(const scheduling::cron_expression& expr,
                                                      const scheduling::time_zone& zone, milliseconds jitter,
                                                      sys_seconds now) {
  if (!expr.can_fire()) return std::string("\"") + expr.text() + "\" never fires";
  if (auto why = dst_conflict(expr, zone, now)) return *why;
  json::object base{
      {"second", ranges(expr.second_bits(), 0, 59)},
      {"minute", ranges(expr.minute_bits(), 0, 59)},
      {"hour", ranges(expr.hour_bits(), 0, 23)},
      {"month", ranges(expr.month_bits(), 1, 12)},
  };
  json::array calendars;
  if (expr.either_day_matches()) {
    // Cron: a day matching either day field matches; Temporal ANDs the
    // fields of one calendar and ORs calendars.
    auto by_month_day = base;
    by_month_day["dayOfMonth"] = ranges(expr.day_bits(), 1, 31);
    by_month_day["dayOfWeek"] = all(0, 6);
    auto by_week_day = base;
    by_week_day["dayOfMonth"] = all(1, 31);
    by_week_day["dayOfWeek"] = ranges(expr.weekday_bits(), 0, 6);
    calendars.push_back(std::move(by_month_day));
    calendars.push_back(std::move(by_week_day));
  } else {
    base["dayOfMonth"] = ranges(expr.day_bits(), 1, 31);
    base["dayOfWeek"] = ranges(expr.weekday_bits(), 0, 6);
    calendars.push_back(std::move(base));
  }
  json::object spec{{"structuredCalendar", std::move(calendars)}, {"timezoneName", zone.name()}};
  if (jitter.count() > 0) spec["jitter"] = proto_duration(jitter);
  return spec;
}

std::string overlap_name(std::string_view ours) {
  std::string out(ours);
  for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string describe_spec(const json::object& spec) {
  const auto* calendars = spec.if_contains("structuredCalendar");
  if (calendars == nullptr || !calendars->is_array() || calendars->get_array().empty()) {
    if (const auto* cron = spec.if_contains("cronString"); cron != nullptr && cron->is_array()) {
      std::string out;
      for (const auto& c : cron->get_array()) {
        if (c.is_string()) out += (out.empty() ? "" : "; ") + std::string(c.get_string());
      }
      return out.empty() ? "?" : out;
    }
    return "?";
  }
  const auto text_of = [](const json::value& cal) {
    const auto* c = cal.if_object();
    if (c == nullptr) return std::string("?");
    const auto at = [&](std::string_view key) -> const json::value& {
      static const json::value none;
      const auto* v = c->if_contains(key);
      return v != nullptr ? *v : none;
    };
    return field_text(at("second"), 0, 59) + " " + field_text(at("minute"), 0, 59) + " " +
           field_text(at("hour"), 0, 23) + " " + field_text(at("dayOfMonth"), 1, 31) + " " +
           field_text(at("month"), 1, 12) + " " + field_text(at("dayOfWeek"), 0, 6);
  };
  const auto& list = calendars->get_array();
  if (list.size() == 2) {
    // The either-day pair calendar_spec() writes reads back as one cron line.
    const auto a = text_of(list[0]);
    const auto b = text_of(list[1]);
    const auto fields = [](const std::string& t) {
      std::array<std::string, 6> f;
      std::size_t i = 0;
      for (std::size_t pos = 0; i < 6; ++i) {
        const auto space = t.find(' ', pos);
        f[i] = t.substr(pos, space == std::string::npos ? std::string::npos : space - pos);
        if (space == std::string::npos) break;
        pos = space + 1;
      }
      return f;
    };
    auto fa = fields(a);
    auto fb = fields(b);
    if (fa[0] == fb[0] && fa[1] == fb[1] && fa[2] == fb[2] && fa[4] == fb[4] && fa[5] == "*" && fb[3] == "*") {
      return fa[0] + " " + fa[1] + " " + fa[2] + " " + fa[3] + " " + fa[4] + " " + fb[5];
    }
  }
  std::string out;
  for (const auto& cal : list) out += (out.empty() ? "" : "; ") + text_of(cal);
  return out;
}

}  // namespace cascadence::adapters::temporal
