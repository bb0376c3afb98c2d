#pragma once

// What n8n 2.8.4 would import without a word and then fail to execute:
// duplicate names, connections to nodes that do not exist, node types or
// versions it does not have (docs/n8n.md, "The self-check").

#include <boost/json/object.hpp>

#include <string>
#include <vector>

namespace cascadence::adapters::n8n {

/// Every problem of `workflow`, one line each (empty: n8n can run it): the
/// top-level shape, unique node names and ids, known types and typeVersions,
/// positions and parameters, connections from and to existing nodes on
/// inputs they have, and a Manual Trigger to execute it from.
[[nodiscard]] std::vector<std::string> check_workflow(const boost::json::object& workflow);

}  // namespace cascadence::adapters::n8n
