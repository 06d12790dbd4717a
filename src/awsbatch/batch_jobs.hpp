#pragma once
// Jobs on AWS Batch: submit (validate, put the inputs in S3, SubmitJob with node overrides and a retry
// strategy, record), status (DescribeJobs for the job and each node; the final state and results come from
// the main agent's agent.json in S3), logs (CloudWatch Logs, one stream per node), cancel (TerminateJob) and
// fetch (the outputs from S3). An invalid input is refused before any AWS call.
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "aws/api.hpp"
#include "awsbatch/config.hpp"
#include "core/job_db.hpp"
#include "qe/validator.hpp"

namespace qecloud::awsbatch {

struct SubmitOptions {
  std::string input;
  std::string name;  // default: the input's file name
  int nodes = 2;
  std::string instance_type;  // default: the config's first
  int timeout_s = 24 * 3600;  // each attempt's limit (Batch's attemptDurationSeconds)
  std::function<void(const qe::ValidationReport&)> on_validated;  // diagnostics, before anything is sent
};

struct Submitted {
  std::string job_id;  // ours
  std::string batch_job_id;
  std::string store_url;
  std::string estimate;  // the cost line, at most the timeout
  bool refused = false;  // invalid input: recorded, nothing sent
  qe::ValidationReport report;
};

// `notes` gets progress for people ("uploading inputs", "submitted …").
Submitted submit(aws::Api& api, const AwsConfig& c, const SubmitOptions& o, JobDb& db,
                 const std::function<void(const std::string&)>& notes);

// The SubmitJob input (exposed for the model checks in the unit tests).
nlohmann::json submit_job_input(const AwsConfig& c, const std::string& job_name, const std::string& job_key,
                                const std::string& input_file, const std::string& secret, int nodes,
                                const std::string& instance_type, int timeout_s);

struct NodeState {
  int index = 0;
  std::string status;  // SUBMITTED … RUNNING, SUCCEEDED, FAILED
  std::string reason;
  std::optional<int> exit_code;
  std::string log_stream;
};

struct BatchState {
  std::string batch_status;  // the parent job's
  std::string status_reason;
  std::vector<NodeState> nodes;
  std::optional<double> started_s, stopped_s;  // Unix seconds
  bool final() const { return batch_status == "SUCCEEDED" || batch_status == "FAILED"; }
};

// Reads the job's state from Batch, records it (and, once final, the agent's report and results from S3)
// and returns the updated record.
JobRecord refresh(aws::Api& api, JobDb& db, const JobRecord& job, BatchState& out);
nlohmann::json status_json(const JobRecord& job, const BatchState& s, const AwsConfig& c);

struct LogCursor {
  std::map<int, std::string> next_token;  // per node
};
// Prints each new log line ("[node i] text") through `line`; returns how many were new.
int read_logs(aws::Api& api, const AwsConfig& c, const BatchState& s, std::optional<int> node,
              LogCursor& cursor, const std::function<void(int node, const std::string& text)>& line);

void cancel(aws::Api& api, const JobRecord& job, const std::string& reason);

// Downloads <store>/jobs/<id>/output/* into `dir`; records the agent's results. Returns the files written.
std::vector<std::string> fetch_outputs(JobDb& db, const JobRecord& job, const std::string& dir);

// Throws qecloud::Error unless the job ran on AWS Batch.
const nlohmann::json& remote_of(const JobRecord& job);

}  // namespace qecloud::awsbatch
