// Unit tests of the AWS core (src/aws): hashes and encodings, SigV4, the credential chain, the retrying
// client and redaction. No network: HTTP goes to a fake HttpClient, the environment is a map.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "aws/client.hpp"
#include "aws/credentials.hpp"
#include "aws/http.hpp"
#include "aws/sigv4.hpp"
#include "core/crypto.hpp"
#include "core/error.hpp"
#include "core/expected.hpp"

namespace fs = std::filesystem;
using namespace qecloud;
using namespace qecloud::aws;

namespace {

// ---------------------------------------------------------------------------------------------- fakes

struct TempDir {
  fs::path path;
  TempDir() {
    static std::atomic<int> counter{0};
    path = fs::temp_directory_path() /
           ("qecloud-aws-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string write(const std::string& rel, const std::string& text) const {
    fs::path p = path / rel;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
    return p.string();
  }
};

using EnvMap = std::map<std::string, std::string>;

EnvLookup fake_env(EnvMap vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

bool iequal(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

std::optional<std::string> find_header(const Headers& headers, const std::string& name) {
  for (const auto& [n, v] : headers)
    if (iequal(n, name)) return v;
  return std::nullopt;
}

int count_header(const Headers& headers, const std::string& name) {
  int n = 0;
  for (const auto& h : headers) n += iequal(h.first, name) ? 1 : 0;
  return n;
}

struct Reply {
  long status = 200;
  std::string body;
  Headers headers;
  std::optional<HttpError> error;
};

Reply error_reply(HttpError::Kind kind) {
  Reply r;
  r.error = HttpError{kind, "fake transport error"};
  return r;
}

// Canned replies by "METHOD URL"; a queue's last reply repeats. Unknown URLs fail as a connection error (as
// 169.254.169.254 does off EC2). Records every request.
class FakeHttp : public HttpClient {
 public:
  struct Sent {
    std::string method;
    std::string url;
    Headers headers;
  };

  void on(const std::string& method, const std::string& url, std::vector<Reply> replies) {
    replies_[method + " " + url] = std::deque<Reply>(replies.begin(), replies.end());
  }

  Expected<HttpResponse, HttpError> send(HttpRequest& request, const HttpTimeouts&) override {
    std::lock_guard lock(mu_);
    if (request.before_attempt) request.before_attempt();
    sent.push_back(Sent{request.method, request.url, request.headers});
    auto it = replies_.find(request.method + " " + request.url);
    if (it == replies_.end() || it->second.empty())
      return unexpected(HttpError{HttpError::Kind::kConnect, "no route to " + request.url});
    Reply r = it->second.front();
    if (it->second.size() > 1) it->second.pop_front();
    if (r.error) return unexpected(*r.error);
    HttpResponse resp;
    resp.status = r.status;
    resp.headers = r.headers;
    resp.body = r.body;
    return resp;
  }

  int count(const std::string& method, const std::string& url) const {
    int n = 0;
    for (const auto& s : sent) n += s.method == method && s.url == url ? 1 : 0;
    return n;
  }

  std::vector<Sent> sent;

 private:
  std::mutex mu_;
  std::map<std::string, std::deque<Reply>> replies_;
};

std::string iso8601(std::chrono::system_clock::time_point t) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string credentials_json(const std::string& id, const std::string& secret, const std::string& token,
                             std::optional<std::chrono::system_clock::time_point> expiration) {
  std::string out = "{\"AccessKeyId\": \"" + id + "\", \"SecretAccessKey\": \"" + secret +
                    "\", \"Token\": \"" + token + "\"";
  if (expiration) out += ", \"Expiration\": \"" + iso8601(*expiration) + "\"";
  return out + "}";
}

}  // namespace

// ---------------------------------------------------------------------------------------------- crypto

TEST(CryptoTest, Sha256NistVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex(""), std::string(kEmptySha256));
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256("abc").size(), 32u);
  EXPECT_EQ(hex(sha256("abc")), sha256_hex("abc"));
}

TEST(CryptoTest, Md5Vectors) {
  EXPECT_EQ(hex(md5("")), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(hex(md5("abc")), "900150983cd24fb0d6963f7d28e17f72");
  EXPECT_EQ(md5("abc").size(), 16u);
}

TEST(CryptoTest, HmacSha256Rfc4231Case2) {
  EXPECT_EQ(hex(hmac_sha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(CryptoTest, IncrementalDigestMatchesOneShot) {
  Digest d(Digest::Kind::kSha256);
  d.update("a");
  d.update(std::string_view("bc"));
  EXPECT_EQ(hex(d.finish()), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  Digest m(Digest::Kind::kMd5);
  m.update("ab");
  m.update("c");
  EXPECT_EQ(hex(m.finish()), "900150983cd24fb0d6963f7d28e17f72");
}

TEST(CryptoTest, HexIsLowerCase) {
  EXPECT_EQ(hex(std::string("\x00\x0f\xab\xff", 4)), "000fabff");
  EXPECT_EQ(hex(""), "");
}

TEST(CryptoTest, Base64Rfc4648VectorsAndRoundTrips) {
  const std::vector<std::pair<std::string, std::string>> vectors = {
      {"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"}, {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}};
  for (const auto& [plain, encoded] : vectors) {
    SCOPED_TRACE("length " + std::to_string(plain.size()));
    EXPECT_EQ(base64(plain), encoded);
    EXPECT_EQ(base64_decode(encoded), plain);
  }
  // Binary bytes (NUL, high bit), lengths 0..5 again.
  const std::string bytes("\x00\xff\x80\x7f\x01", 5);
  for (std::size_t n = 0; n <= bytes.size(); ++n) {
    SCOPED_TRACE("binary length " + std::to_string(n));
    const std::string in = bytes.substr(0, n);
    const std::string enc = base64(in);
    EXPECT_EQ(enc.size(), 4 * ((n + 2) / 3));
    EXPECT_EQ(base64_decode(enc), in);
  }
  // A Content-MD5 value: base64 of the raw digest.
  EXPECT_EQ(base64(md5("")), "1B2M2Y8AsgTpgAmY7PhCfg==");
}

TEST(CryptoTest, Base64DecodeMalformedThrows) {
  EXPECT_THROW(base64_decode("abc"), Error);   // not a multiple of 4
  EXPECT_THROW(base64_decode("Zm9"), Error);   // idem
  EXPECT_THROW(base64_decode("ab!d"), Error);  // '!' is not in the alphabet
  EXPECT_THROW(base64_decode("Zm9v*A=="), Error);
}

// '=' is padding only as the last one or two characters; OpenSSL's EVP_DecodeBlock reads it anywhere as zero
// bits (a regression test: "====" once underflowed the length and "QQ=A" decoded to NUL-padded bytes).
TEST(CryptoTest, Base64DecodeMalformedPaddingThrows) {
  EXPECT_THROW(base64_decode("===="), Error);
  EXPECT_THROW(base64_decode("A==="), Error);
  EXPECT_THROW(base64_decode("QQ=A"), Error);
  EXPECT_THROW(base64_decode("QQ==QQ=="), Error);
}

// ---------------------------------------------------------------------------------------------- sigv4

namespace {

const Credentials kDocCredentials{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "", std::nullopt,
                                  "test"};
constexpr std::int64_t kDocTime = 1440938160;  // 2015-08-30T12:36:00Z

Request iam_list_users() {
  Request r;
  r.method = "GET";
  r.scheme = "https";
  r.host = "iam.amazonaws.com";
  r.path = "/";
  r.query = {{"Action", "ListUsers"}, {"Version", "2010-05-08"}};
  r.headers = {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}};
  return r;
}

}  // namespace

TEST(Sigv4Test, AwsDocumentationIamExample) {
  Request r = iam_list_users();
  const Scope scope{"iam", "us-east-1", kDocTime};
  sign(r, kDocCredentials, scope, kEmptySha256);

  EXPECT_EQ(r.header("x-amz-date"), "20150830T123600Z");
  EXPECT_EQ(canonical_request(r, "iam", kEmptySha256),
            "GET\n"
            "/\n"
            "Action=ListUsers&Version=2010-05-08\n"
            "content-type:application/x-www-form-urlencoded; charset=utf-8\n"
            "host:iam.amazonaws.com\n"
            "x-amz-date:20150830T123600Z\n"
            "\n"
            "content-type;host;x-amz-date\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(string_to_sign(canonical_request(r, "iam", kEmptySha256), scope),
            "AWS4-HMAC-SHA256\n"
            "20150830T123600Z\n"
            "20150830/us-east-1/iam/aws4_request\n"
            "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59");
  EXPECT_EQ(r.header("Authorization"),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, "
            "SignedHeaders=content-type;host;x-amz-date, "
            "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7");
  EXPECT_EQ(count_header(r.headers, "authorization"), 1);
  EXPECT_EQ(r.url(), "https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08");
}

TEST(Sigv4Test, SigningTwiceReplacesTheAuthorization) {
  Request r = iam_list_users();
  const Scope scope{"iam", "us-east-1", kDocTime};
  sign(r, kDocCredentials, scope, kEmptySha256);
  sign(r, kDocCredentials, scope, kEmptySha256);
  EXPECT_EQ(count_header(r.headers, "authorization"), 1);
  EXPECT_EQ(count_header(r.headers, "x-amz-date"), 1);
  EXPECT_NE(r.header("Authorization")->find("Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c4"),
            std::string::npos);
}

// The S3 documentation's GET Object example (sig-v4-header-based-auth).
TEST(Sigv4Test, AwsDocumentationS3GetObjectExample) {
  const Credentials c{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "", std::nullopt,
                      "test"};
  Request r;
  r.host = "examplebucket.s3.amazonaws.com";
  r.path = s3_object_path("examplebucket", "test.txt", true);
  r.headers = {{"Range", "bytes=0-9"}};
  sign(r, c, Scope{"s3", "us-east-1", 1369353600}, kEmptySha256);
  EXPECT_EQ(r.header("x-amz-content-sha256"), std::string(kEmptySha256));
  EXPECT_EQ(r.header("Authorization"),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
            "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
            "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

// The S3 documentation's presigned URL example (sigv4-query-string-auth).
TEST(Sigv4Test, AwsDocumentationS3PresignExample) {
  const Credentials c{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "", std::nullopt,
                      "test"};
  Request r;
  r.host = "examplebucket.s3.amazonaws.com";
  r.path = "/test.txt";
  EXPECT_EQ(presign(r, c, Scope{"s3", "us-east-1", 1369353600}, 86400),
            "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256"
            "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
            "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
            "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
}

TEST(Sigv4Test, UriEncodeKeepsOnlyUnreserved) {
  EXPECT_EQ(uri_encode("AZaz09-_.~", false), "AZaz09-_.~");
  EXPECT_EQ(uri_encode("a b+c=d&e/f", false), "a%20b%2Bc%3Dd%26e%2Ff");
  EXPECT_EQ(uri_encode("a b+c=d&e/f", true), "a%20b%2Bc%3Dd%26e/f");
  EXPECT_EQ(uri_encode("!*'();:@$,?#[]%", false), "%21%2A%27%28%29%3B%3A%40%24%2C%3F%23%5B%5D%25");
  // UTF-8 bytes, upper-case hex.
  EXPECT_EQ(uri_encode("\xc3\xa9", false), "%C3%A9");        // é
  EXPECT_EQ(uri_encode("\xe2\x82\xac", true), "%E2%82%AC");  // €
  EXPECT_EQ(uri_encode(std::string("\x00\xff", 2), false), "%00%FF");
  EXPECT_EQ(uri_encode("", true), "");
}

TEST(Sigv4Test, S3ObjectPathStyles) {
  EXPECT_EQ(s3_object_path("bucket", "jobs/1/pw.out", false), "/bucket/jobs/1/pw.out");
  EXPECT_EQ(s3_object_path("bucket", "jobs/1/pw.out", true), "/jobs/1/pw.out");
  EXPECT_EQ(s3_object_path("bucket", "a b/c+d\xc3\xa9", false), "/bucket/a%20b/c%2Bd%C3%A9");
  EXPECT_EQ(s3_object_path("bucket", "a b/c+d\xc3\xa9", true), "/a%20b/c%2Bd%C3%A9");
  EXPECT_EQ(s3_object_path("bucket", "", false), "/bucket");
  EXPECT_EQ(s3_object_path("bucket", "", true), "/");
}

TEST(Sigv4Test, AmzDateFormat) {
  EXPECT_EQ(amz_date(0), "19700101T000000Z");
  EXPECT_EQ(amz_date(kDocTime), "20150830T123600Z");
  EXPECT_EQ(amz_date(1795521600 + 9 * 3600 + 5 * 60 + 7), "20261124T210507Z");
}

TEST(Sigv4Test, SessionTokenIsSentAndSigned) {
  Credentials c = kDocCredentials;
  c.session_token = "FwoGZXIvYXdzEXAMPLE//token=";
  Request r = iam_list_users();
  sign(r, c, Scope{"iam", "us-east-1", kDocTime}, kEmptySha256);
  EXPECT_EQ(r.header("X-Amz-Security-Token"), "FwoGZXIvYXdzEXAMPLE//token=");
  const std::string auth = r.header("Authorization").value_or("");
  EXPECT_NE(auth.find("SignedHeaders=content-type;host;x-amz-date;x-amz-security-token,"), std::string::npos)
      << auth;
  // The token changes the signature.
  EXPECT_EQ(auth.find("5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"), std::string::npos);
  EXPECT_NE(
      canonical_request(r, "iam", kEmptySha256).find("x-amz-security-token:FwoGZXIvYXdzEXAMPLE//token=\n"),
      std::string::npos);
}

TEST(Sigv4Test, NoSessionTokenNoHeader) {
  Request r = iam_list_users();
  sign(r, kDocCredentials, Scope{"iam", "us-east-1", kDocTime}, kEmptySha256);
  EXPECT_FALSE(r.header("X-Amz-Security-Token").has_value());
  EXPECT_FALSE(r.header("x-amz-content-sha256").has_value());  // not S3
}

TEST(Sigv4Test, S3SetsContentSha256Header) {
  const std::string hash = sha256_hex("hello");
  Request r;
  r.method = "PUT";
  r.host = "bucket.s3.us-west-2.amazonaws.com";
  r.path = "/k";
  sign(r, kDocCredentials, Scope{"s3", "us-west-2", kDocTime}, hash);
  EXPECT_EQ(r.header("x-amz-content-sha256"), hash);
  EXPECT_NE(r.header("Authorization")->find("SignedHeaders=host;x-amz-content-sha256;x-amz-date,"),
            std::string::npos);
  EXPECT_EQ(canonical_request(r, "s3", hash).substr(canonical_request(r, "s3", hash).size() - hash.size()),
            hash);

  Request u = r;
  sign(u, kDocCredentials, Scope{"s3", "us-west-2", kDocTime}, kUnsignedPayload);
  EXPECT_EQ(u.header("x-amz-content-sha256"), "UNSIGNED-PAYLOAD");
  EXPECT_EQ(count_header(u.headers, "x-amz-content-sha256"), 1);
}

TEST(Sigv4Test, S3PathSignedAsSentOthersNormalised) {
  Request r;
  r.host = "h";
  r.path = "/a%20b/./c";
  // S3: as sent. Others: dot segments removed, then encoded again.
  EXPECT_EQ(canonical_request(r, "s3", kEmptySha256).substr(0, 15), "GET\n/a%20b/./c\n");
  EXPECT_EQ(canonical_request(r, "iam", kEmptySha256).substr(0, 16), "GET\n/a%2520b/c\n\n");
}

TEST(Sigv4Test, QueryIsEncodedAndSorted) {
  Request r;
  r.host = "h";
  r.query = {{"prefix", "a b/c"}, {"list-type", "2"}, {"delimiter", "/"}};
  EXPECT_EQ(r.url(), "https://h/?prefix=a%20b%2Fc&list-type=2&delimiter=%2F");
  const std::string cr = canonical_request(r, "s3", kEmptySha256);
  EXPECT_NE(cr.find("\ndelimiter=%2F&list-type=2&prefix=a%20b%2Fc\n"), std::string::npos) << cr;
}

// ---------------------------------------------------------------------------------------------- credentials

namespace {

class CredentialChainTest : public ::testing::Test {
 protected:
  TempDir home;
  std::shared_ptr<FakeHttp> http = std::make_shared<FakeHttp>();
  // A HOME with no .aws directory unless a test writes one, so the real ~/.aws is never read.
  EnvMap base() const { return {{"HOME", home.path.string()}}; }
  static constexpr const char* kImds = "http://169.254.169.254";
};

}  // namespace

TEST_F(CredentialChainTest, EnvironmentWinsOverEverything) {
  home.write(".aws/credentials", "[default]\naws_access_key_id = PROFILEKEY\naws_secret_access_key = PS\n");
  EnvMap env = base();
  env["AWS_ACCESS_KEY_ID"] = "ENVKEY";
  env["AWS_SECRET_ACCESS_KEY"] = "ENVSECRET";
  env["AWS_SESSION_TOKEN"] = "ENVTOKEN";
  env["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"] = "/creds";
  CredentialChain chain(fake_env(env), http, "http://127.0.0.1:1");
  Credentials c = chain.get();
  EXPECT_EQ(c.access_key_id, "ENVKEY");
  EXPECT_EQ(c.secret_access_key, "ENVSECRET");
  EXPECT_EQ(c.session_token, "ENVTOKEN");
  EXPECT_EQ(c.source, "environment");
  EXPECT_FALSE(c.expiration.has_value());
  EXPECT_TRUE(http->sent.empty());
}

TEST_F(CredentialChainTest, ProfileFromCredentialsFile) {
  home.write(".aws/credentials",
             "[default]\naws_access_key_id = DEFAULTKEY\naws_secret_access_key = DEFAULTSECRET\n\n"
             "# a comment\n[work]\naws_access_key_id=WORKKEY\naws_secret_access_key =  WORKSECRET  \n"
             "aws_session_token = WORKTOKEN\n");
  EnvMap env = base();
  {
    CredentialChain chain(fake_env(env), http);
    Credentials c = chain.get();
    EXPECT_EQ(c.access_key_id, "DEFAULTKEY");
    EXPECT_EQ(c.secret_access_key, "DEFAULTSECRET");
    EXPECT_EQ(c.session_token, "");
  }
  env["AWS_PROFILE"] = "work";
  CredentialChain chain(fake_env(env), http);
  Credentials c = chain.get();
  EXPECT_EQ(c.access_key_id, "WORKKEY");
  EXPECT_EQ(c.secret_access_key, "WORKSECRET");
  EXPECT_EQ(c.session_token, "WORKTOKEN");
  EXPECT_NE(c.source.find("work"), std::string::npos) << c.source;
  EXPECT_TRUE(http->sent.empty());
}

TEST_F(CredentialChainTest, ProfileFilesFromEnvironmentVariables) {
  TempDir elsewhere;
  EnvMap env = base();
  env["AWS_SHARED_CREDENTIALS_FILE"] = elsewhere.write(
      "creds.ini", "[dev]\naws_access_key_id = FILEKEY\naws_secret_access_key = FILESECRET\n");
  env["AWS_PROFILE"] = "dev";
  CredentialChain chain(fake_env(env), http);
  EXPECT_EQ(chain.get().access_key_id, "FILEKEY");
}

TEST_F(CredentialChainTest, ConfigFileUsesProfilePrefix) {
  TempDir elsewhere;
  EnvMap env = base();
  // "[dev]" in the config file is not profile dev; "[profile dev]" is.
  env["AWS_CONFIG_FILE"] =
      elsewhere.write("config",
                      "[dev]\naws_access_key_id = WRONGKEY\naws_secret_access_key = WRONGSECRET\n"
                      "[profile dev]\nregion = eu-west-1\naws_access_key_id = "
                      "CONFIGKEY\naws_secret_access_key = CONFIGSECRET\n");
  env["AWS_PROFILE"] = "dev";
  CredentialChain chain(fake_env(env), http);
  Credentials c = chain.get();
  EXPECT_EQ(c.access_key_id, "CONFIGKEY");
  EXPECT_EQ(c.secret_access_key, "CONFIGSECRET");
}

TEST_F(CredentialChainTest, DefaultProfileInConfigFile) {
  home.write(".aws/config", "[default]\naws_access_key_id = CFGDEF\naws_secret_access_key = CFGDEFSECRET\n");
  CredentialChain chain(fake_env(base()), http);
  EXPECT_EQ(chain.get().access_key_id, "CFGDEF");
}

TEST_F(CredentialChainTest, NamedProfileWithoutCredentialsThrows) {
  home.write(".aws/credentials", "[default]\naws_access_key_id = DEFAULTKEY\naws_secret_access_key = S\n");
  home.write(".aws/config", "[profile other]\nregion = us-east-1\n");
  EnvMap env = base();
  env["AWS_PROFILE"] = "other";
  CredentialChain chain(fake_env(env), http);
  try {
    chain.get();
    FAIL() << "expected qecloud::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("other"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(http->sent.empty());  // no fall-through to the container or IMDS
}

TEST_F(CredentialChainTest, ContainerRelativeUriUsesGivenHostAndToken) {
  const auto expires = std::chrono::system_clock::now() + std::chrono::hours(6);
  http->on("GET", "http://127.0.0.1:4567/v2/credentials/abc-123",
           {Reply{200, credentials_json("ASIACONTAINER", "CSECRET", "CTOKEN", expires), {}, {}}});
  EnvMap env = base();
  env["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"] = "/v2/credentials/abc-123";
  env["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = "Basic c2VjcmV0";
  CredentialChain chain(fake_env(env), http, "http://127.0.0.1:4567");
  Credentials c = chain.get();
  EXPECT_EQ(c.access_key_id, "ASIACONTAINER");
  EXPECT_EQ(c.secret_access_key, "CSECRET");
  EXPECT_EQ(c.session_token, "CTOKEN");
  ASSERT_TRUE(c.expiration.has_value());
  EXPECT_EQ(std::chrono::system_clock::to_time_t(*c.expiration),
            std::chrono::system_clock::to_time_t(expires));
  ASSERT_EQ(http->sent.size(), 1u);
  EXPECT_EQ(http->sent[0].method, "GET");
  EXPECT_EQ(http->sent[0].url, "http://127.0.0.1:4567/v2/credentials/abc-123");
  EXPECT_EQ(find_header(http->sent[0].headers, "Authorization"), "Basic c2VjcmV0");
}

TEST_F(CredentialChainTest, ContainerTokenFile) {
  http->on("GET", "http://127.0.0.1:4567/c",
           {Reply{200, credentials_json("K", "S", "T", std::nullopt), {}, {}}});
  EnvMap env = base();
  env["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"] = "/c";
  env["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] = home.write("token", "file-token\n");
  CredentialChain chain(fake_env(env), http, "http://127.0.0.1:4567");
  EXPECT_EQ(chain.get().access_key_id, "K");
  ASSERT_EQ(http->sent.size(), 1u);
  EXPECT_EQ(find_header(http->sent[0].headers, "Authorization"), "file-token");
}

TEST_F(CredentialChainTest, ContainerFullUri) {
  http->on("GET", "http://localhost:8080/full/creds",
           {Reply{200, credentials_json("FULLKEY", "FULLSECRET", "", std::nullopt), {}, {}}});
  EnvMap env = base();
  env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = "http://localhost:8080/full/creds";
  CredentialChain chain(fake_env(env), http, "http://127.0.0.1:4567");
  Credentials c = chain.get();
  EXPECT_EQ(c.access_key_id, "FULLKEY");
  ASSERT_EQ(http->sent.size(), 1u);
  EXPECT_EQ(http->sent[0].url, "http://localhost:8080/full/creds");
  EXPECT_FALSE(find_header(http->sent[0].headers, "Authorization").has_value());
}

TEST_F(CredentialChainTest, ContainerErrorThrows) {
  http->on("GET", "http://127.0.0.1:4567/c", {Reply{500, "oops", {}, {}}});
  EnvMap env = base();
  env["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"] = "/c";
  CredentialChain chain(fake_env(env), http, "http://127.0.0.1:4567");
  EXPECT_THROW(chain.get(), Error);
}

TEST_F(CredentialChainTest, Imdsv2TokenFirstThenRoleThenCredentials) {
  const std::string base_url = kImds;
  http->on("PUT", base_url + "/latest/api/token", {Reply{200, "IMDSTOKEN\n", {}, {}}});
  http->on("GET", base_url + "/latest/meta-data/iam/security-credentials/",
           {Reply{200, "my-role\n", {}, {}}});
  http->on("GET", base_url + "/latest/meta-data/iam/security-credentials/my-role",
           {Reply{200,
                  credentials_json("ASIAIMDS", "ISECRET", "ITOKEN",
                                   std::chrono::system_clock::now() + std::chrono::hours(6)),
                  {},
                  {}}});
  CredentialChain chain(fake_env(base()), http, "http://127.0.0.1:4567");
  Credentials c = chain.get();
  EXPECT_EQ(c.access_key_id, "ASIAIMDS");
  EXPECT_EQ(c.session_token, "ITOKEN");
  EXPECT_NE(c.source.find("my-role"), std::string::npos) << c.source;

  ASSERT_EQ(http->sent.size(), 3u);
  EXPECT_EQ(http->sent[0].method, "PUT");
  EXPECT_EQ(http->sent[0].url, base_url + "/latest/api/token");
  EXPECT_EQ(find_header(http->sent[0].headers, "X-aws-ec2-metadata-token-ttl-seconds"), "21600");
  EXPECT_FALSE(find_header(http->sent[0].headers, "X-aws-ec2-metadata-token").has_value());

  EXPECT_EQ(http->sent[1].method, "GET");
  EXPECT_EQ(http->sent[1].url, base_url + "/latest/meta-data/iam/security-credentials/");
  EXPECT_EQ(find_header(http->sent[1].headers, "X-aws-ec2-metadata-token"), "IMDSTOKEN");

  EXPECT_EQ(http->sent[2].method, "GET");
  EXPECT_EQ(http->sent[2].url, base_url + "/latest/meta-data/iam/security-credentials/my-role");
  EXPECT_EQ(find_header(http->sent[2].headers, "X-aws-ec2-metadata-token"), "IMDSTOKEN");
}

TEST_F(CredentialChainTest, ImdsEndpointOverride) {
  http->on("PUT", "http://127.0.0.1:1338/latest/api/token", {Reply{200, "T", {}, {}}});
  http->on("GET", "http://127.0.0.1:1338/latest/meta-data/iam/security-credentials/",
           {Reply{200, "r", {}, {}}});
  http->on("GET", "http://127.0.0.1:1338/latest/meta-data/iam/security-credentials/r",
           {Reply{200, credentials_json("OVR", "S", "T", std::nullopt), {}, {}}});
  EnvMap env = base();
  env["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = "http://127.0.0.1:1338/";
  CredentialChain chain(fake_env(env), http);
  EXPECT_EQ(chain.get().access_key_id, "OVR");
}

TEST_F(CredentialChainTest, NothingFoundListsWhatWasTried) {
  CredentialChain chain(fake_env(base()), http);
  try {
    chain.get();
    FAIL() << "expected qecloud::Error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("environment"), std::string::npos) << msg;
    EXPECT_NE(msg.find("profile 'default'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("container endpoint"), std::string::npos) << msg;
    EXPECT_NE(msg.find("instance metadata http://169.254.169.254"), std::string::npos) << msg;
  }
  ASSERT_EQ(http->sent.size(), 1u);  // the IMDS token PUT, which failed
  EXPECT_EQ(http->sent[0].method, "PUT");
}

TEST_F(CredentialChainTest, MetadataDisabledSkipsImds) {
  EnvMap env = base();
  env["AWS_EC2_METADATA_DISABLED"] = "true";
  CredentialChain chain(fake_env(env), http);
  try {
    chain.get();
    FAIL() << "expected qecloud::Error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("no AWS credentials found"), std::string::npos) << msg;
    EXPECT_NE(msg.find("environment (AWS_ACCESS_KEY_ID)"), std::string::npos) << msg;
    EXPECT_NE(msg.find("profile 'default' in " + (home.path / ".aws/credentials").string()),
              std::string::npos)
        << msg;
    EXPECT_NE(msg.find("profile 'default' in " + (home.path / ".aws/config").string()), std::string::npos)
        << msg;
    EXPECT_NE(msg.find("container endpoint"), std::string::npos) << msg;
    EXPECT_NE(msg.find("instance metadata (disabled)"), std::string::npos) << msg;
  }
  EXPECT_TRUE(http->sent.empty());
}

TEST_F(CredentialChainTest, ExpiringSoonIsFetchedAgain) {
  const std::string url = "http://127.0.0.1:4567/c";
  http->on(
      "GET", url,
      {Reply{200,
             credentials_json("K1", "S1", "T1", std::chrono::system_clock::now() + std::chrono::minutes(2)),
             {},
             {}},
       Reply{200,
             credentials_json("K2", "S2", "T2", std::chrono::system_clock::now() + std::chrono::hours(1)),
             {},
             {}}});
  EnvMap env = base();
  env["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"] = "/c";
  CredentialChain chain(fake_env(env), http, "http://127.0.0.1:4567");
  EXPECT_EQ(chain.get().access_key_id, "K1");
  EXPECT_EQ(http->count("GET", url), 1);
  EXPECT_EQ(chain.get().access_key_id, "K2");  // K1 expires within 5 minutes
  EXPECT_EQ(http->count("GET", url), 2);
  EXPECT_EQ(chain.get().access_key_id, "K2");  // K2 has an hour left: cached
  EXPECT_EQ(chain.get().access_key_id, "K2");
  EXPECT_EQ(http->count("GET", url), 2);
}

TEST_F(CredentialChainTest, AlreadyExpiredIsFetchedAgain) {
  const std::string url = "http://127.0.0.1:4567/c";
  http->on(
      "GET", url,
      {Reply{200,
             credentials_json("OLD", "S", "T", std::chrono::system_clock::now() - std::chrono::minutes(1)),
             {},
             {}}});
  EnvMap env = base();
  env["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"] = "/c";
  CredentialChain chain(fake_env(env), http, "http://127.0.0.1:4567");
  chain.get();
  chain.get();
  chain.get();
  EXPECT_EQ(http->count("GET", url), 3);
}

TEST_F(CredentialChainTest, LongLivedAreCached) {
  const std::string url = "http://127.0.0.1:4567/c";
  http->on(
      "GET", url,
      {Reply{200,
             credentials_json("K1", "S1", "T1", std::chrono::system_clock::now() + std::chrono::hours(1)),
             {},
             {}}});
  EnvMap env = base();
  env["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"] = "/c";
  CredentialChain chain(fake_env(env), http, "http://127.0.0.1:4567");
  for (int i = 0; i < 5; ++i) EXPECT_EQ(chain.get().access_key_id, "K1");
  EXPECT_EQ(http->count("GET", url), 1);
}

TEST(CredentialsTest, DescribeNeverShowsSecrets) {
  Credentials c{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                "FwoGZXIvYXdzSESSIONTOKEN", std::chrono::system_clock::from_time_t(1795521600),
                "environment"};
  const std::string d = c.describe();
  EXPECT_EQ(d, "AKIA…MPLE from environment, expires 2026-11-24T12:00:00Z");
  EXPECT_EQ(d.find(c.secret_access_key), std::string::npos);
  EXPECT_EQ(d.find(c.session_token), std::string::npos);
  EXPECT_EQ(d.find(c.access_key_id), std::string::npos);

  Credentials s{"SHORT", "SECRETSECRET", "", std::nullopt, "profile 'x'"};
  EXPECT_EQ(s.describe(), "… from profile 'x'");
  EXPECT_EQ(s.describe().find("SECRETSECRET"), std::string::npos);
}

TEST(CredentialsTest, ReadAwsIni) {
  TempDir d;
  auto ini = read_aws_ini(
      d.write("ini", "; comment\n# comment\nstray = 1\n[ a ]\n k = v = w \n\n[profile b]\nx=1\n"));
  ASSERT_EQ(ini.size(), 2u);
  EXPECT_EQ(ini["a"]["k"], "v = w");
  EXPECT_EQ(ini["profile b"]["x"], "1");
  EXPECT_TRUE(read_aws_ini((d.path / "missing").string()).empty());
}

TEST(CredentialsTest, ResolveRegionOrder) {
  TempDir home;
  home.write(".aws/config", "[default]\nregion = ap-south-1\n[profile dev]\nregion = eu-central-1\n");
  EnvMap env{{"HOME", home.path.string()}, {"AWS_REGION", "us-west-2"}, {"AWS_DEFAULT_REGION", "eu-west-1"}};
  EXPECT_EQ(resolve_region(fake_env(env)), "us-west-2");
  env.erase("AWS_REGION");
  EXPECT_EQ(resolve_region(fake_env(env)), "eu-west-1");
  env["AWS_REGION"] = "";  // empty counts as unset
  EXPECT_EQ(resolve_region(fake_env(env)), "eu-west-1");
  env.erase("AWS_DEFAULT_REGION");
  EXPECT_EQ(resolve_region(fake_env(env)), "ap-south-1");
  env["AWS_PROFILE"] = "dev";
  EXPECT_EQ(resolve_region(fake_env(env)), "eu-central-1");
  env["AWS_PROFILE"] = "nosuch";
  EXPECT_EQ(resolve_region(fake_env(env)), std::nullopt);
  TempDir empty;
  EXPECT_EQ(resolve_region(fake_env({{"HOME", empty.path.string()}})), std::nullopt);
}

TEST(CredentialsTest, ResolveEndpointOrder) {
  TempDir home;
  home.write(".aws/config", "[default]\nendpoint_url = http://config:9000\n");
  EnvMap env{{"HOME", home.path.string()},
             {"AWS_ENDPOINT_URL_S3", "http://s3only:9000"},
             {"AWS_ENDPOINT_URL", "http://all:9000"}};
  EXPECT_EQ(resolve_endpoint(fake_env(env), "s3"), "http://s3only:9000");
  EXPECT_EQ(resolve_endpoint(fake_env(env), "batch"), "http://all:9000");
  env.erase("AWS_ENDPOINT_URL_S3");
  EXPECT_EQ(resolve_endpoint(fake_env(env), "s3"), "http://all:9000");
  env.erase("AWS_ENDPOINT_URL");
  EXPECT_EQ(resolve_endpoint(fake_env(env), "s3"), "http://config:9000");
  TempDir empty;
  EXPECT_EQ(resolve_endpoint(fake_env({{"HOME", empty.path.string()}}), "s3"), std::nullopt);
}

// ---------------------------------------------------------------------------------------------- client

TEST(AwsClientTest, IsRetryable) {
  for (long status : {500L, 502L, 503L, 504L, 429L, 0L}) {
    SCOPED_TRACE(status);
    EXPECT_TRUE(is_retryable(status, ""));
  }
  EXPECT_TRUE(is_retryable(503, "SlowDown"));
  EXPECT_TRUE(is_retryable(400, "Throttling"));
  EXPECT_TRUE(is_retryable(400, "ThrottlingException"));
  EXPECT_TRUE(is_retryable(400, "BadDigest"));
  EXPECT_FALSE(is_retryable(400, ""));
  EXPECT_FALSE(is_retryable(400, "InvalidArgument"));
  EXPECT_FALSE(is_retryable(403, "SignatureDoesNotMatch"));
  EXPECT_FALSE(is_retryable(403, "AccessDenied"));
  EXPECT_FALSE(is_retryable(404, "NoSuchKey"));
  EXPECT_FALSE(is_retryable(404, ""));
}

TEST(AwsClientTest, ParseErrorBodyS3Xml) {
  std::string code, message;
  parse_error_body(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchKey</Code>"
      "<Message>The specified key does not exist.</Message><Key>a/b</Key>"
      "<RequestId>4442587FB7D0A2F9</RequestId></Error>",
      code, message);
  EXPECT_EQ(code, "NoSuchKey");
  EXPECT_EQ(message, "The specified key does not exist.");
}

TEST(AwsClientTest, ParseErrorBodyQueryXml) {
  std::string code, message;
  parse_error_body(
      "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><Error><Type>Sender</Type>"
      "<Code>Throttling</Code><Message>Rate "
      "exceeded</Message></Error><RequestId>r</RequestId></ErrorResponse>",
      code, message);
  EXPECT_EQ(code, "Throttling");
  EXPECT_EQ(message, "Rate exceeded");
}

TEST(AwsClientTest, ParseErrorBodyJson) {
  std::string code, message;
  parse_error_body(R"({"__type":"com.amazonaws#ThrottlingException","message":"Rate exceeded"})", code,
                   message);
  EXPECT_EQ(code, "ThrottlingException");
  EXPECT_EQ(message, "Rate exceeded");

  std::string c2, m2;
  parse_error_body(R"({"__type":"ClientException","Message":"bad job queue"})", c2, m2);
  EXPECT_EQ(c2, "ClientException");
  EXPECT_EQ(m2, "bad job queue");

  std::string c3, m3;
  parse_error_body("not json, not xml", c3, m3);
  EXPECT_EQ(c3, "");
  EXPECT_EQ(m3, "");
}

TEST(AwsClientTest, ParseEndpoint) {
  Endpoint e = parse_endpoint("http://127.0.0.1:9000");
  EXPECT_EQ(e.scheme, "http");
  EXPECT_EQ(e.host, "127.0.0.1:9000");
  EXPECT_EQ(e.base_path, "");

  e = parse_endpoint("https://x:443/");
  EXPECT_EQ(e.scheme, "https");
  EXPECT_EQ(e.host, "x");
  EXPECT_EQ(e.base_path, "");

  e = parse_endpoint("http://minio:80/prefix/");
  EXPECT_EQ(e.host, "minio");
  EXPECT_EQ(e.base_path, "/prefix");

  e = parse_endpoint("https://x:4430");
  EXPECT_EQ(e.host, "x:4430");

  EXPECT_THROW(parse_endpoint("ftp://x"), UsageError);
  EXPECT_THROW(parse_endpoint("nohost"), UsageError);
  EXPECT_THROW(parse_endpoint("http://"), UsageError);
  EXPECT_THROW(parse_endpoint("://x"), UsageError);
}

TEST(AwsClientTest, RetryPolicyFromEnvironment) {
  EXPECT_EQ(retry_policy(fake_env({})).max_attempts, 5);
  EXPECT_EQ(retry_policy(fake_env({{"AWS_MAX_ATTEMPTS", "3"}})).max_attempts, 3);
  EXPECT_EQ(retry_policy(fake_env({{"AWS_MAX_ATTEMPTS", "0"}})).max_attempts, 1);
  EXPECT_THROW(retry_policy(fake_env({{"AWS_MAX_ATTEMPTS", "many"}})), UsageError);
}

TEST(AwsClientTest, AwsErrorText) {
  AwsError e{403, "SignatureDoesNotMatch", "bad sig", "RID", 1};
  EXPECT_EQ(e.text(), "HTTP 403 SignatureDoesNotMatch: bad sig (request id RID)");
  AwsError t{0, "timeout", "slow", "", 3};
  EXPECT_EQ(t.text(), "timeout: slow (after 3 attempts)");
}

namespace {

class AwsClientSendTest : public ::testing::Test {
 protected:
  static constexpr const char* kUrl = "http://127.0.0.1:9000/bucket/key";
  std::shared_ptr<FakeHttp> http = std::make_shared<FakeHttp>();
  std::shared_ptr<CredentialChain> creds = std::make_shared<CredentialChain>(
      fake_env({{"AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"}, {"AWS_SECRET_ACCESS_KEY", "SECRET"}}), http);

  AwsClient client(int max_attempts) {
    RetryPolicy p;
    p.max_attempts = max_attempts;
    p.base = std::chrono::milliseconds(1);
    p.max_backoff = std::chrono::milliseconds(5);
    return AwsClient("s3", "us-east-1", parse_endpoint("http://127.0.0.1:9000"), creds, http, p);
  }
  static Request get_key() {
    Request r;
    r.method = "GET";
    r.path = "/bucket/key";
    return r;
  }
  void expect_every_attempt_signed() const {
    for (std::size_t i = 0; i < http->sent.size(); ++i) {
      SCOPED_TRACE("request " + std::to_string(i));
      const auto& s = http->sent[i];
      EXPECT_EQ(s.url, kUrl);
      EXPECT_EQ(count_header(s.headers, "Authorization"), 1);
      auto auth = find_header(s.headers, "Authorization");
      ASSERT_TRUE(auth.has_value());
      EXPECT_EQ(auth->rfind("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/", 0), 0u) << *auth;
      EXPECT_NE(auth->find("/us-east-1/s3/aws4_request"), std::string::npos) << *auth;
      EXPECT_EQ(count_header(s.headers, "X-Amz-Date"), 1);
      EXPECT_EQ(find_header(s.headers, "x-amz-content-sha256"), std::string(kEmptySha256));
    }
  }
};

}  // namespace

TEST_F(AwsClientSendTest, RetriesA503ThenSucceeds) {
  http->on("GET", kUrl,
           {Reply{503, "<Error><Code>SlowDown</Code><Message>Please reduce</Message></Error>", {}, {}},
            Reply{200, "hello", {{"etag", "\"x\""}}, {}}});
  auto c = client(5);
  int resets = 0;
  HttpRequest body;
  body.before_attempt = [&] { ++resets; };
  auto r = c.send(get_key(), body, std::string(kEmptySha256));
  ASSERT_TRUE(r.has_value()) << r.error().text();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "hello");
  ASSERT_EQ(http->sent.size(), 2u);
  EXPECT_EQ(resets, 2);  // the fake calls before_attempt as the curl client does
  expect_every_attempt_signed();
}

TEST_F(AwsClientSendTest, RetriesConnectionErrors) {
  http->on("GET", kUrl,
           {error_reply(HttpError::Kind::kConnect), error_reply(HttpError::Kind::kTimeout),
            Reply{200, "ok", {}, {}}});
  auto c = client(5);
  auto r = c.send(get_key(), HttpRequest{}, std::string(kEmptySha256));
  ASSERT_TRUE(r.has_value()) << r.error().text();
  EXPECT_EQ(http->sent.size(), 3u);
  expect_every_attempt_signed();
}

TEST_F(AwsClientSendTest, AbortedIsNotRetried) {
  http->on("GET", kUrl, {error_reply(HttpError::Kind::kAborted)});
  auto c = client(5);
  auto r = c.send(get_key(), HttpRequest{}, std::string(kEmptySha256));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, "aborted");
  EXPECT_EQ(http->sent.size(), 1u);
}

TEST_F(AwsClientSendTest, ForbiddenIsNotRetried) {
  http->on(
      "GET", kUrl,
      {Reply{403,
             "<Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does "
             "not match</Message></Error>",
             {{"x-amz-request-id", "REQ123"}},
             {}}});
  auto c = client(5);
  auto r = c.send(get_key(), HttpRequest{}, std::string(kEmptySha256));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().status, 403);
  EXPECT_EQ(r.error().code, "SignatureDoesNotMatch");
  EXPECT_EQ(r.error().request_id, "REQ123");
  EXPECT_EQ(r.error().attempts, 1);
  EXPECT_EQ(http->sent.size(), 1u);
  expect_every_attempt_signed();
}

TEST_F(AwsClientSendTest, NotFoundWithoutBodyGetsACode) {
  http->on("GET", kUrl, {Reply{404, "", {}, {}}});
  auto c = client(5);
  auto r = c.send(get_key(), HttpRequest{}, std::string(kEmptySha256));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, "NotFound");
  EXPECT_EQ(http->sent.size(), 1u);
}

TEST_F(AwsClientSendTest, MaxAttemptsHonoured) {
  http->on("GET", kUrl, {Reply{500, "<Error><Code>InternalError</Code></Error>", {}, {}}});
  for (int n : {1, 3, 4}) {
    SCOPED_TRACE(n);
    http->sent.clear();
    auto c = client(n);
    auto r = c.send(get_key(), HttpRequest{}, std::string(kEmptySha256));
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().status, 500);
    EXPECT_EQ(r.error().code, "InternalError");
    EXPECT_EQ(r.error().attempts, n);
    EXPECT_EQ(http->sent.size(), static_cast<std::size_t>(n));
    expect_every_attempt_signed();
  }
}

TEST_F(AwsClientSendTest, EndpointBasePathAndQuery) {
  const std::string url = "http://127.0.0.1:9000/prefix/bucket?list-type=2&prefix=a%20b";
  http->on("GET", url, {Reply{200, "<ListBucketResult/>", {}, {}}});
  RetryPolicy p;
  p.base = std::chrono::milliseconds(1);
  AwsClient c("s3", "us-east-1", parse_endpoint("http://127.0.0.1:9000/prefix/"), creds, http, p);
  Request r;
  r.path = "/bucket";
  r.query = {{"list-type", "2"}, {"prefix", "a b"}};
  auto res = c.send(r, HttpRequest{}, std::string(kEmptySha256));
  ASSERT_TRUE(res.has_value()) << res.error().text();
  ASSERT_EQ(http->sent.size(), 1u);
  EXPECT_EQ(http->sent[0].url, url);
}

// ---------------------------------------------------------------------------------------------- redact

TEST(AwsRedactTest, AuthorizationHeader) {
  const std::string in =
      "> GET /bucket/key HTTP/1.1\r\nHost: s3.amazonaws.com\r\n"
      "Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/s3/aws4_request, "
      "SignedHeaders=host;x-amz-date, Signature=5d672d79c15b\r\nx-amz-date: 20150830T123600Z\r\n";
  EXPECT_EQ(redact(in),
            "> GET /bucket/key HTTP/1.1\r\nHost: s3.amazonaws.com\r\nAuthorization: ***\r\n"
            "x-amz-date: 20150830T123600Z\r\n");
  EXPECT_EQ(redact("authorization: secretvalue"), "authorization: ***");
  EXPECT_EQ(redact("X-Amz-Security-Token: tok\nnext"), "X-Amz-Security-Token: ***\nnext");
}

TEST(AwsRedactTest, QueryParameters) {
  const std::string in =
      "https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256"
      "&X-Amz-Credential=AKIDEXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z"
      "&X-Amz-Expires=86400&X-Amz-Security-Token=FwoGtoken&X-Amz-SignedHeaders=host"
      "&X-Amz-Signature=aeeed9bbccd4d02e failed";
  EXPECT_EQ(redact(in),
            "https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256"
            "&X-Amz-Credential=***&X-Amz-Date=20130524T000000Z"
            "&X-Amz-Expires=86400&X-Amz-Security-Token=***&X-Amz-SignedHeaders=host"
            "&X-Amz-Signature=*** failed");
}

TEST(AwsRedactTest, SecretThatLooksLikeTheMaskTerminates) {
  EXPECT_EQ(redact("a * b ** c", {"*"}), "a *** b ****** c");
}

TEST(AwsRedactTest, GivenSecretsAndTheRestKept) {
  EXPECT_EQ(redact("key wJalrXUtnFEMI and again wJalrXUtnFEMI; token T0K", {"wJalrXUtnFEMI", "T0K", ""}),
            "key *** and again ***; token ***");
  EXPECT_EQ(redact("nothing secret here: HTTP 404 NoSuchKey"), "nothing secret here: HTTP 404 NoSuchKey");
  EXPECT_EQ(redact(""), "");
}
