#pragma once
// AWS partitions: the China regions (cn-*) and GovCloud (us-gov-*) are separate AWS worlds with their own ARN
// prefix, DNS suffix and IAM endpoint (AWS General Reference, "Amazon Resource Names (ARNs)": partition;
// "AWS service endpoints"). An ARN written as arn:aws:… is refused there, and *.amazonaws.com does not
// resolve to the China regions' services. IAM service principals (ec2.amazonaws.com,
// ecs-tasks.amazonaws.com) are the same in every partition (the China regions' ECS Developer Guide shows
// them unchanged), so they are not here.
#include <string>

namespace qecloud::aws {

struct Partition {
  std::string name;        // "aws", "aws-cn", "aws-us-gov": an ARN's second field
  std::string dns_suffix;  // "amazonaws.com", "amazonaws.com.cn"
  std::string
      iam_region;        // where IAM (one endpoint per partition) signs: us-east-1, cn-north-1, us-gov-west-1
  std::string iam_host;  // iam.amazonaws.com, iam.cn-north-1.amazonaws.com.cn, iam.us-gov.amazonaws.com
};

// The partition of a region name; anything not cn-* or us-gov-* is the commercial "aws".
Partition partition_of(const std::string& region);

// "arn:<partition>:<rest>", e.g. arn(region, "s3:::bucket").
std::string arn(const std::string& region, const std::string& rest);

}  // namespace qecloud::aws
