// Debian's OpenSSL 3 (libssl-dev): TLS for cosockets and the host, and libcrypto's digests,
// which lua-resty-string and lua-resty-core also reach through ffi.C.
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/md5.h>
#include <openssl/sha.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <openssl/ocsp.h>
