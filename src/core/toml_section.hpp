#pragma once
// One section of qecloud.toml ([aws], [slurm], …), read strictly: a missing field, a wrong type, a value out
// of range or an unknown key is a qecloud::UsageError (exit 2) naming file:line and the field —
// "qecloud.toml:4: slurm.time: must be a string". How a section is read is here, once; what its values
// mean is the business of whoever reads it (a backend's config.cpp).
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include <toml++/toml.h>

namespace qecloud {

// The qecloud.toml to read: `explicit_path`, else ./qecloud.toml, else $QECLOUD_HOME/qecloud.toml (its
// default ~/.qecloud); nullopt when there is none.
std::optional<std::string> find_config_file(const std::string& explicit_path = {});

// Parses TOML text; a syntax error is a UsageError naming file:line:col.
toml::table parse_toml(const std::string& text, const std::string& source);

// Parses qecloud.toml: parse_toml, then a top-level key that is none of qecloud.toml's sections — one per
// backend configured there: [aws], [slurm] — is refused naming file:line and the closest section ("[slurn]:
// not a section of qecloud.toml (did you mean [slurm]?)"), so a typo is not silently a default.
toml::table parse_qecloud_toml(const std::string& text, const std::string& source);

class TomlSection {
 public:
  // Called with every string value read (lists' elements too), to refuse what is not a value (a
  // tutorial's placeholder); it calls fail() to refuse.
  using StringCheck = std::function<void(const TomlSection&, const toml::node*, const std::string& field,
                                         const std::string&)>;

  TomlSection(const toml::table& table, std::string section, std::string source, StringCheck check = {})
      : table_(table), section_(std::move(section)), source_(std::move(source)), check_(std::move(check)) {}

  // "<source>:<line>: <section>.<field>: <why>" (without the line when the node is null or has none).
  [[noreturn]] void fail(const toml::node* n, const std::string& field, const std::string& why) const;
  // Refuses the first key that is not in `known` ("unknown field (a typo?)").
  void refuse_unknown(std::initializer_list<const char*> known) const;

  const toml::node* get(const std::string& field) const { return table_.get(field); }
  // A string; `missing` (when not empty) makes it required and says what to do.
  std::string string(const std::string& field, const std::string& fallback = {},
                     const std::string& missing = {}) const;
  std::vector<std::string> strings(const std::string& field, bool required) const;
  int integer(const std::string& field, int fallback, std::int64_t min, std::int64_t max) const;
  const toml::table& table() const { return table_; }
  const std::string& source() const { return source_; }

 private:
  const toml::table& table_;
  std::string section_, source_;
  StringCheck check_;
};

}  // namespace qecloud
