#pragma once
// Hashes and encodings the AWS protocols need, over OpenSSL's libcrypto (Debian libssl-dev). Pure functions;
// digests are raw bytes in std::string unless the name says hex or base64.
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace qecloud::aws {

std::string sha256(std::string_view data);
std::string sha256_hex(std::string_view data);
std::string hmac_sha256(std::string_view key, std::string_view data);
std::string md5(std::string_view data);
std::string hex(std::string_view bytes);  // lower case
std::string base64(std::string_view bytes);
std::string base64_decode(std::string_view text);  // throws qecloud::Error on malformed input

// An incremental digest (for files and streams larger than memory).
class Digest {
 public:
  enum class Kind { kMd5, kSha256 };
  explicit Digest(Kind kind);
  ~Digest();
  Digest(Digest&&) noexcept;
  Digest& operator=(Digest&&) noexcept;
  void update(const void* data, std::size_t n);
  void update(std::string_view s) { update(s.data(), s.size()); }
  std::string finish();  // raw bytes; the digest cannot be updated afterwards

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace qecloud::aws
