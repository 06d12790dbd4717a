// qecloud.toml's [aws] section, the control-plane wire format (to_wire, XML answers) and the cost table.
#include <gtest/gtest.h>

#include "aws/api.hpp"
#include "aws/partition.hpp"
#include "backends/awsbatch/batch_jobs.hpp"
#include "backends/awsbatch/config.hpp"
#include "backends/awsbatch/cost.hpp"
#include "core/error.hpp"

namespace qecloud {
namespace awsbatch = backends::awsbatch;
namespace {

const char* kGood = R"([aws]
region = "us-east-2"
bucket = "my-qe-results"
prefix = "runs/"
subnets = ["subnet-0a1b2c3d"]
security_groups = ["sg-0a1b2c3d"]
instance_types = ["c5n.18xlarge", "c5n.9xlarge"]
image = "123456789012.dkr.ecr.us-east-2.amazonaws.com/qecloud:1"
[aws.prices]
"c5n.18xlarge" = 3.0
)";

std::string error_of(const std::string& text) {
  try {
    awsbatch::parse_config(text, "qecloud.toml");
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

TEST(AwsConfig, ReadsEveryFieldWithDefaults) {
  auto c = awsbatch::parse_config(kGood, "qecloud.toml");
  EXPECT_EQ(c.region, "us-east-2");
  EXPECT_EQ(c.prefix, "runs");
  EXPECT_EQ(c.name, "qecloud");
  EXPECT_EQ(c.instance_types.size(), 2u);
  EXPECT_EQ(c.max_vcpus, 256);
  EXPECT_EQ(c.store_url(), "s3://my-qe-results/runs");
  EXPECT_EQ(c.job_queue(), "qecloud-queue");
  EXPECT_DOUBLE_EQ(c.prices.at("c5n.18xlarge"), 3.0);
}

TEST(AwsConfig, TutorialPlaceholdersAreRefusedWithTheirLine) {
  std::string t = kGood;
  t.replace(t.find("subnet-0a1b2c3d"), 15, "subnet-2xxxxxxx");
  EXPECT_EQ(
      error_of(t),
      "qecloud.toml:5: aws.subnets[0]: 'subnet-2xxxxxxx' is a placeholder (as in the tutorial); put your own "
      "value");
  t = kGood;
  t.replace(t.find("123456789012"), 12, "5xxxxxxxxxxx");
  EXPECT_NE(error_of(t).find("qecloud.toml:8: aws.image: '5xxxxxxxxxxx.dkr"), std::string::npos)
      << error_of(t);
}

TEST(AwsConfig, MissingWrongAndUnknownFields) {
  std::string t = kGood;
  t.erase(t.find("image ="), t.find('\n', t.find("image =")) - t.find("image =") + 1);
  EXPECT_EQ(error_of(t), "qecloud.toml: aws.image: missing (see `qecloud infra --help` for an example)");
  EXPECT_EQ(error_of(kGood), "");
  t = kGood;
  t.replace(t.find("[\"sg-0a1b2c3d\"]"), 15, "\"sg-0a1b2c3d\"");
  EXPECT_EQ(error_of(t), "qecloud.toml:6: aws.security_groups: must be a list of strings, e.g. [\"…\"]");
  t = kGood;
  t.insert(t.find("image"), "max_vcpu = 12\n");
  EXPECT_EQ(error_of(t), "qecloud.toml:8: aws.max_vcpu: unknown field (a typo?)");
  EXPECT_EQ(error_of("[aws]\nregion = \n"),
            "qecloud.toml:2:10: Error while parsing key-value pair: expected value, saw '\\n'");
  EXPECT_EQ(error_of("[slurm]\n"), "qecloud.toml: no [aws] section");
}

TEST(AwsConfig, RetentionRunnableTimeoutAndRootVolume) {
  auto c = awsbatch::parse_config(kGood, "qecloud.toml");
  EXPECT_EQ(c.log_retention_days, 30);
  EXPECT_EQ(c.runnable_timeout_minutes, 60);
  EXPECT_EQ(c.root_volume_gib, 30);
  EXPECT_EQ(c.launch_template(), "qecloud-node");
  auto with = [](const std::string& line) {
    std::string t = kGood;
    return t.insert(t.find("image ="), line + "\n");
  };
  c = awsbatch::parse_config(with("log_retention_days = 3653"), "qecloud.toml");
  EXPECT_EQ(c.log_retention_days, 3653);
  EXPECT_EQ(
      error_of(with("log_retention_days = 10")),
      "qecloud.toml:8: aws.log_retention_days: 10 is not a retention CloudWatch Logs offers; one of 1, 3, 5, "
      "7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653");
  EXPECT_EQ(error_of(with("runnable_timeout_minutes = 5")),
            "qecloud.toml:8: aws.runnable_timeout_minutes: 5 is outside [10, 1440]");
  EXPECT_EQ(error_of(with("root_volume_gib = 20")),
            "qecloud.toml:8: aws.root_volume_gib: 20 is outside [30, 16384]");
}

TEST(AwsConfig, ImagePushedIsWrittenKeepingEverythingElse) {
  // Replaced in [aws], not in another section; comments and order kept; still a valid config.
  const std::string text = std::string("# mine\n") + kGood + "[slurm]\nimage = \"x\"\n";
  const std::string out = awsbatch::with_image(text, "1.dkr.ecr.us-east-2.amazonaws.com/qecloud:2");
  EXPECT_EQ(awsbatch::parse_config(out, "qecloud.toml").image, "1.dkr.ecr.us-east-2.amazonaws.com/qecloud:2");
  EXPECT_EQ(out.find("# mine\n[aws]\nregion"), 0u);
  EXPECT_NE(out.find("[slurm]\nimage = \"x\"\n"), std::string::npos);
  EXPECT_EQ(out.find("qecloud:1"), std::string::npos);
  // No image line yet: added under [aws]; no [aws] at all: a section is added.
  EXPECT_EQ(awsbatch::with_image("[aws]\nregion = \"r\"\n", "u"), "[aws]\nimage = \"u\"\nregion = \"r\"\n");
  EXPECT_EQ(awsbatch::with_image("[slurm]\n", "u"), "[slurm]\n\n[aws]\nimage = \"u\"\n");
  EXPECT_EQ(awsbatch::with_image("", "u"), "\n[aws]\nimage = \"u\"\n");
}

TEST(AwsApi, EcrIsJson11AtApiEcr) {
  auto w = aws::to_wire({"ecr", "GetAuthorizationToken", nlohmann::json::object()});
  EXPECT_EQ(w.request.header("X-Amz-Target").value_or(""),
            "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken");
  EXPECT_EQ(w.request.header("Content-Type").value_or(""), "application/x-amz-json-1.1");
  EXPECT_EQ(w.body, "{}");
}

TEST(AwsApi, BatchIsRestJsonUnderV1) {
  auto w = aws::to_wire({"batch", "SubmitJob", {{"jobName", "x"}}});
  EXPECT_EQ(w.request.method, "POST");
  EXPECT_EQ(w.request.path, "/v1/submitjob");
  EXPECT_EQ(w.body, R"({"jobName":"x"})");
}

TEST(AwsApi, LogsIsJson11WithTarget) {
  auto w = aws::to_wire({"logs", "GetLogEvents", {{"logGroupName", "g"}}});
  EXPECT_EQ(w.request.header("X-Amz-Target").value_or(""), "Logs_20140328.GetLogEvents");
  EXPECT_EQ(w.request.header("Content-Type").value_or(""), "application/x-amz-json-1.1");
}

TEST(AwsApi, QueryFormsAreEncodedAsBotocoreDoes) {
  auto w = aws::to_wire({"iam",
                         "CreateRole",
                         {{"RoleName", "r"},
                          {"Description", "a b/c's"},
                          {"Tags", nlohmann::json::array({{{"Key", "k"}, {"Value", "v"}}})}}});
  EXPECT_EQ(w.body,
            "Action=CreateRole&Version=2010-05-08&Description=a+b%2Fc%27s&RoleName=r&Tags.member.1.Key=k&"
            "Tags.member.1.Value=v");
  auto e = aws::to_wire({"ec2", "DescribeKeyPairs", {{"KeyName", nlohmann::json::array({"a", "b"})}}});
  EXPECT_EQ(e.body, "Action=DescribeKeyPairs&Version=2016-11-15&KeyName.1=a&KeyName.2=b");
}

TEST(AwsApi, S3BucketCalls) {
  auto w =
      aws::to_wire({"s3",
                    "CreateBucket",
                    {{"Bucket", "b"}, {"CreateBucketConfiguration", {{"LocationConstraint", "eu-west-1"}}}}});
  EXPECT_EQ(w.request.method, "PUT");
  EXPECT_EQ(w.request.path, "/b");
  EXPECT_NE(w.body.find("<LocationConstraint>eu-west-1</LocationConstraint>"), std::string::npos);
  EXPECT_THROW(aws::to_wire({"s3", "GetObject", {{"Bucket", "b"}}}), Error);
  EXPECT_THROW(aws::to_wire({"sqs", "SendMessage", {}}), Error);
}

TEST(AwsApi, S3LifecycleCalls) {
  auto w = aws::to_wire(
      {"s3",
       "PutBucketLifecycleConfiguration",
       {{"Bucket", "b"},
        {"LifecycleConfiguration",
         {{"Rules",
           nlohmann::json::array({{{"ID", "x"},
                                   {"Filter", {{"Prefix", "runs/"}}},
                                   {"Status", "Enabled"},
                                   {"AbortIncompleteMultipartUpload", {{"DaysAfterInitiation", 7}}}}})}}}}});
  EXPECT_EQ(w.request.method, "PUT");
  EXPECT_EQ(w.request.path, "/b");
  EXPECT_EQ(w.request.query, (aws::Params{{"lifecycle", ""}}));
  // nlohmann::json keeps members sorted; S3's schema does not fix their order inside a <Rule>.
  EXPECT_EQ(w.body,
            "<LifecycleConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Rule>"
            "<AbortIncompleteMultipartUpload><DaysAfterInitiation>7</DaysAfterInitiation>"
            "</AbortIncompleteMultipartUpload><Filter><Prefix>runs/</Prefix></Filter><ID>x</ID>"
            "<Status>Enabled</Status></Rule></LifecycleConfiguration>");
  EXPECT_TRUE(w.request.header("Content-MD5").has_value());  // S3 refuses it without
  auto g = aws::to_wire({"s3", "GetBucketLifecycleConfiguration", {{"Bucket", "b"}}});
  EXPECT_EQ(g.request.method, "GET");
  EXPECT_EQ(g.request.query, (aws::Params{{"lifecycle", ""}}));
  auto a = aws::s3_answer_to_json(
      "<LifecycleConfiguration><Rule><ID>a</ID><Status>Enabled</Status></Rule><Rule><ID>b</ID>"
      "<AbortIncompleteMultipartUpload><DaysAfterInitiation>7</DaysAfterInitiation>"
      "</AbortIncompleteMultipartUpload></Rule></LifecycleConfiguration>");
  ASSERT_EQ(a["Rules"].size(), 2u);
  EXPECT_EQ(a["Rules"][1]["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"], "7");
}

TEST(AwsApi, EndpointsFollowTheRegionsPartition) {
  auto e = aws::default_endpoint("batch", "cn-north-1");
  EXPECT_EQ(e.host, "batch.cn-north-1.amazonaws.com.cn");
  EXPECT_EQ(aws::default_endpoint("s3", "cn-northwest-1").host, "s3.cn-northwest-1.amazonaws.com.cn");
  EXPECT_EQ(aws::default_endpoint("ecr", "cn-north-1").host, "api.ecr.cn-north-1.amazonaws.com.cn");
  EXPECT_EQ(aws::default_endpoint("s3", "eu-west-1").host, "s3.eu-west-1.amazonaws.com");
  EXPECT_EQ(aws::default_endpoint("batch", "us-gov-west-1").host, "batch.us-gov-west-1.amazonaws.com");
  // IAM: one endpoint per partition, signed for the partition's IAM region.
  e = aws::default_endpoint("iam", "eu-west-1");
  EXPECT_EQ(e.host, "iam.amazonaws.com");
  EXPECT_EQ(e.signing_region, "us-east-1");
  e = aws::default_endpoint("iam", "cn-northwest-1");
  EXPECT_EQ(e.host, "iam.cn-north-1.amazonaws.com.cn");
  EXPECT_EQ(e.signing_region, "cn-north-1");
  e = aws::default_endpoint("iam", "us-gov-east-1");
  EXPECT_EQ(e.host, "iam.us-gov.amazonaws.com");
  EXPECT_EQ(e.signing_region, "us-gov-west-1");
  EXPECT_EQ(aws::arn("cn-north-1", "s3:::b"), "arn:aws-cn:s3:::b");
  EXPECT_EQ(aws::arn("us-gov-west-1", "s3:::b"), "arn:aws-us-gov:s3:::b");
  EXPECT_EQ(aws::arn("ap-south-2", "s3:::b"), "arn:aws:s3:::b");
}

TEST(AwsApi, XmlAnswersBecomeJson) {
  auto j = aws::xml_answer_to_json(
      "<GetRoleResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><GetRoleResult><Role><RoleName>r"
      "</RoleName><Arn>arn:aws:iam::1:role/r</Arn><Tags><member><Key>k</Key><Value>v</Value></member></Tags>"
      "</Role></GetRoleResult><ResponseMetadata><RequestId>x</RequestId></ResponseMetadata></"
      "GetRoleResponse>");
  EXPECT_EQ(j["Role"]["Arn"], "arn:aws:iam::1:role/r");
  EXPECT_EQ(j["Role"]["Tags"][0]["Key"], "k");
  auto e = aws::xml_answer_to_json(
      "<DescribePlacementGroupsResponse><requestId>1</requestId><placementGroupSet><item><groupName>g</"
      "groupName>"
      "</item></placementGroupSet></DescribePlacementGroupsResponse>");
  EXPECT_EQ(e["placementGroupSet"][0]["groupName"], "g");
}

TEST(AwsApi, CredentialErrorsAreRecognised) {
  aws::AwsError e;
  e.code = "InvalidClientTokenId";
  EXPECT_TRUE(aws::is_credential_error(e));
  e.code = "NoSuchEntity";
  EXPECT_FALSE(aws::is_credential_error(e));
}

TEST(Cost, TableOverridesAndUnknownTypes) {
  EXPECT_DOUBLE_EQ(*awsbatch::cost_usd("c5n.18xlarge", 3, 2.0, {}), 3 * 2.0 * 3.888);
  EXPECT_DOUBLE_EQ(*awsbatch::cost_usd("c5n.18xlarge", 3, 2.0, {{"c5n.18xlarge", 1.0}}), 6.0);
  EXPECT_FALSE(awsbatch::cost_usd("x9.huge", 1, 1, {}));
  EXPECT_NE(awsbatch::cost_line("x9.huge", 1, 1, {}).find("[aws.prices]"), std::string::npos);
  EXPECT_EQ(awsbatch::cost_line("c5n.large", 2, 1.5, {}),
            "2 × c5n.large × 1.50 h at $0.108/h = $0.32 (built-in table (us-east-1 on-demand, 2024))");
}

TEST(Cost, TheCeilingCountsEveryAttempt) {
  EXPECT_EQ(awsbatch::ceiling_line("c5n.large", 2, 1.5, awsbatch::kRetryAttempts, {}),
            "3 attempts × 2 × c5n.large × 1.50 h at $0.108/h = $0.97 (built-in table (us-east-1 on-demand, "
            "2024)); plus each attempt's boot and image pull");
  EXPECT_NE(awsbatch::ceiling_line("x9.huge", 1, 1, 3, {}).find("[aws.prices]"), std::string::npos);
}

TEST(Cost, StatusSaysTheTimeBeforeTheStartIsBilledToo) {
  JobRecord job;
  job.remote = {{"instance_type", "c5n.large"}, {"nodes", 2}};
  awsbatch::BatchState s;
  EXPECT_TRUE(awsbatch::cost_so_far(job, s).is_null());  // not started
  s.started_s = 0;  // a time never set: not 56 years of instances (found cancelling a RUNNABLE job)
  s.stopped_s = 1.8e9;
  EXPECT_TRUE(awsbatch::cost_so_far(job, s).is_null());
  s.started_s = 1000;
  s.stopped_s = 1000 + 5400;
  const auto cost = awsbatch::cost_so_far(job, s);
  EXPECT_EQ(
      cost["line"],
      "2 × c5n.large × 1.50 h at $0.108/h = $0.32 (built-in table (us-east-1 on-demand, 2024)); counted "
      "from the job's start; the instances' boot and image pull before it are billed too");
  EXPECT_NE(cost["not_counted"].get<std::string>().find("boot"), std::string::npos);
}

}  // namespace
}  // namespace qecloud
