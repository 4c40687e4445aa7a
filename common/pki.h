// The platform's own small PKI (OpenSSL): the controller's certificate authority, its server
// certificate, and the agents' client certificates issued from their certificate signing
// requests (docs/security.md, "TLS and agent enrolment"). Keys are EC P-256, signatures
// ECDSA with SHA-256. Everything is PEM text; nothing here touches a file except
// CheckPrivateKeyFile. Thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace govpool::pki {

// A certificate with its private key, both PEM.
struct KeyAndCertificate {
  std::string key_pem;
  std::string certificate_pem;
};

struct CertificateInfo {
  std::string common_name;  // the subject's CN
  std::string serial_hex;   // lower-case hex, no leading zeros stripped
  std::int64_t not_before_ms = 0;
  std::int64_t not_after_ms = 0;
};

// A new EC P-256 private key (PKCS#8 PEM). Internal when OpenSSL fails.
Result<std::string> NewPrivateKey();

// A self-signed CA certificate (CA:TRUE, pathlen 0, keyCertSign) with a new key, valid from
// now (less a minute of clock skew) for `lifetime_ms`.
Result<KeyAndCertificate> CreateAuthority(std::string_view common_name, std::int64_t now_ms,
                                          std::int64_t lifetime_ms);

// A server certificate (serverAuth) with a new key, signed by `ca`, for `names`: each an IP
// address (v4 or v6) or a DNS name, all in subjectAltName; the first is also the CN.
// InvalidArgument for no names or a name that is neither.
Result<KeyAndCertificate> IssueServerCertificate(const KeyAndCertificate& ca,
                                                 const std::vector<std::string>& names,
                                                 std::int64_t now_ms, std::int64_t lifetime_ms);

// A certificate signing request for `common_name` signed by `key_pem`.
Result<std::string> MakeCertificateRequest(std::string_view key_pem, std::string_view common_name);

// A client certificate (clientAuth, CA:FALSE) signed by `ca` for the key in `csr_pem`, with CN
// `common_name` whatever the request asked. InvalidArgument when the request is not PEM, its
// signature does not verify, its subject's CN is not `common_name`, or its key is neither EC
// (P-256, P-384) nor RSA of at least 2048 bits.
Result<std::string> SignClientCertificate(const KeyAndCertificate& ca, std::string_view csr_pem,
                                          std::string_view common_name, std::int64_t now_ms,
                                          std::int64_t lifetime_ms);

// What a PEM certificate says about itself. InvalidArgument when it is not one.
Result<CertificateInfo> ReadCertificate(std::string_view certificate_pem);

// OK when `certificate_pem` was signed by `ca_pem`'s key and `key_pem` is its private key.
Status CheckCertificatePair(std::string_view ca_pem, std::string_view certificate_pem,
                            std::string_view key_pem);

// A private key file must be readable by its owner only: InvalidArgument when its group or
// others have any access (or it is not a regular file), NotFound when it does not exist.
Status CheckPrivateKeyFile(const std::string& path);

}  // namespace govpool::pki
