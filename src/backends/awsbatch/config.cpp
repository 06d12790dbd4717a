#include "backends/awsbatch/config.hpp"

#include <algorithm>
#include <filesystem>
#include <regex>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <toml++/toml.h>

#include "core/error.hpp"
#include "core/text.hpp"
#include "core/toml_section.hpp"

namespace fs = std::filesystem;

namespace qecloud::backends::awsbatch {
namespace {

// A value copied from the tutorial is not a value: the call would fail late, at AWS, with a vaguer error.
void refuse_placeholder(const TomlSection& r, const toml::node* n, const std::string& field,
                        const std::string& v) {
  static const std::regex kPlaceholder(
      R"(x{4,}|X{4,}|<[^>]*>|CHANGE[_-]?ME|REPLACE|^(subnet|sg)-[0-9a-f]?x+$)", std::regex::icase);
  if (std::regex_search(v, kPlaceholder))
    r.fail(n, field, fmt::format("'{}' is a placeholder (as in the tutorial); put your own value", v));
}

// CloudWatch Logs API Reference, PutRetentionPolicy: retentionInDays.
constexpr int kLogRetentionDays[] = {1,   3,   5,   7,   14,   30,   60,   90,   120,  150,  180,
                                     365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653};

}  // namespace

std::optional<std::string> find_config(const std::string& explicit_path) {
  return find_config_file(explicit_path);
}

AwsConfig load_config(const std::string& explicit_path) {
  auto path = find_config(explicit_path);
  if (!path)
    throw UsageError(
        "no qecloud.toml here or in $QECLOUD_HOME: AWS Batch needs an [aws] section (region, bucket, "
        "subnets, "
        "security_groups, image, …); see `qecloud infra --help`");
  if (!fs::exists(*path)) throw UsageError(fmt::format("{}: no such file", *path));
  return parse_config(text::read_file(*path), *path);
}

AwsConfig parse_config(const std::string& text, const std::string& source) {
  const toml::table doc = parse_qecloud_toml(text, source);
  const toml::table* aws = doc["aws"].as_table();
  if (!aws) throw UsageError(fmt::format("{}: no [aws] section", source));
  TomlSection r(*aws, "aws", source, refuse_placeholder);
  r.refuse_unknown({"region", "bucket", "prefix", "name", "subnets", "security_groups", "instance_types",
                    "max_vcpus", "image", "vcpus_per_node", "memory_mib", "shared_memory_mib",
                    "log_retention_days", "runnable_timeout_minutes", "root_volume_gib", "prices"});

  constexpr const char* kMissing = "missing (see `qecloud infra --help` for an example)";
  AwsConfig c;
  c.source = source;
  c.region = r.string("region", {}, kMissing);
  if (!std::regex_match(c.region, std::regex(R"([a-z]{2}(-[a-z]+)+-\d)")))
    r.fail(aws->get("region"), "region", fmt::format("'{}' is not a region name like us-east-2", c.region));
  c.bucket = r.string("bucket", {}, kMissing);
  if (!std::regex_match(c.bucket, std::regex(R"([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])")))
    r.fail(aws->get("bucket"), "bucket",
           fmt::format("'{}' is not a valid bucket name (3-63 of a-z 0-9 . -)", c.bucket));
  c.prefix = r.string("prefix", c.prefix);
  while (!c.prefix.empty() && c.prefix.back() == '/') c.prefix.pop_back();
  c.name = r.string("name", c.name);
  if (!std::regex_match(c.name, std::regex(R"([A-Za-z][A-Za-z0-9_-]{0,40})")))
    r.fail(aws->get("name"), "name", "letters, digits, - and _, starting with a letter, at most 41");
  c.subnets = r.strings("subnets", true);
  for (std::size_t i = 0; i < c.subnets.size(); ++i)
    if (c.subnets[i].rfind("subnet-", 0) != 0)
      r.fail(aws->get("subnets")->as_array()->get(i), fmt::format("subnets[{}]", i),
             fmt::format("'{}' is not a subnet id (subnet-…)", c.subnets[i]));
  c.security_groups = r.strings("security_groups", true);
  for (std::size_t i = 0; i < c.security_groups.size(); ++i)
    if (c.security_groups[i].rfind("sg-", 0) != 0)
      r.fail(aws->get("security_groups")->as_array()->get(i), fmt::format("security_groups[{}]", i),
             fmt::format("'{}' is not a security group id (sg-…)", c.security_groups[i]));
  c.instance_types = r.strings("instance_types", true);
  c.max_vcpus = r.integer("max_vcpus", c.max_vcpus, 1, 1000000);
  c.image = r.string("image", {}, kMissing);
  c.vcpus_per_node = r.integer("vcpus_per_node", c.vcpus_per_node, 1, 448);
  c.memory_mib = r.integer("memory_mib", c.memory_mib, 512, 24 * 1024 * 1024);
  c.shared_memory_mib = r.integer("shared_memory_mib", c.shared_memory_mib, 64, 1024 * 1024);
  c.log_retention_days = r.integer("log_retention_days", c.log_retention_days, 1, 3653);
  if (std::find(std::begin(kLogRetentionDays), std::end(kLogRetentionDays), c.log_retention_days) ==
      std::end(kLogRetentionDays))
    r.fail(aws->get("log_retention_days"), "log_retention_days",
           fmt::format("{} is not a retention CloudWatch Logs offers; one of {}", c.log_retention_days,
                       fmt::join(kLogRetentionDays, ", ")));
  // Batch's JobStateTimeLimitAction: maxTimeSeconds from 600 to 86,400.
  c.runnable_timeout_minutes = r.integer("runnable_timeout_minutes", c.runnable_timeout_minutes, 10, 1440);
  // The ECS AL2023 AMI's snapshot is 30 GiB: EC2 refuses a smaller root volume; 16 TiB is gp3's largest.
  c.root_volume_gib = r.integer("root_volume_gib", c.root_volume_gib, 30, 16384);
  if (const toml::node* p = aws->get("prices")) {
    const toml::table* t = p->as_table();
    if (!t) r.fail(p, "prices", "must be a table of instance type = USD per hour");
    for (const auto& [type, price] : *t) {
      auto v = price.value<double>();
      if (!v || *v < 0)
        r.fail(&price, fmt::format("prices.\"{}\"", type.str()),
               "must be a non-negative number (USD per hour)");
      c.prices[std::string(type.str())] = *v;
    }
  }
  return c;
}

std::string with_image(const std::string& text, const std::string& uri) {
  static const std::regex kSection(R"(^\s*\[([^\]]*)\]\s*(#.*)?$)");
  static const std::regex kImage(R"(^\s*image\s*=.*$)");
  const std::string line = fmt::format("image = \"{}\"", uri);
  std::vector<std::string> lines;
  for (std::size_t start = 0; start < text.size();) {
    const std::size_t end = std::min(text.find('\n', start), text.size());
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  std::optional<std::size_t> aws_header;
  std::string section;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    std::smatch m;
    if (std::regex_match(lines[i], m, kSection)) {
      section = std::string(text::trim(m[1].str()));
      if (section == "aws") aws_header = i;
    } else if (section == "aws" && std::regex_match(lines[i], kImage)) {
      lines[i] = line;
      aws_header.reset();
      section = "done";
      break;
    }
  }
  if (section != "done") {
    if (aws_header)
      lines.insert(lines.begin() + static_cast<std::ptrdiff_t>(*aws_header) + 1, line);
    else
      lines.insert(lines.end(), {"", "[aws]", line});
  }
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

}  // namespace qecloud::backends::awsbatch
