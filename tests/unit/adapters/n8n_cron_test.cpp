#include "adapters/n8n/n8n_cron.hpp"

#include "scheduling/cron_expression.hpp"

#include <doctest/doctest.h>

#include <string>

using cascadence::adapters::n8n::to_n8n_cron;
using cascadence::scheduling::cron_expression;

namespace {

std::string converted(const std::string& ours) {
  auto expr = cron_expression::parse(ours);
  REQUIRE(expr.has_value());
  auto out = to_n8n_cron(expr.value());
  REQUIRE_MESSAGE(out.has_value(), (out ? std::string() : out.error().message));
  return out.value();
}

std::string refusal(const std::string& ours) {
  auto expr = cron_expression::parse(ours);
  REQUIRE(expr.has_value());
  auto out = to_n8n_cron(expr.value());
  REQUIRE_FALSE(out.has_value());
  return out.error().message;
}

}  // namespace

TEST_CASE("a five-field schedule gets n8n's leading seconds field, fixed at 0") {
  CHECK(converted("30 2 * * *") == "0 30 2 * * *");
  CHECK(converted("* * * * *") == "0 * * * * *");
}

TEST_CASE("a six-field schedule keeps its seconds") {
  CHECK(converted("*/10 * * * * *") == "*/10 * * * * *");
  CHECK(converted("5 0 0 1 1 *") == "5 0 0 1 1 *");
}

TEST_CASE("steps, ranges and lists are written as plain numbers") {
  CHECK(converted("*/15 9-17 * * mon-fri") == "0 */15 9-17 * * 1-5");
  CHECK(converted("5/20 * * * *") == "0 5-59/20 * * * *");
  CHECK(converted("0,1,2,10,30 * * * *") == "0 0-2,10,30 * * * *");
  CHECK(converted("0 0 1 jan,JUL *") == "0 0 0 1 1,7 *");
}

TEST_CASE("Sunday as 7 and the macros become numbers n8n reads the same way") {
  CHECK(converted("0 0 * * 7") == "0 0 0 * * 0");
  CHECK(converted("0 0 * * 5-7") == "0 0 0 * * 0,5,6");
  CHECK(converted("@daily") == "0 0 0 * * *");
  CHECK(converted("@hourly") == "0 0 * * * *");
  CHECK(converted("@weekly") == "0 0 0 * * 0");
  CHECK(converted("@monthly") == "0 0 0 1 * *");
  CHECK(converted("@yearly") == "0 0 0 1 1 *");
}

TEST_CASE("both day fields restricted keep cron's either-day meaning") {
  CHECK(converted("0 0 1,15 * sun") == "0 0 0 1,15 * 0");
}

TEST_CASE("a day field with a leading star and a restricted one is refused when n8n would read either") {
  const auto m = refusal("0 0 */2 * mon");
  CHECK(m.find("\"0 0 */2 * mon\"") != std::string::npos);
  CHECK(m.find("n8n reads differently") != std::string::npos);
}

TEST_CASE("a day field listing every value without a star is refused when cron would read either") {
  CHECK(refusal("0 0 1-31 * mon").find("n8n reads differently") != std::string::npos);
}

TEST_CASE("a schedule that never fires is refused") {
  CHECK(refusal("0 0 30 2 *").find("never fires") != std::string::npos);
}
