// Every AWS call the Batch backend makes — infra up (nothing there yet), infra down and status (everything
// there), submit, status, logs, cancel — recorded through a fake aws::Api and checked against botocore's own
// service models: the input (required members, types, enums, unknown members) and the wire form (the
// protocol's request URI, JSON target, query version).
#include <gtest/gtest.h>

#include <optional>

#include <fmt/format.h>

#include "aws/api.hpp"
#include "backends/awsbatch/batch_jobs.hpp"
#include "backends/awsbatch/config.hpp"
#include "backends/awsbatch/cost_guards.hpp"
#include "backends/awsbatch/infra.hpp"
#include "botocore_model.hpp"
#include "core/error.hpp"

namespace qecloud {
namespace awsbatch = backends::awsbatch;
namespace {

using json = nlohmann::json;

awsbatch::AwsConfig config(const std::string& region = "eu-west-1", const std::string& extra = "") {
  return awsbatch::parse_config("[aws]\nregion = \"" + region + "\"\n" + extra + R"(
bucket = "qe-results"
prefix = "runs"
subnets = ["subnet-0a1b2c3d", "subnet-1a1b2c3d"]
security_groups = ["sg-0a1b2c3d"]
instance_types = ["c5n.18xlarge"]
image = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/qecloud:1"
)",
                                "qecloud.toml");
}

// Answers as an empty account (`exists` false) or one where `infra up` has run (`exists` true).
class RecordingApi : public aws::Api {
 public:
  explicit RecordingApi(bool exists) : exists_(exists) {}
  // What an account where `infra up` has run holds: the config the limits were made from.
  awsbatch::AwsConfig made_with = config();
  std::optional<json> own_lifecycle;  // the bucket's own lifecycle configuration, when it has one
  std::vector<aws::ApiCall> calls;

  Expected<json, aws::AwsError> call(const aws::ApiCall& c) override {
    calls.push_back(c);
    const std::string& op = c.operation;
    auto missing = [](const char* code) {
      aws::AwsError e;
      e.status = 404;
      e.code = code;
      return unexpected(e);
    };
    const json role = {{"RoleName", "r"}, {"Arn", "arn:aws:iam::123456789012:role/r"}};
    if (op == "GetRole")
      return exists_ ? Expected<json, aws::AwsError>(json{{"Role", role}}) : missing("NoSuchEntity");
    if (op == "CreateRole") return json{{"Role", role}};
    if (op == "GetInstanceProfile" || op == "CreateInstanceProfile") {
      if (op == "GetInstanceProfile" && !exists_) return missing("NoSuchEntity");
      return json{
          {"InstanceProfile",
           {{"Arn", "arn:aws:iam::123456789012:instance-profile/p"},
            {"Roles", exists_ ? json::array({{{"RoleName", "qecloud-ecs-instance"}}}) : json::array()}}}};
    }
    if (op == "GetRolePolicy")
      return exists_ ? Expected<json, aws::AwsError>(json{{"PolicyDocument", "{}"}})
                     : missing("NoSuchEntity");
    if (op == "HeadBucket")
      return exists_ ? Expected<json, aws::AwsError>(json::object()) : missing("NotFound");
    if (op == "GetBucketLifecycleConfiguration" && own_lifecycle) return *own_lifecycle;
    if (op == "GetBucketLifecycleConfiguration")  // as s3_answer_to_json reads S3's XML
      return exists_
                 ? Expected<json, aws::AwsError>(json{
                       {"Rules",
                        json::array({{{"ID", "qecloud-abort-incomplete-uploads"},
                                      {"Status", "Enabled"},
                                      {"AbortIncompleteMultipartUpload", {{"DaysAfterInitiation", "7"}}}}})}})
                 : missing("NoSuchLifecycleConfiguration");
    if (op == "DescribeLaunchTemplates")
      return exists_ ? json{{"launchTemplates", json::array({{{"launchTemplateName", "qecloud-node"},
                                                              {"launchTemplateId", "lt-1"}}})}}
                     : json::object();
    if (op == "DescribeLaunchTemplateVersions")
      return json{
          {"launchTemplateVersionSet",
           json::array(
               {{{"versionNumber", "1"},
                 {"launchTemplateData",
                  {{"blockDeviceMappingSet",
                    json::array(
                        {{{"deviceName", "/dev/xvda"},
                          {"ebs", {{"volumeSize", std::to_string(made_with.root_volume_gib)}}}}})}}}}})}};
    if (op == "CreateLaunchTemplate") return json{{"launchTemplate", {{"latestVersionNumber", "1"}}}};
    if (op == "CreateLaunchTemplateVersion") return json{{"launchTemplateVersion", {{"versionNumber", "2"}}}};
    if (op == "ListAttachedRolePolicies")
      return exists_ ? json{{"AttachedPolicies", json::array({{{"PolicyArn", "arn:aws:iam::aws:policy/x"}}})}}
                     : json::object();
    if (op == "ListRolePolicies") return json{{"PolicyNames", json::array({"qecloud-job-store"})}};
    if (op == "DescribeLogGroups")
      return exists_ ? json{{"logGroups", json::array({{{"logGroupName", "/aws/batch/qecloud"},
                                                        {"retentionInDays", made_with.log_retention_days}}})}}
                     : json::object();
    if (op == "DescribePlacementGroups")
      return exists_ ? json{{"placementGroupSet", json::array({{{"groupName", "qecloud-mpi"}}})}}
                     : json::object();
    if (op == "DescribeSubnets") {
      json subnets = json::array();
      for (const auto& id : c.params["SubnetIds"])
        subnets.push_back({{"subnetId", id},
                           {"vpcId", "vpc-1"},
                           {"availabilityZone", zone_of(id.get<std::string>())},
                           {"mapPublicIpOnLaunch", "true"}});
      return json{{"subnetSet", subnets}};
    }
    if (op == "DescribeRouteTables")  // a default VPC: the main table's default route to an internet gateway
      return json{
          {"routeTableSet",
           json::array(
               {{{"routeTableId", "rtb-main"},
                 {"associationSet", json::array({{{"main", "true"}}})},
                 {"routeSet", json::array({{{"destinationCidrBlock", "10.0.0.0/16"}, {"gatewayId", "local"}},
                                           {{"destinationCidrBlock", "0.0.0.0/0"},
                                            {"gatewayId", "igw-1"},
                                            {"state", "active"}}})}}})}};
    if (op == "DescribeVpcEndpoints")
      return exists_ ? json{{"vpcEndpointSet",
                             json::array(
                                 {{{"vpcEndpointId", "vpce-1"},
                                   {"vpcId", "vpc-1"},
                                   {"state", "available"},
                                   {"routeTableIdSet", json::array({"rtb-main"})},
                                   {"tagSet", json::array({{{"key", "qecloud"}, {"value", "qecloud"}}})}}})}}
                     : json::object();
    if (op == "DescribeSecurityGroups") {
      const json open_out =
          json::array({{{"ipProtocol", "-1"}, {"ipRanges", json::array({{{"cidrIp", "0.0.0.0/0"}}})}}});
      if (c.params.contains("Filters"))  // qecloud's own group
        return exists_ ? json{{"securityGroupInfo", json::array({{{"groupId", "sg-mpi"},
                                                                  {"vpcId", "vpc-1"},
                                                                  {"ipPermissionsEgress", open_out}}})}}
                       : json::object();
      json groups = json::array();
      for (const auto& id : c.params["GroupIds"])
        groups.push_back({{"groupId", id}, {"vpcId", "vpc-1"}, {"ipPermissionsEgress", open_out}});
      return json{{"securityGroupInfo", groups}};
    }
    if (op == "CreateSecurityGroup") return json{{"groupId", "sg-mpi"}};
    if (op == "CreateVpcEndpoint") return json{{"vpcEndpoint", {{"vpcEndpointId", "vpce-1"}}}};
    if (op == "CreateComputeEnvironment") ce_created_ = true;
    if (op == "DescribeComputeEnvironments" && !exists_) {
      // up: nothing, then (once made) CREATING for one read, then VALID — as AWS takes its time
      if (!ce_created_) return json{{"computeEnvironments", json::array()}};
      return json{
          {"computeEnvironments", json::array({{{"computeEnvironmentArn", "arn:ce"},
                                                {"status", new_ce_reads_++ == 0 ? "CREATING" : "VALID"},
                                                {"state", "ENABLED"},
                                                {"computeResources", {{"maxvCpus", 64}}}}})}};
    }
    if (op == "DescribeComputeEnvironments") {
      // down: ENABLED at first, then DISABLED, then gone
      if (ce_reads_ >= 2) return json{{"computeEnvironments", json::array()}};
      return json{{"computeEnvironments", json::array({{{"computeEnvironmentArn", "arn:ce"},
                                                        {"status", "VALID"},
                                                        {"state", ce_reads_++ == 0 ? "ENABLED" : "DISABLED"},
                                                        {"computeResources", {{"maxvCpus", 256}}}}})}};
    }
    if (op == "DescribeJobQueues") {
      if (!exists_ || q_reads_ >= 2) return json{{"jobQueues", json::array()}};
      return json{
          {"jobQueues",
           json::array({{{"jobQueueArn", "arn:q"},
                         {"status", "VALID"},
                         {"state", q_reads_++ == 0 ? "ENABLED" : "DISABLED"},
                         {"jobStateTimeLimitActions", awsbatch::queue_time_limit_actions(made_with)}}})}};
    }
    if (op == "DescribeJobDefinitions")
      return exists_ ? json{{"jobDefinitions", json::array({{{"jobDefinitionArn", "arn:jd:1"}}})}}
                     : json::object();
    if (op == "DescribeJobs")
      return json{{"jobs", json::array({{{"jobId", "j-1"}, {"status", "RUNNING"}, {"startedAt", 1}},
                                        {{"jobId", "j-1#0"},
                                         {"status", "RUNNING"},
                                         {"container", {{"logStreamName", "qecloud/default/abc"}}}}})}};
    if (op == "GetLogEvents" &&
        c.params.contains("nextToken"))  // the end of the stream, as CloudWatch says it
      return json{{"events", json::array()}, {"nextForwardToken", c.params["nextToken"]}};
    if (op == "GetLogEvents")
      return json{{"events", json::array({{{"message", "hello"}, {"timestamp", 1}}})},
                  {"nextForwardToken", "f/1"}};
    return json{{"computeEnvironmentArn", "arn:ce"},
                {"jobQueueArn", "arn:q"},
                {"jobDefinitionArn", "arn:jd:2"},
                {"jobId", "j-1"}};
  }
  std::string region() const override { return "eu-west-1"; }
  std::map<std::string, std::string> zones;  // subnet → availability zone (default eu-west-1a)

 private:
  std::string zone_of(const std::string& subnet) const {
    auto it = zones.find(subnet);
    return it == zones.end() ? "eu-west-1a" : it->second;
  }
  bool ce_created_ = false;
  int new_ce_reads_ = 0;
  bool exists_;
  int ce_reads_ = 0, q_reads_ = 0;
};

using testing::check_call;

void expect_all_valid(const std::vector<aws::ApiCall>& calls) {
  ASSERT_FALSE(calls.empty());
  for (const auto& c : calls) {
    auto problems = check_call(c);
    EXPECT_TRUE(problems.empty()) << c.service << " " << c.operation << " " << c.params.dump() << "\n"
                                  << fmt::format("{}", fmt::join(problems, "\n"));
  }
}

std::set<std::string> operations(const std::vector<aws::ApiCall>& calls) {
  std::set<std::string> ops;
  for (const auto& c : calls) ops.insert(c.operation);
  return ops;
}

TEST(AwsBatchModels, InfraUpOnAnEmptyAccount) {
  ::setenv("QECLOUD_AWS_POLL_SECONDS", "0.01", 1);
  RecordingApi api(false);
  awsbatch::infra_up(api, config(), {});
  expect_all_valid(api.calls);
  for (const char* op : {"CreateBucket",
                         "PutPublicAccessBlock",
                         "CreateLogGroup",
                         "CreateRole",
                         "AttachRolePolicy",
                         "CreateInstanceProfile",
                         "AddRoleToInstanceProfile",
                         "PutRolePolicy",
                         "CreatePlacementGroup",
                         "CreateComputeEnvironment",
                         "CreateJobQueue",
                         "RegisterJobDefinition",
                         "CreateServiceLinkedRole",
                         "DescribeSubnets",
                         "DescribeRouteTables",
                         "CreateVpcEndpoint",
                         "CreateSecurityGroup",
                         "AuthorizeSecurityGroupIngress",
                         "GetBucketLifecycleConfiguration",
                         "PutBucketLifecycleConfiguration",
                         "PutRetentionPolicy",
                         "DescribeLaunchTemplates",
                         "CreateLaunchTemplate"})
    EXPECT_TRUE(operations(api.calls).count(op)) << op;
}

const aws::ApiCall& only(const std::vector<aws::ApiCall>& calls, const std::string& op) {
  const aws::ApiCall* found = nullptr;
  for (const auto& c : calls)
    if (c.operation == op) {
      EXPECT_EQ(found, nullptr) << op << " twice";
      found = &c;
    }
  if (!found) throw std::runtime_error("no " + op);
  return *found;
}

TEST(AwsBatchModels, InfraUpMakesTheLimitsAndTheLaunchTemplate) {
  ::setenv("QECLOUD_AWS_POLL_SECONDS", "0.01", 1);
  RecordingApi api(false);
  awsbatch::infra_up(api, config(), {});
  EXPECT_EQ(
      only(api.calls, "PutBucketLifecycleConfiguration").params["LifecycleConfiguration"],
      json::parse(R"({"Rules": [{"ID": "qecloud-abort-incomplete-uploads", "Filter": {"Prefix": "runs/"},
                            "Status": "Enabled", "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7}}]})"));
  EXPECT_EQ(only(api.calls, "PutRetentionPolicy").params["retentionInDays"], 30);
  const json actions = only(api.calls, "CreateJobQueue").params["jobStateTimeLimitActions"];
  ASSERT_EQ(actions.size(), 4u);
  for (const auto& a : actions) {
    EXPECT_EQ(a["state"], "RUNNABLE");
    EXPECT_EQ(a["action"], "CANCEL");
    EXPECT_EQ(a["maxTimeSeconds"], 3600);
  }
  EXPECT_EQ(only(api.calls, "CreateLaunchTemplate")
                .params["LaunchTemplateData"]["BlockDeviceMappings"][0]["Ebs"]["VolumeSize"],
            30);
  const json cr = only(api.calls, "CreateComputeEnvironment").params["computeResources"];
  EXPECT_EQ(cr["ec2Configuration"], json::parse(R"([{"imageType": "ECS_AL2023"}])"));
  EXPECT_EQ(cr["launchTemplate"], json::parse(R"({"launchTemplateName": "qecloud-node", "version": "1"})"));
  const json def = only(api.calls, "RegisterJobDefinition").params;
  EXPECT_EQ(
      def["nodeProperties"]["nodeRangeProperties"][0]["container"]["linuxParameters"]["initProcessEnabled"],
      true);
}

TEST(AwsBatchModels, InfraUpAgainLeavesTheLimitsAsTheyAre) {
  ::setenv("QECLOUD_AWS_POLL_SECONDS", "0.01", 1);
  RecordingApi api(true);
  awsbatch::infra_up(api, config(), {});
  expect_all_valid(api.calls);
  for (const char* op : {"PutBucketLifecycleConfiguration", "PutRetentionPolicy", "CreateLaunchTemplate",
                         "CreateLaunchTemplateVersion", "UpdateJobQueue"})
    EXPECT_FALSE(operations(api.calls).count(op)) << op;
}

TEST(AwsBatchModels, ABucketsOwnLifecycleRulesAreNotReplaced) {
  // PutBucketLifecycleConfiguration replaces every rule: a bucket with rules of its own is left as it is.
  ::setenv("QECLOUD_AWS_POLL_SECONDS", "0.01", 1);
  RecordingApi api(true);
  api.own_lifecycle = json{{"Rules", json::array({{{"ID", "archive"}, {"Status", "Enabled"}}})}};
  const auto items = awsbatch::infra_up(api, config(), {});
  EXPECT_FALSE(operations(api.calls).count("PutBucketLifecycleConfiguration"));
  bool said = false;
  for (const auto& i : items)
    said |= i.kind == "lifecycle rule" && i.state == "kept" &&
            i.detail.find("add AbortIncompleteMultipartUpload yourself") != std::string::npos;
  EXPECT_TRUE(said);
}

TEST(AwsBatchModels, ChangedLimitsUpdateTheQueueTheLogGroupAndTheTemplate) {
  ::setenv("QECLOUD_AWS_POLL_SECONDS", "0.01", 1);
  RecordingApi api(true);
  const auto c =
      config("eu-west-1", "log_retention_days = 14\nrunnable_timeout_minutes = 30\nroot_volume_gib = 40\n");
  awsbatch::infra_up(api, c, {});
  expect_all_valid(api.calls);
  EXPECT_EQ(only(api.calls, "PutRetentionPolicy").params["retentionInDays"], 14);
  EXPECT_EQ(only(api.calls, "UpdateJobQueue").params["jobStateTimeLimitActions"][0]["maxTimeSeconds"], 1800);
  EXPECT_EQ(only(api.calls, "CreateLaunchTemplateVersion")
                .params["LaunchTemplateData"]["BlockDeviceMappings"][0]["Ebs"]["VolumeSize"],
            40);
  EXPECT_EQ(
      only(api.calls, "UpdateComputeEnvironment").params["computeResources"]["launchTemplate"]["version"],
      "2");
}

TEST(AwsBatchModels, ArnsFollowTheRegionsPartition) {
  ::setenv("QECLOUD_AWS_POLL_SECONDS", "0.01", 1);
  for (const auto& [region, partition] :
       {std::pair{"cn-north-1", "aws-cn"}, std::pair{"us-gov-west-1", "aws-us-gov"},
        std::pair{"eu-west-1", "aws"}}) {
    RecordingApi api(false);
    awsbatch::infra_up(api, config(region), {});
    const std::string arn = fmt::format("arn:{}:", partition);
    EXPECT_EQ(only(api.calls, "AttachRolePolicy").params["PolicyArn"],
              arn + "iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role");
    const std::string doc = only(api.calls, "PutRolePolicy").params["PolicyDocument"];
    EXPECT_NE(doc.find(arn + "s3:::qe-results/runs/*"), std::string::npos) << doc;
    EXPECT_NE(doc.find(arn + "s3:::qe-results\""), std::string::npos) << doc;
    if (std::string(partition) != "aws") {
      EXPECT_EQ(doc.find("arn:aws:"), std::string::npos) << doc;
    }
  }
}

TEST(AwsBatchModels, InfraDownAndStatusWhenEverythingExists) {
  ::setenv("QECLOUD_AWS_POLL_SECONDS", "0.01", 1);
  RecordingApi api(true);
  awsbatch::infra_down(api, config(), {}, {});
  expect_all_valid(api.calls);
  for (const char* op :
       {"UpdateJobQueue", "DeleteJobQueue", "UpdateComputeEnvironment", "DeleteComputeEnvironment",
        "DeregisterJobDefinition", "DeletePlacementGroup", "RemoveRoleFromInstanceProfile",
        "DeleteInstanceProfile", "DetachRolePolicy", "DeleteRolePolicy", "DeleteRole", "DeleteVpcEndpoints",
        "DeleteSecurityGroup", "DeleteLaunchTemplate"})
    EXPECT_TRUE(operations(api.calls).count(op)) << op;
  // The launch template only after the compute environment that holds it.
  std::size_t ce = 0, lt = 0;
  for (std::size_t i = 0; i < api.calls.size(); ++i) {
    if (api.calls[i].operation == "DeleteComputeEnvironment") ce = i;
    if (api.calls[i].operation == "DeleteLaunchTemplate") lt = i;
  }
  EXPECT_LT(ce, lt);
  RecordingApi status(true);
  const auto items = awsbatch::infra_status(status, config());
  expect_all_valid(status.calls);
  bool template_shown = false;
  for (const auto& i : items)
    template_shown |= i.kind == "launch template" && i.name == "qecloud-node" && i.state == "present";
  EXPECT_TRUE(template_shown);
}

TEST(AwsBatchModels, SubnetsInTwoZonesAreRefusedBeforeAnythingIsMade) {
  RecordingApi api(false);
  api.zones["subnet-1a1b2c3d"] = "eu-west-1b";
  try {
    awsbatch::infra_up(api, config(), {});
    FAIL() << "infra up went on";
  } catch (const UsageError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("subnet-0a1b2c3d in eu-west-1a"), std::string::npos) << what;
    EXPECT_NE(what.find("subnet-1a1b2c3d in eu-west-1b"), std::string::npos) << what;
    EXPECT_NE(what.find("qecloud.toml: aws.subnets"), std::string::npos) << what;
  }
  for (const auto& c : api.calls) EXPECT_EQ(c.operation.rfind("Describe", 0), 0u) << c.operation;
}

NodeContract contract() {
  NodeContract c;
  c.secret = std::string(48, 'a');
  c.store_url = "s3://bucket/qecloud";
  c.store_job = "jobs/1";
  c.input = "scf.in";
  return c;
}

TEST(AwsBatchModels, SubmitStatusLogsCancel) {
  const auto c = config();
  const awsbatch::InstanceShape shape{"c5n.18xlarge", 72, 36, 196608};
  std::vector<aws::ApiCall> calls = {
      {"ec2", "DescribeInstanceTypes", {{"InstanceTypes", json::array({"c5n.18xlarge"})}}},
      {"batch", "SubmitJob", awsbatch::submit_job_input(c, "qecloud-si-1", contract(), 3, shape, 3600)}};
  JobRecord job;
  job.id = "1";
  job.backend = "awsbatch";
  job.remote = {{"batch_job_id", "j-1"}, {"nodes", 1}};
  RecordingApi api(true);
  awsbatch::cancel(api, job, "cancelled with qecloud cancel");
  awsbatch::BatchState s;
  s.nodes.push_back({0, "RUNNING", "", std::nullopt, "qecloud/default/abc"});
  backends::LogCursor cursor;
  std::vector<std::string> lines;
  job.remote["log_group"] = c.log_group();
  awsbatch::read_logs(api, job, s, std::nullopt, cursor,
                      [&](int, const std::string& l) { lines.push_back(l); });
  EXPECT_EQ(lines, std::vector<std::string>{"hello"});
  calls.insert(calls.end(), api.calls.begin(), api.calls.end());
  calls.push_back({"batch", "DescribeJobs", {{"jobs", json::array({"j-1", "j-1#0", "j-1#1"})}}});
  expect_all_valid(calls);
}

TEST(AwsBatchModels, EachNodeAsksForItsWholeInstanceLessTheEcsReserve) {
  const awsbatch::InstanceShape shape{"c5n.18xlarge", 72, 36, 196608};
  EXPECT_EQ(shape.job_memory_mib(), 186777);  // 95 %: AWS Batch User Guide, "Reserve system memory"
  const json in = awsbatch::submit_job_input(config(), "x", contract(), 3, shape, 3600);
  const json& over = in["nodeOverrides"]["nodePropertyOverrides"][0]["containerOverrides"];
  EXPECT_EQ(over["resourceRequirements"], json::parse(R"([{"type": "VCPU", "value": "72"},
                                                          {"type": "MEMORY", "value": "186777"}])"));
  EXPECT_EQ(in.dump().find("QECLOUD_JOB_SECRET"), std::string::npos);  // read from the store instead
}

TEST(AwsBatchModels, TheCheckerCatchesAWrongCall) {
  // The same checks refuse a call the model does not allow (so the tests above can fail).
  EXPECT_FALSE(check_call({"batch", "SubmitJob", {{"jobName", "x"}, {"jobQueue", "q"}}}).empty());
  EXPECT_FALSE(
      check_call({"batch", "RegisterJobDefinition", {{"jobDefinitionName", "x"}, {"type", "MULTINODE"}}})
          .empty());
}

}  // namespace
}  // namespace qecloud
