// image/: the ECR calls (checked against botocore's ecr model, and the repository's create-if-missing flow
// through a recording aws::Api), what is read from engines (inspect JSON, build steps), from inside an image
// (facts, the pw.x release) and the registry login file. The engines themselves run in integration.image.
#include <gtest/gtest.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "botocore_model.hpp"
#include "core/error.hpp"
#include "image/ecr.hpp"
#include "image/engine.hpp"
#include "image/image_test.hpp"
#include "image/push.hpp"

namespace qecloud {
namespace {

using json = nlohmann::json;

TEST(ImageEcr, EveryCallMatchesBotocoresModel) {
  for (const auto& c : {image::describe_repository_call("qecloud"),
                        image::create_repository_call("team/qecloud"), image::authorization_token_call()}) {
    const auto problems = testing::check_call(c);
    EXPECT_TRUE(problems.empty()) << c.operation << " " << c.params.dump() << "\n"
                                  << fmt::format("{}", fmt::join(problems, "\n"));
  }
  // The checker can fail: a create without its name, a misspelt member.
  EXPECT_FALSE(testing::check_call({"ecr", "CreateRepository", json::object()}).empty());
  EXPECT_FALSE(testing::check_call({"ecr", "DescribeRepositories", {{"repositoryName", "x"}}}).empty());
}

TEST(ImageEcr, RepositoryNamesFollowEcrsRule) {
  for (const char* good : {"qecloud", "team/qecloud", "q-e_1.x", "ab"})
    EXPECT_NO_THROW(image::check_repository_name(good)) << good;
  for (const char* bad : {"Qecloud", "q", "-q", "q--", "team//q", "q/", "q e", ""})
    EXPECT_THROW(image::check_repository_name(bad), UsageError) << bad;
}

// Answers as ECR does: a repository that exists or not, and a creation race lost to another creator.
class FakeEcr : public aws::Api {
 public:
  bool exists = false, race = false;
  std::vector<aws::ApiCall> calls;
  Expected<json, aws::AwsError> call(const aws::ApiCall& c) override {
    calls.push_back(c);
    auto error = [](const char* code) {
      aws::AwsError e;
      e.status = 400;
      e.code = code;
      return unexpected(e);
    };
    const json repo = {{"repositoryName", "qecloud"},
                       {"repositoryUri", "123456789012.dkr.ecr.eu-west-1.amazonaws.com/qecloud"}};
    if (c.operation == "DescribeRepositories") {
      if (!exists) return error("RepositoryNotFoundException");
      return json{{"repositories", json::array({repo})}};
    }
    if (c.operation == "CreateRepository") {
      exists = true;
      if (race) return error("RepositoryAlreadyExistsException");
      return json{{"repository", repo}};
    }
    return json{{"authorizationData",
                 json::array({{{"authorizationToken", "QVdTOnNlY3JldA=="},
                               {"proxyEndpoint", "https://123456789012.dkr.ecr.eu-west-1.amazonaws.com"}}})}};
  }
  std::string region() const override { return "eu-west-1"; }
  std::vector<std::string> operations() const {
    std::vector<std::string> ops;
    for (const auto& c : calls) ops.push_back(c.operation);
    return ops;
  }
};

TEST(ImageEcr, RepositoryCreatedOnlyWhenMissing) {
  FakeEcr api;
  auto r = image::ensure_repository(api, "qecloud", {});
  EXPECT_TRUE(r.created);
  EXPECT_EQ(r.uri, "123456789012.dkr.ecr.eu-west-1.amazonaws.com/qecloud");
  EXPECT_EQ(api.operations(), (std::vector<std::string>{"DescribeRepositories", "CreateRepository"}));
  api.calls.clear();
  r = image::ensure_repository(api, "qecloud", {});
  EXPECT_FALSE(r.created);
  EXPECT_EQ(api.operations(), (std::vector<std::string>{"DescribeRepositories"}));
  // Another creator won: read it again.
  FakeEcr racing;
  racing.race = true;
  r = image::ensure_repository(racing, "qecloud", {});
  EXPECT_FALSE(r.created);
  EXPECT_EQ(racing.operations(),
            (std::vector<std::string>{"DescribeRepositories", "CreateRepository", "DescribeRepositories"}));
  for (const auto& c : api.calls) EXPECT_TRUE(testing::check_call(c).empty()) << c.operation;
}

TEST(ImageEcr, LoginIsTheTokenAsGiven) {
  FakeEcr api;
  const auto login = image::registry_login(api);
  EXPECT_EQ(login.token, "QVdTOnNlY3JldA==");  // base64("AWS:secret")
  EXPECT_EQ(login.proxy_endpoint, "https://123456789012.dkr.ecr.eu-west-1.amazonaws.com");
  // The auth file podman, skopeo and docker read: the token is already "user:password" in base64.
  EXPECT_EQ(image::auth_file_text("127.0.0.1:5000", login.token),
            "{\"auths\":{\"127.0.0.1:5000\":{\"auth\":\"QVdTOnNlY3JldA==\"}}}\n");
}

TEST(ImagePush, TagsAndLoopbackRegistries) {
  EXPECT_EQ(image::tag_of("qecloud:0.1.0"), "0.1.0");
  EXPECT_EQ(image::tag_of("localhost/qecloud:dev"), "dev");
  EXPECT_EQ(image::tag_of("localhost:5000/qecloud"), "");
  EXPECT_EQ(image::tag_of("qecloud"), "");
  for (const char* h : {"127.0.0.1:5000", "127.0.0.1", "localhost:5000", "[::1]:5000", "127.1.2.3"})
    EXPECT_TRUE(image::is_loopback_registry(h)) << h;
  for (const char* h :
       {"123456789012.dkr.ecr.us-east-2.amazonaws.com", "10.0.0.1:5000", "localhost.example.com"})
    EXPECT_FALSE(image::is_loopback_registry(h)) << h;
}

TEST(ImageEngine, InspectOfPodmanDockerAndBuildah) {
  const json podman = json::parse(R"([{"Id": "e7ac39e09d2b26c9", "Size": 772000000,
      "Config": {"Labels": {"org.qecloud.qe-version": "6.7", "n": 1}}}])");
  auto i = image::parse_inspect(podman);
  ASSERT_TRUE(i);
  EXPECT_EQ(i->id, "e7ac39e09d2b26c9");
  EXPECT_EQ(i->size_bytes, 772000000u);
  EXPECT_EQ(i->labels, (std::map<std::string, std::string>{{"org.qecloud.qe-version", "6.7"}}));
  const json docker = json::parse(R"([{"Id": "sha256:abc", "Size": 5, "Config": {"Labels": null}}])");
  EXPECT_EQ(image::parse_inspect(docker)->id, "abc");
  const json buildah = json::parse(R"({"FromImageID": "def", "OCIv1": {"config": {"Labels": {"a": "b"}}}})");
  EXPECT_EQ(image::parse_inspect(buildah)->labels.at("a"), "b");
  EXPECT_FALSE(image::parse_inspect(json::array()));
  EXPECT_FALSE(image::parse_inspect(json::object()));
}

TEST(ImageEngine, BuildStepsOfEachEngine) {
  EXPECT_EQ(image::step_of("STEP 3/9: RUN apt-get update"), "STEP 3/9: RUN apt-get update");
  EXPECT_EQ(image::step_of("[1/2] STEP 5/5: RUN cmake -S /src"), "[1/2] STEP 5/5: RUN cmake -S /src");
  EXPECT_EQ(image::step_of("Step 3/9 : RUN apt-get update"), "Step 3/9 : RUN apt-get update");
  EXPECT_EQ(image::step_of("#7 [2/4] RUN apt-get update"), "[2/4] RUN apt-get update");
  EXPECT_EQ(image::step_of("Get:1 http://deb.debian.org/debian bookworm InRelease"), "");
  EXPECT_EQ(image::step_of("#7 0.512 Reading package lists..."), "");
}

TEST(ImageEngine, DigestDockerPrintsAfterAPush) {
  const std::string hex(64, 'a');
  EXPECT_EQ(image::pushed_digest_of("abc: Pushed\nci: digest: sha256:" + hex + " size: 1570\n"),
            "sha256:" + hex);
  EXPECT_EQ(image::pushed_digest_of("abc: Pushed\nerror parsing HTTP 404 response body\n"), "");
}

TEST(ImageEngine, AMissingEngineSaysHowToInstallOne) {
  try {
    image::find_engine("nosuch");
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_STREQ(e.what(), "--engine nosuch: qecloud drives podman, buildah or docker");
  }
  EXPECT_THROW(image::find_run_engine("buildah"), UsageError);
}

TEST(ImageTest, FactsAndRelease) {
  const auto facts = image::parse_facts(
      "pw=/usr/bin/pw.x\nqecloud=qecloud 0.1.0\nmpi=mpirun (Open MPI) 4.1.4\nnoise\nBad=1\n=x\nblas=/a=b\n");
  EXPECT_EQ(facts, (std::map<std::string, std::string>{{"blas", "/a=b"},
                                                       {"mpi", "mpirun (Open MPI) 4.1.4"},
                                                       {"pw", "/usr/bin/pw.x"},
                                                       {"qecloud", "qecloud 0.1.0"}}));
  EXPECT_EQ(image::release_of("6.7MaX"), "6.7");
  EXPECT_EQ(image::release_of("v.7.3.1"), "7.3");
  EXPECT_EQ(image::release_of(""), "");
}

}  // namespace
}  // namespace qecloud
