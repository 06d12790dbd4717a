#include "aws/partition.hpp"

namespace qecloud::aws {

Partition partition_of(const std::string& region) {
  if (region.rfind("cn-", 0) == 0)
    return {"aws-cn", "amazonaws.com.cn", "cn-north-1", "iam.cn-north-1.amazonaws.com.cn"};
  if (region.rfind("us-gov-", 0) == 0)
    return {"aws-us-gov", "amazonaws.com", "us-gov-west-1", "iam.us-gov.amazonaws.com"};
  return {"aws", "amazonaws.com", "us-east-1", "iam.amazonaws.com"};
}

std::string arn(const std::string& region, const std::string& rest) {
  return "arn:" + partition_of(region).name + ":" + rest;
}

}  // namespace qecloud::aws
