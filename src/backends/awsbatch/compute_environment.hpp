#pragma once
// The compute environment's life as AWS really runs it, not as a mock answers at once:
//   - it is created with the AWS Batch service-linked role (no serviceRole: AWS's recommendation; a custom
//     service role blocks later infrastructure updates — AWS Batch User Guide, "Using service-linked roles");
//   - a new one is CREATING for about a minute, and a job queue may reference it only once it is VALID (API
//     Reference, CreateJobQueue: computeEnvironmentOrder), so `infra up` waits, saying so;
//   - made within seconds of its instance role and profile, it can come out INVALID ("Invalid
//     IamInstanceProfile", "not authorized to perform sts:AssumeRole") although CreateComputeEnvironment
//     answered 200: IAM is eventually consistent (IAM User Guide, "Changes that I make are not always
//     immediately visible"). It is then deleted and made again after a pause, a few times;
//   - one whose maxvCpus, subnets, security groups, image type or launch template version differ from the
//     config is updated in place (the service-linked role and BEST_FIT_PROGRESSIVE allow it);
//   - one found INVALID on a later `up` is repaired (updated when a queue holds it, else made again), its
//     statusReason shown — never called "exists".
#include <string>

#include <nlohmann/json.hpp>

#include "aws/api.hpp"
#include "backends/awsbatch/config.hpp"
#include "backends/awsbatch/infra.hpp"

namespace qecloud::backends::awsbatch {

struct ComputeEnvironmentResult {
  std::string arn;
  std::string state;   // "exists", "created", "updated", "repaired"
  std::string detail;  // what was repaired, and why
};

// Makes sure c.compute_environment() exists, matches the config and is VALID. `resources` is the
// computeResources it must have. Throws qecloud::Error with AWS's statusReason when it stays INVALID.
ComputeEnvironmentResult ensure_compute_environment(aws::Api& api, const AwsConfig& c,
                                                    const nlohmann::json& resources, const Notes& notes);

// True for the statusReason / error messages of an instance role or profile IAM has not finished spreading.
bool is_iam_propagation(const std::string& message);

}  // namespace qecloud::backends::awsbatch
