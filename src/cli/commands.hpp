#pragma once
// The table of subcommands. main() only looks the first argument up here and forwards the rest.
// Adding a subcommand = one file in src/cli/ plus one row in commands.cpp.
#include <initializer_list>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

namespace CLI {
class App;
}
namespace qecloud {
struct ResumePlan;
}

namespace qecloud::cli {

// args[0] is "qecloud <name>", the rest are the subcommand's arguments. Returns the process exit code.
using Handler = int (*)(std::vector<std::string> args);

struct Command {
  const char* name;
  const char* summary;
  Handler handler;
  bool hidden = false;  // for tests; not in the usage
};

std::span<const Command> commands();
const Command* find_command(const std::string& name);

// Parses a subcommand's arguments with CLI11. nullopt: go on; a value: the exit code to return now (help was
// printed: 0; bad usage: kExitUsage, after CLI11 printed why).
std::optional<int> parse_command_line(CLI::App& app, const std::vector<std::string>& args);

// The options the user gave on the command line ("--ranks", …), but those in `except`.
std::set<std::string> given_options(const CLI::App& app, std::initializer_list<const char*> except);

// "90m", "12h", "3600", "1d" → seconds; throws qecloud::UsageError naming `option`.
int parse_duration(const std::string& text, const char* option);

// Entry point used by main() and by end-to-end tests that call the CLI in-process.
int run_cli(int argc, char** argv);

int cmd_validate(std::vector<std::string> args);
int cmd_parse(std::vector<std::string> args);
int cmd_run(std::vector<std::string> args);
// `run` and `submit` for `resume`: the same options, with the plan's copy of the stopped job's input as
// INPUT and its layout kept.
int run_job(std::vector<std::string> args, std::shared_ptr<const ResumePlan> resume);
int submit_job(std::vector<std::string> args, std::shared_ptr<const ResumePlan> resume);
int cmd_resume(std::vector<std::string> args);
// What `resume` passes to `run`/`submit` after INPUT for backend `where`: the user's options (`extras`) and,
// unless the user gave them ("--nodes 3" or "--nodes=3"), the stopped job's node count on the multi-node
// backends and, on Slurm, its ranks per node (the ranks are kept; so is their placement).
std::vector<std::string> resume_options(const std::string& where, int nodes, int ranks,
                                        const std::vector<std::string>& extras);
int cmd_list(std::vector<std::string> args);
int cmd_show(std::vector<std::string> args);
int cmd_store(std::vector<std::string> args);
int cmd_agent(std::vector<std::string> args);
int cmd_infra(std::vector<std::string> args);
int cmd_submit(std::vector<std::string> args);
int cmd_status(std::vector<std::string> args);
int cmd_logs(std::vector<std::string> args);
int cmd_cancel(std::vector<std::string> args);
int cmd_fetch(std::vector<std::string> args);
int cmd_rehearse_nodes(std::vector<std::string> args);
int cmd_image(std::vector<std::string> args);

}  // namespace qecloud::cli
