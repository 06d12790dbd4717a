#pragma once
// botocore's service models (service-2.json from the machine's botocore) for the unit tests: the same
// input checks botocore's ParamValidator makes — required members, types, unknown members, lengths and
// ranges — plus enums, and the protocol metadata a request must match. Tests fail, never skip, when
// botocore's data is missing (QECLOUD_BOTOCORE_DATA is found at configure time).
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "aws/api.hpp"

namespace qecloud::testing {

class BotocoreModel {
 public:
  // The newest API version under <botocore data>/<service>/; throws std::runtime_error when missing.
  static BotocoreModel load(const std::string& service);

  bool has_operation(const std::string& op) const;
  std::string protocol() const;
  std::string api_version() const;
  std::string target_prefix() const;
  std::string http_method(const std::string& op) const;
  std::string request_uri(const std::string& op) const;
  // Empty when `params` is a valid input of `op`; otherwise one message per problem, naming the path.
  std::vector<std::string> validate(const std::string& op, const nlohmann::json& params) const;
  // The form fields botocore's EC2Serializer sends for `params` ("SubnetId.1" for SubnetIds[0]: a member goes
  // by its queryName, else its locationName capitalised, else its name; list elements are numbered from 1),
  // sorted, without Action and Version.
  std::vector<std::pair<std::string, std::string>> ec2_form(const std::string& op, const nlohmann::json& params) const;

 private:
  void check(const nlohmann::json& shape_ref, const nlohmann::json& v, const std::string& path,
             std::vector<std::string>& out) const;
  void ec2_fields(const nlohmann::json& ref, const nlohmann::json& v, const std::string& prefix,
                  std::vector<std::pair<std::string, std::string>>& out) const;
  nlohmann::json model_;
};

// Problems with one AWS call against its service's model — the input (BotocoreModel::validate) and the wire
// form aws::to_wire makes (request URI and method, JSON target, query action and version; for EC2 every form
// field, compared with what botocore's EC2Serializer sends); empty when it
// is right. Models are loaded once per service.
std::vector<std::string> check_call(const aws::ApiCall& call);
const BotocoreModel& model_of(const std::string& service);

}  // namespace qecloud::testing
