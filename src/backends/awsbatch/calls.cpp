#include "backends/awsbatch/calls.hpp"

#include <chrono>
#include <thread>

#include <fmt/format.h>

#include "core/env.hpp"
#include "core/error.hpp"

namespace qecloud::backends::awsbatch {

using json = nlohmann::json;
using aws::ApiCall;

// XML answers turn an empty list into "" (no <member> to tell); JSON ones may leave it out.
json list_at(const json& j, const std::string& key) {
  if (j.is_object() && j.contains(key) && j[key].is_array()) return j[key];
  return json::array();
}

bool is_not_found(const aws::AwsError& e) {
  return e.status == 404 || e.code == "NoSuchEntity" || e.code == "NotFound" || e.code == "NoSuchBucket" ||
         e.code == "ResourceNotFoundException" || e.code == "InvalidPlacementGroup.Unknown";
}

// `call` when it answers; nullopt when the thing is not there; an error otherwise.
std::optional<json> lookup(aws::Api& api, const ApiCall& call) {
  auto r = api.call(call);
  if (r) return std::move(*r);
  if (is_not_found(r.error())) return std::nullopt;
  return api.must(call);  // throws with the full message (credentials get their own)
}

std::optional<json> batch_one(aws::Api& api, const char* op, const char* list_key, const char* key,
                              const std::string& name) {
  auto found = api.must({"batch", op, {{key, json::array({name})}}});
  for (const auto& x : list_at(found, list_key)) {
    const std::string status = x.value("status", "");
    if (status != "DELETED") return x;
  }
  return std::nullopt;
}

void wait_for(const std::string& what, int timeout_s, const Notes& notes, const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  auto pause = std::chrono::milliseconds(200);
  bool told = false;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline)
      throw Error(
          fmt::format("timed out after {} s waiting for {}; run the same `qecloud infra` command again later",
                      timeout_s, what));
    if (!told && notes) notes(fmt::format("waiting for {} …", what)), told = true;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(static_cast<long>(poll_seconds() * 1000)));
  }
}

double poll_seconds() {
  return env_seconds(process_env(), "QECLOUD_AWS_POLL_SECONDS", 10, 0, 600);
}

}  // namespace qecloud::backends::awsbatch
