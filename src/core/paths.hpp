#pragma once
// Where qecloud keeps its state: $QECLOUD_HOME (default ~/.qecloud). What lives there — the job database,
// the default store, local runs' work directories — is named by job/ (database.hpp, store_layout.hpp).
#include <string>

namespace qecloud {

std::string qecloud_home();  // created if missing; throws qecloud::Error naming the path when it cannot be

}  // namespace qecloud
