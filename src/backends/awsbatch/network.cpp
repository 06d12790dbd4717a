#include "backends/awsbatch/network.hpp"

#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "backends/awsbatch/calls.hpp"
#include "core/error.hpp"

namespace qecloud::backends::awsbatch {
namespace {

using json = nlohmann::json;

json filter(const std::string& name, const std::vector<std::string>& values) {
  return {{"Name", name}, {"Values", values}};
}

json tag_spec(const AwsConfig& c, const char* resource_type, const std::string& name) {
  return json::array({{{"ResourceType", resource_type},
                       {"Tags", json::array({{{"Key", "qecloud"}, {"Value", c.name}},
                                             {{"Key", "Name"}, {"Value", name}}})}}});
}

std::string text(const json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
}

std::string mpi_group_name(const AwsConfig& c) {
  return c.name + "-mpi";
}

// Where a subnet's traffic to 0.0.0.0/0 goes, as its route table says.
struct DefaultRoute {
  std::string target;  // "nat-…", "igw-…", "i-…", "eni-…", "tgw-…"; empty: no default route
  bool is_nat() const { return !target.empty() && target.rfind("igw-", 0) != 0; }
};

DefaultRoute default_route(const json& route_table) {
  for (const auto& r : list_at(route_table, "routeSet")) {
    if (text(r, "destinationCidrBlock") != "0.0.0.0/0" || text(r, "state") == "blackhole") continue;
    for (const char* key :
         {"natGatewayId", "gatewayId", "instanceId", "networkInterfaceId", "transitGatewayId"}) {
      const std::string t = text(r, key);
      if (!t.empty() && t != "local") return {t};
    }
  }
  return {};
}

// The route table each subnet uses: the one associated with it, else its VPC's main one.
std::map<std::string, json> route_tables_of(aws::Api& api, const std::string& vpc,
                                            const std::vector<std::string>& subnets) {
  std::map<std::string, json> out;
  const json tables =
      api.must({"ec2", "DescribeRouteTables", {{"Filters", json::array({filter("vpc-id", {vpc})})}}});
  json main;
  for (const auto& t : list_at(tables, "routeTableSet"))
    for (const auto& a : list_at(t, "associationSet")) {
      if (text(a, "main") == "true") main = t;
      const std::string subnet = text(a, "subnetId");
      if (std::find(subnets.begin(), subnets.end(), subnet) != subnets.end()) out[subnet] = t;
    }
  for (const auto& s : subnets)
    if (!out.count(s)) {
      if (main.is_null())
        throw Error(fmt::format("VPC {} has no main route table and subnet {} none of its own", vpc, s));
      out[s] = main;
    }
  return out;
}

// The S3 gateway endpoints matching `filters` that are not on their way out (EC2 lists deleted ones a while).
std::vector<json> live_endpoints(aws::Api& api, const AwsConfig& c, std::vector<json> filters) {
  filters.push_back(filter("service-name", {s3_service_name(c.region)}));
  const json found = api.must({"ec2", "DescribeVpcEndpoints", {{"Filters", filters}}});
  std::vector<json> out;
  for (const auto& e : list_at(found, "vpcEndpointSet")) {
    std::string state = text(e, "state");
    std::transform(state.begin(), state.end(), state.begin(),
                   [](unsigned char ch) { return std::tolower(ch); });
    if (state != "deleting" && state != "deleted" && state != "failed" && state != "rejected")
      out.push_back(e);
  }
  return out;
}

bool tagged_ours(const json& resource, const AwsConfig& c) {
  for (const auto& t : list_at(resource, "tagSet"))
    if (text(t, "key") == "qecloud" && text(t, "value") == c.name) return true;
  return false;
}

// A rule admitting all protocols (IpProtocol -1) from one of `from` (security group ids), or from anywhere.
bool admits_all_from(const json& permissions, const std::set<std::string>& from) {
  for (const auto& p : permissions) {
    if (text(p, "ipProtocol") != "-1") continue;
    for (const auto& g : list_at(p, "groups"))
      if (from.count(text(g, "groupId"))) return true;
    for (const auto& r : list_at(p, "ipRanges"))
      if (text(r, "cidrIp") == "0.0.0.0/0") return true;
  }
  return false;
}

std::vector<json> security_groups(aws::Api& api, const std::vector<std::string>& ids) {
  const json found = api.must({"ec2", "DescribeSecurityGroups", {{"GroupIds", ids}}});
  const json list = list_at(found, "securityGroupInfo");
  return {list.begin(), list.end()};
}

std::optional<json> our_group(aws::Api& api, const AwsConfig& c, const std::string& vpc) {
  std::vector<json> filters = {filter("group-name", {mpi_group_name(c)}), filter("tag:qecloud", {c.name})};
  if (!vpc.empty()) filters.push_back(filter("vpc-id", {vpc}));
  const json found = api.must({"ec2", "DescribeSecurityGroups", {{"Filters", filters}}});
  for (const auto& g : list_at(found, "securityGroupInfo")) return g;
  return std::nullopt;
}

}  // namespace

std::string s3_service_name(const std::string& region) {
  return fmt::format("com.amazonaws.{}.s3", region);
}

NetworkPlan plan_network(aws::Api& api, const AwsConfig& c) {
  NetworkPlan plan;
  const std::string where = fmt::format("{}: aws.subnets", c.source);

  // Subnets: one VPC, one availability zone.
  const json answer = api.must({"ec2", "DescribeSubnets", {{"SubnetIds", c.subnets}}});
  std::map<std::string, json> subnet;
  for (const auto& s : list_at(answer, "subnetSet")) subnet[text(s, "subnetId")] = s;
  std::map<std::string, std::vector<std::string>> by_zone, by_vpc;
  for (const auto& id : c.subnets) {
    if (!subnet.count(id))
      throw UsageError(fmt::format("{}: EC2 does not describe subnet {} in {}", where, id, c.region));
    by_zone[text(subnet[id], "availabilityZone")].push_back(id);
    by_vpc[text(subnet[id], "vpcId")].push_back(id);
  }
  auto listing = [](const std::map<std::string, std::vector<std::string>>& groups) {
    std::vector<std::string> parts;
    for (const auto& [key, ids] : groups) parts.push_back(fmt::format("{} in {}", fmt::join(ids, ", "), key));
    return fmt::format("{}", fmt::join(parts, "; "));
  };
  if (by_vpc.size() > 1)
    throw UsageError(
        fmt::format("{}: the subnets are in {} VPCs ({}); a compute environment's subnets "
                    "must share one VPC",
                    where, by_vpc.size(), listing(by_vpc)));
  if (by_zone.size() > 1)
    throw UsageError(fmt::format(
        "{}: the subnets are in {} availability zones ({}); the cluster placement group that keeps MPI "
        "traffic fast lives in one zone (EC2 User Guide, \"Placement groups\"): list subnets of one zone",
        where, by_zone.size(), listing(by_zone)));
  plan.vpc = by_vpc.begin()->first;
  plan.zone = by_zone.begin()->first;
  plan.checked.push_back({"subnets", fmt::format("{}", fmt::join(c.subnets, ", ")), "checked",
                          fmt::format("{}, {}", plan.zone, plan.vpc)});

  // Routes: the instances out to ECS, the nodes out to S3.
  const auto tables = route_tables_of(api, plan.vpc, c.subnets);
  const auto endpoints = live_endpoints(api, c, {filter("vpc-id", {plan.vpc})});
  std::set<std::string> s3_tables;  // route tables some S3 gateway endpoint is on
  for (const auto& e : endpoints) {
    for (const auto& t : list_at(e, "routeTableIdSet"))
      if (t.is_string()) s3_tables.insert(t.get<std::string>());
    if (tagged_ours(e, c)) plan.endpoint = text(e, "vpcEndpointId");
  }
  std::set<std::string> need;
  for (const auto& id : c.subnets) {
    const json& table = tables.at(id);
    const std::string table_id = text(table, "routeTableId");
    const DefaultRoute out = default_route(table);
    const bool public_ip = text(subnet[id], "mapPublicIpOnLaunch") == "true";
    if (!out.is_nat() && !(out.target.rfind("igw-", 0) == 0 && public_ip))
      throw UsageError(fmt::format(
          "{}: subnet {} (route table {}) has {}: its instances could not reach ECS to register nor pull "
          "the image. Use a private subnet whose route table sends 0.0.0.0/0 to a NAT gateway, or a public "
          "one that assigns public IPv4 addresses on launch",
          where, id, table_id,
          out.target.empty() ? "no route to 0.0.0.0/0"
                             : fmt::format("its default route to {} but gives no public IPv4 address on "
                                           "launch (MapPublicIpOnLaunch)",
                                           out.target)));
    if (out.is_nat()) {
      plan.checked.push_back({"S3 path", id, "checked", fmt::format("0.0.0.0/0 through {}", out.target)});
    } else if (s3_tables.count(table_id)) {
      plan.checked.push_back({"S3 path", id, "checked", "S3 gateway endpoint on " + table_id});
    } else {
      need.insert(table_id);
    }
  }
  plan.route_tables_for_s3.assign(need.begin(), need.end());

  // Security groups: the nodes to each other.
  const auto groups = security_groups(api, c.security_groups);
  const std::set<std::string> ids(c.security_groups.begin(), c.security_groups.end());
  bool in = false, out = false;
  for (const auto& g : groups) {
    if (text(g, "vpcId") != plan.vpc)
      throw UsageError(fmt::format("{}: aws.security_groups: {} is in {}, the subnets in {}", c.source,
                                   text(g, "groupId"), text(g, "vpcId"), plan.vpc));
    in |= admits_all_from(list_at(g, "ipPermissions"), ids);
    out |= admits_all_from(list_at(g, "ipPermissionsEgress"), ids);
  }
  plan.needs_mpi_group = !(in && out);
  if (!plan.needs_mpi_group)
    plan.checked.push_back({"security groups", fmt::format("{}", fmt::join(c.security_groups, ", ")),
                            "checked", "admit all traffic between the nodes"});
  return plan;
}

std::vector<std::string> make_network(aws::Api& api, const AwsConfig& c, const NetworkPlan& plan,
                                      std::vector<InfraItem>& items) {
  items.insert(items.end(), plan.checked.begin(), plan.checked.end());
  const std::string tables = fmt::format("{}", fmt::join(plan.route_tables_for_s3, ", "));
  if (!plan.route_tables_for_s3.empty() && plan.endpoint.empty()) {
    const json made = api.must({"ec2",
                                "CreateVpcEndpoint",
                                {{"VpcEndpointType", "Gateway"},
                                 {"VpcId", plan.vpc},
                                 {"ServiceName", s3_service_name(c.region)},
                                 {"RouteTableIds", plan.route_tables_for_s3},
                                 {"TagSpecifications", tag_spec(c, "vpc-endpoint", c.name + "-s3")}}});
    items.push_back({"S3 gateway endpoint", text(made.value("vpcEndpoint", json::object()), "vpcEndpointId"),
                     "created", "the nodes have no public IP: S3 through it, on " + tables});
  } else if (!plan.route_tables_for_s3.empty()) {
    api.must({"ec2",
              "ModifyVpcEndpoint",
              {{"VpcEndpointId", plan.endpoint}, {"AddRouteTableIds", plan.route_tables_for_s3}}});
    items.push_back({"S3 gateway endpoint", plan.endpoint, "updated", "now also on " + tables});
  } else if (!plan.endpoint.empty()) {
    items.push_back({"S3 gateway endpoint", plan.endpoint, "exists", ""});
  }

  std::vector<std::string> groups = c.security_groups;
  if (!plan.needs_mpi_group) return groups;
  std::string id;
  std::string state = "exists";
  if (auto g = our_group(api, c, plan.vpc)) {
    id = text(*g, "groupId");
  } else {
    id = text(api.must({"ec2",
                        "CreateSecurityGroup",
                        {{"GroupName", mpi_group_name(c)},
                         {"Description", "qecloud: MPI and agent traffic between the nodes of a job"},
                         {"VpcId", plan.vpc},
                         {"TagSpecifications", tag_spec(c, "security-group", mpi_group_name(c))}}}),
              "groupId");
    state = "created";
  }
  const auto have = security_groups(api, {id});
  if (have.empty() || !admits_all_from(list_at(have.front(), "ipPermissions"), {id})) {
    api.must(
        {"ec2",
         "AuthorizeSecurityGroupIngress",
         {{"GroupId", id},
          {"IpPermissions",
           json::array({{{"IpProtocol", "-1"},
                         {"UserIdGroupPairs",
                          json::array({{{"GroupId", id}, {"Description", "the job's other nodes"}}})}}})}}});
    if (state == "exists") state = "updated";
  }
  items.push_back({"security group", mpi_group_name(c), state, id + ": all traffic from itself"});
  groups.push_back(id);
  return groups;
}

void remove_network(aws::Api& api, const AwsConfig& c, int wait_timeout_s, const Notes& notes,
                    std::vector<InfraItem>& items) {
  auto add = [&](std::string kind, std::string name, std::string state, std::string detail = {}) {
    if (notes) notes(fmt::format("{} {}: {}", kind, name, state));
    items.push_back({std::move(kind), std::move(name), std::move(state), std::move(detail)});
  };
  std::vector<std::string> ours;
  for (const auto& e : live_endpoints(api, c, {filter("tag:qecloud", {c.name})}))
    ours.push_back(text(e, "vpcEndpointId"));
  if (!ours.empty()) api.must({"ec2", "DeleteVpcEndpoints", {{"VpcEndpointIds", ours}}});
  add("S3 gateway endpoint", ours.empty() ? c.name + "-s3" : fmt::format("{}", fmt::join(ours, ", ")),
      ours.empty() ? "absent" : "deleted");

  auto group = our_group(api, c, "");
  if (!group) return add("security group", mpi_group_name(c), "absent");
  const std::string id = text(*group, "groupId");
  // The compute environment's instances and their network interfaces go some minutes after it: until then
  // the group is in use (DependencyViolation).
  wait_for(fmt::format("security group {} to be released by the instances' network interfaces", id),
           wait_timeout_s, notes, [&] {
             auto r = api.call({"ec2", "DeleteSecurityGroup", {{"GroupId", id}}});
             if (r) return true;
             if (r.error().code == "DependencyViolation") return false;
             if (r.error().code == "InvalidGroup.NotFound") return true;
             api.must({"ec2", "DeleteSecurityGroup", {{"GroupId", id}}});  // throws with AWS's message
             return true;
           });
  add("security group", mpi_group_name(c), "deleted", id);
}

void network_status(aws::Api& api, const AwsConfig& c, std::vector<InfraItem>& items) {
  const auto endpoints = live_endpoints(api, c, {filter("tag:qecloud", {c.name})});
  if (endpoints.empty()) {
    items.push_back({"S3 gateway endpoint", c.name + "-s3", "absent", ""});
  } else {
    for (const auto& e : endpoints) {
      std::vector<std::string> tables;
      for (const auto& t : list_at(e, "routeTableIdSet"))
        if (t.is_string()) tables.push_back(t.get<std::string>());
      items.push_back({"S3 gateway endpoint", text(e, "vpcEndpointId"), "present",
                       fmt::format("{} on {}", text(e, "vpcId"), fmt::join(tables, ", "))});
    }
  }
  auto group = our_group(api, c, "");
  items.push_back({"security group", mpi_group_name(c), group ? "present" : "absent",
                   group ? text(*group, "groupId") : ""});
}

}  // namespace qecloud::backends::awsbatch
