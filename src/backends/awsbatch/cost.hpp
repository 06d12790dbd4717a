#pragma once
// What a job costs: instance type × nodes × hours at an hourly price. The built-in table holds Linux
// on-demand prices in us-east-1 (USD per instance-hour, as listed by AWS in 2024; other regions differ by a
// few per cent); [aws.prices] in qecloud.toml overrides or adds entries. EBS, data transfer and CloudWatch
// are not counted: for MPI jobs of hours they are a few per cent of the instances' cost.
#include <map>
#include <optional>
#include <string>

namespace qecloud::backends::awsbatch {

struct Price {
  double usd_per_hour = 0;
  std::string source;  // "built-in table (us-east-1 on-demand, 2024)" or "qecloud.toml [aws.prices]"
};

// nullopt when neither the table nor the overrides know the type.
std::optional<Price> instance_price(const std::string& instance_type,
                                    const std::map<std::string, double>& overrides);

// "3 × c5n.18xlarge × 1.50 h at $3.888/h = $17.50", or a note that the price is unknown.
std::string cost_line(const std::string& instance_type, int nodes, double hours,
                      const std::map<std::string, double>& overrides);
// The most a job can cost: every attempt of the retry strategy running to its timeout,
// "at most 3 attempts × 3 × c5n.18xlarge × 1.00 h at $3.888/h = $34.99 (…); plus each attempt's boot and
// image pull". Batch's timeout counts from RUNNING, so the instances' time before it is billed on top.
std::string ceiling_line(const std::string& instance_type, int nodes, double hours_per_attempt, int attempts,
                         const std::map<std::string, double>& overrides);
// What `status` adds to a job's cost so far (counted from when Batch says it started): EC2 bills each
// instance from its launch, so its boot, the ECS agent's start and the image pull come on top.
inline constexpr const char* kBilledBeforeStart =
    "counted from the job's start; the instances' boot and image pull before it are billed too";
std::optional<double> cost_usd(const std::string& instance_type, int nodes, double hours,
                               const std::map<std::string, double>& overrides);

}  // namespace qecloud::backends::awsbatch
