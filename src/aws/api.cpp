#include "aws/api.hpp"

#include "aws/partition.hpp"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>
#include <pugixml.hpp>

#include "core/crypto.hpp"
#include "core/error.hpp"

namespace qecloud::aws {
namespace {

enum class Protocol { kRestJson, kJson, kQuery, kEc2, kRestXml };

struct Service {
  const char* name;         // our name and the signing name
  const char* endpoint_id;  // AWS_ENDPOINT_URL_<this>
  Protocol protocol;
  const char* version;  // query API version, or the JSON target prefix
  bool global;          // one endpoint per partition (IAM), signed for the partition's IAM region
  // The endpoint's host prefix when it is not the signing name (botocore's metadata.endpointPrefix):
  // ECR's API is api.ecr.<region>.amazonaws.com, signed as "ecr". Null: the name.
  const char* endpoint_prefix = nullptr;
};

constexpr Service kServices[] = {
    {"batch", "batch", Protocol::kRestJson, "", false},
    {"logs", "cloudwatch logs", Protocol::kJson, "Logs_20140328", false},
    {"iam", "iam", Protocol::kQuery, "2010-05-08", true},
    {"ec2", "ec2", Protocol::kEc2, "2016-11-15", false},
    {"s3", "s3", Protocol::kRestXml, "", false},
    {"ecr", "ecr", Protocol::kJson, "AmazonEC2ContainerRegistry_V20150921", false, "api.ecr"},
};

const Service& service_of(const std::string& name) {
  for (const auto& s : kServices)
    if (name == s.name) return s;
  throw Error(fmt::format("no AWS API client for the service '{}'", name));
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string scalar_text(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  return v.dump();
}

// EC2's query names: a member is sent under its model's locationName (capitalised), which for lists is
// usually the singular — SubnetIds goes as SubnetId.1 — as botocore's EC2Serializer sends it. Callers name
// members as the model does; these are the ones that differ, for the operations qecloud calls (the unit tests
// compare to_wire with botocore's serialization of every EC2 call qecloud makes).
std::string ec2_wire_name(const std::string& operation, const std::string& member) {
  static const std::map<std::string, std::string> kNames = {
      {"AddRouteTableIds", "AddRouteTableId"},
      {"BlockDeviceMappings", "BlockDeviceMapping"},
      {"Filters", "Filter"},
      {"GroupIds", "GroupId"},
      {"GroupNames", "GroupName"},
      {"InstanceTypes", "InstanceType"},
      {"LaunchTemplateIds", "LaunchTemplateId"},
      {"LaunchTemplateNames", "LaunchTemplateName"},
      {"RemoveRouteTableIds", "RemoveRouteTableId"},
      {"RouteTableIds", "RouteTableId"},
      {"SecurityGroupIds", "SecurityGroupId"},
      {"SubnetIds", "SubnetId"},
      {"TagSpecifications", "TagSpecification"},
      {"Tags", "Tag"},
      {"UserIdGroupPairs", "Groups"},
      {"Values", "Value"},
      {"VpcEndpointIds", "VpcEndpointId"},
  };
  if (operation == "CreateSecurityGroup" && member == "Description") return "GroupDescription";
  if (operation == "DescribeLaunchTemplateVersions" && member == "Versions") return "LaunchTemplateVersion";
  auto it = kNames.find(member);
  return it == kNames.end() ? member : it->second;
}

// Query serialization: structures as Name.Member, lists as Name.member.N (IAM) or Name.N (EC2, under
// ec2_wire_name). `ec2_op` is the EC2 operation, empty for the other query services.
void flatten(const std::string& prefix, const nlohmann::json& v, const std::string& ec2_op, Params& out) {
  const bool ec2 = !ec2_op.empty();
  if (v.is_object()) {
    for (auto it = v.begin(); it != v.end(); ++it) {
      const std::string name = ec2 ? ec2_wire_name(ec2_op, it.key()) : it.key();
      flatten(prefix.empty() ? name : prefix + "." + name, it.value(), ec2_op, out);
    }
  } else if (v.is_array()) {
    for (std::size_t i = 0; i < v.size(); ++i)
      flatten(fmt::format("{}.{}{}", prefix, ec2 ? "" : "member.", i + 1), v[i], ec2_op, out);
  } else if (!v.is_null()) {
    out.emplace_back(prefix, scalar_text(v));
  }
}

// As botocore sends it (Python's urlencode): RFC 3986 escapes, but a space is '+'.
std::string form_escape(std::string_view s) {
  std::string e = uri_encode(s, false);
  std::string out;
  for (std::size_t i = 0; i < e.size(); ++i) {
    if (e.compare(i, 3, "%20") == 0) {
      out.push_back('+');
      i += 2;
    } else {
      out.push_back(e[i]);
    }
  }
  return out;
}

std::string form_encode(const Params& params) {
  std::string out;
  for (const auto& [k, v] : params) {
    if (!out.empty()) out += '&';
    out += form_escape(k) + "=" + form_escape(v);
  }
  return out;
}

// S3's XML names: a list is flattened, each element under its member's locationName (botocore's model: the
// lifecycle's Rules go as repeated <Rule>).
std::string s3_list_element(const std::string& member) {
  return member == "Rules" ? "Rule" : member;
}

std::string xml_escape(const std::string& s) {
  std::string out;
  for (char ch : s) {
    switch (ch) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      default:
        out.push_back(ch);
    }
  }
  return out;
}

// A structure's members as S3's rest-xml body has them, in the order given.
std::string xml_members(const nlohmann::json& v) {
  std::string out;
  for (auto it = v.begin(); it != v.end(); ++it) {
    if (it.value().is_array()) {
      for (const auto& e : it.value())
        out += fmt::format("<{0}>{1}</{0}>", s3_list_element(it.key()),
                           e.is_object() ? xml_members(e) : xml_escape(scalar_text(e)));
    } else {
      out +=
          fmt::format("<{0}>{1}</{0}>", it.key(),
                      it.value().is_object() ? xml_members(it.value()) : xml_escape(scalar_text(it.value())));
    }
  }
  return out;
}

WireRequest s3_bucket_call(const ApiCall& call) {
  WireRequest w;
  const std::string bucket = call.params.value("Bucket", "");
  if (bucket.empty()) throw Error(fmt::format("s3 {}: no Bucket", call.operation));
  w.request.path = "/" + uri_encode(bucket, false);
  if (call.operation == "CreateBucket") {
    w.request.method = "PUT";
    if (call.params.contains("CreateBucketConfiguration")) {
      const auto& c = call.params["CreateBucketConfiguration"];
      w.body = fmt::format(
          "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
          "<LocationConstraint>{}</LocationConstraint></CreateBucketConfiguration>",
          c.value("LocationConstraint", ""));
    }
  } else if (call.operation == "HeadBucket") {
    w.request.method = "HEAD";
  } else if (call.operation == "DeleteBucket") {
    w.request.method = "DELETE";
  } else if (call.operation == "PutPublicAccessBlock") {
    w.request.method = "PUT";
    w.request.query = {{"publicAccessBlock", ""}};
    std::string inner;
    for (auto it = call.params["PublicAccessBlockConfiguration"].begin();
         it != call.params["PublicAccessBlockConfiguration"].end(); ++it)
      inner += fmt::format("<{0}>{1}</{0}>", it.key(), scalar_text(it.value()));
    w.body = "<PublicAccessBlockConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">" + inner +
             "</PublicAccessBlockConfiguration>";
    w.request.headers.emplace_back("Content-MD5", base64(md5(w.body)));
  } else if (call.operation == "GetBucketLifecycleConfiguration") {
    w.request.method = "GET";
    w.request.query = {{"lifecycle", ""}};
  } else if (call.operation == "PutBucketLifecycleConfiguration") {
    // S3 refuses it without a body checksum (S3 API Reference, PutBucketLifecycleConfiguration: Content-MD5).
    w.request.method = "PUT";
    w.request.query = {{"lifecycle", ""}};
    w.body = "<LifecycleConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">" +
             xml_members(call.params.value("LifecycleConfiguration", nlohmann::json::object())) +
             "</LifecycleConfiguration>";
    w.request.headers.emplace_back("Content-MD5", base64(md5(w.body)));
  } else {
    throw Error(fmt::format("s3 {}: not a bucket call this client makes", call.operation));
  }
  return w;
}

nlohmann::json element_to_json(const pugi::xml_node& n) {
  bool has_children = false;
  for (auto c : n.children())
    if (c.type() == pugi::node_element) has_children = true;
  if (!has_children) return n.text().as_string();
  bool list = true;
  for (auto c : n.children())
    if (c.type() == pugi::node_element && std::string(c.name()) != "member" &&
        std::string(c.name()) != "item")
      list = false;
  if (list) {
    auto a = nlohmann::json::array();
    for (auto c : n.children())
      if (c.type() == pugi::node_element) a.push_back(element_to_json(c));
    return a;
  }
  auto o = nlohmann::json::object();
  for (auto c : n.children()) {
    if (c.type() != pugi::node_element) continue;
    o[c.name()] = element_to_json(c);
  }
  return o;
}

}  // namespace

WireRequest to_wire(const ApiCall& call) {
  const Service& s = service_of(call.service);
  WireRequest w;
  switch (s.protocol) {
    case Protocol::kRestJson:
      // Every Batch operation we use is POST /v1/<operation in lower case> with a JSON body.
      w.request.method = "POST";
      w.request.path = "/v1/" + lower(call.operation);
      w.request.headers = {{"Content-Type", "application/json"}};
      w.body = call.params.dump();
      break;
    case Protocol::kJson:
      w.request.method = "POST";
      w.request.path = "/";
      w.request.headers = {{"Content-Type", "application/x-amz-json-1.1"},
                           {"X-Amz-Target", fmt::format("{}.{}", s.version, call.operation)}};
      w.body = call.params.dump();
      break;
    case Protocol::kQuery:
    case Protocol::kEc2: {
      Params form = {{"Action", call.operation}, {"Version", s.version}};
      flatten("", call.params, s.protocol == Protocol::kEc2 ? call.operation : std::string(), form);
      w.request.method = "POST";
      w.request.path = "/";
      w.request.headers = {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}};
      w.body = form_encode(form);
      break;
    }
    case Protocol::kRestXml:
      w = s3_bucket_call(call);
      break;
  }
  return w;
}

nlohmann::json s3_answer_to_json(const std::string& xml) {
  pugi::xml_document doc;
  auto out = nlohmann::json::object();
  if (!doc.load_string(xml.c_str())) return out;
  for (auto c : doc.document_element().children()) {
    if (c.type() != pugi::node_element) continue;
    const std::string name = c.name();
    if (name == "Rule")
      out["Rules"].push_back(element_to_json(c));
    else
      out[name] = element_to_json(c);
  }
  return out;
}

nlohmann::json xml_answer_to_json(const std::string& xml) {
  pugi::xml_document doc;
  if (!doc.load_string(xml.c_str())) return nlohmann::json::object();
  pugi::xml_node root = doc.document_element();
  // <XResponse><XResult>…</XResult><ResponseMetadata/></XResponse> (query); EC2 has no Result wrapper.
  for (auto c : root.children()) {
    const std::string name = c.name();
    if (name.size() > 6 && name.compare(name.size() - 6, 6, "Result") == 0) {
      auto j = element_to_json(c);
      return j.is_object() ? j : nlohmann::json::object();
    }
  }
  auto j = element_to_json(root);
  return j.is_object() ? j : nlohmann::json::object();
}

bool is_credential_error(const AwsError& e) {
  static const char* const kCodes[] = {"InvalidClientTokenId",  "UnrecognizedClientException",
                                       "SignatureDoesNotMatch", "InvalidAccessKeyId",
                                       "AuthFailure",           "ExpiredToken",
                                       "ExpiredTokenException", "InvalidSignatureException",
                                       "IncompleteSignature",   "MissingAuthenticationToken"};
  return std::any_of(std::begin(kCodes), std::end(kCodes), [&](const char* c) { return e.code == c; });
}

nlohmann::json Api::must(const ApiCall& call) {
  auto r = this->call(call);
  if (r) return std::move(*r);
  fail(call, r.error());
}

void Api::fail(const ApiCall& call, const AwsError& error) {
  if (is_credential_error(error))
    throw Error(
        fmt::format("AWS refused the credentials ({} {}: {}); check AWS_ACCESS_KEY_ID, AWS_PROFILE or "
                    "the role this runs under",
                    call.service, call.operation, error.text()));
  if (error.status == 403 && error.code == "Forbidden")  // a HEAD: no body to say why
    throw Error(fmt::format("AWS {} {}: HTTP 403: refused — the credentials are wrong or lack the permission",
                            call.service, call.operation));
  throw Error(fmt::format("AWS {} {}: {}", call.service, call.operation, error.text()));
}

ServiceEndpoint default_endpoint(const std::string& service, const std::string& region) {
  const Service& s = service_of(service);
  const Partition p = partition_of(region);
  if (s.global) return {p.iam_host, p.iam_region};
  return {fmt::format("{}.{}.{}", s.endpoint_prefix ? s.endpoint_prefix : s.name, region, p.dns_suffix),
          region};
}

ServiceApi::ServiceApi(EnvLookup env, std::shared_ptr<HttpClient> http, std::string region)
    : env_(std::move(env)), http_(std::move(http)), region_(std::move(region)) {
  if (region_.empty()) {
    auto r = resolve_region(env_);
    if (!r)
      throw UsageError(
          "no AWS region: set `region` in qecloud.toml's [aws] section, AWS_REGION, or a profile's region");
    region_ = *r;
  }
  creds_ = std::make_shared<CredentialChain>(env_, http_);
}

AwsClient& ServiceApi::client(const std::string& name) {
  auto it = clients_.find(name);
  if (it != clients_.end()) return *it->second;
  const Service& s = service_of(name);
  const ServiceEndpoint home = default_endpoint(name, region_);
  Endpoint ep;
  if (auto url = resolve_endpoint(env_, s.endpoint_id))
    ep = parse_endpoint(*url);
  else
    ep.host = home.host;
  auto c = std::make_unique<AwsClient>(s.name, home.signing_region, ep, creds_, http_, retry_policy(env_));
  return *clients_.emplace(name, std::move(c)).first->second;
}

Expected<nlohmann::json, AwsError> ServiceApi::call(const ApiCall& call) {
  const Service& s = service_of(call.service);
  WireRequest w = to_wire(call);
  HttpRequest body;
  body.body = w.body;
  const std::string hash = sha256_hex(w.body);
  auto r = client(call.service).send(w.request, std::move(body), hash);
  if (!r) return unexpected(r.error());
  switch (s.protocol) {
    case Protocol::kRestJson:
    case Protocol::kJson: {
      if (r->body.empty()) return nlohmann::json::object();
      auto j = nlohmann::json::parse(r->body, nullptr, false);
      if (j.is_discarded()) {
        AwsError e;
        e.status = r->status;
        e.code = "MalformedAnswer";
        e.message =
            fmt::format("{} {} answered with something that is not JSON", call.service, call.operation);
        return unexpected(e);
      }
      return j;
    }
    case Protocol::kQuery:
    case Protocol::kEc2:
      return xml_answer_to_json(r->body);
    case Protocol::kRestXml:
      if (!r->body.empty()) return s3_answer_to_json(r->body);
      break;
  }
  return nlohmann::json::object();
}

}  // namespace qecloud::aws
