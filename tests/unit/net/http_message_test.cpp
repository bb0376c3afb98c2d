#include "net/http_message.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace cascadence::net;

namespace {

std::vector<std::string> names(const header_map& h) {
  std::vector<std::string> out;
  for (const auto& [name, value] : h) out.push_back(name);
  return out;
}

}  // namespace

TEST_CASE("header fields keep their order, repeat, and are found ignoring case") {
  header_map h;
  h.add("Accept", "a");
  h.append("X-Tag", "1");
  h.add("x-tag", "2");
  CHECK(h.size() == 3);
  CHECK(h.get("X-TAG") == "1");
  CHECK(names(h) == std::vector<std::string>{"Accept", "X-Tag", "x-tag"});
  h.set("X-Tag", "3");
  CHECK(names(h) == std::vector<std::string>{"Accept", "X-Tag"});
  CHECK(h.get("x-tag") == "3");
  CHECK(h.erase("accept") == 1);
  CHECK(names(h) == std::vector<std::string>{"X-Tag"});
  CHECK_FALSE(h.contains("Accept"));
}

TEST_CASE("a cleared header map is empty and takes new fields as if fresh") {
  header_map h;
  h.append("Content-Type", "application/json; charset=utf-8");
  h.append("X-Hub-Signature-256", std::string(71, 's'));
  h.clear();
  CHECK(h.empty());
  CHECK(h.begin() == h.end());
  CHECK_FALSE(h.contains("Content-Type"));
  h.append("Host", "example");
  CHECK(h.size() == 1);
  CHECK(h.get("Host") == "example");
  CHECK_FALSE(h.get("X-Hub-Signature-256"));
  h.add("A", "1");
  h.add("B", "2");
  h.add("C", "3");  // more than the storage kept from before
  CHECK(names(h) == std::vector<std::string>{"Host", "A", "B", "C"});
  CHECK(h.erase("B") == 1);
  h.append("D", "4");
  CHECK(names(h) == std::vector<std::string>{"Host", "A", "C", "D"});
  CHECK(h.get("C") == "3");
  CHECK(h.get("D") == "4");
}

TEST_CASE("a request's target can be assigned again, replacing path and query") {
  auto req = request::from_target(http_method::get, "/a/b?x=1&y=two+words");
  REQUIRE(req);
  CHECK(req->path == "/a/b");
  REQUIRE(req->query.size() == 2);
  CHECK(req->query[1].second == "two words");
  REQUIRE(req->assign_target(http_method::post, "/webhook/github"));
  CHECK(req->method == http_method::post);
  CHECK(req->target == "/webhook/github");
  CHECK(req->path == "/webhook/github");
  CHECK(req->query.empty());
  // The server parses the target into `target` first and assigns it to itself.
  req->target = "http://example.com/p?q=1";
  REQUIRE(req->assign_target(http_method::get, req->target));
  CHECK(req->target == "http://example.com/p?q=1");
  CHECK(req->path == "/p");
  CHECK(req->query_value("q") == "1");
  CHECK_FALSE(req->assign_target(http_method::get, "/bad%zz"));
}

TEST_CASE("a plain path gives the request the URL parser would give") {
  for (const std::string target : {"/", "//", "/webhook/github", "/a:b@c/d;e=f,g+h/~x_y-z.!$&'()*"}) {
    CAPTURE(target);
    request plain;
    REQUIRE(plain.assign_target(http_method::post, target));
    // An empty query makes the same path go through the URL parser.
    request parsed;
    REQUIRE(parsed.assign_target(http_method::post, target + "?"));
    CHECK(plain.method == http_method::post);
    CHECK(plain.target == target);
    CHECK(plain.path == target);
    CHECK(plain.path == parsed.path);
    CHECK(plain.query.empty());
  }
  request req;
  CHECK_FALSE(req.assign_target(http_method::get, "/a b"));
  CHECK_FALSE(req.assign_target(http_method::get, "/a\"b"));
  REQUIRE(req.assign_target(http_method::get, "/a%2Fb?x"));
  CHECK(req.path == "/a%2Fb");
  CHECK(req.query.size() == 1);
}
