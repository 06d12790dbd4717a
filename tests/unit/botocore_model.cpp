#include "botocore_model.hpp"

#include <zlib.h>

#include <filesystem>
#include <algorithm>
#include <cctype>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "aws/api.hpp"

namespace fs = std::filesystem;

namespace qecloud::testing {
namespace {

std::string read_maybe_gzipped(const fs::path& p) {
  gzFile f = gzopen(p.c_str(), "rb");  // reads plain files as they are
  if (!f) throw std::runtime_error("cannot open " + p.string());
  std::string out;
  char buf[1 << 16];
  int n;
  while ((n = gzread(f, buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
  gzclose(f);
  return out;
}

std::string type_of(const nlohmann::json& v) {
  if (v.is_string()) return "string";
  if (v.is_boolean()) return "boolean";
  if (v.is_number_integer()) return "integer";
  if (v.is_number()) return "number";
  if (v.is_array()) return "list";
  if (v.is_object()) return "structure";
  return "null";
}

}  // namespace

BotocoreModel BotocoreModel::load(const std::string& service) {
  const fs::path dir = fs::path(QECLOUD_BOTOCORE_DATA) / service;
  if (!fs::is_directory(dir))
    throw std::runtime_error(
        fmt::format("no botocore model for {} in {} (the machine's Python with botocore is "
                    "needed)",
                    service, dir.string()));
  std::vector<fs::path> versions;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_directory()) versions.push_back(e.path());
  std::sort(versions.begin(), versions.end());
  for (auto it = versions.rbegin(); it != versions.rend(); ++it)
    for (const char* name : {"service-2.json", "service-2.json.gz"})
      if (fs::exists(*it / name)) {
        BotocoreModel m;
        m.model_ = nlohmann::json::parse(read_maybe_gzipped(*it / name));
        return m;
      }
  throw std::runtime_error("no service-2.json under " + dir.string());
}

bool BotocoreModel::has_operation(const std::string& op) const {
  return model_["operations"].contains(op);
}
std::string BotocoreModel::protocol() const {
  return model_["metadata"].value("protocol", "");
}
std::string BotocoreModel::api_version() const {
  return model_["metadata"].value("apiVersion", "");
}
std::string BotocoreModel::target_prefix() const {
  return model_["metadata"].value("targetPrefix", "");
}
std::string BotocoreModel::http_method(const std::string& op) const {
  return model_["operations"][op]["http"].value("method", "");
}
std::string BotocoreModel::request_uri(const std::string& op) const {
  return model_["operations"][op]["http"].value("requestUri", "");
}

std::vector<std::string> BotocoreModel::validate(const std::string& op, const nlohmann::json& params) const {
  std::vector<std::string> out;
  if (!has_operation(op)) return {fmt::format("{}: no such operation", op)};
  const auto& o = model_["operations"][op];
  if (!o.contains("input")) {
    if (!params.is_null() && !params.empty()) out.push_back(op + ": takes no input");
    return out;
  }
  check(o["input"], params, op, out);
  return out;
}

std::vector<std::pair<std::string, std::string>> BotocoreModel::ec2_form(const std::string& op,
                                                                        const nlohmann::json& params) const {
  std::vector<std::pair<std::string, std::string>> out;
  const auto& o = model_["operations"][op];
  if (o.contains("input")) ec2_fields(o["input"], params, "", out);
  std::sort(out.begin(), out.end());
  return out;
}

void BotocoreModel::ec2_fields(const nlohmann::json& ref, const nlohmann::json& v, const std::string& prefix,
                               std::vector<std::pair<std::string, std::string>>& out) const {
  const auto& shape = model_["shapes"][ref["shape"].get<std::string>()];
  const std::string type = shape["type"];
  if (type == "structure") {
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (!shape["members"].contains(it.key())) continue;
      const auto& member = shape["members"][it.key()];
      std::string name = it.key();
      if (member.contains("queryName")) {
        name = member["queryName"];
      } else if (member.contains("locationName")) {
        name = member["locationName"];
        name[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(name[0])));
      }
      ec2_fields(member, it.value(), prefix.empty() ? name : prefix + "." + name, out);
    }
  } else if (type == "list") {
    for (std::size_t i = 0; i < v.size(); ++i) ec2_fields(shape["member"], v[i], fmt::format("{}.{}", prefix, i + 1), out);
  } else if (type == "boolean") {
    out.emplace_back(prefix, v.get<bool>() ? "true" : "false");
  } else {
    out.emplace_back(prefix, v.is_string() ? v.get<std::string>() : v.dump());
  }
}

void BotocoreModel::check(const nlohmann::json& ref, const nlohmann::json& v, const std::string& path,
                          std::vector<std::string>& out) const {
  const auto& shape = model_["shapes"][ref["shape"].get<std::string>()];
  const std::string type = shape["type"];
  auto bad_type = [&](const char* want) {
    out.push_back(fmt::format("{}: expected {}, got {}", path, want, type_of(v)));
  };
  auto check_min_max = [&](double n, const char* what) {
    if (shape.contains("min") && n < shape["min"].get<double>())
      out.push_back(fmt::format("{}: {} {} below min {}", path, what, n, shape["min"].dump()));
    if (shape.contains("max") && n > shape["max"].get<double>())
      out.push_back(fmt::format("{}: {} {} above max {}", path, what, n, shape["max"].dump()));
  };
  if (type == "structure") {
    if (!v.is_object()) return bad_type("structure");
    for (const auto& r : shape.value("required", nlohmann::json::array()))
      if (!v.contains(r.get<std::string>()))
        out.push_back(fmt::format("{}: missing required member {}", path, r.get<std::string>()));
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (!shape["members"].contains(it.key())) {
        out.push_back(fmt::format("{}: unknown member {}", path, it.key()));
        continue;
      }
      check(shape["members"][it.key()], it.value(), path + "." + it.key(), out);
    }
  } else if (type == "list") {
    if (!v.is_array()) return bad_type("list");
    check_min_max(static_cast<double>(v.size()), "length");
    for (std::size_t i = 0; i < v.size(); ++i)
      check(shape["member"], v[i], fmt::format("{}[{}]", path, i), out);
  } else if (type == "map") {
    if (!v.is_object()) return bad_type("map");
    for (auto it = v.begin(); it != v.end(); ++it) {
      check(shape["key"], it.key(), fmt::format("{}(key {})", path, it.key()), out);
      check(shape["value"], it.value(), fmt::format("{}.{}", path, it.key()), out);
    }
  } else if (type == "string" || type == "blob") {
    if (!v.is_string()) return bad_type("string");
    const std::string s = v.get<std::string>();
    if (type == "string") check_min_max(static_cast<double>(s.size()), "length");
    if (shape.contains("enum")) {
      bool ok = false;
      for (const auto& e : shape["enum"]) ok |= e.get<std::string>() == s;
      if (!ok)
        out.push_back(fmt::format("{}: value '{}' not in enum [{}]", path, s,
                                  fmt::join(shape["enum"].get<std::vector<std::string>>(), ", ")));
    }
  } else if (type == "integer" || type == "long") {
    if (!v.is_number_integer()) return bad_type("integer");
    check_min_max(v.get<double>(), "value");
  } else if (type == "float" || type == "double") {
    if (!v.is_number()) return bad_type("number");
    check_min_max(v.get<double>(), "value");
  } else if (type == "boolean") {
    if (!v.is_boolean()) return bad_type("boolean");
  } else if (type == "timestamp") {
    if (!v.is_number() && !v.is_string()) return bad_type("timestamp");
  } else {
    out.push_back(fmt::format("{}: shape type {} not understood by the checker", path, type));
  }
}

const BotocoreModel& model_of(const std::string& service) {
  static std::map<std::string, BotocoreModel> models;
  auto it = models.find(service);
  if (it == models.end()) it = models.emplace(service, BotocoreModel::load(service)).first;
  return it->second;
}

namespace {

// A form body's fields, decoded.
std::vector<std::pair<std::string, std::string>> split_form(const std::string& body) {
  auto decode = [](std::string x) {
    std::string out;
    for (std::size_t i = 0; i < x.size(); ++i) {
      if (x[i] == '+') {
        out += ' ';
      } else if (x[i] == '%' && i + 2 < x.size()) {
        out += static_cast<char>(std::stoi(x.substr(i + 1, 2), nullptr, 16));
        i += 2;
      } else {
        out += x[i];
      }
    }
    return out;
  };
  std::vector<std::pair<std::string, std::string>> out;
  for (std::size_t start = 0; start < body.size();) {
    std::size_t amp = body.find('&', start);
    if (amp == std::string::npos) amp = body.size();
    const std::string kv = body.substr(start, amp - start);
    const std::size_t eq = kv.find('=');
    out.emplace_back(decode(kv.substr(0, eq)), eq == std::string::npos ? "" : decode(kv.substr(eq + 1)));
    start = amp + 1;
  }
  return out;
}

}  // namespace

std::vector<std::string> check_call(const aws::ApiCall& c) {
  const auto& m = model_of(c.service);
  std::vector<std::string> problems;
  if (!m.has_operation(c.operation)) return {fmt::format("{} has no operation {}", c.service, c.operation)};
  for (auto& p : m.validate(c.operation, c.params)) problems.push_back(c.service + " " + p);
  const aws::WireRequest w = aws::to_wire(c);
  const std::string protocol = m.protocol();
  if (protocol == "rest-json" || protocol == "rest-xml") {
    std::string uri = m.request_uri(c.operation);
    uri = uri.substr(0, uri.find('?'));
    if (uri.find("{Bucket}") != std::string::npos)
      uri.replace(uri.find("{Bucket}"), 8, c.params.value("Bucket", ""));
    if (w.request.method != m.http_method(c.operation) || w.request.path != uri)
      problems.push_back(fmt::format("{} {}: sent {} {}, the model says {} {}", c.service, c.operation,
                                     w.request.method, w.request.path, m.http_method(c.operation), uri));
  } else if (protocol == "json") {
    const std::string want = m.target_prefix() + "." + c.operation;
    if (w.request.header("X-Amz-Target").value_or("") != want)
      problems.push_back(fmt::format("{} {}: X-Amz-Target is not {}", c.service, c.operation, want));
  } else {
    const std::string want = fmt::format("Action={}&Version={}", c.operation, m.api_version());
    if (w.body.rfind(want, 0) != 0)
      problems.push_back(fmt::format("{} {}: the form does not start with {}", c.service, c.operation, want));
    if (protocol == "ec2") {  // the fields themselves, named as botocore's EC2Serializer names them
      std::vector<std::pair<std::string, std::string>> sent;
      for (const auto& field : split_form(w.body))
        if (field.first != "Action" && field.first != "Version") sent.push_back(field);
      std::sort(sent.begin(), sent.end());
      const auto expected = m.ec2_form(c.operation, c.params);
      if (sent != expected) {
        std::string a, b;
        for (const auto& [k, v] : sent) a += k + "=" + v + " ";
        for (const auto& [k, v] : expected) b += k + "=" + v + " ";
        problems.push_back(fmt::format("ec2 {}: sent {}; botocore sends {}", c.operation, a, b));
      }
    }
  }
  return problems;
}

}  // namespace qecloud::testing
