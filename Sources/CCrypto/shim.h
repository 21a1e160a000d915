#ifndef PIPELINE_CCRYPTO_SHIM_H
#define PIPELINE_CCRYPTO_SHIM_H
// The low-level SHA-256 calls (SHA256_Init/Update/Final) are deprecated in OpenSSL 3 in favour of
// EVP, but they hash into a caller-owned, copyable context with no allocation and no provider
// look-up, which is what the SigV4 hot path wants. They remain available in every 3.x release.
#ifndef OPENSSL_SUPPRESS_DEPRECATED
#define OPENSSL_SUPPRESS_DEPRECATED 1
#endif
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <openssl/md5.h>
#include <openssl/crypto.h>
#endif
