#pragma once
// The network a multi-node job's nodes work in, checked by `infra up` before it creates anything, and the
// free fixes it makes (recorded by a `qecloud=<name>` tag, so `infra down` removes exactly them):
//
//   - One availability zone. The compute environment launches its instances into a cluster placement group,
//     which lives in a single zone (EC2 User Guide, "Placement groups": "A cluster placement group is a
//     logical grouping of instances within a single Availability Zone"); subnets in two zones are refused,
//     naming each subnet's zone. All subnets must be in one VPC.
//   - The instances must reach ECS, ECR and CloudWatch Logs: a route 0.0.0.0/0 to a NAT gateway (or another
//     NAT: an instance, an interface, a transit gateway), or to an internet gateway from a subnet that gives
//     public IPv4 addresses on launch. A subnet with neither is refused, naming it (AWS Batch User Guide,
//     "Compute environments": the instances need outbound access to the Amazon ECS service endpoint).
//   - The nodes themselves must reach S3 (input, restart data and results): a multi-node job's containers run
//     in awsvpc mode and their interfaces get no public IP (ECS Developer Guide, "Task networking with the
//     awsvpc network mode": "tasks aren't given public IP addresses"), so an internet gateway does not
//     take them out. A NAT route does; otherwise `up` makes an S3 gateway endpoint
//     (com.amazonaws.<region>.s3, free of charge: VPC User Guide, "Gateway endpoints for Amazon S3") and
//     puts it on the subnets' route tables — the explicitly associated one, else the VPC's main one.
//   - The nodes must reach each other on any port (MPI's TCP BTL and OOB, the agents): one of the security
//     groups must admit all traffic from a group the nodes have, and one must let all traffic out. Otherwise
//     `up` makes the security group `<name>-mpi` in the subnets' VPC, admitting all traffic from itself (a
//     new group lets all traffic out: VPC User Guide, "Security group rules", default rules), and adds it to
//     the compute environment's groups.
//
// Answers are read as EC2's query protocol returns them (item sets under their XML names: subnetSet,
// routeTableSet, vpcEndpointSet, securityGroupInfo).
#include <string>
#include <vector>

#include "aws/api.hpp"
#include "backends/awsbatch/config.hpp"
#include "backends/awsbatch/infra.hpp"

namespace qecloud::backends::awsbatch {

struct NetworkPlan {
  std::string vpc;
  std::string zone;                               // the one availability zone of every subnet
  std::vector<std::string> route_tables_for_s3;   // route tables whose subnets have no way to S3 yet
  std::string endpoint;                           // qecloud's S3 gateway endpoint, when it exists already
  bool needs_mpi_group = false;                   // no listed security group admits the nodes' traffic
  std::vector<InfraItem> checked;                 // what was found, for `up`'s report
};

// DescribeSubnets, DescribeRouteTables, DescribeVpcEndpoints, DescribeSecurityGroups: what `up` must make.
// Throws qecloud::UsageError naming the subnets and zones, the subnet or the security group when there is
// no free fix; AWS's own error when a subnet or group does not exist.
NetworkPlan plan_network(aws::Api& api, const AwsConfig& c);

// Makes the plan's fixes (S3 gateway endpoint on the route tables, the `<name>-mpi` group); returns the
// security groups the compute environment gets: the configured ones, plus `<name>-mpi` when it is needed.
std::vector<std::string> make_network(aws::Api& api, const AwsConfig& c, const NetworkPlan& plan,
                                      std::vector<InfraItem>& items);

// `down`, once the compute environment is gone: deletes the endpoint and group tagged qecloud=<name>,
// waiting while the group is still held by network interfaces AWS has not released yet.
void remove_network(aws::Api& api, const AwsConfig& c, int wait_timeout_s, const Notes& notes,
                    std::vector<InfraItem>& items);

// `status`: qecloud's endpoint and group, present or absent.
void network_status(aws::Api& api, const AwsConfig& c, std::vector<InfraItem>& items);

// The S3 gateway endpoint's service name in a region: com.amazonaws.<region>.s3.
std::string s3_service_name(const std::string& region);

}  // namespace qecloud::backends::awsbatch
