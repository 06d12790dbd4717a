#include "job/start.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "core/crypto.hpp"
#include "core/error.hpp"

namespace fs = std::filesystem;

namespace qecloud {

void check_input_file(const std::string& path) {
  struct stat st {};
  if (path.empty()) throw Error("no input file given", kExitBadInput);
  if (::stat(path.c_str(), &st) != 0) {
    const int e = errno;
    if (e == ENAMETOOLONG)
      throw Error(fmt::format("{}…: the path is too long ({} characters)", path.substr(0, 60), path.size()),
                  kExitBadInput);
    throw Error(fmt::format("{}: {}", path, std::strerror(e)), kExitBadInput);
  }
  if (S_ISDIR(st.st_mode))
    throw Error(fmt::format("{} is a directory: give the pw.x input file in it", path), kExitBadInput);
  if (!S_ISREG(st.st_mode)) {
    const char* kind = S_ISFIFO(st.st_mode) ? "a FIFO" : S_ISSOCK(st.st_mode) ? "a socket" : "a device";
    throw Error(fmt::format("{} is not a regular file ({}): give a pw.x input file", path, kind),
                kExitBadInput);
  }
  if (::access(path.c_str(), R_OK) != 0)
    throw Error(fmt::format("{}: {}", path, std::strerror(errno)), kExitBadInput);
}

namespace {

// The input is judged for the release of the pw.x that will run it: one recorded for it (an image's), else
// the one `req.pw` names on this machine (asked once, cached), else every release with a note.
qe::ValidationEnv validation_env(const JobRequest& req, const std::string& run_dir) {
  if (!req.qe_version && req.pw.empty()) {  // an image's or a cluster's pw.x, not this machine's
    qe::ValidationEnv env = qe::ValidationEnv::from_process_without_pw(run_dir);
    env.qe_version_unknown = true;
    env.qe_version_unknown_why =
        "the pw.x that will run this is not on this machine and no release is recorded for it (`qecloud "
        "image "
        "test` records an image's)";
    return env;
  }
  if (!req.qe_version) return qe::ValidationEnv::from_process(run_dir, req.pw);
  qe::ValidationEnv env = qe::ValidationEnv::from_process_without_pw(run_dir);
  env.qe_version = req.qe_version;
  env.qe_version_source = req.qe_version_source;
  return env;
}

}  // namespace

StartedJob start_job(const JobRequest& req, JobDb& db,
                     const std::function<void(const qe::ValidationReport&)>& on_validated) {
  check_input_file(req.input);
  const fs::path input = fs::absolute(req.input).lexically_normal();
  StartedJob js;
  js.store =
      storage::open_store(req.store_url.empty() ? default_store_url() : req.store_url, {req.store_region});
  js.location = {js.store->url(""), new_job_id()};
  while (!js.location.root_url.empty() && js.location.root_url.back() == '/') js.location.root_url.pop_back();
  JobRecord& rec = js.record;
  rec.id = js.location.id;
  rec.name = req.name.empty() ? input.filename().string() : req.name;
  rec.input = req.resume ? req.resume->from.input : input.string();
  if (req.resume) rec.resumed_from = req.resume->from.id;
  if (req.resume && req.name.empty()) rec.name = req.resume->from.name;
  rec.backend = req.backend;
  rec.store_url = js.location.url();
  rec.owner = Owner::self();
  db.insert(rec);
  JobGuard guard(db, rec.id);
  guard.step("validating the input");
  // Validated once; the bundle and the layout planner use what validation found.
  js.report = qe::validate_file(input.string(), validation_env(req, input.parent_path().string()));
  if (on_validated) on_validated(js.report);
  if (!js.report.ok()) {
    js.refused = true;
    rec.state = JobState::kInvalid;
    rec.exit_code = kExitBadInput;
    rec.message = "the input is invalid; nothing ran";
    guard.finish(rec.state, kExitBadInput, nlohmann::json::object(), rec.message);
    return js;
  }
  js.bundle = input_bundle(input.string(), js.report.needs);
  if (req.resume) {
    guard.step("fetching the restart data of job " + req.resume->from.id);
    add_restart_set(*req.resume, js.report.needs, js.bundle);
    js.resume = req.resume;
    db.set_state(rec.id, JobState::kCreated, resume_note(*req.resume));
  }
  guard.release();  // the caller guards the rest
  return js;
}

NodeContract job_contract(const StartedJob& job) {
  NodeContract c;
  c.secret = random_hex(24);
  c.store_url = job.location.root_url;
  c.store_job = job.location.key();
  c.input = job.bundle.input_rel;
  if (job.resume) c.ranks = job.resume->manifest.ranks, c.pools = job.resume->manifest.pools;
  return c;
}

void stage_inputs(const StartedJob& job) {
  for (const auto& f : job.bundle.files) job.store->put_file(f.source, job.location.input_key(f.rel));
}

void copy_bundle(const InputBundle& bundle, const std::string& dir) {
  for (const auto& f : bundle.files) {
    const fs::path dest = fs::path(dir) / f.rel;
    fs::create_directories(dest.parent_path());
    fs::copy_file(f.source, dest, fs::copy_options::overwrite_existing);
  }
}

JobGuard::~JobGuard() {
  if (done_) return;
  try {
    db_.finish(id_, JobState::kFailed, kExitFailure, nlohmann::json::object(),
               fmt::format("qecloud stopped while {}", step_));
  } catch (...) {  // the database itself failing: the owner check will call the job lost
  }
}

void JobGuard::fail(const std::exception& e) {
  if (done_) return;
  done_ = true;
  db_.finish(id_, JobState::kFailed, kExitFailure, nlohmann::json::object(),
             fmt::format("qecloud failed while {}: {}", step_, e.what()));
}

void JobGuard::finish(JobState state, int exit_code, const nlohmann::json& results,
                      const std::string& message) {
  db_.finish(id_, state, exit_code, results, message);
  done_ = true;
}

}  // namespace qecloud
