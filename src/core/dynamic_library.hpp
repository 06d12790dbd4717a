#pragma once
// A shared library loaded on first use (dlopen) rather than at start. libcurl and cairo, with what they pull
// in (TLS, Kerberos, LDAP, fonts, X), are about two thirds of the binary's resident memory at start; the node
// agent and most commands never need them, so they are loaded only by the code that does (aws/http_curl.cpp,
// report/scf_plot.cpp), through a table of function pointers declared from the library's own header:
//
//   #define MY_FUNCTIONS(X) X(curl_easy_init) X(curl_easy_cleanup)
//   struct CurlApi { MY_FUNCTIONS(QECLOUD_DL_FIELD) };
//   ... QECLOUD_DL_LOAD(lib, api, curl_easy_init) ...
#include <string>

namespace qecloud {

class DynamicLibrary {
 public:
  // Loads `soname` once per process (later calls return the same library). Throws qecloud::Error naming the
  // library, what it is for (`purpose`) and dlerror()'s reason.
  static const DynamicLibrary& open(const std::string& soname, const std::string& purpose);
  // Throws qecloud::Error when the library lacks `name`.
  void* symbol(const char* name) const;

 private:
  DynamicLibrary(void* handle, std::string soname) : handle_(handle), soname_(std::move(soname)) {}
  void* handle_;
  std::string soname_;
};

}  // namespace qecloud

#define QECLOUD_DL_FIELD(f) decltype(&::f) f = nullptr;
#define QECLOUD_DL_LOAD(lib, api, f) (api).f = reinterpret_cast<decltype(&::f)>((lib).symbol(#f));
