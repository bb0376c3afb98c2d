#include "core/utf8.hpp"

#include <doctest/doctest.h>

using cascadence::core::invalid_utf8_at;

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
