// The webhook handler with signatures: handle_delivery(), the socket-free
// part of POST /webhook/{source}. Input: a mode byte, then the source on
// the first line, header fields ("Name: value") up to an empty line, and
// the body. Modes: 0 no secrets; 1 secrets, the headers as given; 2
// secrets, and the harness signs the body in the source's scheme; 3 the
// same with one digit of the signature changed, which must be refused.

#include "adapters/webhooks/webhook_registry.hpp"
#include "adapters/webhooks/webhook_routes.hpp"
#include "fuzz_input.hpp"
#include "net/hmac.hpp"

#include <boost/asio/awaitable.hpp>

using namespace cascadence;
namespace webhooks = adapters::webhooks;

namespace {

webhooks::webhook_registry make_registry(bool with_secrets) {
  webhooks::webhook_registry r;
  const auto ignore = webhooks::make_webhook_task(
      [](std::string, std::string, boost::json::value) -> boost::asio::awaitable<void> { co_return; });
  r.subscribe("github", {"push", "pull_request"}, "on-push", ignore);
  r.subscribe("acme", {}, "on-acme", ignore);
  if (with_secrets) {
    r.set_secret("github", "github-secret");
    r.set_secret("calcom", "calcom-secret");
    r.set_secret("acme", "acme-secret");
  }
  return r;
}

// Signs the body as a sender of `source` would, in the header the handler reads.
void sign(net::request& req, std::string_view source, const webhooks::webhook_registry& r, bool corrupt) {
  const auto* key = r.signing_key(source);
  if (key == nullptr) return;
  auto hex = key->sign_hex(req.body);
  if (corrupt) hex[hex.size() / 2] = hex[hex.size() / 2] == '0' ? '1' : '0';
  if (source == "github") {
    req.headers.set("X-Hub-Signature-256", "sha256=" + hex);
  } else if (source == "calcom") {
    req.headers.set("X-Cal-Signature-256", hex);
  } else {
    req.headers.set("X-Cascadence-Signature-256", "sha256=" + hex);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  static const auto open = make_registry(false);
  static const auto guarded = make_registry(true);
  const unsigned mode = data[0] % 4;
  const auto& registry = mode == 0 ? open : guarded;

  auto text = fuzz::text_of(data + 1, size - 1);
  const auto line = [&text] {
    const auto end = text.find('\n');
    const auto l = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    return l;
  };
  const std::string source(line());
  net::request req;
  req.method = net::http_method::post;
  for (auto field = line(); !field.empty(); field = line()) {
    const auto colon = field.find(':');
    if (colon == std::string_view::npos) continue;
    auto value = field.substr(colon + 1);
    while (value.starts_with(' ')) value.remove_prefix(1);
    req.headers.append(field.substr(0, colon), value);
  }
  req.body = text;
  if (mode >= 2) sign(req, source, registry, mode == 3);

  const auto d = webhooks::handle_delivery(req, source, registry);
  if (!registry.knows(source) && d.reply.status != 404) fuzz::fail("an unknown source not answered 404", source);
  if (mode == 3 && registry.secret(source) != nullptr && d.reply.status != 401)
    fuzz::fail("a wrong signature accepted", d.reply.body);
  if ((d.reply.status == 202) != d.event.has_value()) fuzz::fail("an event without a 202, or a 202 without one");
  if (d.event && (d.event->source != source || d.event->type.empty()))
    fuzz::fail("an event of another source or no type");
  return 0;
}
