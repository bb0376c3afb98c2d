#include "adapters/n8n/workflow_check.hpp"
#include "adapters/n8n/workflow_export.hpp"

#include <doctest/doctest.h>
#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <string>
#include <vector>

using namespace cascadence::adapters::n8n;
namespace json = boost::json;

namespace {

std::vector<task_node> diamond() {
  return {{"a", "manual", {}},
          {"b", "manual", {"a"}},
          {"c", "manual", {"a"}},
          {"d", "cron", {"b", "c"}, "*/15 9-17 * * mon-fri", "Europe/Berlin"}};
}

export_options options() {
  export_options o;
  o.base_url = "http://127.0.0.1:8000/";
  return o;
}

json::object exported(const std::vector<task_node>& tasks, const export_options& o = options()) {
  auto wf = export_workflow(tasks, o);
  REQUIRE_MESSAGE(wf.has_value(), (wf ? std::string() : wf.error().message));
  return wf.value();
}

std::string refused(const std::vector<task_node>& tasks, const export_options& o = options()) {
  auto wf = export_workflow(tasks, o);
  REQUIRE_FALSE(wf.has_value());
  return wf.error().message;
}

const json::object& node(const json::object& wf, std::string_view name) {
  const auto& nodes = wf.at("nodes").as_array();
  const auto it =
      std::find_if(nodes.begin(), nodes.end(), [&](const auto& n) { return n.at("name").as_string() == name; });
  REQUIRE_MESSAGE(it != nodes.end(), name);
  return it->as_object();
}

// The targets of a node's first output, as "name:input".
std::vector<std::string> targets(const json::object& wf, std::string_view from) {
  std::vector<std::string> out;
  const auto* c = wf.at("connections").as_object().if_contains(from);
  if (c == nullptr) return out;
  for (const auto& t : c->at("main").at(0).as_array()) {
    out.push_back(std::string(t.at("node").as_string()) + ":" + std::to_string(t.at("index").as_int64()));
  }
  return out;
}

double x(const json::object& n) {
  return n.at("position").at(0).to_number<double>();
}
double y(const json::object& n) {
  return n.at("position").at(1).to_number<double>();
}

bool mentions(const std::vector<std::string>& problems, std::string_view text) {
  return std::any_of(problems.begin(), problems.end(),
                     [&](const auto& p) { return p.find(text) != std::string::npos; });
}

}  // namespace

TEST_CASE("the workflow has the top-level shape n8n imports, with the schedules' zone") {
  const auto wf = exported(diamond());
  CHECK(wf.at("name") == "Cascadence");
  CHECK(wf.at("id").as_string().size() == 16);
  CHECK(wf.at("settings").at("executionOrder") == "v1");
  CHECK(wf.at("settings").at("timezone") == "Europe/Berlin");
  CHECK(check_workflow(wf).empty());
  // 1 manual trigger + 4 x (request + check) + 1 merge + schedule trigger + its request and check.
  CHECK(wf.at("nodes").as_array().size() == 13);
}

TEST_CASE("the graph is wired as the dependencies say: roots from the trigger, fan-in through a merge") {
  const auto wf = exported(diamond());
  CHECK(targets(wf, "start") == std::vector<std::string>{"run a:0"});
  CHECK(targets(wf, "run a") == std::vector<std::string>{"check a:0"});
  CHECK(targets(wf, "check a") == std::vector<std::string>{"run b:0", "run c:0"});
  CHECK(targets(wf, "check b") == std::vector<std::string>{"after the dependencies of d:0"});
  CHECK(targets(wf, "check c") == std::vector<std::string>{"after the dependencies of d:1"});
  CHECK(targets(wf, "after the dependencies of d") == std::vector<std::string>{"run d:0"});
  const auto& merge = node(wf, "after the dependencies of d").at("parameters");
  CHECK(merge.at("mode") == "chooseBranch");
  CHECK(merge.at("numberInputs") == 2);
  CHECK(merge.at("output") == "empty");
}

TEST_CASE("each task's request runs it alone, once, and the schedule's runs it with its dependencies") {
  const auto wf = exported(diamond());
  const auto& run_b = node(wf, "run b");
  CHECK(run_b.at("type") == "n8n-nodes-base.httpRequest");
  CHECK(run_b.at("executeOnce") == true);
  CHECK(run_b.at("parameters").at("method") == "POST");
  CHECK(run_b.at("parameters").at("url") == "http://127.0.0.1:8000/api/v1/tasks/b/runs?wait=true&dependencies=false");
  CHECK(run_b.if_contains("credentials") == nullptr);
  const auto& sched = node(wf, "schedule d");
  CHECK(sched.at("parameters").at("rule").at("interval").at(0).at("expression") == "0 */15 9-17 * * 1-5");
  CHECK(targets(wf, "schedule d") == std::vector<std::string>{"run d on schedule:0"});
  CHECK(node(wf, "run d on schedule").at("parameters").at("url") ==
        "http://127.0.0.1:8000/api/v1/tasks/d/runs?wait=true");
  const auto& code = node(wf, "check b").at("parameters").at("jsCode").as_string();
  CHECK(std::string_view(code).find("run.status !== 'success'") != std::string_view::npos);
}

TEST_CASE("with a token the requests reference an n8n credential, never the token") {
  auto o = options();
  o.authenticate = true;
  const auto wf = exported(diamond(), o);
  const auto& run_a = node(wf, "run a");
  CHECK(run_a.at("parameters").at("genericAuthType") == "httpHeaderAuth");
  CHECK(run_a.at("credentials").at("httpHeaderAuth").at("id").as_string() == o.credential_id);
  CHECK(json::serialize(wf).find("Bearer") == std::string::npos);
}

TEST_CASE("nodes are laid out left to right by depth, one row per task of a depth") {
  const auto wf = exported(diamond());
  CHECK(x(node(wf, "start")) < x(node(wf, "run a")));
  CHECK(x(node(wf, "run a")) < x(node(wf, "check a")));
  CHECK(x(node(wf, "check a")) < x(node(wf, "run b")));
  CHECK(x(node(wf, "run b")) == x(node(wf, "run c")));
  CHECK(y(node(wf, "run b")) != y(node(wf, "run c")));
  CHECK(x(node(wf, "check c")) < x(node(wf, "after the dependencies of d")));
  CHECK(x(node(wf, "after the dependencies of d")) < x(node(wf, "run d")));
  // The schedules sit below the graph.
  CHECK(y(node(wf, "schedule d")) > y(node(wf, "run c")));
}

TEST_CASE("task names are percent-encoded in the URL") {
  CHECK(encode_path_segment("a b/ü") == "a%20b%2F%C3%BC");
  const auto wf = exported({{"nightly build", "manual", {}}});
  CHECK(node(wf, "run nightly build").at("parameters").at("url") ==
        "http://127.0.0.1:8000/api/v1/tasks/nightly%20build/runs?wait=true&dependencies=false");
}

TEST_CASE("exporting the same graph twice gives the same workflow") {
  CHECK(json::serialize(exported(diamond())) == json::serialize(exported(diamond())));
}

TEST_CASE("what n8n cannot run the same way is refused with the task's name") {
  CHECK(refused({}) == "no tasks to export");
  CHECK(refused({{"a", "manual", {"zzz"}}}).find("'zzz', which is not among the exported tasks") != std::string::npos);
  CHECK(refused({{"a", "manual", {"b"}}, {"b", "manual", {"a"}}}).find("cycle") != std::string::npos);
  auto zones = diamond();
  zones[0].schedule = "0 0 * * *";
  zones[0].timezone = "UTC";
  CHECK(refused(zones).find("one time zone") != std::string::npos);
  auto bad_cron = diamond();
  bad_cron[3].schedule = "0 0 */2 * mon";
  CHECK(refused(bad_cron).find("task 'd': schedule") != std::string::npos);
  std::vector<task_node> wide{{"sink", "manual", {}}};
  for (int i = 0; i < 11; ++i) {
    wide.push_back({"dep" + std::to_string(i), "manual", {}});
    wide[0].after.push_back("dep" + std::to_string(i));
  }
  CHECK(refused(wide).find("at most 10") != std::string::npos);
  auto o = options();
  o.base_url = "127.0.0.1:8000";
  CHECK(refused(diamond(), o).find("not an http:// or https:// URL") != std::string::npos);
}

TEST_CASE("a name the exporter's own nodes collide with is refused by the self-check") {
  // Task "x on schedule" gets the request "run x on schedule", as does task x's schedule.
  const auto m = refused({{"x", "cron", {}, "0 0 * * *", "UTC"}, {"x on schedule", "manual", {}}});
  CHECK(m.find("fails its own check") != std::string::npos);
  CHECK(m.find("two nodes are named 'run x on schedule'") != std::string::npos);
}

TEST_CASE("the self-check finds dangling connections, duplicates and unknown types or versions") {
  auto wf = exported(diamond());
  auto& nodes = wf["nodes"].as_array();
  nodes.push_back(nodes[1]);  // a second "run a" with the same id
  nodes[2].as_object()["type"] = "n8n-nodes-base.start";
  nodes[3].as_object()["typeVersion"] = 9;
  nodes[4].as_object().erase("position");
  wf["connections"].as_object()["run b"].as_object()["main"].as_array()[0].as_array().push_back(
      json::object{{"node", "nowhere"}, {"type", "main"}, {"index", 0}});
  wf["connections"].as_object()["ghost"] = json::object{{"main", json::array{json::array{}}}};
  wf["connections"].as_object()["check a"].as_object()["main"].as_array()[0].as_array().push_back(
      json::object{{"node", "start"}, {"type", "main"}, {"index", 0}});
  wf["connections"].as_object()["check b"].as_object()["main"].as_array()[0].as_array().push_back(
      json::object{{"node", "after the dependencies of d"}, {"type", "main"}, {"index", 2}});
  const auto problems = check_workflow(wf);
  CHECK(mentions(problems, "two nodes are named 'run a'"));
  CHECK(mentions(problems, "has the id"));
  CHECK(mentions(problems, "unknown type 'n8n-nodes-base.start'"));
  CHECK(mentions(problems, "has a typeVersion"));
  CHECK(mentions(problems, "has no position"));
  CHECK(mentions(problems, "to 'nowhere': no such node"));
  CHECK(mentions(problems, "connection from 'ghost': no such node"));
  CHECK(mentions(problems, "to 'start': it has no input 0"));
  CHECK(mentions(problems, "to 'after the dependencies of d': it has no input 2"));
}

TEST_CASE("the self-check wants a manual trigger, v1 execution order and a name") {
  json::object wf{{"nodes", json::array{}}, {"connections", json::object{}}, {"settings", json::object{}}};
  const auto problems = check_workflow(wf);
  CHECK(mentions(problems, "no workflow name"));
  CHECK(mentions(problems, "executionOrder"));
  CHECK(mentions(problems, "no manualTrigger"));
  CHECK(mentions(check_workflow(json::object{{"name", "x"}}), "no nodes array"));
}
