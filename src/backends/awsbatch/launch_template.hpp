#pragma once
// The compute environment's EC2 launch template (`<name>-node`, tagged qecloud = name): each instance's root
// volume of [aws] root_volume_gib, which holds the pulled image and pw.x's scratch (the ECS AL2023 AMI's 30
// GiB otherwise; AWS Batch User Guide, "Use Amazon EC2 launch templates with AWS Batch"). The compute
// environment names an exact version, so a changed size is a new version and an update of the compute
// environment — Batch re-reads a template only on an infrastructure update ("Updating compute environments").
#include <string>

#include <nlohmann/json.hpp>

#include "aws/api.hpp"
#include "backends/awsbatch/config.hpp"
#include "backends/awsbatch/infra.hpp"

namespace qecloud::backends::awsbatch {

// CreateLaunchTemplate's LaunchTemplateData.
nlohmann::json launch_template_data(const AwsConfig& c);

struct LaunchTemplateResult {
  InfraItem item;       // "created", "updated (version N)" or "exists"
  std::string version;  // the version whose data is launch_template_data(c): the compute environment's
};
// Made when missing; a new version when its latest holds another root volume size.
LaunchTemplateResult ensure_launch_template(aws::Api& api, const AwsConfig& c);
// "deleted" or "absent" (after the compute environment, which holds it).
InfraItem remove_launch_template(aws::Api& api, const AwsConfig& c);
// "present" (with its id) or "absent".
InfraItem launch_template_status(aws::Api& api, const AwsConfig& c);

}  // namespace qecloud::backends::awsbatch
