#include "backends/awsbatch/awsbatch_backend.hpp"

#include <fmt/format.h>

#include "aws/http.hpp"
#include "backends/awsbatch/batch_jobs.hpp"
#include "backends/awsbatch/config.hpp"
#include "core/error.hpp"
#include "job/foreground.hpp"

namespace qecloud::backends::awsbatch {
namespace {

// The APIs in the job's own region, whatever qecloud.toml says today.
aws::ServiceApi api_for(const JobRecord& job) {
  const std::string region = remote_of(job).value("region", "");
  if (region.empty()) throw Error(fmt::format("job {}'s record names no AWS region", job.id));
  return aws::ServiceApi(process_env(), aws::make_curl_client(), region);
}

}  // namespace

Submitted submit_job(const JobOptions& o, const RunObserver& obs, const Notes& notes) {
  const AwsConfig c = load_config(o.config_path);  // refuses placeholders before any call
  aws::ServiceApi api(process_env(), aws::make_curl_client(), c.region);
  return submit(api, c, o, obs, notes);
}

JobStatus refresh_job(JobDb& db, const JobRecord& job) {
  auto api = api_for(job);
  BatchState s;
  JobStatus st = refresh(api, db, job, s);
  st.fields = {{"batch_job_id", job.remote.value("batch_job_id", "")},
               {"batch_status", s.batch_status},
               {"status_reason", s.status_reason}};
  return st;
}

int job_logs(JobDb& db, const JobRecord& job, std::optional<int> node, LogCursor& cursor,
             const LogLine& line) {
  const int nodes = remote_of(job).value("nodes", 0);
  if (node && (*node < 0 || *node >= nodes))
    throw UsageError(fmt::format("--node {}: job {} has nodes 0 to {}", *node, job.id, nodes - 1));
  auto api = api_for(job);
  BatchState s;
  refresh(api, db, job, s);
  return read_logs(api, job, s, node, cursor, line);
}

void cancel_job(JobDb&, const JobRecord& job, const std::string& reason) {
  auto api = api_for(job);
  cancel(api, job, reason);
}

std::vector<std::string> fetch_job(JobDb& db, const JobRecord& job, const std::string& dir) {
  remote_of(job);
  return fetch_job_outputs(db, job, dir);
}

}  // namespace qecloud::backends::awsbatch
