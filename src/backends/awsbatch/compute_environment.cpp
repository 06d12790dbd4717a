#include "backends/awsbatch/compute_environment.hpp"

#include <algorithm>
#include <chrono>
#include <thread>

#include <fmt/format.h>

#include "backends/awsbatch/calls.hpp"
#include "core/error.hpp"

namespace qecloud::backends::awsbatch {
namespace {

using json = nlohmann::json;
constexpr int kWaitTimeout = 900;  // s: AWS takes about a minute; a quarter of an hour is something wrong
constexpr int kCreateTries = 4;    // made again after an IAM-propagation INVALID, with growing pauses

const char* kDescribe = "DescribeComputeEnvironments";
const char* kList = "computeEnvironments";

std::optional<json> find(aws::Api& api, const AwsConfig& c) {
  auto ce = batch_one(api, kDescribe, kList, kList, c.compute_environment());
  if (ce && ce->value("status", "") == "DELETING") return std::nullopt;  // going: make a new one after
  return ce;
}

void pause(int attempt) {  // 1, 2, 4, 8 × the poll interval
  std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<long>(poll_seconds() * 1000) << attempt));
}

// Waits until it is VALID (returns "") or INVALID (returns its statusReason).
std::string wait_settled(aws::Api& api, const AwsConfig& c, const Notes& notes) {
  std::string reason;
  wait_for(
      fmt::format("compute environment {} to be VALID (AWS takes about a minute)", c.compute_environment()),
      kWaitTimeout, notes, [&] {
        auto ce = find(api, c);
        const std::string status = ce ? ce->value("status", "") : "";
        if (status == "INVALID") reason = ce->value("statusReason", std::string("no reason given"));
        return status == "VALID" || status == "INVALID";
      });
  return reason;
}

// CreateComputeEnvironment, retried while IAM has not spread the instance profile yet.
void create(aws::Api& api, const AwsConfig& c, const json& resources, const Notes& notes) {
  const aws::ApiCall call{"batch",
                          "CreateComputeEnvironment",
                          {{"computeEnvironmentName", c.compute_environment()},
                           {"type", "MANAGED"},
                           {"state", "ENABLED"},
                           {"computeResources", resources},
                           {"tags", {{"qecloud", c.name}}}}};
  for (int attempt = 0;; ++attempt) {
    auto r = api.call(call);
    if (r) return;
    if (attempt + 1 >= kCreateTries || !is_iam_propagation(r.error().message)) api.must(call);  // throws
    if (notes)
      notes(fmt::format("IAM has not spread the instance role yet ({}); trying again", r.error().message));
    pause(attempt);
  }
}

void remove(aws::Api& api, const AwsConfig& c, const Notes& notes) {
  if (auto ce = find(api, c); ce && ce->value("state", "") != "DISABLED")
    api.must({"batch",
              "UpdateComputeEnvironment",
              {{"computeEnvironment", c.compute_environment()}, {"state", "DISABLED"}}});
  wait_for(fmt::format("compute environment {} to be disabled", c.compute_environment()), kWaitTimeout, notes,
           [&] {
             auto x = find(api, c);
             return !x || (x->value("state", "") == "DISABLED" && x->value("status", "") != "UPDATING");
           });
  if (find(api, c))
    api.must({"batch", "DeleteComputeEnvironment", {{"computeEnvironment", c.compute_environment()}}});
  wait_for(fmt::format("compute environment {} to be deleted", c.compute_environment()), kWaitTimeout, notes,
           [&] { return !batch_one(api, kDescribe, kList, kList, c.compute_environment()); });
}

bool held_by_queue(aws::Api& api, const AwsConfig& c, const std::string& arn) {
  auto q = batch_one(api, "DescribeJobQueues", "jobQueues", "jobQueues", c.job_queue());
  if (!q) return false;
  for (const auto& o : list_at(*q, "computeEnvironmentOrder"))
    if (o.value("computeEnvironment", "") == arn) return true;
  return false;
}

// A new one, waited for; made again while it comes out INVALID because IAM had not caught up.
ComputeEnvironmentResult make(aws::Api& api, const AwsConfig& c, const json& resources, const Notes& notes) {
  std::string why;
  for (int attempt = 0; attempt < kCreateTries; ++attempt) {
    create(api, c, resources, notes);
    why = wait_settled(api, c, notes);
    if (why.empty()) return {find(api, c)->value("computeEnvironmentArn", ""), "created", ""};
    if (notes) notes(fmt::format("compute environment {} is INVALID: {}", c.compute_environment(), why));
    if (!is_iam_propagation(why)) break;
    remove(api, c, notes);
    pause(attempt);
  }
  throw Error(fmt::format("compute environment {} is INVALID: {}", c.compute_environment(), why));
}

}  // namespace

bool is_iam_propagation(const std::string& m) {
  for (const char* sign : {"Invalid IamInstanceProfile", "sts:AssumeRole", "instance profile",
                           "InstanceProfile", "not authorized"})
    if (m.find(sign) != std::string::npos) return true;
  return false;
}

ComputeEnvironmentResult ensure_compute_environment(aws::Api& api, const AwsConfig& c, const json& resources,
                                                    const Notes& notes) {
  auto ce = find(api, c);
  if (!ce) return make(api, c, resources, notes);
  const std::string arn = ce->value("computeEnvironmentArn", "");
  const std::string status = ce->value("status", "");
  const json cr = ce->value("computeResources", json::object());
  json update = {{"computeEnvironment", c.compute_environment()}};
  if (ce->value("state", "") != "ENABLED") update["state"] = "ENABLED";
  if (cr.value("maxvCpus", c.max_vcpus) != c.max_vcpus) update["computeResources"]["maxvCpus"] = c.max_vcpus;
  // Subnets and security groups can change in place on a compute environment that uses the service-linked
  // role and BEST_FIT_PROGRESSIVE (AWS Batch User Guide, "Updating compute environments").
  for (const char* key : {"subnets", "securityGroupIds"}) {
    auto sorted = [](json list) {
      std::vector<std::string> v;
      for (const auto& x : list_at(json{{"l", list}}, "l"))
        if (x.is_string()) v.push_back(x.get<std::string>());
      std::sort(v.begin(), v.end());
      return v;
    };
    if (sorted(cr.value(key, json::array())) != sorted(resources.value(key, json::array())))
      update["computeResources"][key] = resources[key];
  }
  // The image type and the launch template (a new version when root_volume_gib changed) are an
  // infrastructure update: Batch replaces the instances as they come free (same guide).
  const json have_lt = cr.value("launchTemplate", json::object());
  const json want_lt = resources.value("launchTemplate", json::object());
  if (have_lt.value("launchTemplateName", "") != want_lt.value("launchTemplateName", "") ||
      have_lt.value("version", "") != want_lt.value("version", ""))
    update["computeResources"]["launchTemplate"] = want_lt;
  auto image_type = [](const json& r) {
    const json e = list_at(r, "ec2Configuration");
    return e.empty() ? std::string() : e[0].value("imageType", "");
  };
  if (image_type(cr) != image_type(resources))
    update["computeResources"]["ec2Configuration"] = resources["ec2Configuration"];
  if (status == "INVALID") {
    const std::string why = ce->value("statusReason", std::string("no reason given"));
    if (notes)
      notes(
          fmt::format("compute environment {} is INVALID ({}): repairing it", c.compute_environment(), why));
    if (!held_by_queue(api, c, arn)) {  // nothing depends on it: made again from scratch
      remove(api, c, notes);
      auto made = make(api, c, resources, notes);
      return {made.arn, "repaired", "was INVALID: " + why};
    }
    update["state"] = "ENABLED";  // a queue holds it: updated in place, which makes Batch evaluate it again
  }
  if (update.size() > 1) api.must({"batch", "UpdateComputeEnvironment", update});
  if (const std::string why = wait_settled(api, c, notes); !why.empty())
    throw Error(fmt::format("compute environment {} is INVALID: {}", c.compute_environment(), why));
  if (status == "INVALID")
    return {arn, "repaired", "was INVALID: " + ce->value("statusReason", std::string())};
  return {arn, update.size() > 1 ? "updated" : "exists", ""};
}

}  // namespace qecloud::backends::awsbatch
