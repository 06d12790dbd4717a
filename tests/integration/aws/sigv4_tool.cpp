// Signs requests read from stdin (one JSON object per line) with qecloud's SigV4 signer and writes what it
// added, one JSON object per line, for sigv4_vs_botocore.py to compare with botocore's signer. Input:
//   {"mode": "header"|"presign", "service", "region", "time": unix seconds, "method", "scheme", "host",
//    "path" (as sent) | "s3": {"bucket", "key", "virtual_host"}, "query": [[name, value]] (decoded),
//    "headers": [[name, value]], "body_b64", "unsigned": bool, "access_key", "secret", "token", "expires"}
// Output: {"path": the path used, "headers": {lower-case name: value} of the headers the signer set} or
// {"path", "url"} for presign.
#include <iostream>
#include <string>

#include <nlohmann/json.hpp>

#include "aws/sigv4.hpp"
#include "core/crypto.hpp"

using namespace qecloud;
using namespace qecloud::aws;

int main() {
  std::string line;
  while (std::getline(std::cin, line)) {
    auto in = nlohmann::json::parse(line);
    Request r;
    r.method = in["method"];
    r.scheme = in["scheme"];
    r.host = in["host"];
    if (in.contains("s3"))
      r.path = s3_object_path(in["s3"]["bucket"].get<std::string>(), in["s3"]["key"].get<std::string>(),
                              in["s3"]["virtual_host"].get<bool>());
    else
      r.path = in["path"];
    for (const auto& q : in["query"]) r.query.emplace_back(q[0], q[1]);
    for (const auto& h : in["headers"]) r.headers.emplace_back(h[0], h[1]);
    Credentials c{in["access_key"], in["secret"], in.value("token", std::string()), std::nullopt, "test"};
    Scope scope{in["service"], in["region"], in["time"].get<std::int64_t>()};
    nlohmann::json out = {{"path", r.path}};
    if (in["mode"] == "presign") {
      out["url"] = presign(r, c, scope, in["expires"].get<int>());
    } else {
      const std::string body = base64_decode(in.value("body_b64", std::string()));
      const std::string hash = in.value("unsigned", false) ? std::string(kUnsignedPayload) : sha256_hex(body);
      sign(r, c, scope, hash);
      nlohmann::json hs = nlohmann::json::object();
      for (const auto& [n, v] : r.headers) {
        std::string l = n;
        for (char& ch : l) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        if (l == "authorization" || l == "x-amz-date" || l == "x-amz-security-token" ||
            l == "x-amz-content-sha256")
          hs[l] = v;
      }
      out["headers"] = hs;
    }
    std::cout << out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  }
  return 0;
}
