#include "image/ecr.hpp"

#include <regex>

#include <fmt/format.h>

#include "core/error.hpp"

namespace qecloud::image {

aws::ApiCall describe_repository_call(const std::string& name) {
  return {"ecr", "DescribeRepositories", {{"repositoryNames", nlohmann::json::array({name})}}};
}

aws::ApiCall create_repository_call(const std::string& name) {
  // MUTABLE: `image push` may push a tag again after a rebuild (AWS's default too, said explicitly).
  return {"ecr",
          "CreateRepository",
          {{"repositoryName", name},
           {"imageTagMutability", "MUTABLE"},
           {"tags", nlohmann::json::array({{{"Key", "created-by"}, {"Value", "qecloud"}}})}}};
}

aws::ApiCall authorization_token_call() {
  return {"ecr", "GetAuthorizationToken", nlohmann::json::object()};
}

void check_repository_name(const std::string& name) {
  static const std::regex rule(R"((?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*)");
  if (name.size() < 2 || name.size() > 256 || !std::regex_match(name, rule))
    throw UsageError(fmt::format(
        "--repository '{}': an ECR repository name is 2 to 256 characters of lower-case letters and digits, "
        "with single '.', '_' or '-' between them and '/' between path components (e.g. qecloud, "
        "team/qecloud)",
        name));
}

Repository ensure_repository(aws::Api& api, const std::string& name, const LineSink& notes) {
  auto found = api.call(describe_repository_call(name));
  if (found) {
    const auto& repos = (*found)["repositories"];
    if (repos.is_array() && !repos.empty()) return {repos[0].value("repositoryUri", ""), false};
  } else if (found.error().code != "RepositoryNotFoundException") {
    aws::Api::fail(describe_repository_call(name), found.error());  // AWS's words (credentials, network, …)
  }
  if (notes) notes(fmt::format("creating the ECR repository {}", name));
  auto created = api.call(create_repository_call(name));
  if (!created && created.error().code == "RepositoryAlreadyExistsException")  // created meanwhile
    return ensure_repository(api, name, notes);
  if (!created) aws::Api::fail(create_repository_call(name), created.error());
  const nlohmann::json& ans = *created;
  const std::string uri = ans.contains("repository") ? ans["repository"].value("repositoryUri", "") : "";
  if (uri.empty()) throw Error("ECR CreateRepository answered without a repositoryUri");
  return {uri, true};
}

RegistryLogin registry_login(aws::Api& api) {
  const nlohmann::json ans = api.must(authorization_token_call());
  const auto& data = ans.value("authorizationData", nlohmann::json::array());
  if (!data.is_array() || data.empty() || !data[0].contains("authorizationToken"))
    throw Error("ECR GetAuthorizationToken answered without an authorization token");
  return {data[0].value("authorizationToken", ""), data[0].value("proxyEndpoint", "")};
}

}  // namespace qecloud::image
