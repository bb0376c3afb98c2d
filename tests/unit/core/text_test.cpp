#include "core/text.hpp"

#include <doctest/doctest.h>

#include <string>

using cascadence::core::invalid_utf8_at;
using cascadence::core::is_valid_utf8;
using cascadence::core::needs_escaping;
using cascadence::core::printable;
using cascadence::core::to_valid_utf8;

namespace {
const std::string replacement = "\xEF\xBF\xBD";
}

TEST_CASE("is_valid_utf8 accepts well-formed text and refuses every kind of ill-formed sequence") {
  CHECK(is_valid_utf8(""));
  CHECK(is_valid_utf8("plain ascii\t\n"));
  CHECK(is_valid_utf8("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"));  // é € 😀
  CHECK(is_valid_utf8("\xF4\x8F\xBF\xBF"));                           // U+10FFFF
  CHECK_FALSE(is_valid_utf8("\xFF\xFE"));                             // never in UTF-8
  CHECK_FALSE(is_valid_utf8("\xC0\xAF"));                             // overlong '/'
  CHECK_FALSE(is_valid_utf8("\xE0\x80\xAF"));                         // overlong, 3 bytes
  CHECK_FALSE(is_valid_utf8("\xED\xA0\x80"));                         // a surrogate
  CHECK_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));                     // above U+10FFFF
  CHECK_FALSE(is_valid_utf8("\xE2\x82"));                             // truncated at the end
  CHECK_FALSE(is_valid_utf8("\x80"));                                 // a lone continuation
}

TEST_CASE("to_valid_utf8 replaces each maximal invalid subpart by one U+FFFD") {
  CHECK(to_valid_utf8("caf\xC3\xA9") == "caf\xC3\xA9");
  CHECK(to_valid_utf8("\xFF\xFE x") == replacement + replacement + " x");
  CHECK(to_valid_utf8("a\xE2\x82z") == "a" + replacement + "z");  // the truncated € is one subpart
  CHECK(to_valid_utf8("\xF0\x9F\x98") == replacement);
  CHECK(to_valid_utf8("\xED\xA0\x80") == replacement + replacement + replacement);
  CHECK(is_valid_utf8(to_valid_utf8("\xC0\xAF\x80\xF5\xF4\x90")));
}

TEST_CASE("printable escapes what would start a line or reach the terminal, and nothing else") {
  CHECK(printable("evt\n2099-01-01T00:00:00.000Z fire INJECTED") == "evt\\n2099-01-01T00:00:00.000Z fire INJECTED");
  CHECK(printable("a\rb") == "a\\rb");
  CHECK(printable("\x1b[31mred") == "\\x1b[31mred");
  CHECK(printable(std::string("nul\0byte", 8)) == "nul\\x00byte");
  CHECK(printable("del\x7F") == "del\\x7f");
  CHECK(printable("csi \xC2\x9B"
                  "2J") == "csi \\u009b2J");  // C1 control in UTF-8
  CHECK(printable("\xFF\xFE") == "\\xff\\xfe");
  CHECK(printable("tab\tand caf\xC3\xA9 \\ stay") == "tab\tand caf\xC3\xA9 \\ stay");
  CHECK_FALSE(needs_escaping("tab\tand caf\xC3\xA9"));
  CHECK(needs_escaping("x\n"));
  CHECK(needs_escaping("\xC2\x85"));
  CHECK(needs_escaping("\xC3"));
}

TEST_CASE("UTF-8 text is accepted whole") {
  CHECK_FALSE(invalid_utf8_at("").has_value());
  CHECK_FALSE(invalid_utf8_at("plain ascii\n").has_value());
  CHECK_FALSE(invalid_utf8_at("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf").has_value());
}

TEST_CASE("the first byte that does not start a valid sequence is named") {
  CHECK(invalid_utf8_at("caf\xe9").value() == 3);             // Latin-1
  CHECK(invalid_utf8_at("ab\xc3").value() == 2);              // cut short
  CHECK(invalid_utf8_at("\xc0\xaf").value() == 0);            // overlong '/'
  CHECK(invalid_utf8_at("x\xe0\x80\xaf").value() == 1);       // overlong, three bytes
  CHECK(invalid_utf8_at("\xed\xa0\x80").value() == 0);        // a surrogate
  CHECK(invalid_utf8_at("ok\xf4\x90\x80\x80").value() == 2);  // above U+10FFFF
  CHECK(invalid_utf8_at("\x80").value() == 0);                // a continuation byte alone
  CHECK(invalid_utf8_at("\xe2\x82x").value() == 0);           // a bad continuation
}
