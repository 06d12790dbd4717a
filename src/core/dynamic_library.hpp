#pragma once
// A shared library loaded on first use (dlopen) rather than at start. libcurl and cairo, with what they pull
// in (TLS, Kerberos, LDAP, fonts, X), are about two thirds of the binary's resident memory at start; the node
// agent and most commands never need them, so they are loaded only by the code that does (aws/http_curl.cpp,
// report/scf_plot.cpp), through a table of function pointers declared from the library's own header:
//
//   #define CURL_FUNCTIONS(X) X(curl_easy_init) X(curl_easy_cleanup)
//   QECLOUD_DL_API(CurlApi, curl, "libcurl.so.4", "HTTP", CURL_FUNCTIONS)
//   ... curl().curl_easy_init() ...   // loads the library at the first call; throws if it cannot
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
#define QECLOUD_DL_LOAD(f) api.f = reinterpret_cast<decltype(&::f)>(lib.symbol(#f));
// Defines `struct Type` (one pointer per function in LIST, typed from the library's header) and
// `const Type& accessor()`, which loads `soname` and every function once, at its first call.
#define QECLOUD_DL_API(Type, accessor, soname, purpose, LIST)             \
  struct Type {                                                           \
    LIST(QECLOUD_DL_FIELD)                                                \
  };                                                                      \
  const Type& accessor() {                                                \
    static const Type loaded = [] {                                       \
      const auto& lib = ::qecloud::DynamicLibrary::open(soname, purpose); \
      Type api;                                                           \
      LIST(QECLOUD_DL_LOAD)                                               \
      return api;                                                         \
    }();                                                                  \
    return loaded;                                                        \
  }
