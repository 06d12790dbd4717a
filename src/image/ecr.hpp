#pragma once
// Amazon ECR's control plane for a push: the repository (DescribeRepositories, CreateRepository when it is
// missing) and a registry login (GetAuthorizationToken), through aws::Api — members named as in botocore's
// ecr model, checked against it by the unit tests.
//
// From AWS's documentation (Amazon ECR User Guide, "Private registry authentication"): the token is
// base64("AWS:<password>"), valid for 12 hours, and is what `docker login -u AWS` takes; the registry's
// HTTP API accepts it as `Authorization: Basic <token>`. Repository names (CreateRepository): 2 to 256
// characters, lower-case letters, digits, and `.`, `_`, `-` between them, `/` between path components.
#include <string>

#include "aws/api.hpp"
#include "image/engine.hpp"

namespace qecloud::image {

aws::ApiCall describe_repository_call(const std::string& name);
aws::ApiCall create_repository_call(const std::string& name);
aws::ApiCall authorization_token_call();

// Throws qecloud::UsageError naming the rule a repository name breaks.
void check_repository_name(const std::string& name);

struct Repository {
  std::string uri;  // "123456789012.dkr.ecr.us-east-2.amazonaws.com/qecloud"
  bool created = false;
};
// The repository, created when missing (another creator winning the race is fine). Throws qecloud::Error.
Repository ensure_repository(aws::Api& api, const std::string& name, const LineSink& notes);

struct RegistryLogin {
  std::string token;           // base64("AWS:<password>"): a secret, never printed
  std::string proxy_endpoint;  // "https://123456789012.dkr.ecr.us-east-2.amazonaws.com"
};
RegistryLogin registry_login(aws::Api& api);

}  // namespace qecloud::image
