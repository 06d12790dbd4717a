#pragma once
// qecloud.toml's [aws] section: where and how jobs run on AWS Batch. Read from ./qecloud.toml, else
// $QECLOUD_HOME/qecloud.toml (or the file given). Every value is checked before any AWS call: a missing
// field, a wrong type or one of the tutorial's placeholders (subnet-xxxxxxxx, sg-exxxxxxx, 5xxxxxxxxxxx,
// bucket-xxx…) is a qecloud::UsageError (exit 2) naming file:line and the field.
//
//   [aws]
//   region = "us-east-2"
//   bucket = "my-qe-results"          # created by `infra up` if missing
//   prefix = "qecloud"                # jobs go under s3://bucket/prefix/
//   name = "qecloud"                  # prefix of every resource name (roles, queue, …)
//   subnets = ["subnet-0a1b2c3d"]
//   security_groups = ["sg-0a1b2c3d"] # must let the nodes reach each other (the agent's port, MPI)
//   instance_types = ["c5n.18xlarge"] # the first is the default for `submit`
//   max_vcpus = 256
//   image = "123456789012.dkr.ecr.us-east-2.amazonaws.com/qecloud:1"   # its CMD is `qecloud agent`
//   vcpus_per_node = 2                # optional: what each node's container asks for (default 2)
//   memory_mib = 3072                 # optional (default 3072)
//   shared_memory_mib = 1024          # optional: /dev/shm for MPI (default 1024)
//   log_retention_days = 30           # optional: CloudWatch keeps the jobs' logs this long (default 30;
//                                     # one of CloudWatch's values: 1 3 5 7 14 30 60 90 … 3653)
//   runnable_timeout_minutes = 60     # optional: a job stuck RUNNABLE this long for want of capacity or a
//                                     # misconfiguration is cancelled by the queue (default 60; 10-1440)
//   root_volume_gib = 30              # optional: each instance's root volume: the image and pw.x's scratch
//                                     # (default 30, the ECS AL2023 AMI's own size, its minimum)
//   [aws.prices]                      # optional: USD per instance-hour, over the built-in table
//   "c5n.18xlarge" = 3.888
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace qecloud::backends::awsbatch {

struct AwsConfig {
  std::string source;  // the file read
  std::string region, bucket, prefix = "qecloud", name = "qecloud";
  std::vector<std::string> subnets, security_groups, instance_types;
  int max_vcpus = 256;
  std::string image;
  int vcpus_per_node = 2;
  int memory_mib = 3072;
  int shared_memory_mib = 1024;
  int log_retention_days = 30;
  int runnable_timeout_minutes = 60;
  int root_volume_gib = 30;
  std::map<std::string, double> prices;  // from [aws.prices]

  // Names of what `infra up` creates, all derived from `name`.
  std::string compute_environment() const { return name + "-ce"; }
  std::string job_queue() const { return name + "-queue"; }
  std::string job_definition() const { return name + "-mpi"; }
  std::string placement_group() const { return name + "-mpi"; }
  std::string launch_template() const { return name + "-node"; }
  std::string instance_role() const { return name + "-ecs-instance"; }
  std::string job_role() const { return name + "-job"; }
  std::string log_group() const { return "/aws/batch/" + name; }
  std::string store_url() const { return "s3://" + bucket + (prefix.empty() ? "" : "/" + prefix); }
};

// The file `load_config` reads: `explicit_path`, ./qecloud.toml, $QECLOUD_HOME/qecloud.toml; nullopt if none.
std::optional<std::string> find_config(const std::string& explicit_path = {});
AwsConfig load_config(const std::string& explicit_path = {});
AwsConfig parse_config(const std::string& text, const std::string& source);

// `text` (a qecloud.toml) with its [aws] section's `image` set to `uri`: the line replaced where there is
// one, added under [aws] where there is not, an [aws] section added where there is none. Every other line
// (comments included) is kept as it is. (`qecloud image push` writes the URI it pushed.)
std::string with_image(const std::string& text, const std::string& uri);

}  // namespace qecloud::backends::awsbatch
