#include "common/pki.h"

#include <arpa/inet.h>
#include <sys/stat.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace govpool::pki {
namespace {

template <auto Free>
struct Deleter {
  template <class T>
  void operator()(T* p) const { Free(p); }
};
using PKey = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using Cert = std::unique_ptr<X509, Deleter<X509_free>>;
using Req = std::unique_ptr<X509_REQ, Deleter<X509_REQ_free>>;
using Bio = std::unique_ptr<BIO, Deleter<BIO_free>>;
using Bn = std::unique_ptr<BIGNUM, Deleter<BN_free>>;

// The reason OpenSSL gave last, for messages; clears its error queue.
std::string OpenSslError() {
  std::string out;
  while (const unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}
Status Failed(std::string_view what) { return Internal("pki: " + std::string(what) + ": " + OpenSslError()); }

Bio ReadBio(std::string_view pem) { return Bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()))); }

std::string ToPem(int (*write)(BIO*, void*), void* object) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || write(bio.get(), object) != 1) return "";
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}
std::string KeyPem(EVP_PKEY* key) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) return "";
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}
std::string CertPem(X509* cert) {
  return ToPem([](BIO* b, void* c) { return PEM_write_bio_X509(b, static_cast<X509*>(c)); }, cert);
}

PKey ParseKey(std::string_view pem) {
  Bio bio = ReadBio(pem);
  return PKey(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
}
Cert ParseCert(std::string_view pem) {
  Bio bio = ReadBio(pem);
  return Cert(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr);
}

PKey GenerateKey() { return PKey(EVP_EC_gen("P-256")); }

// 127 random bits (positive, as RFC 5280 asks) as the serial number.
bool SetRandomSerial(X509* cert) {
  Bn bn(BN_new());
  if (!bn || BN_rand(bn.get(), 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1) return false;
  return BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert)) != nullptr;
}

// Certificates start a minute early: a peer whose clock is slightly behind still accepts them.
constexpr std::int64_t kClockSkewMs = 60'000;

bool SetValidity(X509* cert, std::int64_t now_ms, std::int64_t lifetime_ms) {
  const time_t from = static_cast<time_t>((now_ms - kClockSkewMs) / 1000);
  const time_t to = static_cast<time_t>((now_ms + lifetime_ms) / 1000);
  return ASN1_TIME_set(X509_getm_notBefore(cert), from) && ASN1_TIME_set(X509_getm_notAfter(cert), to);
}

bool SetCommonName(X509_NAME* name, std::string_view cn) {
  return X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                    reinterpret_cast<const unsigned char*>(cn.data()),
                                    static_cast<int>(cn.size()), -1, 0) == 1;
}

bool AddExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (!ext) return false;
  const bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

// A certificate for `subject_key` named `cn`, issued by `issuer` (null: itself), not yet signed.
Result<Cert> NewCertificate(EVP_PKEY* subject_key, std::string_view cn, X509* issuer,
                            std::int64_t now_ms, std::int64_t lifetime_ms) {
  Cert cert(X509_new());
  if (!cert || X509_set_version(cert.get(), 2) != 1 || !SetRandomSerial(cert.get()) ||
      !SetValidity(cert.get(), now_ms, lifetime_ms) || X509_set_pubkey(cert.get(), subject_key) != 1 ||
      !SetCommonName(X509_get_subject_name(cert.get()), cn)) {
    return Failed("cannot build a certificate");
  }
  X509_NAME* issuer_name = issuer ? X509_get_subject_name(issuer) : X509_get_subject_name(cert.get());
  if (X509_set_issuer_name(cert.get(), issuer_name) != 1) return Failed("cannot set the issuer");
  if (!AddExtension(cert.get(), issuer ? issuer : cert.get(), NID_subject_key_identifier, "hash")) {
    return Failed("cannot add the subject key identifier");
  }
  return cert;
}

Status Sign(X509* cert, X509* issuer, EVP_PKEY* issuer_key) {
  if (issuer && !AddExtension(cert, issuer, NID_authority_key_identifier, "keyid:always")) {
    return Failed("cannot add the authority key identifier");
  }
  if (X509_sign(cert, issuer_key, EVP_sha256()) <= 0) return Failed("cannot sign the certificate");
  return OkStatus();
}

struct Authority {
  Cert cert;
  PKey key;
};
Result<Authority> LoadAuthority(const KeyAndCertificate& ca) {
  Authority a{ParseCert(ca.certificate_pem), ParseKey(ca.key_pem)};
  if (!a.cert || !a.key) return InvalidArgument("pki: the CA certificate or key is not PEM");
  if (X509_check_private_key(a.cert.get(), a.key.get()) != 1) {
    ERR_clear_error();
    return InvalidArgument("pki: the CA key does not belong to the CA certificate");
  }
  return a;
}

std::int64_t TimeMs(const ASN1_TIME* t) {
  struct tm tm {};
  if (ASN1_TIME_to_tm(t, &tm) != 1) return 0;
  return static_cast<std::int64_t>(timegm(&tm)) * 1000;
}

bool IsIpAddress(const std::string& name) {
  unsigned char buf[16];
  return inet_pton(AF_INET, name.c_str(), buf) == 1 || inet_pton(AF_INET6, name.c_str(), buf) == 1;
}

bool IsDnsName(const std::string& name) {
  if (name.empty() || name.size() > 253) return false;
  for (char ch : name) {
    if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '.' || ch == '*')) return false;
  }
  return true;
}

// The subject's CN of a name, or "" when it has none.
std::string CommonNameOf(X509_NAME* name) {
  const int at = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (at < 0) return "";
  ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, at));
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(data)),
                     static_cast<size_t>(ASN1_STRING_length(data)));
}

Status CheckRequestKey(EVP_PKEY* key) {
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_EC: {
      char group[64] = {};
      size_t len = 0;
      if (EVP_PKEY_get_utf8_string_param(key, "group", group, sizeof group, &len) != 1) break;
      const std::string g(group, len);
      if (g == "prime256v1" || g == "P-256" || g == "secp384r1" || g == "P-384") return OkStatus();
      return InvalidArgument("the request's EC key is on curve " + g + "; use P-256 or P-384");
    }
    case EVP_PKEY_RSA:
      if (EVP_PKEY_get_bits(key) >= 2048) return OkStatus();
      return InvalidArgument("the request's RSA key has " + std::to_string(EVP_PKEY_get_bits(key)) +
                             " bits; at least 2048 are needed");
    default:
      break;
  }
  ERR_clear_error();
  return InvalidArgument("the request's key must be EC (P-256, P-384) or RSA (2048 bits or more)");
}

}  // namespace

Result<std::string> NewPrivateKey() {
  PKey key = GenerateKey();
  if (!key) return Failed("cannot generate an EC key");
  return KeyPem(key.get());
}

Result<KeyAndCertificate> CreateAuthority(std::string_view common_name, std::int64_t now_ms,
                                          std::int64_t lifetime_ms) {
  PKey key = GenerateKey();
  if (!key) return Failed("cannot generate an EC key");
  auto cert = NewCertificate(key.get(), common_name, nullptr, now_ms, lifetime_ms);
  if (!cert.ok()) return cert.status();
  X509* c = cert->get();
  if (!AddExtension(c, c, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") ||
      !AddExtension(c, c, NID_key_usage, "critical,keyCertSign,cRLSign")) {
    return Failed("cannot add the CA extensions");
  }
  GP_RETURN_IF_ERROR(Sign(c, nullptr, key.get()));
  return KeyAndCertificate{KeyPem(key.get()), CertPem(c)};
}

Result<KeyAndCertificate> IssueServerCertificate(const KeyAndCertificate& ca,
                                                 const std::vector<std::string>& names,
                                                 std::int64_t now_ms, std::int64_t lifetime_ms) {
  if (names.empty()) return InvalidArgument("pki: a server certificate needs at least one name");
  std::string alt_names;
  for (const auto& n : names) {
    if (!alt_names.empty()) alt_names += ",";
    if (IsIpAddress(n)) {
      alt_names += "IP:" + n;
    } else if (IsDnsName(n)) {
      alt_names += "DNS:" + n;
    } else {
      return InvalidArgument("pki: '" + n + "' is neither an IP address nor a DNS name");
    }
  }
  auto authority = LoadAuthority(ca);
  if (!authority.ok()) return authority.status();
  PKey key = GenerateKey();
  if (!key) return Failed("cannot generate an EC key");
  auto cert = NewCertificate(key.get(), names.front(), authority->cert.get(), now_ms, lifetime_ms);
  if (!cert.ok()) return cert.status();
  X509* c = cert->get();
  if (!AddExtension(c, authority->cert.get(), NID_basic_constraints, "critical,CA:FALSE") ||
      !AddExtension(c, authority->cert.get(), NID_key_usage, "critical,digitalSignature") ||
      !AddExtension(c, authority->cert.get(), NID_ext_key_usage, "serverAuth") ||
      !AddExtension(c, authority->cert.get(), NID_subject_alt_name, alt_names)) {
    return Failed("cannot add the server certificate's extensions");
  }
  GP_RETURN_IF_ERROR(Sign(c, authority->cert.get(), authority->key.get()));
  return KeyAndCertificate{KeyPem(key.get()), CertPem(c)};
}

Result<std::string> MakeCertificateRequest(std::string_view key_pem, std::string_view common_name) {
  PKey key = ParseKey(key_pem);
  if (!key) return InvalidArgument("pki: the key is not PEM");
  Req req(X509_REQ_new());
  if (!req || X509_REQ_set_version(req.get(), 0) != 1 ||
      !SetCommonName(X509_REQ_get_subject_name(req.get()), common_name) ||
      X509_REQ_set_pubkey(req.get(), key.get()) != 1 || X509_REQ_sign(req.get(), key.get(), EVP_sha256()) <= 0) {
    return Failed("cannot build the certificate request");
  }
  return ToPem([](BIO* b, void* r) { return PEM_write_bio_X509_REQ(b, static_cast<X509_REQ*>(r)); }, req.get());
}

Result<std::string> SignClientCertificate(const KeyAndCertificate& ca, std::string_view csr_pem,
                                          std::string_view common_name, std::int64_t now_ms,
                                          std::int64_t lifetime_ms) {
  Bio bio = ReadBio(csr_pem);
  Req req(bio ? PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!req) {
    ERR_clear_error();
    return InvalidArgument("the certificate request is not a PEM CERTIFICATE REQUEST");
  }
  EVP_PKEY* key = X509_REQ_get0_pubkey(req.get());
  if (!key) {
    ERR_clear_error();
    return InvalidArgument("the certificate request has no public key");
  }
  if (X509_REQ_verify(req.get(), key) != 1) {
    ERR_clear_error();
    return InvalidArgument("the certificate request's signature does not verify");
  }
  GP_RETURN_IF_ERROR(CheckRequestKey(key));
  const std::string asked = CommonNameOf(X509_REQ_get_subject_name(req.get()));
  if (asked != common_name) {
    return InvalidArgument("the certificate request names '" + asked + "', not '" + std::string(common_name) + "'");
  }
  auto authority = LoadAuthority(ca);
  if (!authority.ok()) return authority.status();
  auto cert = NewCertificate(key, common_name, authority->cert.get(), now_ms, lifetime_ms);
  if (!cert.ok()) return cert.status();
  X509* c = cert->get();
  if (!AddExtension(c, authority->cert.get(), NID_basic_constraints, "critical,CA:FALSE") ||
      !AddExtension(c, authority->cert.get(), NID_key_usage, "critical,digitalSignature") ||
      !AddExtension(c, authority->cert.get(), NID_ext_key_usage, "clientAuth")) {
    return Failed("cannot add the client certificate's extensions");
  }
  GP_RETURN_IF_ERROR(Sign(c, authority->cert.get(), authority->key.get()));
  return CertPem(c);
}

Result<CertificateInfo> ReadCertificate(std::string_view certificate_pem) {
  Cert cert = ParseCert(certificate_pem);
  if (!cert) {
    ERR_clear_error();
    return InvalidArgument("pki: not a PEM certificate");
  }
  CertificateInfo info;
  info.common_name = CommonNameOf(X509_get_subject_name(cert.get()));
  Bn serial(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert.get()), nullptr));
  if (serial) {
    char* hex = BN_bn2hex(serial.get());
    for (const char* p = hex; p && *p; ++p) info.serial_hex += static_cast<char>(std::tolower(static_cast<unsigned char>(*p)));
    OPENSSL_free(hex);
  }
  info.not_before_ms = TimeMs(X509_get0_notBefore(cert.get()));
  info.not_after_ms = TimeMs(X509_get0_notAfter(cert.get()));
  return info;
}

Status CheckCertificatePair(std::string_view ca_pem, std::string_view certificate_pem,
                            std::string_view key_pem) {
  Cert ca = ParseCert(ca_pem);
  Cert cert = ParseCert(certificate_pem);
  PKey key = ParseKey(key_pem);
  Status out = OkStatus();
  if (!ca || !cert || !key) {
    out = InvalidArgument("pki: a certificate or key is not PEM");
  } else if (X509_check_private_key(cert.get(), key.get()) != 1) {
    out = InvalidArgument("pki: the key does not belong to the certificate");
  } else if (X509_verify(cert.get(), X509_get0_pubkey(ca.get())) != 1) {
    out = InvalidArgument("pki: the certificate was not issued by this CA");
  }
  ERR_clear_error();
  return out;
}

Status CheckPrivateKeyFile(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return NotFound("key file " + path + " does not exist");
    return InvalidArgument("cannot read key file " + path + ": " + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) return InvalidArgument("key file " + path + " is not a regular file");
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return InvalidArgument("key file " + path + " has mode " + mode +
                           ": its group and others can read it; make it 0600 (chmod 600)");
  }
  return OkStatus();
}

}  // namespace govpool::pki
