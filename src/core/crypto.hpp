#pragma once
// Hashes, HMAC, encodings and random bytes, over OpenSSL's libcrypto (Debian libssl-dev) and the kernel.
// Used by the AWS signer and S3 integrity checks, the agents' frame authentication and per-job secrets.
// Pure functions but random_bytes; digests are raw bytes in std::string unless the name says hex or base64.
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace qecloud {

std::string sha256(std::string_view data);
std::string sha256_hex(std::string_view data);
std::string hmac_sha256(std::string_view key, std::string_view data);
std::string md5(std::string_view data);
std::string hex(std::string_view bytes);  // lower case
std::string base64(std::string_view bytes);
std::string base64_decode(std::string_view text);  // throws qecloud::Error on malformed input

// n bytes from the kernel (getrandom). Throws qecloud::Error.
std::string random_bytes(std::size_t n);
// A fresh secret of n random bytes as 2n lower-case hex characters (per-job rendezvous secrets).
std::string random_hex(std::size_t n);

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

}  // namespace qecloud
