#pragma once
// Where qecloud keeps its state: $QECLOUD_HOME (default ~/.qecloud) holds the job database (jobs.db), the
// default file:// store (store/) and the working directories of local runs (work/<job id>/).
#include <string>

namespace qecloud {

std::string qecloud_home();       // created if missing; throws qecloud::Error when it cannot be
std::string job_db_path();        // <home>/jobs.db
std::string default_store_url();  // file://<home>/store
std::string new_job_id();         // "20261124-103512-4f2a": sortable by time, unique across processes

}  // namespace qecloud
