#include "backends/awsbatch/batch_jobs.hpp"

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <regex>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "backends/awsbatch/cost.hpp"
#include "core/crypto.hpp"
#include "core/error.hpp"
#include "job/outputs.hpp"
#include "job/scheduled.hpp"
#include "job/start.hpp"

namespace fs = std::filesystem;

namespace qecloud::backends::awsbatch {
namespace {

using json = nlohmann::json;

// Batch job names: letters, digits, - and _, at most 128.
std::string batch_job_name(const std::string& name, const std::string& id) {
  std::string clean = std::regex_replace(name, std::regex("[^A-Za-z0-9_-]"), "_");
  return ("qecloud-" + clean.substr(0, 80) + "-" + id).substr(0, 128);
}

// A time Batch gave (ms since the epoch); 0 is a time it never set (a job cancelled while RUNNABLE).
std::optional<double> seconds_of(const json& j, const char* key) {
  if (j.contains(key) && j[key].is_number() && j[key].get<double>() > 0) return j[key].get<double>() / 1000.0;
  return std::nullopt;
}

NodeState node_state(const json& d, int index) {
  NodeState n;
  n.index = index;
  n.status = d.value("status", "");
  n.reason = d.value("statusReason", "");
  const json container =
      d.contains("container") && d["container"].is_object() ? d["container"] : json::object();
  if (container.contains("exitCode") && container["exitCode"].is_number_integer())
    n.exit_code = container["exitCode"].get<int>();
  n.log_stream = container.value("logStreamName", "");
  if (n.log_stream.empty() && d.contains("attempts") && d["attempts"].is_array() && !d["attempts"].empty()) {
    const json& last = d["attempts"].back();
    if (last.contains("container")) n.log_stream = last["container"].value("logStreamName", "");
  }
  return n;
}

void put_secret(storage::ObjectStore& store, const JobLocation& loc, const std::string& secret) {
  const fs::path tmp = fs::temp_directory_path() / fmt::format("qecloud-secret-{}", random_hex(8));
  {
    std::ofstream out(tmp);
    fs::permissions(tmp, fs::perms::owner_read | fs::perms::owner_write);
    out << secret << '\n';
  }
  try {
    store.put_file(tmp.string(), loc.secret_key());
  } catch (...) {
    fs::remove(tmp);
    throw;
  }
  fs::remove(tmp);
}

void check_submit(const AwsConfig& c, const JobOptions& o, std::string& type) {
  refuse_options(o, "awsbatch",
                 {"--nodes", "--instance-type", "--timeout", "--name", "--config", "--no-recover"},
                 "AWS Batch runs the image's pw.x with one rank per physical core of each node");
  if (o.nodes < 2)
    throw UsageError("--nodes: a multi-node job needs at least 2 nodes (one node: `qecloud run` here)");
  if (o.time_limit_s < 60) throw UsageError("--timeout: AWS Batch needs at least 60 s");
  type = o.instance_type.empty() ? c.instance_types.front() : o.instance_type;
  if (std::find(c.instance_types.begin(), c.instance_types.end(), type) == c.instance_types.end())
    throw UsageError(
        fmt::format("--instance-type {}: the compute environment offers only {} ({}: instance_types)", type,
                    fmt::format("{}", fmt::join(c.instance_types, ", ")), c.source));
}

// What `status` and `fetch` need later, whatever qecloud.toml says by then.
json remote_record(const aws::Api& api, const AwsConfig& c, const json& answer, int nodes,
                   const std::string& type, int timeout_s) {
  json r = {{"batch_job_id", answer.value("jobId", "")},
            {"job_arn", answer.value("jobArn", "")},
            {"region", api.region()},
            {"queue", c.job_queue()},
            {"nodes", nodes},
            {"instance_type", type},
            {"timeout_s", timeout_s},
            {"log_group", c.log_group()}};
  if (auto p = instance_price(type, c.prices)) {
    r["price_usd_per_hour"] = p->usd_per_hour;
    r["price_source"] = p->source;
  }
  return r;
}

// The main agent's report says what happened (converged, not converged, which node was lost).
void record_final(JobDb& db, const JobRecord& job, const BatchState& s) {
  const bool ok = s.batch_status == "SUCCEEDED";
  record_scheduled_end(db, job, ok ? JobState::kSucceeded : JobState::kFailed, ok ? kExitOk : kExitFailure,
                       s.status_reason);
  try {  // no attempt will need the secret again
    const JobLocation loc = JobLocation::of_job_url(job.store_url, job.id);
    open_job_store(job)->remove(loc.secret_key());
  } catch (const std::exception&) {
  }
}

}  // namespace

json cost_so_far(const JobRecord& job, const BatchState& s) {
  if (!s.started_s || *s.started_s <= 0) return nullptr;  // never started: no instance ran for it
  const double end = s.stopped_s.value_or(static_cast<double>(std::time(nullptr)));
  const double hours = std::max(0.0, end - *s.started_s) / 3600.0;
  const std::string type = job.remote.value("instance_type", "");
  const int n = job.remote.value("nodes", 0);
  std::map<std::string, double> prices;
  if (job.remote.contains("price_usd_per_hour"))
    prices[type] = job.remote["price_usd_per_hour"].get<double>();
  json cost = {{"hours", hours},
               {"line", fmt::format("{}; {}", cost_line(type, n, hours, prices), kBilledBeforeStart)},
               {"not_counted", "the instances' time before the job started (boot, image pull), billed too"}};
  if (auto usd = cost_usd(type, n, hours, prices)) cost["usd"] = *usd;
  return cost;
}

const json& remote_of(const JobRecord& job) {
  if (job.backend != "awsbatch" || !job.remote.contains("batch_job_id"))
    throw UsageError(fmt::format("job {} ran on the {} backend, not on AWS Batch", job.id, job.backend));
  return job.remote;
}

InstanceShape describe_instance(aws::Api& api, const std::string& type) {
  const json ans = api.must({"ec2", "DescribeInstanceTypes", {{"InstanceTypes", json::array({type})}}});
  const json types = ans.contains("instanceTypeSet") && ans["instanceTypeSet"].is_array()
                         ? ans["instanceTypeSet"]
                         : json::array();
  auto number = [](const json& j, const char* key) {
    if (!j.is_object() || !j.contains(key)) return 0;
    return j[key].is_string() ? std::atoi(j[key].get<std::string>().c_str()) : j[key].get<int>();
  };
  for (const auto& t : types) {
    if (t.value("instanceType", "") != type) continue;
    InstanceShape s;
    s.type = type;
    const json cpu = t.value("vCpuInfo", json::object());
    s.vcpus = number(cpu, "defaultVCpus");
    s.cores = number(cpu, "defaultCores");
    s.memory_mib = number(t.value("memoryInfo", json::object()), "sizeInMiB");
    if (s.vcpus > 0 && s.memory_mib > 0) return s;
  }
  throw Error(fmt::format("EC2 does not describe the instance type {} in {} (DescribeInstanceTypes)", type,
                          api.region()));
}

json submit_job_input(const AwsConfig& c, const std::string& job_name, const NodeContract& contract,
                      int nodes, const InstanceShape& shape, int timeout_s) {
  const std::string& instance_type = shape.type;
  // Never the secret itself: DescribeJobs shows a job's environment to anyone allowed to describe jobs (AWS
  // Batch API Reference, DescribeJobs: nodeProperties, containerOverrides.environment).
  NodeContract published = contract;
  published.secret_in_store = true;
  json env = json::array();
  for (const auto& [name, value] : published.to_env()) env.push_back({{"name", name}, {"value", value}});
  return {
      {"jobName", job_name},
      {"jobQueue", c.job_queue()},
      {"jobDefinition", c.job_definition()},
      {"nodeOverrides",
       {{"numNodes", nodes},
        {"nodePropertyOverrides",
         json::array({{{"targetNodes", "0:"},
                       {"containerOverrides",
                        {{"environment", env},
                         {"instanceType", instance_type},
                         // The whole instance: the agent runs a rank per core, and a container limited to the
                         // job definition's few GiB would have them OOM-killed.
                         {"resourceRequirements",
                          json::array({{{"type", "VCPU"}, {"value", std::to_string(shape.vcpus)}},
                                       {{"type", "MEMORY"},
                                        {"value", std::to_string(shape.job_memory_mib())}}})}}}}})}}},
      // Retry what the infrastructure broke (an instance lost, a container that never started, a node lost
      // or never joined: the main's kExitNodeLost — for a multi-node job only the main node's exit starts a
      // new attempt, AWS Batch User Guide, "Multi-node parallel jobs"); a job that ran and failed — bad
      // input, no convergence, a crash — fails at once.
      {"retryStrategy",
       {{"attempts", kRetryAttempts},
        {"evaluateOnExit", json::array({{{"onStatusReason", "Host EC2*"}, {"action", "RETRY"}},
                                        {{"onExitCode", std::to_string(kExitNodeLost)}, {"action", "RETRY"}},
                                        {{"onReason", "CannotPullContainerError*"}, {"action", "RETRY"}},
                                        {{"onReason", "CannotStartContainerError*"}, {"action", "RETRY"}},
                                        {{"onReason", "*"}, {"action", "EXIT"}}})}}},
      {"timeout", {{"attemptDurationSeconds", timeout_s}}},
      {"propagateTags", true},
      {"tags", {{"qecloud", c.name}}}};
}

Submitted submit(aws::Api& api, const AwsConfig& c, const JobOptions& o, const RunObserver& obs,
                 const Notes& notes) {
  std::string type;
  check_submit(c, o, type);
  // 1. Validate (no AWS call before this passes), record the job.
  JobDb db(job_db_path());
  // The image's pw.x is not on this machine: judged for the release the image recorded (`qecloud image
  // test`'s label) when it is known here, else against every release.
  std::optional<qe::QeVersion> release;
  std::string release_source;
  if (o.image_release)
    if (auto r = o.image_release(c.image)) release = r->first, release_source = r->second;
  StartedJob job = start_job({.input = o.input,
                              .name = o.name,
                              .store_url = c.store_url(),
                              .backend = "awsbatch",
                              .store_region = c.region,
                              .pw = "",
                              .qe_version = release,
                              .qe_version_source = release_source,
                              .resume = o.resume},
                             db, obs.on_validated);
  Submitted out = submitted_of(job);
  if (out.refused) return out;
  JobGuard guard(db, out.job_id);
  try {
    guard.step("sizing the nodes");
    const InstanceShape shape = describe_instance(api, type);
    if (o.nodes * shape.vcpus > c.max_vcpus)  // Batch would leave the job RUNNABLE forever
      throw UsageError(
          fmt::format("--nodes {} × {} vCPUs ({}) = {} vCPUs, more than the compute environment's "
                      "max_vcpus {} ({}): fewer nodes, or raise max_vcpus and run `qecloud infra up`",
                      o.nodes, shape.vcpus, type, o.nodes * shape.vcpus, c.max_vcpus, c.source));
    out.estimate = ceiling_line(type, o.nodes, o.time_limit_s / 3600.0, kRetryAttempts, c.prices);
    // 2. The input bundle where the main agent looks for it.
    guard.step("uploading the input");
    if (notes) notes(fmt::format("uploading the input to {}/input/", out.outputs_url));
    stage_inputs(job);
    // 3. The job, with the node contract (the image's pw.x and mpirun).
    guard.step("submitting to AWS Batch");
    NodeContract contract = job_contract(job);
    contract.store_region = c.region;
    contract.recover = o.recover;
    // Batch starts the children only once the main is RUNNING, and each still pulls the image and attaches
    // its network interface: AWS's own multi-node sample waits 600 s for them.
    contract.join_timeout_s = kBatchJoinTimeout;
    contract.time_limit_s = o.time_limit_s;  // attemptDurationSeconds: pw.x stops itself before Batch's kill
    contract.kill_window_s = kBatchKillWindow;
    // Not in SubmitJob's environment (see submit_job_input): the nodes read it from the job's prefix, which
    // only the job role may read.
    put_secret(*job.store, job.location, contract.secret);
    const json ans = api.must({"batch", "SubmitJob",
                               submit_job_input(c, batch_job_name(job.record.name, out.job_id), contract,
                                                o.nodes, shape, o.time_limit_s)});
    out.remote_id = ans.value("jobId", "");
    if (out.remote_id.empty()) throw Error("AWS Batch SubmitJob answered without a jobId");
    db.set_remote(out.job_id, remote_record(api, c, ans, o.nodes, type, o.time_limit_s));
    db.set_layout(out.job_id, {{"nodes", o.nodes}, {"instance_type", type}});
    db.set_state(out.job_id, JobState::kQueued, "submitted to AWS Batch as " + out.remote_id);
    db.set_owner(out.job_id, Owner{});  // Batch has it now
    guard.release();
    if (notes) notes(fmt::format("submitted: AWS Batch job {} ({} × {})", out.remote_id, o.nodes, type));
  } catch (const std::exception& e) {
    guard.fail(e);
    throw;
  }
  return out;
}

JobStatus refresh(aws::Api& api, JobDb& db, const JobRecord& job, BatchState& s) {
  const json& r = remote_of(job);
  const std::string id = r["batch_job_id"];
  const int nodes = r.value("nodes", 0);
  std::vector<std::string> ids = {id};
  for (int i = 0; i < nodes; ++i) ids.push_back(fmt::format("{}#{}", id, i));
  json described = json::array();
  for (std::size_t at = 0; at < ids.size(); at += kDescribeJobsLimit) {  // a 1,000-node job: 11 calls
    json batch = json::array();
    for (std::size_t k = at; k < std::min(ids.size(), at + kDescribeJobsLimit); ++k) batch.push_back(ids[k]);
    for (const auto& d : api.must({"batch", "DescribeJobs", {{"jobs", batch}}}).value("jobs", json::array()))
      described.push_back(d);
  }
  s = BatchState{};
  bool found = false;
  for (const auto& d : described) {
    const std::string jid = d.value("jobId", "");
    if (jid == id) {
      found = true;
      s.batch_status = d.value("status", "");
      s.status_reason = d.value("statusReason", "");
      s.started_s = seconds_of(d, "startedAt");
      s.stopped_s = seconds_of(d, "stoppedAt");
    } else if (auto hash = jid.rfind('#'); hash != std::string::npos && jid.substr(0, hash) == id) {
      s.nodes.push_back(node_state(d, std::stoi(jid.substr(hash + 1))));
    }
  }
  if (!found)
    throw Error(
        fmt::format("AWS Batch does not know job {} (region {}); it may have expired (Batch keeps "
                    "finished jobs for about a week)",
                    id, api.region()));
  std::sort(s.nodes.begin(), s.nodes.end(),
            [](const NodeState& a, const NodeState& b) { return a.index < b.index; });
  if (!is_final(job.state) && s.batch_status == "RUNNING" && job.state != JobState::kRunning)
    db.set_state(job.id, JobState::kRunning, "AWS Batch: RUNNING");
  if (!is_final(job.state) && s.final()) record_final(db, job, s);

  JobStatus st;
  st.job = *db.find(job.id);
  st.backend_state = s.batch_status;
  st.reason = s.status_reason;
  for (const auto& n : s.nodes) st.nodes.push_back({n.index, n.status, n.reason, n.exit_code});
  st.cost = cost_so_far(st.job, s);
  return st;
}

int read_logs(aws::Api& api, const JobRecord& job, const BatchState& s, std::optional<int> node,
              LogCursor& cursor, const LogLine& line) {
  const std::string group = remote_of(job).value("log_group", "/aws/batch/job");
  int fresh = 0;
  for (const auto& n : s.nodes) {
    if (node && n.index != *node) continue;
    if (n.log_stream.empty()) continue;  // not started yet
    for (;;) {
      json req = {{"logGroupName", group}, {"logStreamName", n.log_stream}, {"startFromHead", true}};
      auto& token = cursor.position[std::to_string(n.index)];
      if (!token.empty()) req["nextToken"] = token;
      auto r = api.call({"logs", "GetLogEvents", req});
      if (!r) {
        if (r.error().code == "ResourceNotFoundException") break;  // the stream is not there yet
        api.must({"logs", "GetLogEvents", req});                   // throws with the message
      }
      const auto events = r->value("events", json::array());
      for (const auto& e : events) {
        line(n.index, e.value("message", ""));
        ++fresh;
      }
      const std::string next = r->value("nextForwardToken", "");
      const bool end = next.empty() || next == token || events.empty();
      token = next.empty() ? token : next;
      if (end) break;
    }
  }
  return fresh;
}

void cancel(aws::Api& api, const JobRecord& job, const std::string& reason) {
  const json& r = remote_of(job);
  api.must({"batch", "TerminateJob", {{"jobId", r["batch_job_id"]}, {"reason", reason}}});
}

}  // namespace qecloud::backends::awsbatch
