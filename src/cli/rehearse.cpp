// `qecloud rehearse-nodes --spec FILE` (not listed in the usage): start a multi-node job's containers as
// network-namespace nodes, with AWS Batch's per-node environment. The tests' stand-in for Batch's execution
// plane reads a submitted job from the Batch API and hands it here; `run --nodes` is the user-facing
// rehearsal. Events go to stdout as JSON lines: {"event":"started","node":i}, {"event":"exit","node":i,
// "code":c}, and at the end {"event":"done","main_code":c}. The exit status is the main node's.
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <filesystem>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "backends/netns/cluster_fault.hpp"
#include "backends/netns/node_launch.hpp"
#include "cli/commands.hpp"
#include "core/error.hpp"
#include "core/text.hpp"

namespace qecloud::cli {

int cmd_rehearse_nodes(std::vector<std::string> args) {
  CLI::App app{
      "Start a multi-node job's nodes as network namespaces with AWS Batch's environment (needs root).",
      args[0]};
  std::string spec_path;
  app.add_option(
         "--spec", spec_path,
         "JSON: job_id, nodes, command, environment, node_environment, log_dir, forward_ports, forwards "
         "[{inside_address, inside_port, host_port}], ecs_network, isolated, faults, kill_window (seconds "
         "from "
         "a stop's SIGTERM to its SIGKILL, 30)")
      ->required();
  if (auto rc = parse_command_line(app, args)) return *rc;
  const auto spec = nlohmann::json::parse(text::read_file(spec_path), nullptr, false);
  if (!spec.is_object()) throw UsageError(fmt::format("{}: not a JSON object", spec_path));
  backends::netns::NodeLaunch l;
  try {
    l.job_id = spec.at("job_id").get<std::string>();
    l.nodes = spec.at("nodes").get<int>();
    l.argv = spec.at("command").get<std::vector<std::string>>();
    l.env = spec.value("environment", std::map<std::string, std::string>{});
    const nlohmann::json node_env = spec.value("node_environment", nlohmann::json::object());
    for (const auto& [k, v] : node_env.items())
      l.node_env[std::stoi(k)] = v.get<std::map<std::string, std::string>>();
    l.log_dir = spec.at("log_dir").get<std::string>();
    l.forward_ports = spec.value("forward_ports", std::vector<int>{});
    l.ecs_network = spec.value("ecs_network", false);
    l.isolated = spec.value("isolated", false);
    l.kill_window_s = spec.value("kill_window", l.kill_window_s);
    const nlohmann::json delays = spec.value("start_delays", nlohmann::json::object());
    for (const auto& [node, delay] : delays.items()) l.start_delays[std::stoi(node)] = delay.get<double>();
    for (const auto& f : spec.value("forwards", nlohmann::json::array()))
      l.forwards.push_back({f.at("inside_address").get<std::string>(), f.at("inside_port").get<int>(),
                            f.at("host_port").get<int>()});
    for (const auto& f : spec.value("faults", std::vector<std::string>{}))
      l.faults.push_back(backends::netns::parse_cluster_fault(f));
  } catch (const nlohmann::json::exception& e) {
    throw UsageError(fmt::format("{}: {}", spec_path, e.what()));
  }
  if (l.nodes < 1) throw UsageError(fmt::format("{}: nodes must be at least 1", spec_path));
  if (l.argv.empty() || !std::filesystem::path(l.argv.front()).is_absolute())
    throw UsageError(fmt::format("{}: command must start with an absolute path", spec_path));
  std::filesystem::create_directories(l.log_dir);
  auto emit = [](const nlohmann::json& j) {
    fmt::print("{}\n", j.dump());
    std::fflush(stdout);
  };
  l.on_event = [&](int node, const char* event, int code) {
    nlohmann::json j = {{"event", event}, {"node", node}};
    if (std::string(event) == "exit") j["code"] = code;
    emit(j);
  };
  l.on_note = [&](const std::string& s) { emit({{"event", "note"}, {"text", s}}); };
  const backends::netns::LaunchResult r = backends::netns::launch_nodes(l);
  emit({{"event", "done"}, {"main_code", r.main_code}});
  if (r.stop_signal) {
    std::signal(r.stop_signal, SIG_DFL);
    std::raise(r.stop_signal);
  }
  return r.main_code;
}

}  // namespace qecloud::cli
