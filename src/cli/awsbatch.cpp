// `qecloud infra up|down|status` (AWS Batch's resources from qecloud.toml) and `qecloud submit` (to any
// backend that submits: AWS Batch, Slurm). What follows a job — status, logs, cancel, fetch — is in jobs.cpp.
#include <algorithm>
#include <cstdio>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <CLI/CLI.hpp>

#include "aws/api.hpp"
#include "aws/http.hpp"
#include "backends/awsbatch/config.hpp"
#include "backends/awsbatch/infra.hpp"
#include "backends/backend.hpp"
#include "cli/commands.hpp"
#include "core/diagnostic.hpp"
#include "core/env.hpp"
#include "core/error.hpp"
#include "core/json_text.hpp"
#include "image/labels.hpp"

namespace qecloud::cli {
namespace {

using json = nlohmann::json;

constexpr const char* kConfigHelp =
    "AWS settings come from qecloud.toml (here, or in $QECLOUD_HOME), section [aws]:\n"
    "  region = \"us-east-2\"\n  bucket = \"my-qe-results\"\n  prefix = \"qecloud\"\n  name = \"qecloud\"\n"
    "  subnets = [\"subnet-0a1b2c3d\"]\n  security_groups = [\"sg-0a1b2c3d\"]\n"
    "  instance_types = [\"c5n.18xlarge\"]\n  max_vcpus = 256\n"
    "  image = \"123456789012.dkr.ecr.us-east-2.amazonaws.com/qecloud:1\"\n"
    "  optional: log_retention_days = 30, runnable_timeout_minutes = 60, root_volume_gib = 30\n"
    "Credentials: the standard chain (AWS_ACCESS_KEY_ID…, AWS_PROFILE, container or instance role).";

constexpr const char* kSlurmConfigHelp =
    "\nSlurm settings (optional) come from the same file, section [slurm]: partition, account, qos,\n"
    "  time = \"12:00:00\", ntasks_per_node, modules = [\"quantum-espresso\"], pw, mpirun, qecloud (the "
    "path\n"
    "  the nodes run), store = \"file:///shared/qecloud\" (a path every node sees), signal_margin = 120,\n"
    "  sbatch_options = [\"--constraint=…\"].";

std::unique_ptr<aws::ServiceApi> open_api(const backends::awsbatch::AwsConfig& c) {
  return std::make_unique<aws::ServiceApi>(process_env(), aws::make_curl_client(), c.region);
}

void note(const std::string& s) {
  fmt::print(stderr, "qecloud: {}\n", s);
}

void print_items(const std::vector<backends::awsbatch::InfraItem>& items) {
  for (const auto& i : items) fmt::print("  {:<20} {:<28} {:<22} {}\n", i.kind, i.name, i.state, i.detail);
}

}  // namespace

// "90m", "12h", "3600", "1d" → seconds.
int parse_duration(const std::string& text, const char* option) {
  const std::size_t digits = std::min(text.size(), text.find_first_not_of("0123456789."));
  const std::string unit = text.substr(digits);
  const auto v = parse_decimal(std::string_view(text).substr(0, digits));
  const double mult = unit.empty() || unit == "s" ? 1
                      : unit == "m"               ? 60
                      : unit == "h"               ? 3600
                      : unit == "d"               ? 86400
                                                  : -1;
  if (v && mult > 0 && *v > 0 && *v * mult < 1e9) return static_cast<int>(*v * mult);
  throw UsageError(fmt::format("{} '{}': a duration like 3600, 90m, 12h or 2d", option, text));
}

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
  for (auto* sub : {up, down, status}) {  // before or after the subcommand, as users type them
    sub->add_flag("--json", json_out, "print JSON");
    sub->add_option("--config", config, "qecloud.toml to read (default ./qecloud.toml, then $QECLOUD_HOME)");
  }
  if (auto rc = parse_command_line(app, args)) return *rc;
  const backends::awsbatch::AwsConfig c =
      backends::awsbatch::load_config(config);  // refuses placeholders before any call
  auto api = open_api(c);
  backends::awsbatch::Notes notes = json_out ? backends::awsbatch::Notes{} : backends::awsbatch::Notes{note};
  std::vector<backends::awsbatch::InfraItem> items;
  if (up->parsed()) {
    items = backends::awsbatch::infra_up(*api, c, notes);
  } else if (down->parsed()) {
    backends::awsbatch::InfraOptions o;
    o.delete_data = delete_data;
    items = backends::awsbatch::infra_down(*api, c, o, notes);
  } else {
    items = backends::awsbatch::infra_status(*api, c);
  }
  if (json_out) {
    fmt::print("{}\n", json_text(backends::awsbatch::to_json(items)));
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
  return submit_job(std::move(args), nullptr);
}

int submit_job(std::vector<std::string> args, std::shared_ptr<const ResumePlan> resume) {
  CLI::App app{
      "Submit a pw.x job to a scheduler (AWS Batch: a multi-node job; Slurm: sbatch): validate, stage the "
      "inputs, submit, and return. Follow it with `qecloud status|logs|fetch`.",
      args[0]};
  app.footer(std::string(kConfigHelp) + kSlurmConfigHelp);
  backends::JobOptions o;
  std::string backend_name = "awsbatch", timeout = "24h";
  bool json_out = false, no_recover = false;
  app.add_option("INPUT", o.input, "pw.x input file")->required();
  app.add_option("--backend", backend_name,
                 "where to run: awsbatch or slurm (for this machine, use `qecloud run`)")
      ->capture_default_str();
  app.add_option("--nodes", o.nodes, "nodes (instances); ranks per node = its physical cores")
      ->check(CLI::Range(1, 1000));
  app.add_option("--instance-type", o.instance_type,
                 "one of the config's instance_types (default: the first)");
  app.add_option("--timeout", timeout, "each attempt's limit: 3600, 90m, 12h, 2d (default 24h)");
  app.add_option("--partition", o.partition,
                 "Slurm: the partition (default: [slurm] partition, else Slurm's)");
  app.add_option("--time", o.slurm_time,
                 "Slurm: the time limit in Slurm's formats: 90 (minutes), 1:30:00, 2-00:00:00; the job stops "
                 "cleanly before it");
  app.add_option("--account", o.account, "Slurm: the account charged");
  app.add_option("--qos", o.qos, "Slurm: the quality of service");
  app.add_option("--ntasks-per-node", o.tasks_per_node, "Slurm: MPI ranks per node (default: whole nodes)")
      ->check(CLI::Range(1, 100000));
  app.add_option("--store", o.store_url,
                 "Slurm: where the job keeps its files: file:///<shared path> or s3://…");
  app.add_option("--name", o.name, "a name for the job (default: the input's file name)");
  app.add_option("--config", o.config_path, "qecloud.toml to read");
  app.add_flag("--no-recover", no_recover,
               "no automatic recovery on the main node (an SCF that does not converge ends the job)");
  app.add_flag("--json", json_out, "print one JSON object: job_id, batch_job_id, outputs, estimate");
  if (auto rc = parse_command_line(app, args)) return *rc;
  o.recover = !no_recover;
  o.given = given_options(app, {"INPUT", "--backend", "--json"});
  o.resume = std::move(resume);
  const backends::Backend* found = nullptr;
  std::vector<std::string> submitting, foreground;
  for (const auto& b : backends::all()) {
    (b.submit ? submitting : foreground).push_back(b.name);
    if (backend_name == b.name) found = &b;
  }
  if (!found || !found->submit)
    throw UsageError(fmt::format("--backend {}: {}only {} submit{} ({} run in the foreground: `qecloud run`)",
                                 backend_name, found ? "" : "unknown backend; ", fmt::join(submitting, ", "),
                                 submitting.size() == 1 ? "s" : "", fmt::join(foreground, " and ")));
  const backends::Backend& backend = *found;
  o.time_limit_s = parse_duration(timeout, "--timeout");
  // The configured image's QE release, when `qecloud image test` recorded it (here, or on the pushed URI).
  o.image_release = [](const std::string& img) -> std::optional<std::pair<qe::QeVersion, std::string>> {
    const auto r = image::image_release(img);
    const auto v = r ? qe::QeVersion::parse(r->qe_version) : std::nullopt;
    if (!v) return std::nullopt;
    return std::pair{*v, r->source};
  };
  backends::RunObserver obs;
  obs.on_validated = [](const qe::ValidationReport& r) {
    std::fputs(format_diagnostics(r.diagnostics).c_str(), stderr);
  };
  const backends::Submitted s = backend.submit(o, obs, json_out ? backends::Notes{} : backends::Notes{note});
  if (s.refused) {
    if (json_out)
      fmt::print("{}\n",
                 json_text(json{{"job_id", s.job_id}, {"state", "invalid"}, {"exit_code", kExitBadInput}}));
    else
      fmt::print(stderr,
                 "qecloud: the input is invalid; nothing was submitted (job {} recorded as invalid)\n",
                 s.job_id);
    return kExitBadInput;
  }
  if (json_out) {
    fmt::print("{}\n", json_text(json{{"job_id", s.job_id},
                                      {"backend", backend_name},
                                      {"batch_job_id", s.remote_id},
                                      {"remote_id", s.remote_id},
                                      {"outputs", s.outputs_url},
                                      {"estimate", s.estimate}}));
  } else {
    fmt::print("job {} submitted to {} as {}\n", s.job_id, backend_name, s.remote_id);
    if (!s.estimate.empty()) fmt::print("  cost at most: {}\n", s.estimate);
    fmt::print("  outputs: {}\n  follow it: qecloud status {} · qecloud logs -f {}\n", s.outputs_url,
               s.job_id, s.job_id);
  }
  return kExitOk;
}

}  // namespace qecloud::cli
