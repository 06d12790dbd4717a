#pragma once
// AWS's control-plane APIs — Batch (rest-json), CloudWatch Logs and ECR (json 1.1), IAM (query), EC2 (ec2
// query) and S3's bucket calls (rest-xml) — behind one call shape: an operation name and its input, members
// named exactly as in the service's model (botocore's service-2.json). `to_wire` turns a call into the
// request the protocol wants and is pure, so unit tests check every call we make against botocore's own
// models; ServiceApi sends it through AwsClient (credentials, SigV4, retries) and turns the answer into JSON.
//
// Answers: JSON protocols as sent; XML (IAM, EC2) converted element by element — an element with children
// becomes an object, a list (<member>/<item> children) an array, text a string; the *Result wrapper of query
// answers is removed. S3 bucket calls answer {}, or their XML as s3_answer_to_json reads it.
#include <functional>
#include <map>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "aws/client.hpp"
#include "core/expected.hpp"

namespace qecloud::aws {

struct ApiCall {
  std::string service;    // "batch", "logs", "iam", "ec2", "s3", "ecr"
  std::string operation;  // "SubmitJob"
  nlohmann::json params = nlohmann::json::object();
};

struct WireRequest {
  Request request;  // method, path, query, headers (host and signature are added when sent)
  std::string body;
};
// Throws qecloud::Error for a service or S3 operation this layer does not speak.
WireRequest to_wire(const ApiCall& call);

// Converts a query/ec2-protocol XML answer (see above).
nlohmann::json xml_answer_to_json(const std::string& xml);
// An S3 bucket call's XML answer: the root's children by name, S3's flattened lists as botocore names them
// (GetBucketLifecycleConfiguration's <Rule> elements as "Rules").
nlohmann::json s3_answer_to_json(const std::string& xml);

// What every backend talks to: the real services, or a test that records and answers.
class Api {
 public:
  virtual ~Api() = default;
  virtual Expected<nlohmann::json, AwsError> call(const ApiCall& call) = 0;
  virtual std::string region() const = 0;
  // call(), or qecloud::Error naming the operation and what AWS said; refused credentials get their own
  // message naming where they came from.
  nlohmann::json must(const ApiCall& call);
  // The qecloud::Error must() throws for `call` failing with `e` (for callers that looked at the error
  // first).
  [[noreturn]] static void fail(const ApiCall& call, const AwsError& e);
};

// Where a service is when no AWS_ENDPOINT_URL* says otherwise, and the region its requests are signed for:
// <service>.<region>.<the partition's DNS suffix>; IAM has one endpoint per partition (partition.hpp).
struct ServiceEndpoint {
  std::string host, signing_region;
};
ServiceEndpoint default_endpoint(const std::string& service, const std::string& region);

// True for the codes services give to unknown, wrong or expired credentials.
bool is_credential_error(const AwsError& e);

class ServiceApi : public Api {
 public:
  // Region: the standard resolution (AWS_REGION, …) unless `region` is given; endpoints:
  // AWS_ENDPOINT_URL_<ID>, AWS_ENDPOINT_URL or the profile's endpoint_url (a test points them all at one
  // local server).
  ServiceApi(EnvLookup env, std::shared_ptr<HttpClient> http, std::string region = {});
  Expected<nlohmann::json, AwsError> call(const ApiCall& call) override;
  std::string region() const override { return region_; }

 private:
  AwsClient& client(const std::string& service);
  EnvLookup env_;
  std::shared_ptr<HttpClient> http_;
  std::string region_;
  std::shared_ptr<CredentialChain> creds_;
  std::map<std::string, std::unique_ptr<AwsClient>> clients_;
};

}  // namespace qecloud::aws
