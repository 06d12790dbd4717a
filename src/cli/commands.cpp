#include "cli/commands.hpp"

#include <array>
#include <cstdio>
#include <string_view>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "core/error.hpp"
#include "core/text.hpp"

#ifndef QECLOUD_VERSION
#define QECLOUD_VERSION "dev"
#endif

namespace qecloud::cli {
namespace {

const std::array kCommands{
    Command{"validate", "check a pw.x input and its pseudopotentials; report what the job needs",
            cmd_validate},
    Command{"parse", "turn pw.x output (and data-file-schema.xml) into results JSON", cmd_parse},
    Command{"run", "run pw.x on an input here: layout, live progress, results kept", cmd_run},
    Command{"list", "list jobs from the job database", cmd_list},
    Command{"show", "show one job: state, layout, results, convergence (--plot)", cmd_show},
    Command{"store", "list, copy and delete what jobs left in a store (s3://, file://)", cmd_store},
    Command{"infra", "create, delete or inspect the AWS Batch resources (qecloud.toml [aws])", cmd_infra},
    Command{"submit", "submit a job to a scheduler (AWS Batch, Slurm) on N nodes", cmd_submit},
    Command{"status", "a job's state, per node, and its cost, from its backend", cmd_status},
    Command{"logs", "a job's logs (pw.out, node logs, CloudWatch Logs, Slurm's output file), -f to follow",
            cmd_logs},
    Command{"cancel", "stop a job (a run here stops cleanly, as with Ctrl-C)", cmd_cancel},
    Command{"fetch", "download a job's outputs and record its results", cmd_fetch},
    Command{"resume", "continue a stopped job from its restart data (same layout), here or on a backend",
            cmd_resume},
    Command{"image", "the container image for AWS Batch: dockerfile, build, test, push (to ECR)", cmd_image},
    Command{"agent",
            "run on each node of a multi-node job (the container's CMD); `agent exec` is mpirun's launcher",
            cmd_agent},
    Command{"rehearse-nodes", "start a Batch job's nodes as network namespaces (tests)", cmd_rehearse_nodes,
            true},
};

void print_usage(std::FILE* to) {
  fmt::print(to, "qecloud {} — Quantum ESPRESSO on a laptop, a Slurm cluster or AWS Batch\n\n",
             QECLOUD_VERSION);
  fmt::print(to, "usage: qecloud <command> [options]\n\ncommands:\n");
  for (const auto& c : kCommands)
    if (!c.hidden) fmt::print(to, "  {:<12}{}\n", c.name, c.summary);
  fmt::print(to, "\n`qecloud <command> --help` shows a command's options.\n");
}

}  // namespace

std::span<const Command> commands() {
  return kCommands;
}

const Command* find_command(const std::string& name) {
  for (const auto& c : kCommands)
    if (name == c.name) return &c;
  return nullptr;
}

std::optional<int> parse_command_line(CLI::App& app, const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitUsage;
  }
  return std::nullopt;
}

std::set<std::string> given_options(const CLI::App& app, std::initializer_list<const char*> except) {
  std::set<std::string> out;
  for (const CLI::Option* opt : app.get_options()) {
    if (opt->count() == 0) continue;
    std::string name = opt->get_single_name();  // "ranks", "q", or a positional's name
    if (opt->nonpositional()) name = (name.size() > 1 ? "--" : "-") + name;
    bool skip = false;
    for (const char* e : except) skip |= name == e;
    if (!skip) out.insert(name);
  }
  return out;
}

int run_cli(int argc, char** argv) {
  if (argc < 2) {
    print_usage(stderr);
    return kExitUsage;
  }
  const std::string name = argv[1];
  if (name == "--help" || name == "-h" || name == "help") {
    print_usage(stdout);
    return kExitOk;
  }
  if (name == "--version" || name == "version") {
    fmt::print("qecloud {}\n", QECLOUD_VERSION);
    return kExitOk;
  }
  const Command* cmd = find_command(name);
  if (!cmd) {
    std::vector<std::string_view> names;
    for (const auto& c : kCommands) names.push_back(c.name);
    std::string hint = text::closest_match(name, names);
    throw UsageError(fmt::format("unknown command '{}'{}; see `qecloud --help`", name,
                                 hint.empty() ? "" : fmt::format(" (did you mean '{}'?)", hint)));
  }
  std::vector<std::string> args{std::string("qecloud ") + cmd->name};
  for (int i = 2; i < argc; ++i) args.emplace_back(argv[i]);
  return cmd->handler(std::move(args));
}

}  // namespace qecloud::cli
