#include "backends/awsbatch/cost_guards.hpp"

#include <algorithm>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "backends/awsbatch/calls.hpp"

namespace qecloud::backends::awsbatch {
namespace {

using json = nlohmann::json;

constexpr const char* kRuleId = "qecloud-abort-incomplete-uploads";

// The reasons AWS Batch reports for a job blocked at the head of its queue and lets jobStateTimeLimitActions
// act on (AWS Batch User Guide, "Jobs stuck in RUNNABLE status": blocked job queues).
constexpr const char* kBlockedReasons[] = {
    "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY",
    "MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE",
    "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT",
    "MISCONFIGURATION:SERVICE_ROLE_PERMISSIONS",
};

bool aborts_incomplete_uploads(const json& rule) {
  return rule.value("Status", "") == "Enabled" && rule.contains("AbortIncompleteMultipartUpload");
}

}  // namespace

json abort_incomplete_uploads_rule(const AwsConfig& c) {
  return {{"ID", kRuleId},
          {"Filter", {{"Prefix", c.prefix.empty() ? "" : c.prefix + "/"}}},
          {"Status", "Enabled"},
          {"AbortIncompleteMultipartUpload", {{"DaysAfterInitiation", kAbortIncompleteUploadDays}}}};
}

InfraItem ensure_bucket_lifecycle(aws::Api& api, const AwsConfig& c) {
  // No configuration at all is NoSuchLifecycleConfiguration (404).
  const auto have = lookup(api, {"s3", "GetBucketLifecycleConfiguration", {{"Bucket", c.bucket}}});
  const json rules = have ? list_at(*have, "Rules") : json::array();
  InfraItem item{"lifecycle rule", fmt::format("{}/{}", c.bucket, kRuleId), "exists", ""};
  if (std::any_of(rules.begin(), rules.end(), aborts_incomplete_uploads)) return item;
  if (!rules.empty()) {
    item.state = "kept";
    item.detail = fmt::format(
        "the bucket has {} lifecycle rule(s) of its own and none aborts incomplete multipart uploads; "
        "qecloud does not replace them: add AbortIncompleteMultipartUpload yourself",
        rules.size());
    return item;
  }
  api.must({"s3",
            "PutBucketLifecycleConfiguration",
            {{"Bucket", c.bucket},
             {"LifecycleConfiguration", {{"Rules", json::array({abort_incomplete_uploads_rule(c)})}}}}});
  item.state = "created";
  item.detail = fmt::format("incomplete multipart uploads aborted after {} days", kAbortIncompleteUploadDays);
  return item;
}

json queue_time_limit_actions(const AwsConfig& c) {
  json actions = json::array();
  for (const char* reason : kBlockedReasons)
    actions.push_back({{"reason", reason},
                       {"state", "RUNNABLE"},
                       {"maxTimeSeconds", c.runnable_timeout_minutes * 60},
                       {"action", "CANCEL"}});
  return actions;
}

bool same_time_limit_actions(const json& have, const json& want) {
  auto sorted = [](const json& list) {
    std::vector<std::string> v;
    if (list.is_array())
      for (const auto& a : list)
        v.push_back(json{{"reason", a.value("reason", "")},
                         {"state", a.value("state", "")},
                         {"maxTimeSeconds", a.value("maxTimeSeconds", 0)},
                         {"action", a.value("action", "")}}
                        .dump());
    std::sort(v.begin(), v.end());
    return v;
  };
  return sorted(have) == sorted(want);
}

}  // namespace qecloud::backends::awsbatch
