#include "adapters/n8n/n8n_cron.hpp"

#include "scheduling/cron_expression.hpp"

#include <cstdint>
#include <vector>

namespace cascadence::adapters::n8n {

namespace {

// One field from its bit set over [lo, hi]: `*` when every value is in,
// `*/s` or `a-b/s` for a progression reaching the end of the field, else a
// list of values and runs of three or more as ranges.
std::string field_text(std::uint64_t bits, int lo, int hi) {
  std::vector<int> values;
  for (int v = lo; v <= hi; ++v) {
    if ((bits >> static_cast<unsigned>(v)) & 1U) values.push_back(v);
  }
  if (static_cast<int>(values.size()) == hi - lo + 1) return "*";
  if (values.size() >= 3) {
    const int step = values[1] - values[0];
    bool progression = step > 1;
    for (std::size_t i = 2; progression && i < values.size(); ++i) progression = values[i] - values[i - 1] == step;
    if (progression && values.back() + step > hi) {
      return (values.front() == lo ? std::string("*") : std::to_string(values.front()) + "-" + std::to_string(hi)) +
             "/" + std::to_string(step);
    }
  }
  std::string out;
  for (std::size_t i = 0; i < values.size();) {
    std::size_t j = i;
    while (j + 1 < values.size() && values[j + 1] == values[j] + 1) ++j;
    if (!out.empty()) out += ',';
    if (j - i >= 2) {
      out += std::to_string(values[i]) + "-" + std::to_string(values[j]);
      i = j + 1;
    } else {
      out += std::to_string(values[i]);
      ++i;
    }
  }
  return out;
}

constexpr std::uint32_t all_days = 0xFFFFFFFEU;  // bits 1-31
constexpr std::uint8_t all_weekdays = 0x7FU;     // bits 0-6

}  // namespace

core::result<std::string, refusal> to_n8n_cron(const scheduling::cron_expression& expr) {
  const auto quoted = "\"" + expr.text() + "\"";
  if (!expr.can_fire()) return refusal{"schedule " + quoted + " never fires (no date matches it)"};
  const bool every_day = expr.day_bits() == all_days;
  const bool every_weekday = expr.weekday_bits() == all_weekdays;
  // cron (ours, cronie's) reads the two day fields as "either" when neither
  // starts with `*`; n8n's cron package when neither holds every value.
  const bool n8n_either = !every_day && !every_weekday;
  if (n8n_either != expr.either_day_matches()) {
    return refusal{"schedule " + quoted +
                   " restricts day-of-month and day-of-week in a way n8n reads differently (n8n fires on days matching "
                   "either field when both list fewer than all values, and on days matching both otherwise); write the "
                   "day fields so that one of them is `*`, or both are restricted lists without `*`"};
  }
  return field_text(expr.second_bits(), 0, 59) + " " + field_text(expr.minute_bits(), 0, 59) + " " +
         field_text(expr.hour_bits(), 0, 23) + " " + field_text(expr.day_bits(), 1, 31) + " " +
         field_text(expr.month_bits(), 1, 12) + " " + field_text(expr.weekday_bits(), 0, 6);
}

}  // namespace cascadence::adapters::n8n
