// The backend table: one row per backend. A new backend is one folder under backends/ plus one row here.
#include <array>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "backends/awsbatch/awsbatch_backend.hpp"
#include "backends/backend.hpp"
#include "backends/local/local_backend.hpp"
#include "backends/netns/netns_backend.hpp"
#include "backends/slurm/slurm_backend.hpp"
#include "core/error.hpp"
#include "core/text.hpp"

namespace qecloud::backends {
namespace {

const std::array kBackends{
    Backend{"local", "pw.x on this machine, in the foreground (`qecloud run`)", local::run, nullptr,
            local::refresh, local::logs, local::cancel, local::fetch},
    Backend{"netns", "a multi-node rehearsal on network namespaces here (`qecloud run --nodes N`, root)",
            netns::run, nullptr, netns::refresh, netns::logs, netns::cancel, netns::fetch},
    Backend{"awsbatch", "AWS Batch multi-node parallel jobs (`qecloud submit --backend awsbatch`)", nullptr,
            awsbatch::submit_job, awsbatch::refresh_job, awsbatch::job_logs, awsbatch::cancel_job,
            awsbatch::fetch_job},
    slurm::backend(),
};

}  // namespace

std::span<const Backend> all() {
  return kBackends;
}

const Backend& named(const std::string& name) {
  std::vector<std::string_view> names;
  for (const auto& b : kBackends) {
    if (name == b.name) return b;
    names.push_back(b.name);
  }
  const std::string hint = text::closest_match(name, names);
  throw UsageError(fmt::format("unknown backend '{}'{} (known: {})", name,
                               hint.empty() ? "" : fmt::format("; did you mean '{}'?", hint),
                               fmt::join(names, ", ")));
}

const Backend& of(const JobRecord& job) {
  for (const auto& b : kBackends)
    if (job.backend == b.name) return b;
  throw Error(fmt::format("job {} ran on a backend this qecloud does not know ('{}')", job.id, job.backend));
}

nlohmann::json RunResult::to_json() const {
  return {{"job_id", job_id},
          {"state", std::string(to_string(state))},
          {"exit_code", exit_code},
          {"layout",
           {{"nodes", layout.nodes},
            {"ranks", layout.ranks},
            {"pools", layout.pools},
            {"oversubscribed", layout.oversubscribed},
            {"why", layout.why}}},
          {"results", qe::to_json(results)},
          {"outputs", outputs_url},
          {"message", message}};
}

Submitted submitted_of(const StartedJob& job) {
  Submitted out;
  out.job_id = job.record.id;
  out.outputs_url = job.location.url();
  out.refused = job.refused;
  return out;
}

void refuse_options(const JobOptions& o, const char* backend, std::initializer_list<const char*> taken,
                    const char* why) {
  for (const auto& given : o.given) {
    bool ok = false;
    for (const char* t : taken) ok |= given == t;
    if (!ok) throw UsageError(fmt::format("{}: the {} backend does not take it ({})", given, backend, why));
  }
}

}  // namespace qecloud::backends
