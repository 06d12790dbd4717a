#include "backends/awsbatch/infra.hpp"

#include "backends/awsbatch/calls.hpp"
#include "backends/awsbatch/compute_environment.hpp"
#include "backends/awsbatch/cost_guards.hpp"
#include "backends/awsbatch/launch_template.hpp"
#include "backends/awsbatch/network.hpp"

#include <chrono>
#include <thread>

#include <fmt/format.h>

#include "aws/partition.hpp"
#include "core/crypto.hpp"
#include "core/error.hpp"
#include "job/node_contract.hpp"
#include "storage/object_store.hpp"

namespace qecloud::backends::awsbatch {
namespace {

using json = nlohmann::json;
using aws::ApiCall;

// An AWS managed policy: its ARN is in the region's partition (aws-cn, aws-us-gov refuse arn:aws:…).
std::string instance_policy(const AwsConfig& c) {
  return aws::arn(c.region, "iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role");
}
// AWS Batch's service-linked role (AWS Batch User Guide, "Using service-linked roles for AWS Batch"): what a
// compute environment made without a serviceRole uses.
constexpr const char* kServiceLinkedRole = "AWSServiceRoleForBatch";
constexpr const char* kJobPolicyName = "qecloud-job-store";

// The custom service role older qecloud versions made; `down` still removes it where it exists.
std::string legacy_service_role(const AwsConfig& c) {
  return c.name + "-batch-service";
}

json assume_role_policy(const std::string& service) {
  return {
      {"Version", "2012-10-17"},
      {"Statement",
       json::array(
           {{{"Effect", "Allow"}, {"Principal", {{"Service", service}}}, {"Action", "sts:AssumeRole"}}})}};
}

json tags(const AwsConfig& c) {
  return {{"qecloud", c.name}};
}

class Up {
 public:
  Up(aws::Api& api, const AwsConfig& c, const Notes& notes) : api_(api), c_(c), notes_(notes) {}

  void add(std::string kind, std::string name, std::string state, std::string detail = {}) {
    if (notes_ && state != "exists") notes_(fmt::format("{} {}: {}", kind, name, state));
    items.push_back({std::move(kind), std::move(name), std::move(state), std::move(detail)});
  }

  void bucket() {
    make_bucket();
    const InfraItem rule = ensure_bucket_lifecycle(api_, c_);
    add(rule.kind, rule.name, rule.state, rule.detail);
  }

  void make_bucket() {
    if (lookup(api_, {"s3", "HeadBucket", {{"Bucket", c_.bucket}}}))
      return add("bucket", c_.bucket, "exists");
    json create = {{"Bucket", c_.bucket}};
    if (c_.region != "us-east-1") create["CreateBucketConfiguration"] = {{"LocationConstraint", c_.region}};
    api_.must({"s3", "CreateBucket", create});
    api_.must({"s3",
               "PutPublicAccessBlock",
               {{"Bucket", c_.bucket},
                {"PublicAccessBlockConfiguration",
                 {{"BlockPublicAcls", true},
                  {"IgnorePublicAcls", true},
                  {"BlockPublicPolicy", true},
                  {"RestrictPublicBuckets", true}}}}});
    add("bucket", c_.bucket, "created");
  }

  // With a retention: CloudWatch keeps (and bills) a group's logs forever otherwise.
  void log_group() {
    auto groups = api_.must({"logs", "DescribeLogGroups", {{"logGroupNamePrefix", c_.log_group()}}});
    std::optional<json> found;
    for (const auto& g : list_at(groups, "logGroups"))
      if (g.value("logGroupName", "") == c_.log_group()) found = g;
    if (!found) api_.must({"logs", "CreateLogGroup", {{"logGroupName", c_.log_group()}, {"tags", tags(c_)}}});
    const bool retention_differs = !found || found->value("retentionInDays", 0) != c_.log_retention_days;
    if (retention_differs)
      api_.must({"logs",
                 "PutRetentionPolicy",
                 {{"logGroupName", c_.log_group()}, {"retentionInDays", c_.log_retention_days}}});
    add("log group", c_.log_group(),
        !found              ? "created"
        : retention_differs ? "updated"
                            : "exists",
        fmt::format("logs kept {} days", c_.log_retention_days));
  }

  // AWS Batch's own service-linked role: made once per account (by Batch itself, or here when missing so a
  // missing iam:CreateServiceLinkedRole permission shows now, naming the role), never deleted by `down`.
  void service_linked_role() {
    if (lookup(api_, {"iam", "GetRole", {{"RoleName", kServiceLinkedRole}}}))
      return add("service-linked role", kServiceLinkedRole, "exists");
    api_.must({"iam", "CreateServiceLinkedRole", {{"AWSServiceName", "batch.amazonaws.com"}}});
    add("service-linked role", kServiceLinkedRole, "created");
  }

  // A role with its trust policy and managed policies; returns its ARN.
  std::string role(const std::string& name, const std::string& principal,
                   const std::vector<std::string>& managed, const std::string& description) {
    std::string arn;
    bool created = false;
    if (auto r = lookup(api_, {"iam", "GetRole", {{"RoleName", name}}})) {
      arn = (*r)["Role"].value("Arn", "");
    } else {
      auto made = api_.must({"iam",
                             "CreateRole",
                             {{"RoleName", name},
                              {"AssumeRolePolicyDocument", assume_role_policy(principal).dump()},
                              {"Description", description},
                              {"Tags", json::array({{{"Key", "qecloud"}, {"Value", c_.name}}})}}});
      arn = made["Role"].value("Arn", "");
      created = true;
    }
    auto attached = api_.must({"iam", "ListAttachedRolePolicies", {{"RoleName", name}}});
    bool updated = false;
    for (const auto& policy : managed) {
      bool have = false;
      for (const auto& a : list_at(attached, "AttachedPolicies")) have |= a.value("PolicyArn", "") == policy;
      if (!have) {
        api_.must({"iam", "AttachRolePolicy", {{"RoleName", name}, {"PolicyArn", policy}}});
        updated = true;
      }
    }
    add("role", name, created ? "created" : updated ? "updated" : "exists", arn);
    return arn;
  }

  void job_role_policy_doc() {
    const json want = job_role_policy(c_);
    bool existed = false;
    if (auto r = lookup(
            api_, {"iam", "GetRolePolicy", {{"RoleName", c_.job_role()}, {"PolicyName", kJobPolicyName}}})) {
      // IAM answers with the document URL-encoded.
      std::string doc = r->value("PolicyDocument", "");
      auto have = json::parse(doc, nullptr, false);
      if (have.is_discarded()) have = json::parse(url_decode(doc), nullptr, false);
      if (have == want)
        return add("role policy", fmt::format("{}/{}", c_.job_role(), kJobPolicyName), "exists");
      existed = true;
    }
    api_.must(
        {"iam",
         "PutRolePolicy",
         {{"RoleName", c_.job_role()}, {"PolicyName", kJobPolicyName}, {"PolicyDocument", want.dump()}}});
    add("role policy", fmt::format("{}/{}", c_.job_role(), kJobPolicyName), existed ? "updated" : "created");
  }

  std::string instance_profile() {
    const std::string name = c_.instance_role();
    json profile;
    bool created = false;
    if (auto r = lookup(api_, {"iam", "GetInstanceProfile", {{"InstanceProfileName", name}}})) {
      profile = (*r)["InstanceProfile"];
    } else {
      profile =
          api_.must({"iam", "CreateInstanceProfile", {{"InstanceProfileName", name}}})["InstanceProfile"];
      created = true;
    }
    bool has_role = false;
    for (const auto& r : list_at(profile, "Roles")) has_role |= r.value("RoleName", "") == name;
    if (!has_role)
      api_.must({"iam", "AddRoleToInstanceProfile", {{"InstanceProfileName", name}, {"RoleName", name}}});
    const std::string arn = profile.value("Arn", "");
    add("instance profile", name, created ? "created" : has_role ? "exists" : "updated", arn);
    return arn;
  }

  void placement_group() {
    auto groups = api_.must({"ec2", "DescribePlacementGroups", json::object()});
    for (const auto& g : list_at(groups, "placementGroupSet"))
      if (g.value("groupName", "") == c_.placement_group())
        return add("placement group", c_.placement_group(), "exists");
    api_.must(
        {"ec2", "CreatePlacementGroup", {{"GroupName", c_.placement_group()}, {"Strategy", "cluster"}}});
    add("placement group", c_.placement_group(), "created");
  }

  std::string launch_template() {
    auto r = ensure_launch_template(api_, c_);
    add(r.item.kind, r.item.name, r.item.state, r.item.detail);
    return r.version;
  }

  std::string compute_environment(const std::string& profile_arn, const std::vector<std::string>& groups,
                                  const std::string& template_version) {
    json resources = {
        {"type", "EC2"},
        {"allocationStrategy", "BEST_FIT_PROGRESSIVE"},
        {"minvCpus", 0},
        {"maxvCpus", c_.max_vcpus},
        {"desiredvCpus", 0},
        {"instanceTypes", c_.instance_types},
        {"subnets", c_.subnets},
        {"securityGroupIds", groups},
        {"instanceRole", profile_arn},
        {"placementGroup", c_.placement_group()},
        // Amazon Linux 2's ECS AMIs end in June 2026 (API Reference, Ec2Configuration).
        {"ec2Configuration", json::array({{{"imageType", "ECS_AL2023"}}})},
        {"launchTemplate", {{"launchTemplateName", c_.launch_template()}, {"version", template_version}}},
        {"tags", {{"Name", c_.name + "-node"}, {"qecloud", c_.name}}}};
    const auto r = ensure_compute_environment(api_, c_, resources, notes_);
    add("compute environment", c_.compute_environment(), r.state, r.detail.empty() ? r.arn : r.detail);
    return r.arn;
  }

  void job_queue(const std::string& ce_arn) {
    const json actions = queue_time_limit_actions(c_);
    auto found = api_.must({"batch", "DescribeJobQueues", {{"jobQueues", json::array({c_.job_queue()})}}});
    for (const auto& q : list_at(found, "jobQueues")) {
      const std::string status = q.value("status", "");
      if (status == "DELETING" || status == "DELETED") continue;
      if (q.value("state", "") != "ENABLED" ||
          !same_time_limit_actions(q.value("jobStateTimeLimitActions", json::array()), actions)) {
        api_.must(
            {"batch",
             "UpdateJobQueue",
             {{"jobQueue", c_.job_queue()}, {"state", "ENABLED"}, {"jobStateTimeLimitActions", actions}}});
        return add("job queue", c_.job_queue(), "updated", q.value("jobQueueArn", ""));
      }
      return add("job queue", c_.job_queue(), "exists", q.value("jobQueueArn", ""));
    }
    auto made = api_.must(
        {"batch",
         "CreateJobQueue",
         {{"jobQueueName", c_.job_queue()},
          {"state", "ENABLED"},
          {"priority", 1},
          {"computeEnvironmentOrder", json::array({{{"order", 1}, {"computeEnvironment", ce_arn}}})},
          {"jobStateTimeLimitActions", actions},
          {"tags", tags(c_)}}});
    add("job queue", c_.job_queue(), "created", made.value("jobQueueArn", ""));
  }

  void job_definition(const std::string& job_role_arn) {
    const json want = job_definition_input(c_, job_role_arn);
    const std::string spec = want["parameters"]["qecloud-spec"];
    auto found = api_.must({"batch",
                            "DescribeJobDefinitions",
                            {{"jobDefinitionName", c_.job_definition()}, {"status", "ACTIVE"}}});
    for (const auto& d : list_at(found, "jobDefinitions"))
      if (d.contains("parameters") && d["parameters"].value("qecloud-spec", "") == spec)
        return add("job definition", c_.job_definition(), "exists", d.value("jobDefinitionArn", ""));
    auto made = api_.must({"batch", "RegisterJobDefinition", want});
    add("job definition", c_.job_definition(),
        list_at(found, "jobDefinitions").empty() ? "created" : "updated (new revision)",
        made.value("jobDefinitionArn", ""));
  }

  static std::string url_decode(const std::string& s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '%' && i + 2 < s.size()) {
        out.push_back(static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16)));
        i += 2;
      } else {
        out.push_back(s[i] == '+' ? ' ' : s[i]);
      }
    }
    return out;
  }

  std::vector<InfraItem> items;

 private:
  aws::Api& api_;
  const AwsConfig& c_;
  const Notes& notes_;
};

// Polls `done` (first at once, then every few seconds) until it holds or the timeout passes.

}  // namespace

json job_role_policy(const AwsConfig& c) {
  const std::string prefix = c.prefix.empty() ? "" : c.prefix + "/";
  return {{"Version", "2012-10-17"},
          {"Statement",
           json::array({{{"Sid", "JobFiles"},
                         {"Effect", "Allow"},
                         {"Action", json::array({"s3:GetObject", "s3:PutObject", "s3:DeleteObject",
                                                 "s3:AbortMultipartUpload"})},
                         {"Resource", aws::arn(c.region, fmt::format("s3:::{}/{}*", c.bucket, prefix))}},
                        {{"Sid", "ListJobFiles"},
                         {"Effect", "Allow"},
                         {"Action", "s3:ListBucket"},
                         {"Resource", aws::arn(c.region, fmt::format("s3:::{}", c.bucket))},
                         {"Condition", {{"StringLike", {{"s3:prefix", json::array({prefix + "*"})}}}}}}})}};
}

json job_definition_input(const AwsConfig& c, const std::string& job_role_arn) {
  json container = {
      {"image", c.image},
      {"command", json::array({"qecloud", "agent"})},
      {"jobRoleArn", job_role_arn},
      {"resourceRequirements", json::array({{{"type", "VCPU"}, {"value", std::to_string(c.vcpus_per_node)}},
                                            {{"type", "MEMORY"}, {"value", std::to_string(c.memory_mib)}}})},
      // MPI's shared-memory transport needs more than Docker's 64 MiB /dev/shm, and locked memory.
      // An init process as PID 1 reaps mpirun's and pw.x's orphans and forwards Batch's SIGTERM (ECS
      // Developer Guide, task definition parameters: initProcessEnabled).
      {"linuxParameters", {{"sharedMemorySize", c.shared_memory_mib}, {"initProcessEnabled", true}}},
      {"ulimits", json::array({{{"name", "memlock"}, {"softLimit", -1}, {"hardLimit", -1}},
                               {{"name", "nofile"}, {"softLimit", 65536}, {"hardLimit", 65536}}})},
      // Containers on ECS-on-EC2 are given no AWS_REGION (ECS agents before 2026): the SDKs' and
      // qecloud's default region would otherwise be us-east-1, and S3 refuses a request signed for another
      // region than its bucket's.
      {"environment", json::array({{{"name", node_var::kStore}, {"value", c.store_url()}},
                                   {{"name", "AWS_REGION"}, {"value", c.region}},
                                   {{"name", "AWS_DEFAULT_REGION"}, {"value", c.region}}})},
      {"logConfiguration",
       {{"logDriver", "awslogs"},
        {"options", {{"awslogs-group", c.log_group()}, {"awslogs-stream-prefix", c.name}}}}}};
  json def = {{"jobDefinitionName", c.job_definition()},
              {"type", "multinode"},
              {"nodeProperties",
               {{"numNodes", 2},
                {"mainNode", 0},
                {"nodeRangeProperties", json::array({{{"targetNodes", "0:"}, {"container", container}}})}}},
              {"platformCapabilities", json::array({"EC2"})},
              {"propagateTags", true},
              {"tags", tags(c)}};
  // The content's hash, kept in the definition itself: `up` registers a new revision only when it changes.
  def["parameters"] = {{"qecloud-spec", sha256_hex(def.dump()).substr(0, 16)}};
  return def;
}

std::vector<InfraItem> infra_up(aws::Api& api, const AwsConfig& c, const Notes& notes) {
  // The network first: what cannot work is refused before anything is made.
  const NetworkPlan network = plan_network(api, c);
  Up up(api, c, notes);
  up.bucket();
  up.log_group();
  up.service_linked_role();
  up.role(c.instance_role(), "ec2.amazonaws.com", {instance_policy(c)},
          "ECS container instances of qecloud jobs");
  const std::string profile_arn = up.instance_profile();
  const std::string job_role_arn = up.role(c.job_role(), "ecs-tasks.amazonaws.com", {},
                                           "qecloud jobs: read and write their bucket prefix only");
  up.job_role_policy_doc();
  up.placement_group();
  const std::size_t before = up.items.size();
  const auto groups = make_network(api, c, network, up.items);
  if (notes)
    for (std::size_t i = before; i < up.items.size(); ++i)
      notes(fmt::format("{} {}: {}", up.items[i].kind, up.items[i].name, up.items[i].state));
  const std::string template_version = up.launch_template();
  const std::string ce_arn = up.compute_environment(profile_arn, groups, template_version);
  up.job_queue(ce_arn);
  up.job_definition(job_role_arn);
  return up.items;
}

namespace {

// `infra down`'s steps, in the order AWS requires: what holds a resource goes before it.
class Down {
 public:
  Down(aws::Api& api, const AwsConfig& c, const InfraOptions& o, const Notes& notes)
      : api_(api), c_(c), o_(o), notes_(notes) {}

  // A job queue or compute environment: disabled, then deleted, waiting for Batch at each step.
  struct BatchResource {
    const char* kind;      // "job queue"
    const char* describe;  // "DescribeJobQueues"
    const char* list_key;  // "jobQueues": the answer's list, and the request's name list
    const char* update;    // "UpdateJobQueue"
    const char* del;       // "DeleteJobQueue"
    const char* key;       // "jobQueue": the member naming it in Update/Delete
    std::string name;
  };
  void batch_resource(const BatchResource& r) {
    auto find = [&] { return batch_one(api_, r.describe, r.list_key, r.list_key, r.name); };
    auto found = find();
    if (!found) return add(r.kind, r.name, "absent");
    if (found->value("state", "") != "DISABLED")
      api_.must({"batch", r.update, {{r.key, r.name}, {"state", "DISABLED"}}});
    wait_for(fmt::format("the {} to be disabled", r.kind), o_.wait_timeout_s, notes_, [&] {
      auto x = find();
      return !x || (x->value("state", "") == "DISABLED" && x->value("status", "") != "UPDATING");
    });
    api_.must({"batch", r.del, {{r.key, r.name}}});
    wait_for(fmt::format("the {} to be deleted", r.kind), o_.wait_timeout_s, notes_, [&] { return !find(); });
    add(r.kind, r.name, "deleted");
  }

  void job_definitions() {
    auto defs = api_.must({"batch",
                           "DescribeJobDefinitions",
                           {{"jobDefinitionName", c_.job_definition()}, {"status", "ACTIVE"}}});
    int revisions = 0;
    for (const auto& d : list_at(defs, "jobDefinitions")) {
      api_.must({"batch", "DeregisterJobDefinition", {{"jobDefinition", d.value("jobDefinitionArn", "")}}});
      ++revisions;
    }
    add("job definition", c_.job_definition(), revisions ? "deleted" : "absent",
        revisions ? fmt::format("{} revision{}", revisions, revisions > 1 ? "s" : "") : "");
  }

  void placement_group() {
    auto groups = api_.must({"ec2", "DescribePlacementGroups", json::object()});
    bool pg = false;
    for (const auto& g : list_at(groups, "placementGroupSet"))
      pg |= g.value("groupName", "") == c_.placement_group();
    if (pg) api_.must({"ec2", "DeletePlacementGroup", {{"GroupName", c_.placement_group()}}});
    add("placement group", c_.placement_group(), pg ? "deleted" : "absent");
  }

  void instance_profile() {
    auto p = lookup(api_, {"iam", "GetInstanceProfile", {{"InstanceProfileName", c_.instance_role()}}});
    if (!p) return add("instance profile", c_.instance_role(), "absent");
    for (const auto& r : list_at((*p)["InstanceProfile"], "Roles"))
      api_.must({"iam",
                 "RemoveRoleFromInstanceProfile",
                 {{"InstanceProfileName", c_.instance_role()}, {"RoleName", r.value("RoleName", "")}}});
    api_.must({"iam", "DeleteInstanceProfile", {{"InstanceProfileName", c_.instance_role()}}});
    add("instance profile", c_.instance_role(), "deleted");
  }

  void role(const std::string& role) {
    if (!lookup(api_, {"iam", "GetRole", {{"RoleName", role}}})) return add("role", role, "absent");
    auto attached = api_.must({"iam", "ListAttachedRolePolicies", {{"RoleName", role}}});
    for (const auto& a : list_at(attached, "AttachedPolicies"))
      api_.must({"iam", "DetachRolePolicy", {{"RoleName", role}, {"PolicyArn", a.value("PolicyArn", "")}}});
    auto inline_policies = api_.must({"iam", "ListRolePolicies", {{"RoleName", role}}});
    for (const auto& name : list_at(inline_policies, "PolicyNames"))
      api_.must({"iam", "DeleteRolePolicy", {{"RoleName", role}, {"PolicyName", name.get<std::string>()}}});
    api_.must({"iam", "DeleteRole", {{"RoleName", role}}});
    add("role", role, "deleted");
  }

  // The bucket's prefix (and the bucket, when nothing else is in it) and the log group.
  void data() {
    if (!o_.delete_data) {
      add("bucket", c_.bucket, "kept", "holds the jobs' results; `infra down --delete-data` removes it");
      add("log group", c_.log_group(), "kept", "holds the jobs' logs; `infra down --delete-data` removes it");
      return;
    }
    if (lookup(api_, {"s3", "HeadBucket", {{"Bucket", c_.bucket}}})) {
      auto store = storage::open_store("s3://" + c_.bucket, {c_.region});
      const std::string prefix = c_.prefix.empty() ? "" : c_.prefix + "/";
      int removed = 0;
      for (const auto& obj : store->list(prefix)) store->remove(obj.key), ++removed;
      const std::string objects = fmt::format("{} object{}", removed, removed == 1 ? "" : "s");
      if (store->list("").empty()) {
        api_.must({"s3", "DeleteBucket", {{"Bucket", c_.bucket}}});
        add("bucket", c_.bucket, "deleted", objects + " removed");
      } else {
        add("bucket", c_.bucket, "kept",
            fmt::format("{} under {} removed; objects outside it remain", objects, prefix));
      }
    } else {
      add("bucket", c_.bucket, "absent");
    }
    auto lg = api_.must({"logs", "DescribeLogGroups", {{"logGroupNamePrefix", c_.log_group()}}});
    bool have_lg = false;
    for (const auto& g : list_at(lg, "logGroups")) have_lg |= g.value("logGroupName", "") == c_.log_group();
    if (have_lg) api_.must({"logs", "DeleteLogGroup", {{"logGroupName", c_.log_group()}}});
    add("log group", c_.log_group(), have_lg ? "deleted" : "absent");
  }

  void item(InfraItem i) { add(i.kind, i.name, i.state, i.detail); }

  std::vector<InfraItem> items;

 private:
  void add(std::string kind, std::string name, std::string state, std::string detail = {}) {
    if (notes_) notes_(fmt::format("{} {}: {}", kind, name, state));
    items.push_back({std::move(kind), std::move(name), std::move(state), std::move(detail)});
  }
  aws::Api& api_;
  const AwsConfig& c_;
  const InfraOptions& o_;
  const Notes& notes_;
};

}  // namespace

std::vector<InfraItem> infra_down(aws::Api& api, const AwsConfig& c, const InfraOptions& o,
                                  const Notes& notes) {
  Down down(api, c, o, notes);
  // The queue first (it holds the compute environment), each disabled before it may be deleted.
  down.batch_resource({"job queue", "DescribeJobQueues", "jobQueues", "UpdateJobQueue", "DeleteJobQueue",
                       "jobQueue", c.job_queue()});
  down.batch_resource({"compute environment", "DescribeComputeEnvironments", "computeEnvironments",
                       "UpdateComputeEnvironment", "DeleteComputeEnvironment", "computeEnvironment",
                       c.compute_environment()});
  down.item(remove_launch_template(api, c));
  remove_network(api, c, o.wait_timeout_s, notes, down.items);
  down.job_definitions();
  down.placement_group();
  down.instance_profile();
  for (const std::string& role : {legacy_service_role(c), c.instance_role(), c.job_role()}) down.role(role);
  down.data();
  return down.items;
}

std::vector<InfraItem> infra_status(aws::Api& api, const AwsConfig& c) {
  std::vector<InfraItem> items;
  auto present = [&](std::string kind, std::string name, bool yes, std::string detail = {}) {
    items.push_back({std::move(kind), std::move(name), yes ? "present" : "absent", std::move(detail)});
  };
  present("bucket", c.bucket, lookup(api, {"s3", "HeadBucket", {{"Bucket", c.bucket}}}).has_value());
  auto lg = api.must({"logs", "DescribeLogGroups", {{"logGroupNamePrefix", c.log_group()}}});
  bool have_lg = false;
  for (const auto& g : list_at(lg, "logGroups")) have_lg |= g.value("logGroupName", "") == c.log_group();
  present("log group", c.log_group(), have_lg);
  for (const std::string& role : {std::string(kServiceLinkedRole), c.instance_role(), c.job_role()}) {
    auto r = lookup(api, {"iam", "GetRole", {{"RoleName", role}}});
    present("role", role, r.has_value(), r ? (*r)["Role"].value("Arn", "") : "");
  }
  present(
      "instance profile", c.instance_role(),
      lookup(api, {"iam", "GetInstanceProfile", {{"InstanceProfileName", c.instance_role()}}}).has_value());
  auto groups = api.must({"ec2", "DescribePlacementGroups", json::object()});
  bool pg = false;
  for (const auto& g : list_at(groups, "placementGroupSet"))
    pg |= g.value("groupName", "") == c.placement_group();
  present("placement group", c.placement_group(), pg);
  auto batch_state = [&](const char* kind, const char* op, const char* key, const std::string& name,
                         const char* arn_key) {
    auto x = batch_one(api, op, key, key, name);
    if (!x) return items.push_back({kind, name, "absent", ""});
    const std::string status = x->value("status", "?");
    items.push_back({kind, name, fmt::format("{}/{}", status, x->value("state", "?")),
                     status == "INVALID" ? x->value("statusReason", std::string()) : x->value(arn_key, "")});
  };
  batch_state("compute environment", "DescribeComputeEnvironments", "computeEnvironments",
              c.compute_environment(), "computeEnvironmentArn");
  batch_state("job queue", "DescribeJobQueues", "jobQueues", c.job_queue(), "jobQueueArn");
  items.push_back(launch_template_status(api, c));
  network_status(api, c, items);
  auto defs = api.must(
      {"batch", "DescribeJobDefinitions", {{"jobDefinitionName", c.job_definition()}, {"status", "ACTIVE"}}});
  const auto active = list_at(defs, "jobDefinitions");
  present("job definition", c.job_definition(), !active.empty(),
          active.empty() ? "" : active.back().value("jobDefinitionArn", ""));
  return items;
}

json to_json(const std::vector<InfraItem>& items) {
  json a = json::array();
  for (const auto& i : items)
    a.push_back({{"kind", i.kind}, {"name", i.name}, {"state", i.state}, {"detail", i.detail}});
  return a;
}

}  // namespace qecloud::backends::awsbatch
