#include "job/report.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>

#include <fmt/format.h>

#include "core/json_text.hpp"

namespace qecloud {

void write_report(const AgentReport& r, const std::string& path) {
  const nlohmann::json summary = {{"state", to_string(r.state)},
                                  {"exit_code", r.exit_code},
                                  {"message", r.message},
                                  {"layout", {{"nodes", r.nodes}, {"ranks", r.ranks}, {"pools", r.pools}}},
                                  {"results", qe::to_json(r.results)},
                                  {"restart", r.restart},
                                  {"history", r.history}};
  std::string text = json_text(summary);  // "{\n  …\n}"
  text.erase(text.rfind('}'));
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  std::ofstream out(path);
  out << text << ",\n  \"node_list\": [";
  for (std::size_t i = 0; i < r.node_list.size(); ++i) {
    const auto& p = r.node_list[i];
    out << (i ? ",\n    " : "\n    ")
        << json_text({{"node", p.node}, {"address", p.address}, {"hostname", p.hostname}, {"slots", p.slots}},
                     -1);
  }
  out << (r.node_list.empty() ? "]\n}\n" : "\n  ]\n}\n");
  out.flush();
  if (!out) throw Error(fmt::format("cannot write {}: {}", path, std::strerror(errno)));
}

std::optional<AgentReport> parse_report(const std::string& text) {
  const auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object() || !j.contains("state")) return std::nullopt;
  AgentReport r;
  if (j["state"].is_string()) r.state = parse_job_state(j["state"].get<std::string>()).value_or(r.state);
  if (j.contains("exit_code") && j["exit_code"].is_number_integer()) r.exit_code = j["exit_code"].get<int>();
  if (j.contains("message") && j["message"].is_string()) r.message = j["message"].get<std::string>();
  if (j.contains("layout") && j["layout"].is_object()) {
    const auto& l = j["layout"];
    auto get = [&](const char* k) { return l.contains(k) && l[k].is_number_integer() ? l[k].get<int>() : 0; };
    r.nodes = get("nodes"), r.ranks = get("ranks"), r.pools = get("pools");
  }
  if (j.contains("results") && j["results"].is_object()) r.results = qe::results_from_json(j["results"]);
  if (j.contains("restart") && j["restart"].is_object()) r.restart = j["restart"];
  if (j.contains("history") && j["history"].is_array())
    for (const auto& h : j["history"])
      if (h.is_string()) r.history.push_back(h.get<std::string>());
  if (j.contains("node_list") && j["node_list"].is_array())
    for (const auto& n : j["node_list"])
      if (n.is_object())
        r.node_list.push_back(
            {n.value("node", 0), n.value("address", ""), n.value("hostname", ""), n.value("slots", 1)});
  return r;
}

}  // namespace qecloud
