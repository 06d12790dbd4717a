#include "backends/slurm/slurm_jobs.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <regex>
#include <sstream>

#include <fmt/format.h>

#include "backends/slurm/sbatch_script.hpp"
#include "backends/slurm/slurm_state.hpp"
#include "core/error.hpp"
#include "core/hostlist.hpp"
#include "core/process.hpp"
#include "job/node_contract.hpp"
#include "job/scheduled.hpp"
#include "job/start.hpp"
#include "qe/qe_version.hpp"

namespace fs = std::filesystem;

namespace qecloud::backends::slurm {
namespace {

using json = nlohmann::json;

constexpr const char* kScript = "job.sbatch";

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// A name that goes onto an #SBATCH line as one word.
void check_name(const char* option, const std::string& v) {
  static const std::regex kName(R"([A-Za-z0-9_.+-]*)");
  if (!std::regex_match(v, kName))
    throw UsageError(fmt::format("{} '{}': not a Slurm name (letters, digits, _ . + -)", option, v));
}

// The script holds the job's secret: readable by its owner only, from the first byte.
void write_private(const fs::path& path, const std::string& text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw Error(fmt::format("cannot write {}: {}", path.string(), std::strerror(errno)));
  const ssize_t n = ::write(fd, text.data(), text.size());
  const int err = errno;
  ::close(fd);
  if (n != static_cast<ssize_t>(text.size()))
    throw Error(fmt::format("cannot write {}: {}", path.string(), std::strerror(err)));
}

// The contract every node gets: the job in the store, the programs; slots when the job asked for a count.
NodeContract contract_for(const SlurmConfig& c, const SubmitPlan& p, const StartedJob& job) {
  NodeContract n = job_contract(job);
  n.pw = c.pw;
  n.mpirun = c.mpirun;
  n.slots = p.ntasks_per_node;
  n.recover = p.recover;
  return n;
}

SbatchJob batch_job(const SlurmConfig& c, const SubmitPlan& p, const StartedJob& job,
                    const std::string& qecloud_exe, const fs::path& work) {
  SbatchJob j;
  j.job_id = job.record.id;
  j.name = job.record.name;
  j.nodes = p.nodes;
  j.ntasks_per_node = p.ntasks_per_node;
  j.time_s = p.time_s;
  j.signal_margin_s = c.signal_margin_s;
  j.partition = p.partition, j.account = p.account, j.qos = p.qos;
  j.extra_options = c.sbatch_options;
  j.output = (work / "slurm-%j.out").string();
  j.chdir = work.string();
  j.modules = c.modules;
  NodeContract n = contract_for(c, p, job);
  // pw.x is to stop itself before Slurm's signal, which comes signal_margin() before the limit.
  if (j.time_s) n.time_limit_s = std::max(1, *j.time_s - signal_margin(j));
  j.contract = n.to_env();
  j.qecloud = c.qecloud.empty() ? qecloud_exe : c.qecloud;
  return j;
}

// `sbatch --parsable SCRIPT` → the Slurm job id ("1234", or "1234;cluster"). sbatch's refusal is shown as it
// said it.
std::pair<std::string, std::string> sbatch(const SlurmRunner& run, const fs::path& script) {
  const Captured r = run({"sbatch", "--parsable", script.string()});
  if (!r.status.ok())
    throw Error(fmt::format("sbatch refused the job ({}):\n{}", r.status.describe(), trimmed(r.output)));
  static const std::regex kId(R"((\d+)(;(\S+))?)");
  std::istringstream lines(r.output);
  std::string line, id, cluster;
  std::smatch m;
  while (std::getline(lines, line))  // warnings may come first
    if (std::regex_match(line, m, kId)) id = m[1], cluster = m[3];
  if (id.empty()) throw Error(fmt::format("sbatch answered without a job id:\n{}", trimmed(r.output)));
  return {id, cluster};
}

int exit_code_of(JobState s) {
  return s == JobState::kSucceeded ? kExitOk : s == JobState::kStopped ? kExitStopped : kExitFailure;
}

// "RUNNING|None|node-[0-2]" → its fields.
std::vector<std::string> fields_of(const std::string& line) {
  std::vector<std::string> f;
  std::istringstream in(line);
  for (std::string part; std::getline(in, part, '|');) f.push_back(part);
  return f;
}

std::string first_line(const std::string& text) {
  return text.substr(0, text.find('\n'));
}

}  // namespace

SlurmRunner real_slurm_runner() {
  return [](const std::vector<std::string>& argv) {
    if (find_program(argv.at(0)).empty())
      throw Error(fmt::format(
          "{} not found in PATH: Slurm's commands are needed here (on a cluster: its login node; or load "
          "the site's slurm module)",
          argv[0]));
    SpawnOptions o;
    o.argv = argv;
    return capture(o, std::chrono::minutes(2));
  };
}

const json& remote_of(const JobRecord& job) {
  if (job.backend != "slurm" || !job.remote.contains("slurm_job_id"))
    throw UsageError(fmt::format("job {} ran on the {} backend, not on Slurm", job.id, job.backend));
  return job.remote;
}

SubmitPlan plan_submit(const SlurmConfig& c, const JobOptions& o) {
  refuse_options(
      o, "slurm",
      {"--nodes", "--partition", "--time", "--account", "--qos", "--ntasks-per-node", "--name", "--config",
       "--store", "--no-recover"},
      "a Slurm job takes --nodes, --ntasks-per-node, --time, --partition, --account, --qos, --store, "
      "--name, --config and --no-recover");
  SubmitPlan p;
  p.nodes = o.nodes;
  if (p.nodes < 1) throw UsageError("--nodes: at least 1");
  p.partition = o.partition.empty() ? c.partition : o.partition;
  p.account = o.account.empty() ? c.account : o.account;
  p.qos = o.qos.empty() ? c.qos : o.qos;
  check_name("--partition", p.partition);
  check_name("--account", p.account);
  check_name("--qos", p.qos);
  p.time_s = c.time_s;
  if (!o.slurm_time.empty() && !(p.time_s = parse_slurm_time(o.slurm_time)))
    throw UsageError(fmt::format(
        "--time '{}': a Slurm time limit — minutes, minutes:seconds, hours:minutes:seconds, days-hours, "
        "days-hours:minutes or days-hours:minutes:seconds (not 0)",
        o.slurm_time));
  p.ntasks_per_node = o.tasks_per_node > 0 ? o.tasks_per_node : c.ntasks_per_node;
  p.store_url = o.store_url.empty() ? c.store : o.store_url;
  p.recover = o.recover;
  return p;
}

Submitted submit(const SlurmRunner& run, const SlurmConfig& c, const JobOptions& o, const RunObserver& obs,
                 const Notes& notes, const std::string& qecloud_exe) {
  const SubmitPlan p = plan_submit(c, o);
  JobDb db(job_db_path());
  // The input is judged as the cluster's pw.x would judge it when that pw.x is here too (a login node
  // usually has the same modules); otherwise against every release, and the main node checks it again.
  const std::string pw_here = find_program(c.pw).empty() ? "" : c.pw;
  StartedJob job = start_job({.input = o.input,
                              .name = o.name,
                              .store_url = p.store_url,
                              .backend = "slurm",
                              .pw = pw_here,
                              .resume = o.resume},
                             db, obs.on_validated);
  Submitted out = submitted_of(job);
  if (out.refused) return out;
  JobGuard guard(db, out.job_id);
  try {
    guard.step("staging the input");
    if (notes) notes(fmt::format("staging the input in {}/input/", out.outputs_url));
    stage_inputs(job);
    guard.step("writing the batch script");
    const fs::path work = local_work_dir(out.job_id);
    fs::create_directories(work);
    const fs::path script = work / kScript;
    write_private(script, sbatch_script(batch_job(c, p, job, qecloud_exe, work)));
    guard.step("submitting with sbatch");
    const auto [slurm_id, cluster] = sbatch(run, script);
    out.remote_id = slurm_id;
    db.set_remote(out.job_id, {{"slurm_job_id", slurm_id},
                               {"cluster", cluster},
                               {"nodes", p.nodes},
                               {"partition", p.partition},
                               {"work_dir", work.string()},
                               {"script", script.string()},
                               {"output", fmt::format("slurm-{}.out", slurm_id)}});
    db.set_layout(out.job_id, {{"nodes", p.nodes}, {"ntasks_per_node", p.ntasks_per_node}});
    db.set_state(out.job_id, JobState::kQueued, "submitted to Slurm as job " + slurm_id);
    db.set_owner(out.job_id, Owner{});  // Slurm has it now
    guard.release();
    if (notes)
      notes(fmt::format("submitted: Slurm job {} ({} node{}; script {})", slurm_id, p.nodes,
                        p.nodes > 1 ? "s" : "", script.string()));
  } catch (const std::exception& e) {
    guard.fail(e);
    throw;
  }
  return out;
}

SlurmView query(const SlurmRunner& run, const std::string& slurm_id) {
  // squeue(1): with --states=all a job is shown in any state while slurmctld holds it (MinJobAge, 300 s
  // by default, after it ends); then it answers "Invalid job id specified".
  const Captured q = run({"squeue", "--noheader", "--jobs=" + slurm_id, "--states=all", "--format=%T|%r|%N"});
  const auto f = fields_of(first_line(q.output));
  if (q.status.ok() && !f.empty() && !f[0].empty())
    return {f[0], f.size() > 1 && f[1] != "None" ? f[1] : "", f.size() > 2 ? f[2] : "", "squeue"};
  if (!q.status.ok() && q.output.find("Invalid job id") == std::string::npos)
    throw Error(fmt::format("squeue failed ({}): {}", q.status.describe(), trimmed(q.output)));
  // sacct(1) where accounting exists; without slurmdbd it says "accounting storage is disabled".
  try {
    const Captured a = run({"sacct", "--noheader", "--parsable2", "--allocations", "--jobs=" + slurm_id,
                            "--format=State,ExitCode,NodeList"});
    const auto s = fields_of(first_line(a.output));
    if (a.status.ok() && s.size() >= 2 && !s[0].empty())
      return {s[0], "exit code " + s[1], s.size() > 2 ? s[2] : "", "sacct"};
  } catch (const Error&) {  // no sacct on this machine: the job's report decides
  }
  return {};
}

JobStatus refresh(const SlurmRunner& run, JobDb& db, const JobRecord& job) {
  const std::string id = remote_of(job).value("slurm_job_id", "");
  const SlurmView v = query(run, id);
  const SlurmState s = map_slurm_state(v.state);
  std::string said = fmt::format("Slurm: {}{}", v.state.empty() ? "no longer knows the job" : v.state,
                                 s.meaning.empty() || v.state.empty() ? "" : " (" + s.meaning + ")");
  if (job.remote.contains("cancel_reason"))
    said += "; cancel requested: " + job.remote["cancel_reason"].get<std::string>();
  if (!is_final(job.state)) {
    if (v.state.empty())
      record_scheduled_end(db, job, JobState::kFailed, kExitFailure,
                           fmt::format("Slurm no longer knows job {} and keeps no accounting", id));
    else if (s.final)
      record_scheduled_end(db, job, s.state, exit_code_of(s.state), said);
    else if (s.state == JobState::kRunning && job.state != JobState::kRunning)
      db.set_state(job.id, JobState::kRunning, fmt::format("{} on {}", said, v.nodelist));
  }
  JobStatus st;
  st.job = *db.find(job.id);
  st.backend_state = v.state.empty() ? "unknown to Slurm" : v.state;
  st.reason = v.reason;
  if (auto names = expand_hostlist(v.nodelist); names && v.nodelist != "(null)") {
    for (std::size_t i = 0; i < names->size(); ++i)
      st.nodes.push_back({static_cast<int>(i), v.state, (*names)[i], std::nullopt});
  }
  st.fields = {{"slurm_job_id", id}, {"slurm_state", v.state}, {"slurm_source", v.source}};
  return st;
}

void cancel(const SlurmRunner& run, JobDb& db, const JobRecord& job, const std::string& reason) {
  const std::string id = remote_of(job).value("slurm_job_id", "");
  if (is_final(job.state))
    throw Error(fmt::format("job {} is not running: it ended {} ({})", job.id, to_string(job.state),
                            job.finished_at));
  const SlurmView v = query(run, id);
  const SlurmState s = map_slurm_state(v.state);
  if (v.state.empty() || s.final)
    throw Error(fmt::format("Slurm job {} has already ended ({}); `qecloud status {}` records how", id,
                            v.state.empty() ? "Slurm no longer knows it" : v.state, job.id));
  // scancel(1): --batch signals the batch shell only — the main agent, which stops pw.x cleanly as on the
  // time-limit signal (restart data stored); steps and the children are left to end with the job.
  std::vector<std::string> argv = {"scancel"};
  if (s.state == JobState::kRunning) argv.insert(argv.end(), {"--batch", "--signal=TERM"});
  argv.push_back(id);
  const Captured r = run(argv);
  if (!r.status.ok())
    throw Error(fmt::format("scancel refused ({}): {}", r.status.describe(), trimmed(r.output)));
  json remote = job.remote;  // Slurm keeps no reason for a cancel: the record does, for the final message
  remote["cancel_reason"] = reason;
  db.set_remote(job.id, remote);
}

}  // namespace qecloud::backends::slurm
