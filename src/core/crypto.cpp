#include "core/crypto.hpp"

#include <sys/random.h>

#include <cerrno>

// SHA256_Init/Update/Final are deprecated in OpenSSL 3 but call the implementation directly; going through
// EVP (HMAC(), EVP_sha256()) first initialises OpenSSL's provider machinery, about 2 MiB resident — a third
// of the node agent's memory, which only needs HMAC-SHA256 for its frames.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/evp.h>
#include <openssl/sha.h>

#include <cstring>

#include <fmt/format.h>

#include "core/error.hpp"

namespace qecloud {

struct Digest::Impl {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~Impl() { EVP_MD_CTX_free(ctx); }
};

Digest::Digest(Kind kind) : impl_(std::make_unique<Impl>()) {
  if (!impl_->ctx ||
      EVP_DigestInit_ex(impl_->ctx, kind == Kind::kMd5 ? EVP_md5() : EVP_sha256(), nullptr) != 1)
    throw Error("OpenSSL: cannot initialise a digest");
}
Digest::~Digest() = default;
Digest::Digest(Digest&&) noexcept = default;
Digest& Digest::operator=(Digest&&) noexcept = default;

void Digest::update(const void* data, std::size_t n) {
  EVP_DigestUpdate(impl_->ctx, data, n);
}

std::string Digest::finish() {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(impl_->ctx, out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string sha256(std::string_view data) {
  Digest d(Digest::Kind::kSha256);
  d.update(data);
  return d.finish();
}

std::string sha256_hex(std::string_view data) {
  return hex(sha256(data));
}

std::string md5(std::string_view data) {
  Digest d(Digest::Kind::kMd5);
  d.update(data);
  return d.finish();
}

// RFC 2104 over SHA-256 (block 64 bytes): H((K ^ opad) || H((K ^ ipad) || data)).
std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char k[SHA256_CBLOCK] = {};
  if (key.size() > SHA256_CBLOCK)
    SHA256(reinterpret_cast<const unsigned char*>(key.data()), key.size(), k);
  else
    std::memcpy(k, key.data(), key.size());
  unsigned char pad[SHA256_CBLOCK], inner[SHA256_DIGEST_LENGTH], out[SHA256_DIGEST_LENGTH];
  SHA256_CTX ctx;
  for (int i = 0; i < SHA256_CBLOCK; ++i) pad[i] = k[i] ^ 0x36;
  SHA256_Init(&ctx);
  SHA256_Update(&ctx, pad, sizeof pad);
  SHA256_Update(&ctx, data.data(), data.size());
  SHA256_Final(inner, &ctx);
  for (int i = 0; i < SHA256_CBLOCK; ++i) pad[i] = k[i] ^ 0x5c;
  SHA256_Init(&ctx);
  SHA256_Update(&ctx, pad, sizeof pad);
  SHA256_Update(&ctx, inner, sizeof inner);
  SHA256_Final(out, &ctx);
  return std::string(reinterpret_cast<char*>(out), sizeof out);
}

std::string hex(std::string_view bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

std::string base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  int n =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                      reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::string base64_decode(std::string_view text) {
  // '=' only as the last one or two characters; OpenSSL would read it anywhere as zero bits.
  std::size_t pad = 0;
  for (auto it = text.rbegin(); it != text.rend() && *it == '='; ++it) ++pad;
  if (text.size() % 4 != 0 || pad > 2 ||
      text.substr(0, text.size() - pad).find('=') != std::string_view::npos)
    throw Error(fmt::format("malformed base64 '{}'", text));
  std::string out(3 * text.size() / 4, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (n < 0) throw Error(fmt::format("malformed base64 '{}'", text));
  out.resize(static_cast<std::size_t>(n) - pad);
  return out;
}

std::string random_bytes(std::size_t n) {
  std::string out(n, '\0');
  std::size_t got = 0;
  while (got < n) {
    ssize_t r = ::getrandom(out.data() + got, n - got, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) throw Error(std::string("getrandom: ") + std::strerror(errno));
    got += static_cast<std::size_t>(r);
  }
  return out;
}

std::string random_hex(std::size_t n) {
  return hex(random_bytes(n));
}

}  // namespace qecloud
