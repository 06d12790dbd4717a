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
std::optional<double> cost_usd(const std::string& instance_type, int nodes, double hours,
                               const std::map<std::string, double>& overrides);

}  // namespace qecloud::backends::awsbatch
