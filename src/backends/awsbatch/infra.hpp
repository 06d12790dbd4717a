#pragma once
// `qecloud infra up|down|status`: what TUTORIAL.md §4 creates by hand, from qecloud.toml, idempotently.
//
// up, in order (each resource is looked up first and only created, or brought in line, when it is missing
// or differs — running `up` twice makes no create call):
//   the network checked first (network.hpp: one VPC and one zone, a way out; refused before anything is made)
//   · S3 bucket (public access blocked) and its rule aborting incomplete multipart uploads (cost_guards.hpp)
//   · CloudWatch log group with [aws] log_retention_days · IAM: Batch's service-linked role, the ECS
//   instance role + instance profile, the job role (may read and write only s3://bucket/prefix/*; the seed
//   used S3FullAccess) · EC2 cluster placement group (low MPI latency) · the network's free fixes (an S3
//   gateway endpoint, the `<name>-mpi` security group, both tagged) · the nodes' launch template (root
//   volume, launch_template.hpp) · managed EC2 compute environment (on-demand: multi-node jobs cannot use
//   Spot; ECS AL2023 image) · job queue, cancelling jobs stuck RUNNABLE (cost_guards.hpp) · multi-node job
//   definition whose containers run `qecloud agent` under an init process (shared memory and ulimits set for
//   MPI). Every ARN is in the region's partition (aws/partition.hpp). A new job-definition revision is
//   registered only when its content (hashed into its parameters) changes.
// down, the reverse: disable the queue, wait, delete it; disable the compute environment, wait, delete it;
//   delete the launch template; deregister the job definitions; delete the placement group, the tagged
//   endpoint and group, and roles. The bucket and log group hold results and logs: they stay unless
//   delete_data, which empties the prefix and deletes them.
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "aws/api.hpp"
#include "backends/awsbatch/config.hpp"

namespace qecloud::backends::awsbatch {

struct InfraItem {
  std::string kind;  // "bucket", "log group", "role", "instance profile", "placement group", ...
  std::string name;
  std::string state;   // up: "exists" | "created" | "updated"; down: "deleted" | "absent" | "kept";
                       // status: "present" | "absent" | a Batch status such as "VALID/ENABLED"
  std::string detail;  // an ARN, or why
};

using Notes = std::function<void(const std::string&)>;

struct InfraOptions {
  bool delete_data = false;  // down: also the bucket's prefix, the bucket (when then empty) and the log group
  int wait_timeout_s = 900;  // down: how long to wait for Batch to disable and delete
};

std::vector<InfraItem> infra_up(aws::Api& api, const AwsConfig& c, const Notes& notes);
std::vector<InfraItem> infra_down(aws::Api& api, const AwsConfig& c, const InfraOptions& o,
                                  const Notes& notes);
std::vector<InfraItem> infra_status(aws::Api& api, const AwsConfig& c);

// The job definition `up` registers (exposed for the model checks in the unit tests).
nlohmann::json job_definition_input(const AwsConfig& c, const std::string& job_role_arn);
// The job role's only permissions: the bucket prefix.
nlohmann::json job_role_policy(const AwsConfig& c);

nlohmann::json to_json(const std::vector<InfraItem>& items);

}  // namespace qecloud::backends::awsbatch
