// The AWS Batch commands: `infra up|down|status`, `submit`, `status`, `logs`, `cancel`, `fetch`.
// `list` and `show` (jobs.cpp) read the same job database.
#include <chrono>
#include <cstdio>
#include <thread>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "aws/api.hpp"
#include "awsbatch/batch_jobs.hpp"
#include "awsbatch/config.hpp"
#include "awsbatch/infra.hpp"
#include "cli/commands.hpp"
#include "core/error.hpp"
#include "core/json_text.hpp"
#include "core/paths.hpp"

namespace qecloud::cli {
namespace {

using json = nlohmann::json;

constexpr const char* kConfigHelp =
    "AWS settings come from qecloud.toml (here, or in $QECLOUD_HOME), section [aws]:\n"
    "  region = \"us-east-2\"\n  bucket = \"my-qe-results\"\n  prefix = \"qecloud\"\n  name = \"qecloud\"\n"
    "  subnets = [\"subnet-0a1b2c3d\"]\n  security_groups = [\"sg-0a1b2c3d\"]\n"
    "  instance_types = [\"c5n.18xlarge\"]\n  max_vcpus = 256\n"
    "  image = \"123456789012.dkr.ecr.us-east-2.amazonaws.com/qecloud:1\"\n"
    "Credentials: the standard chain (AWS_ACCESS_KEY_ID…, AWS_PROFILE, container or instance role).";

std::unique_ptr<aws::ServiceApi> open_api(const awsbatch::AwsConfig& c) {
  return std::make_unique<aws::ServiceApi>(aws::process_environment(), aws::make_curl_client(), c.region);
}

void note(const std::string& s) {
  fmt::print(stderr, "qecloud: {}\n", s);
}

JobRecord find_job(JobDb& db, const std::string& id) {
  auto job = db.find(id);
  if (!job) throw Error(fmt::format("no job '{}' in {} (see `qecloud list`)", id, job_db_path()));
  return *job;
}

// What status, logs and cancel share: the config, the AWS APIs, and the job (which must be an AWS Batch job).
struct BatchJobContext {
  awsbatch::AwsConfig config;
  std::unique_ptr<aws::ServiceApi> api;
  std::unique_ptr<JobDb> db;
  JobRecord job;
};

BatchJobContext open_job(const std::string& config_path, const std::string& id) {
  BatchJobContext x;
  x.config = awsbatch::load_config(config_path);
  x.api = open_api(x.config);
  x.db = std::make_unique<JobDb>(job_db_path());
  x.job = find_job(*x.db, id);
  awsbatch::remote_of(x.job);
  return x;
}

void print_items(const std::vector<awsbatch::InfraItem>& items) {
  for (const auto& i : items) fmt::print("  {:<20} {:<28} {:<22} {}\n", i.kind, i.name, i.state, i.detail);
}

// "90m", "12h", "3600", "1d" → seconds.
int parse_duration(const std::string& text) {
  try {
    std::size_t used = 0;
    const double v = std::stod(text, &used);
    const std::string unit = text.substr(used);
    const double mult = unit.empty() || unit == "s" ? 1
                        : unit == "m"               ? 60
                        : unit == "h"               ? 3600
                        : unit == "d"               ? 86400
                                                    : -1;
    if (mult > 0 && v > 0) return static_cast<int>(v * mult);
  } catch (const std::exception&) {
  }
  throw UsageError(fmt::format("--timeout '{}': a duration like 3600, 90m, 12h or 2d", text));
}

}  // namespace

int cmd_infra(std::vector<std::string> args) {
  CLI::App app{"Create, delete or inspect the AWS resources jobs run on (idempotent).", args[0]};
  app.footer(kConfigHelp);
  app.require_subcommand(1);
  std::string config;
  bool json_out = false, delete_data = false;
  app.add_option("--config", config, "qecloud.toml to read (default ./qecloud.toml, then $QECLOUD_HOME)");
  app.add_flag("--json", json_out, "print a JSON array of resources and what happened to each");
  auto* up = app.add_subcommand("up", "create what is missing: bucket, roles, compute environment, queue, …");
  auto* down = app.add_subcommand("down", "disable and delete what `up` created (results kept)");
  down->add_flag("--delete-data", delete_data,
                 "also empty the bucket prefix and delete the bucket and log group");
  auto* status = app.add_subcommand("status", "what exists, and its state");
  for (auto* sub : {up, down, status}) sub->add_flag("--json", json_out, "print JSON");
  if (auto rc = parse_command_line(app, args)) return *rc;
  const awsbatch::AwsConfig c = awsbatch::load_config(config);  // refuses placeholders before any call
  auto api = open_api(c);
  awsbatch::Notes notes = json_out ? awsbatch::Notes{} : awsbatch::Notes{note};
  std::vector<awsbatch::InfraItem> items;
  if (up->parsed()) {
    items = awsbatch::infra_up(*api, c, notes);
  } else if (down->parsed()) {
    awsbatch::InfraOptions o;
    o.delete_data = delete_data;
    items = awsbatch::infra_down(*api, c, o, notes);
  } else {
    items = awsbatch::infra_status(*api, c);
  }
  if (json_out) {
    fmt::print("{}\n", json_text(awsbatch::to_json(items)));
  } else {
    fmt::print("{} ({}, {})\n",
               up->parsed()     ? "infra up"
               : down->parsed() ? "infra down"
                                : "infra status",
               c.region, c.source);
    print_items(items);
  }
  return kExitOk;
}

int cmd_submit(std::vector<std::string> args) {
  CLI::App app{"Submit a pw.x job to AWS Batch as a multi-node job: validate, upload the inputs, submit.",
               args[0]};
  app.footer(kConfigHelp);
  awsbatch::SubmitOptions o;
  std::string backend = "awsbatch", config, timeout = "24h";
  bool json_out = false;
  app.add_option("INPUT", o.input, "pw.x input file")->required();
  app.add_option("--backend", backend, "where to run: awsbatch (for this machine, use `qecloud run`)");
  app.add_option("--nodes", o.nodes, "nodes (instances); ranks per node = its physical cores")
      ->check(CLI::Range(2, 1000));
  app.add_option("--instance-type", o.instance_type,
                 "one of the config's instance_types (default: the first)");
  app.add_option("--timeout", timeout, "each attempt's limit: 3600, 90m, 12h, 2d (default 24h)");
  app.add_option("--name", o.name, "a name for the job (default: the input's file name)");
  app.add_option("--config", config, "qecloud.toml to read");
  app.add_flag("--json", json_out, "print one JSON object: job_id, batch_job_id, outputs, estimate");
  if (auto rc = parse_command_line(app, args)) return *rc;
  if (backend != "awsbatch")
    throw UsageError(
        fmt::format("--backend {}: only awsbatch submits (use `qecloud run` on this machine)", backend));
  o.timeout_s = parse_duration(timeout);
  const awsbatch::AwsConfig c = awsbatch::load_config(config);
  auto api = open_api(c);
  JobDb db(job_db_path());
  o.on_validated = [](const qe::ValidationReport& r) {
    std::fputs(format_diagnostics(r.diagnostics).c_str(), stderr);
  };
  awsbatch::Submitted s = awsbatch::submit(*api, c, o, db, json_out ? nullptr : note);
  if (s.refused) {
    if (json_out)
      fmt::print("{}\n",
                 json_text(json{{"job_id", s.job_id}, {"state", "invalid"}, {"exit_code", kExitBadInput}}));
    else
      fmt::print(stderr,
                 "qecloud: the input is invalid; nothing was sent to AWS (job {} recorded as invalid)\n",
                 s.job_id);
    return kExitBadInput;
  }
  if (json_out) {
    fmt::print("{}\n", json_text(json{{"job_id", s.job_id},
                                      {"batch_job_id", s.batch_job_id},
                                      {"outputs", s.store_url},
                                      {"estimate", s.estimate}}));
  } else {
    fmt::print("job {} submitted to AWS Batch as {}\n  cost at most: {}\n  outputs: {}\n", s.job_id,
               s.batch_job_id, s.estimate, s.store_url);
    fmt::print("  follow it: qecloud status {0} · qecloud logs -f {0}\n", s.job_id);
  }
  return kExitOk;
}

int cmd_status(std::vector<std::string> args) {
  CLI::App app{"A job's state on AWS Batch, per node, and what it cost.", args[0]};
  std::string id, config;
  bool json_out = false, watch = false;
  app.add_option("JOB", id, "job id (or a unique prefix)")->required();
  app.add_flag("-w,--watch", watch, "refresh every 5 s until the job ends");
  app.add_option("--config", config, "qecloud.toml to read");
  app.add_flag("--json", json_out, "print one JSON object");
  if (auto rc = parse_command_line(app, args)) return *rc;
  auto [c, api, db, job] = open_job(config, id);
  awsbatch::BatchState s;
  for (;;) {
    job = awsbatch::refresh(*api, *db, job, s);
    if (!watch || s.final()) break;
    fmt::print(stderr, "qecloud: {} {}\n", s.batch_status, s.status_reason);
    std::this_thread::sleep_for(std::chrono::seconds(5));
  }
  const json j = awsbatch::status_json(job, s, c);
  if (json_out) {
    fmt::print("{}\n", json_text(j));
    return kExitOk;
  }
  fmt::print("job {} (AWS Batch {})\n  state     {} — Batch {}{}\n", job.id,
             j["batch_job_id"].get<std::string>(), job.state, s.batch_status,
             s.status_reason.empty() ? "" : ": " + s.status_reason);
  if (!job.message.empty()) fmt::print("  message   {}\n", job.message);
  for (const auto& n : s.nodes)
    fmt::print("  node {:<3} {:<10} {}{}\n", n.index, n.status,
               n.exit_code ? fmt::format("exit {} ", *n.exit_code) : "", n.reason);
  if (j.contains("total_energy_ry"))
    fmt::print("  energy    {:.8f} Ry\n", j["total_energy_ry"].get<double>());
  if (j.contains("cost")) fmt::print("  cost      {}\n", j["cost"]["line"].get<std::string>());
  fmt::print("  outputs   {}\n", job.store_url);
  return kExitOk;
}

int cmd_logs(std::vector<std::string> args) {
  CLI::App app{"A job's logs from CloudWatch Logs, every node's (one stream per node).", args[0]};
  std::string id, config;
  bool follow = false;
  std::optional<int> node;
  app.add_option("JOB", id, "job id (or a unique prefix)")->required();
  app.add_flag("-f,--follow", follow, "keep printing new lines until the job ends");
  app.add_option("--node", node, "only this node's log (0 is the main)");
  app.add_option("--config", config, "qecloud.toml to read");
  if (auto rc = parse_command_line(app, args)) return *rc;
  auto [c, api, db, job] = open_job(config, id);
  const int nodes = job.remote.value("nodes", 0);
  if (node && (*node < 0 || *node >= nodes))
    throw UsageError(fmt::format("--node {}: job {} has nodes 0 to {}", *node, job.id, nodes - 1));
  awsbatch::LogCursor cursor;
  awsbatch::BatchState s;
  auto print = [](int n, const std::string& text) {
    fmt::print("[node {}] {}\n", n, text);
    std::fflush(stdout);
  };
  for (;;) {
    job = awsbatch::refresh(*api, *db, job, s);
    const int fresh = awsbatch::read_logs(*api, c, s, node, cursor, print);
    if (!follow || (s.final() && fresh == 0)) break;
    std::this_thread::sleep_for(std::chrono::seconds(2));
  }
  return kExitOk;
}

int cmd_cancel(std::vector<std::string> args) {
  CLI::App app{"Stop a job on AWS Batch (TerminateJob): its nodes are stopped, what it stored is kept.",
               args[0]};
  std::string id, config, reason = "cancelled with qecloud cancel";
  app.add_option("JOB", id, "job id (or a unique prefix)")->required();
  app.add_option("--reason", reason, "recorded as the job's status reason");
  app.add_option("--config", config, "qecloud.toml to read");
  if (auto rc = parse_command_line(app, args)) return *rc;
  auto x = open_job(config, id);
  awsbatch::cancel(*x.api, x.job, reason);
  const JobRecord& job = x.job;
  fmt::print("job {}: cancel requested ({}); `qecloud status {}` shows when it has stopped\n", job.id, reason,
             job.id);
  return kExitOk;
}

int cmd_fetch(std::vector<std::string> args) {
  CLI::App app{"Download a job's outputs (pw.out, results.json, logs, restart data) and record its results.",
               args[0]};
  std::string id, dir;
  app.add_option("JOB", id, "job id (or a unique prefix)")->required();
  app.add_option("--to", dir, "directory to write into (default ./<job id>)");
  if (auto rc = parse_command_line(app, args)) return *rc;
  JobDb db(job_db_path());
  const JobRecord job = find_job(db, id);
  if (dir.empty()) dir = job.id;
  const auto files = awsbatch::fetch_outputs(db, job, dir);
  fmt::print("job {}: {} file{} in {}\n", job.id, files.size(), files.size() == 1 ? "" : "s", dir);
  return kExitOk;
}

}  // namespace qecloud::cli
