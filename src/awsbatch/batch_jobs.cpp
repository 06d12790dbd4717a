#include "awsbatch/batch_jobs.hpp"

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <regex>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "agent/wire.hpp"
#include "aws/crypto.hpp"
#include "awsbatch/cost.hpp"
#include "core/error.hpp"
#include "core/text.hpp"
#include "qe/results.hpp"
#include "sched/local_run.hpp"
#include "storage/object_store.hpp"

namespace fs = std::filesystem;

namespace qecloud::awsbatch {
namespace {

using json = nlohmann::json;

// Batch job names: letters, digits, - and _, at most 128.
std::string batch_job_name(const std::string& name, const std::string& id) {
  std::string clean = std::regex_replace(name, std::regex("[^A-Za-z0-9_-]"), "_");
  return ("qecloud-" + clean.substr(0, 80) + "-" + id).substr(0, 128);
}

std::optional<double> seconds_of(const json& j, const char* key) {
  if (j.contains(key) && j[key].is_number()) return j[key].get<double>() / 1000.0;
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

// The store the job was submitted to (its URL is <store>/jobs/<id>), whatever qecloud.toml says today.
std::unique_ptr<storage::ObjectStore> job_store(const JobRecord& job) {
  return storage::open_store(job.store_url.substr(0, job.store_url.rfind("/jobs/")));
}

}  // namespace

const json& remote_of(const JobRecord& job) {
  if (job.backend != "awsbatch" || !job.remote.contains("batch_job_id"))
    throw UsageError(fmt::format("job {} ran on the {} backend, not on AWS Batch", job.id, job.backend));
  return job.remote;
}

json submit_job_input(const AwsConfig& c, const std::string& job_name, const std::string& job_key,
                      const std::string& input_file, const std::string& secret, int nodes,
                      const std::string& instance_type, int timeout_s) {
  json env = json::array({{{"name", "QECLOUD_STORE"}, {"value", c.store_url()}},
                          {{"name", "QECLOUD_STORE_JOB"}, {"value", job_key}},
                          {{"name", "QECLOUD_INPUT"}, {"value", input_file}},
                          {{"name", "QECLOUD_JOB_SECRET"}, {"value", secret}}});
  return {
      {"jobName", job_name},
      {"jobQueue", c.job_queue()},
      {"jobDefinition", c.job_definition()},
      {"nodeOverrides",
       {{"numNodes", nodes},
        {"nodePropertyOverrides",
         json::array({{{"targetNodes", "0:"},
                       {"containerOverrides", {{"environment", env}, {"instanceType", instance_type}}}}})}}},
      // Retry what the infrastructure broke (an instance lost, a container that never started); a job that
      // ran and failed — bad input, no convergence, a crash — fails at once.
      {"retryStrategy",
       {{"attempts", 3},
        {"evaluateOnExit", json::array({{{"onStatusReason", "Host EC2*"}, {"action", "RETRY"}},
                                        {{"onReason", "CannotPullContainerError*"}, {"action", "RETRY"}},
                                        {{"onReason", "CannotStartContainerError*"}, {"action", "RETRY"}},
                                        {{"onReason", "*"}, {"action", "EXIT"}}})}}},
      {"timeout", {{"attemptDurationSeconds", timeout_s}}},
      {"propagateTags", true},
      {"tags", {{"qecloud", c.name}}}};
}

Submitted submit(aws::Api& api, const AwsConfig& c, const SubmitOptions& o, JobDb& db,
                 const std::function<void(const std::string&)>& notes) {
  if (o.nodes < 2)
    throw UsageError("--nodes: a multi-node job needs at least 2 nodes (one node: `qecloud run` here)");
  if (o.timeout_s < 60) throw UsageError("--timeout: AWS Batch needs at least 60 s");
  const std::string type = o.instance_type.empty() ? c.instance_types.front() : o.instance_type;
  if (std::find(c.instance_types.begin(), c.instance_types.end(), type) == c.instance_types.end())
    throw UsageError(
        fmt::format("--instance-type {}: the compute environment offers only {} ({}: instance_types)", type,
                    fmt::format("{}", fmt::join(c.instance_types, ", ")), c.source));

  // 1. Validate (no AWS call before this passes), record the job.
  sched::LocalRunOptions ro;
  ro.input = o.input;
  ro.name = o.name;
  ro.store_url = c.store_url();
  sched::RunObserver obs;
  obs.on_validated = o.on_validated;
  sched::JobStart start = sched::begin_job(ro, "awsbatch", obs, db);
  Submitted out;
  out.job_id = start.res.job_id;
  out.report = start.report;
  out.store_url = start.rec.store_url;
  if (start.refused) {
    out.refused = true;
    return out;
  }
  try {
    out.estimate = cost_line(type, o.nodes, o.timeout_s / 3600.0, c.prices);
    // 2. The inputs where the main agent looks for them.
    if (notes) notes(fmt::format("uploading the input to {}/input/", out.store_url));
    const fs::path input = fs::absolute(o.input).lexically_normal();
    sched::stage_inputs(*start.store, input.string(), start.report, start.key);

    // 3. The job.
    const std::string secret = aws::hex(agent::random_bytes(24));
    const json req = submit_job_input(c, batch_job_name(start.rec.name, out.job_id), start.key,
                                      input.filename().string(), secret, o.nodes, type, o.timeout_s);
    const json ans = api.must({"batch", "SubmitJob", req});
    out.batch_job_id = ans.value("jobId", "");
    if (out.batch_job_id.empty()) throw Error("AWS Batch SubmitJob answered without a jobId");
    db.set_remote(out.job_id, {{"batch_job_id", out.batch_job_id},
                               {"job_arn", ans.value("jobArn", "")},
                               {"region", api.region()},
                               {"queue", c.job_queue()},
                               {"nodes", o.nodes},
                               {"instance_type", type},
                               {"timeout_s", o.timeout_s},
                               {"log_group", c.log_group()}});
    db.set_layout(out.job_id, {{"nodes", o.nodes}, {"instance_type", type}});
    db.set_state(out.job_id, job_state::kCreated, "submitted to AWS Batch as " + out.batch_job_id);
    if (notes) notes(fmt::format("submitted: AWS Batch job {} ({} × {})", out.batch_job_id, o.nodes, type));
  } catch (const std::exception& e) {
    sched::record_failure(db, out.job_id, e);
    throw;
  }
  return out;
}

JobRecord refresh(aws::Api& api, JobDb& db, const JobRecord& job, BatchState& s) {
  const json& r = remote_of(job);
  const std::string id = r["batch_job_id"];
  const int nodes = r.value("nodes", 0);
  json ids = json::array({id});
  for (int i = 0; i < nodes; ++i) ids.push_back(fmt::format("{}#{}", id, i));
  const json ans = api.must({"batch", "DescribeJobs", {{"jobs", ids}}});
  s = BatchState{};
  bool found = false;
  for (const auto& d : ans.value("jobs", json::array())) {
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

  const bool done = job.state != job_state::kCreated && job.state != job_state::kRunning;
  if (!done && s.batch_status == "RUNNING" && job.state != job_state::kRunning)
    db.set_state(job.id, job_state::kRunning, "AWS Batch: RUNNING");
  if (!done && s.final()) {
    // The main agent's report says what happened (converged, not converged, which node was lost).
    std::string state = s.batch_status == "SUCCEEDED" ? job_state::kSucceeded : job_state::kFailed;
    std::string message = s.status_reason;
    int exit_code = s.batch_status == "SUCCEEDED" ? 0 : kExitFailure;
    json results = json::object();
    try {
      auto store = job_store(job);
      const std::string key = "jobs/" + job.id + "/output/agent.json";
      if (store->exists(key)) {
        const fs::path tmp = fs::temp_directory_path() / fmt::format("qecloud-agent-{}.json", job.id);
        store->get_file(key, tmp.string());
        auto a = json::parse(text::read_file(tmp.string()), nullptr, false);
        fs::remove(tmp);
        if (a.is_object()) {
          state = a.value("state", state);
          exit_code = a.value("exit_code", exit_code);
          if (!a.value("message", std::string()).empty())
            message = s.status_reason.empty()
                          ? a.value("message", std::string())
                          : fmt::format("{} ({})", a.value("message", std::string()), s.status_reason);
          if (a.contains("results")) results = a["results"];
        }
      } else if (message.empty()) {
        message = "the main node left no report";
      }
    } catch (const std::exception& e) {
      message += fmt::format(" (the job's report could not be read: {})", e.what());
    }
    db.finish(job.id, state, exit_code, results, message);
  }
  return *db.find(job.id);
}

json status_json(const JobRecord& job, const BatchState& s, const AwsConfig& c) {
  json nodes = json::array();
  for (const auto& n : s.nodes)
    nodes.push_back({{"index", n.index},
                     {"status", n.status},
                     {"reason", n.reason},
                     {"exit_code", n.exit_code ? json(*n.exit_code) : json()},
                     {"log_stream", n.log_stream}});
  json out = {{"job_id", job.id},
              {"batch_job_id", job.remote.value("batch_job_id", "")},
              {"state", job.state},
              {"batch_status", s.batch_status},
              {"status_reason", s.status_reason},
              {"message", job.message},
              {"nodes", nodes},
              {"outputs", job.store_url}};
  if (s.started_s) {
    const double end = s.stopped_s.value_or(static_cast<double>(std::time(nullptr)));
    const double hours = std::max(0.0, end - *s.started_s) / 3600.0;
    const std::string type = job.remote.value("instance_type", "");
    const int n = job.remote.value("nodes", 0);
    out["cost"] = {{"hours", hours}, {"line", cost_line(type, n, hours, c.prices)}};
    if (auto usd = cost_usd(type, n, hours, c.prices)) out["cost"]["usd"] = *usd;
  }
  if (job.results.contains("total_energy_ry")) out["total_energy_ry"] = job.results["total_energy_ry"];
  return out;
}

int read_logs(aws::Api& api, const AwsConfig& c, const BatchState& s, std::optional<int> node,
              LogCursor& cursor, const std::function<void(int, const std::string&)>& line) {
  int fresh = 0;
  for (const auto& n : s.nodes) {
    if (node && n.index != *node) continue;
    if (n.log_stream.empty()) continue;  // not started yet
    for (;;) {
      json req = {{"logGroupName", c.log_group()}, {"logStreamName", n.log_stream}, {"startFromHead", true}};
      auto& token = cursor.next_token[n.index];
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

std::vector<std::string> fetch_outputs(JobDb& db, const JobRecord& job, const std::string& dir) {
  remote_of(job);
  auto store = job_store(job);
  const std::string prefix = "jobs/" + job.id + "/output/";
  std::vector<std::string> written;
  for (const auto& obj : store->list(prefix)) {
    const fs::path dest = fs::path(dir) / obj.key.substr(prefix.size());
    fs::create_directories(dest.parent_path());
    store->get_file(obj.key, dest.string());
    written.push_back(dest.string());
  }
  if (written.empty())
    throw Error(
        fmt::format("nothing under {}/output/ yet: the job has not stored its outputs (see `qecloud "
                    "status {}`)",
                    job.store_url, job.id));
  const fs::path agent = fs::path(dir) / "agent.json";
  if (fs::exists(agent)) {
    auto a = json::parse(text::read_file(agent.string()), nullptr, false);
    if (a.is_object() && a.contains("results") &&
        (job.results.empty() || job.state == job_state::kCreated || job.state == job_state::kRunning))
      db.finish(job.id, a.value("state", job.state), a.value("exit_code", 0), a["results"],
                a.value("message", job.message));
  }
  return written;
}

}  // namespace qecloud::awsbatch
