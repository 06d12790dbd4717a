#pragma once
// What the AWS Batch backend's resource code shares: lookups that tell "not there" from an error, lists out
// of answers, and waiting for a resource with progress for people.
#include <functional>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "aws/api.hpp"
#include "backends/awsbatch/infra.hpp"

namespace qecloud::backends::awsbatch {

// XML answers turn an empty list into "" (no <member> to tell); JSON ones may leave it out.
nlohmann::json list_at(const nlohmann::json& j, const std::string& key);
bool is_not_found(const aws::AwsError& e);
// `call` when it answers; nullopt when the thing is not there; an error otherwise.
std::optional<nlohmann::json> lookup(aws::Api& api, const aws::ApiCall& call);
// The one Batch resource of that name (not DELETED) a Describe* call returns, or nullopt.
std::optional<nlohmann::json> batch_one(aws::Api& api, const char* op, const char* list_key, const char* key,
                                        const std::string& name);
// Polls `done` with a growing pause up to poll_seconds(), saying once what it waits for; throws
// qecloud::Error after timeout_s.
void wait_for(const std::string& what, int timeout_s, const Notes& notes, const std::function<bool()>& done);
// The longest pause between two polls of AWS (s): QECLOUD_AWS_POLL_SECONDS, default 10 (tests make it short).
double poll_seconds();

}  // namespace qecloud::backends::awsbatch
