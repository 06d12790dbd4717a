#include "job/resume.hpp"

#include <unistd.h>

#include <filesystem>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/paths.hpp"
#include "core/text.hpp"
#include "job/outputs.hpp"
#include "qe/pw_input.hpp"

namespace fs = std::filesystem;

namespace qecloud {
namespace {

// A job already resumed: its resumes have its restart data, and one that got further would be thrown away.
void check_not_resumed(JobDb& db, const JobRecord& j) {
  for (const JobRecord& next : db.resumed_by(j.id)) {
    if (next.state == JobState::kSucceeded)
      throw UsageError(fmt::format(
          "job {} was resumed by job {}, which succeeded: there is nothing to resume", j.id, next.id));
    if (next.state == JobState::kStopped && next.remote.contains("restart") &&
        next.remote["restart"].value("complete", false))
      throw UsageError(
          fmt::format("job {} was resumed by job {}, which stopped further on: resume that one "
                      "(`qecloud resume {}`)",
                      j.id, next.id, next.id));
    if (!is_final(next.state))
      throw UsageError(
          fmt::format("job {} is being resumed by job {} ({})", j.id, next.id, to_string(next.state)));
  }
}

void check_resumable(const JobRecord& j) {
  if (!is_final(j.state))
    throw UsageError(
        fmt::format("job {} is {}: a resume continues a job that has ended (stop it with "
                    "`qecloud cancel {}`)",
                    j.id, to_string(j.state), j.id));
  if (j.state == JobState::kSucceeded)
    throw UsageError(fmt::format("job {} succeeded: there is nothing to resume", j.id));
  if (j.state == JobState::kNotConverged)
    throw UsageError(
        fmt::format("job {} ended because pw.x did not converge: a resume would repeat the same "
                    "iterations; change the input (mixing_beta, electron_maxstep, nstep) and run "
                    "it again (automatic recovery does so unless --no-recover)",
                    j.id));
  if (j.state == JobState::kInvalid)
    throw UsageError(
        fmt::format("job {}'s input was invalid and nothing ran: there is nothing to resume", j.id));
}

// The input file in the fetched bundle: the one with the stopped job's input's name, the shallowest if
// several.
std::string find_input(const fs::path& dir, const JobRecord& j) {
  const std::string name = fs::path(j.input).filename().string();
  std::string best;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec))
    if (it->is_regular_file() && it->path().filename() == name &&
        (best.empty() || it->path().string().size() < best.size()))
      best = it->path().string();
  if (best.empty()) throw Error(fmt::format("job {}: its input {} is not in its store's input/", j.id, name));
  return best;
}

}  // namespace

ResumePlan::~ResumePlan() {
  std::error_code ec;
  if (!dir.empty()) fs::remove_all(dir, ec);
}

std::shared_ptr<const ResumePlan> prepare_resume(JobDb& db, const JobRecord& from) {
  check_resumable(from);
  check_not_resumed(db, from);
  auto store = open_job_store(from);
  const JobLocation loc = JobLocation::of_job_url(from.store_url, from.id);
  const auto manifest = read_restart_manifest(*store, loc);
  if (!manifest || manifest->parts.empty())
    throw Error(
        fmt::format("job {} left no restart data in {}: pw.x writes it when it stops itself (a stop signal, "
                    "max_seconds), not when it is killed or crashes, nor before its first SCF iteration; run "
                    "its input again instead{}",
                    from.id, store->url(loc.output_prefix()),
                    from.resumed_from.empty()
                        ? ""
                        : fmt::format(", or resume job {}, which this one resumed", from.resumed_from)));
  if (!manifest->complete)
    throw Error(
        fmt::format("the restart data of job {} is not whole ({}): a resume from it would not "
                    "continue the same run",
                    from.id, manifest->note));
  auto plan = std::make_shared<ResumePlan>();
  plan->from = from;
  plan->manifest = *manifest;
  plan->dir = (fs::path(qecloud_home()) / "resume" / fmt::format("{}-{}", from.id, ::getpid())).string();
  fs::remove_all(plan->dir);
  fs::create_directories(plan->dir);
  fetch_input_bundle(*store, loc, plan->dir);
  plan->input = find_input(plan->dir, from);
  plan->edits = {{"control", "restart_mode", "'restart'", "resume of job " + from.id}};
  // An absolute outdir (a scratch directory) is where the stopped run wrote, not where its data comes back:
  // the resumed run reads and writes its restart data in the job's own directory, on every backend.
  const auto outdir =
      qe::parse_pw_input(text::read_file(plan->input), plan->input).input.get_string("control", "outdir");
  if (outdir && fs::path(*outdir).is_absolute())
    plan->edits.push_back(
        {"control", "outdir", "'./qecloud-outdir/'", "the restart data comes with the job"});
  qe::edit_input_file(plan->input, plan->edits);
  return plan;
}

void add_restart_set(const ResumePlan& plan, const qe::JobNeeds& needs, InputBundle& bundle) {
  if (needs.prefix != plan.manifest.prefix)
    throw Error(fmt::format("the input's prefix is '{}' but job {}'s restart data is for '{}'", needs.prefix,
                            plan.from.id, plan.manifest.prefix));
  const fs::path rel = (fs::path(bundle.run_dir_rel()) / needs.outdir).lexically_normal();
  if (fs::path(needs.outdir).is_absolute() || rel.string().rfind("..", 0) == 0)
    throw Error(
        fmt::format("outdir = '{}' is outside the job's directory: the restart data of job {} "
                    "cannot travel with the input to where pw.x runs; give a relative outdir",
                    needs.outdir, plan.from.id));
  const fs::path outdir = fs::path(plan.dir) / rel;
  auto store = open_job_store(plan.from);
  fetch_restart_files(*store, JobLocation::of_job_url(plan.from.store_url, plan.from.id), needs.prefix,
                      outdir.string());
  for (const auto& f : find_restart_files(outdir.string(), needs.prefix))
    bundle.files.push_back({f.path, (rel / f.name).lexically_normal().string()});
}

std::string resume_note(const ResumePlan& plan) {
  const RestartManifest& m = plan.manifest;
  std::string edits;
  for (const auto& e : plan.edits) edits += "; " + e.display();
  return fmt::format("resumes job {}: {} files, {:.1f} MB of restart data{}; {} ranks, {} pools kept",
                     plan.from.id, m.file_count(), static_cast<double>(m.bytes()) / 1e6, edits, m.ranks,
                     m.pools);
}

}  // namespace qecloud
