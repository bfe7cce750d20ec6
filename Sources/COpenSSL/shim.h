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
#include <openssl/pem.h>

// ---- TLS for cosockets: OpenSSL's macros as functions Swift can call, and a descriptor BIO.
#include <errno.h>
#include <string.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

static inline long cosocket_ssl_set_host_name(SSL *ssl, const char *name) { return SSL_set_tlsext_host_name(ssl, name); }
static inline long cosocket_ssl_ctx_set_mode(SSL_CTX *ctx, long mode) { return SSL_CTX_set_mode(ctx, mode); }
static inline long cosocket_ssl_ctx_set_session_cache_mode(SSL_CTX *ctx, long mode) { return SSL_CTX_set_session_cache_mode(ctx, mode); }
static inline long cosocket_ssl_add1_chain_cert(SSL *ssl, X509 *certificate) { return SSL_add1_chain_cert(ssl, certificate); }
static inline long cosocket_ssl_set_status_request(SSL *ssl) { return SSL_set_tlsext_status_type(ssl, TLSEXT_STATUSTYPE_ocsp); }
static inline uint64_t cosocket_ssl_op_no_sslv2(void) { return SSL_OP_NO_SSLv2; }
static inline uint64_t cosocket_ssl_op_no_sslv3(void) { return SSL_OP_NO_SSLv3; }
static inline uint64_t cosocket_ssl_op_no_tlsv1(void) { return SSL_OP_NO_TLSv1; }
static inline uint64_t cosocket_ssl_op_no_tlsv1_1(void) { return SSL_OP_NO_TLSv1_1; }
static inline uint64_t cosocket_ssl_op_no_tlsv1_2(void) { return SSL_OP_NO_TLSv1_2; }
static inline uint64_t cosocket_ssl_op_no_tlsv1_3(void) { return SSL_OP_NO_TLSv1_3; }
/// nginx's client options: no compression, no renegotiation, a peer's bare FIN read as the end
/// of the stream (as nginx 1.22 reads it with OpenSSL 3).
static inline uint64_t cosocket_ssl_client_options(void) {
    uint64_t options = SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION;
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
    options |= SSL_OP_IGNORE_UNEXPECTED_EOF;
#endif
    return options;
}

/// A BIO over a non-blocking socket descriptor, like OpenSSL's socket BIO but sending with
/// MSG_NOSIGNAL: a write to a peer that reset must answer EPIPE, not raise SIGPIPE in a process
/// that does not ignore it. The descriptor stays the caller's (the BIO never closes it).
static int cosocket_bio_write(BIO *bio, const char *data, int length) {
    int descriptor = (int)(intptr_t)BIO_get_data(bio);
    ssize_t written;
    BIO_clear_retry_flags(bio);
    do { written = send(descriptor, data, (size_t)length, MSG_NOSIGNAL); } while (written < 0 && errno == EINTR);
    if (written < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) BIO_set_retry_write(bio);
    return (int)written;
}

static int cosocket_bio_read(BIO *bio, char *data, int length) {
    int descriptor = (int)(intptr_t)BIO_get_data(bio);
    ssize_t count;
    BIO_clear_retry_flags(bio);
    do { count = read(descriptor, data, (size_t)length); } while (count < 0 && errno == EINTR);
    if (count < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) BIO_set_retry_read(bio);
    return (int)count;
}

static int cosocket_bio_puts(BIO *bio, const char *text) { return cosocket_bio_write(bio, text, (int)strlen(text)); }

static long cosocket_bio_ctrl(BIO *bio, int command, long number, void *pointer) {
    (void)bio; (void)number; (void)pointer;
    switch (command) {
    case BIO_CTRL_FLUSH: return 1;
    case BIO_CTRL_DUP: return 1;
    default: return 0;
    }
}

static int cosocket_bio_create(BIO *bio) { BIO_set_init(bio, 1); return 1; }
static int cosocket_bio_destroy(BIO *bio) { (void)bio; return 1; }

static inline BIO_METHOD *cosocket_bio_method_make(void) {
    BIO_METHOD *method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK | BIO_TYPE_DESCRIPTOR, "cosocket descriptor");
    if (method == NULL) return NULL;
    BIO_meth_set_write(method, cosocket_bio_write);
    BIO_meth_set_read(method, cosocket_bio_read);
    BIO_meth_set_puts(method, cosocket_bio_puts);
    BIO_meth_set_ctrl(method, cosocket_bio_ctrl);
    BIO_meth_set_create(method, cosocket_bio_create);
    BIO_meth_set_destroy(method, cosocket_bio_destroy);
    return method;
}

/// The one method (made by whichever event loop thread asks first; a function-local static,
/// as a header's file-scope one would not be emitted for Swift).
static inline BIO_METHOD *cosocket_bio_method(void) {
    static BIO_METHOD *_Atomic shared = NULL;
    BIO_METHOD *method = atomic_load(&shared);
    if (method != NULL) return method;
    BIO_METHOD *made = cosocket_bio_method_make();
    if (made == NULL) return NULL;
    BIO_METHOD *expected = NULL;
    if (!atomic_compare_exchange_strong(&shared, &expected, made)) {
        BIO_meth_free(made);
        return expected;
    }
    return made;
}

/// Reads and writes `ssl`'s records on `descriptor` (see cosocket_bio_write); 0 on failure.
static inline int cosocket_ssl_attach_descriptor(SSL *ssl, int descriptor) {
    BIO_METHOD *method = cosocket_bio_method();
    if (method == NULL) return 0;
    BIO *bio = BIO_new(method);
    if (bio == NULL) return 0;
    BIO_set_data(bio, (void *)(intptr_t)descriptor);
    SSL_set_bio(ssl, bio, bio);
    return 1;
}

/// The verify callback nginx installs: every certificate passes the handshake, and the result
/// (SSL_get_verify_result) is checked afterwards when the caller asked for verification.
static int cosocket_ssl_verify_accept(int ok, X509_STORE_CTX *store) { (void)ok; (void)store; return 1; }
static inline void cosocket_ssl_ctx_set_verify_accepting(SSL_CTX *ctx) { SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, cosocket_ssl_verify_accept); }
