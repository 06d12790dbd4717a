#include "backends/awsbatch/launch_template.hpp"

#include <optional>

#include <fmt/format.h>

#include "backends/awsbatch/calls.hpp"

namespace qecloud::backends::awsbatch {
namespace {

using json = nlohmann::json;

// The ECS AL2023 AMI's root device (ECS Developer Guide, "Amazon ECS-optimized Linux AMIs").
constexpr const char* kRootDevice = "/dev/xvda";

// EC2 answers numbers as text.
int number(const json& j, const char* key) {
  if (!j.is_object() || !j.contains(key)) return 0;
  if (j[key].is_number_integer()) return j[key].get<int>();
  return j[key].is_string() ? std::atoi(j[key].get<std::string>().c_str()) : 0;
}

std::optional<json> find(aws::Api& api, const AwsConfig& c) {
  auto found = api.must({"ec2",
                         "DescribeLaunchTemplates",
                         {{"Filters", json::array({{{"Name", "launch-template-name"},
                                                    {"Values", json::array({c.launch_template()})}}})}}});
  for (const auto& t : list_at(found, "launchTemplates"))
    if (t.value("launchTemplateName", "") == c.launch_template()) return t;
  return std::nullopt;
}

}  // namespace

json launch_template_data(const AwsConfig& c) {
  return {{"BlockDeviceMappings", json::array({{{"DeviceName", kRootDevice},
                                                {"Ebs",
                                                 {{"VolumeSize", c.root_volume_gib},
                                                  {"VolumeType", "gp3"},
                                                  {"Encrypted", true},
                                                  {"DeleteOnTermination", true}}}}})}};
}

LaunchTemplateResult ensure_launch_template(aws::Api& api, const AwsConfig& c) {
  const std::string detail = fmt::format("root volume {} GiB", c.root_volume_gib);
  if (!find(api, c)) {
    auto made =
        api.must({"ec2",
                  "CreateLaunchTemplate",
                  {{"LaunchTemplateName", c.launch_template()},
                   {"LaunchTemplateData", launch_template_data(c)},
                   {"TagSpecifications",
                    json::array({{{"ResourceType", "launch-template"},
                                  {"Tags", json::array({{{"Key", "qecloud"}, {"Value", c.name}}})}}})}}});
    const int v = number(made.value("launchTemplate", json::object()), "latestVersionNumber");
    return {{"launch template", c.launch_template(), "created", detail}, std::to_string(v ? v : 1)};
  }
  auto versions =
      api.must({"ec2",
                "DescribeLaunchTemplateVersions",
                {{"LaunchTemplateName", c.launch_template()}, {"Versions", json::array({"$Latest"})}}});
  for (const auto& v : list_at(versions, "launchTemplateVersionSet")) {
    const json data = v.value("launchTemplateData", json::object());
    for (const auto& m : list_at(data, "blockDeviceMappingSet"))
      if (m.value("deviceName", "") == kRootDevice &&
          number(m.value("ebs", json::object()), "volumeSize") == c.root_volume_gib)
        return {{"launch template", c.launch_template(), "exists", detail},
                std::to_string(number(v, "versionNumber"))};
  }
  auto made = api.must(
      {"ec2",
       "CreateLaunchTemplateVersion",
       {{"LaunchTemplateName", c.launch_template()}, {"LaunchTemplateData", launch_template_data(c)}}});
  const std::string v =
      std::to_string(number(made.value("launchTemplateVersion", json::object()), "versionNumber"));
  return {{"launch template", c.launch_template(), fmt::format("updated (version {})", v), detail}, v};
}

InfraItem remove_launch_template(aws::Api& api, const AwsConfig& c) {
  if (!find(api, c)) return {"launch template", c.launch_template(), "absent", ""};
  api.must({"ec2", "DeleteLaunchTemplate", {{"LaunchTemplateName", c.launch_template()}}});
  return {"launch template", c.launch_template(), "deleted", ""};
}

InfraItem launch_template_status(aws::Api& api, const AwsConfig& c) {
  auto t = find(api, c);
  return {"launch template", c.launch_template(), t ? "present" : "absent",
          t ? t->value("launchTemplateId", "") : ""};
}

}  // namespace qecloud::backends::awsbatch
