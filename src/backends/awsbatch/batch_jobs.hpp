#pragma once
// Jobs on AWS Batch: submit (validate, put the input bundle in S3, SubmitJob with the node contract in node
// overrides and a retry strategy, record as queued), refresh (DescribeJobs for the job and each node; the
// final state and results come from the main agent's report in S3), logs (CloudWatch Logs, one stream per
// node), cancel (TerminateJob). An invalid input is refused before any AWS call. After submit, everything
// — region, queue, log group, store, price — is read from the job's record, never from today's
// qecloud.toml: a job submitted in one region is followed there after the config moves.
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "aws/api.hpp"
#include "backends/awsbatch/config.hpp"
#include "backends/backend.hpp"
#include "job/database.hpp"
#include "job/node_contract.hpp"

namespace qecloud::backends::awsbatch {

Submitted submit(aws::Api& api, const AwsConfig& c, const JobOptions& o, const RunObserver& obs,
                 const Notes& notes);

// What one node is, from EC2's own description of its instance type (DescribeInstanceTypes), never a table.
struct InstanceShape {
  std::string type;
  int vcpus = 0;       // VCpuInfo.DefaultVCpus: what the compute environment's maxvCpus counts
  int cores = 0;       // VCpuInfo.DefaultCores: one MPI rank each
  int memory_mib = 0;  // MemoryInfo.SizeInMiB: installed
  // What a job may ask of the node: the installed memory less the 5 % AWS recommends keeping for the ECS
  // agent and the system (AWS Batch User Guide, "Reserve system memory"; a job asking for more cannot be
  // placed — "Compute resource memory management").
  int job_memory_mib() const { return memory_mib * 95 / 100; }
};
InstanceShape describe_instance(aws::Api& api, const std::string& type);

// The SubmitJob input (exposed for the model checks in the unit tests): the contract goes to every node, and
// each node's container asks for its whole instance (vCPUs and memory).
nlohmann::json submit_job_input(const AwsConfig& c, const std::string& job_name, const NodeContract& contract,
                                int nodes, const InstanceShape& shape, int timeout_s);
// How many times Batch may start a job (its retry strategy's attempts): the cost ceiling counts each.
inline constexpr int kRetryAttempts = 3;
// AWS Batch's DescribeJobs takes at most this many job ids per call (API Reference, DescribeJobs: jobs).
inline constexpr std::size_t kDescribeJobsLimit = 100;
// How long a Batch job's main waits for its children (s): they start after it and pull the image first.
inline constexpr int kBatchJoinTimeout = 600;
// A stopped job (its timeout, TerminateJob) gets SIGTERM on every node's container at once and SIGKILL this
// many seconds later (the ECS agent's default stop timeout; AWS Batch User Guide, "Job timeouts"). The agents
// derive pw.x's grace and the restart data's deadlines from it (node contract QECLOUD_KILL_WINDOW).
inline constexpr double kBatchKillWindow = 30;

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

// Reads the job's state from Batch, records it (and, once final, the agent's report and results from S3).
JobStatus refresh(aws::Api& api, JobDb& db, const JobRecord& job, BatchState& out);
// The job's cost from Batch's start to its stop (or now): hours, line, usd (when the price is known) and
// not_counted — the instances' time before the start, which EC2 bills too. Null before it started.
nlohmann::json cost_so_far(const JobRecord& job, const BatchState& s);
// Prints each new log line of the job's nodes through `line`; returns how many were new.
int read_logs(aws::Api& api, const JobRecord& job, const BatchState& s, std::optional<int> node,
              LogCursor& cursor, const LogLine& line);
void cancel(aws::Api& api, const JobRecord& job, const std::string& reason);

// Throws qecloud::Error unless the job was submitted to AWS Batch.
const nlohmann::json& remote_of(const JobRecord& job);

}  // namespace qecloud::backends::awsbatch
