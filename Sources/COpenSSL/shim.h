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
#include <stdlib.h>
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
///
/// It also remembers whether its last read came up short (fewer bytes than asked for, or
/// EAGAIN): the kernel had nothing more then, and with edge-triggered readiness any byte that
/// arrives later brings a new event. The connection then skips the SSL_read that would only
/// meet EAGAIN (cosocket_ssl_input_drained), as it skips the read(2) after a short plain read.
typedef struct { int descriptor; int drained; } cosocket_bio_state;

static int cosocket_bio_write(BIO *bio, const char *data, int length) {
    cosocket_bio_state *state = (cosocket_bio_state *)BIO_get_data(bio);
    ssize_t written;
    BIO_clear_retry_flags(bio);
    do { written = send(state->descriptor, data, (size_t)length, MSG_NOSIGNAL); } while (written < 0 && errno == EINTR);
    if (written < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) BIO_set_retry_write(bio);
    return (int)written;
}

static int cosocket_bio_read(BIO *bio, char *data, int length) {
    cosocket_bio_state *state = (cosocket_bio_state *)BIO_get_data(bio);
    ssize_t count;
    BIO_clear_retry_flags(bio);
    do { count = read(state->descriptor, data, (size_t)length); } while (count < 0 && errno == EINTR);
    if (count < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) BIO_set_retry_read(bio);
    // The end of the stream (0) and errors are not "drained": the next read must see them again.
    state->drained = (count > 0 && count < length) || (count < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
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
static int cosocket_bio_destroy(BIO *bio) {
    free(BIO_get_data(bio));
    BIO_set_data(bio, NULL);
    return 1;
}

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
    cosocket_bio_state *state = malloc(sizeof(cosocket_bio_state));
    if (state == NULL) return 0;
    state->descriptor = descriptor;
    state->drained = 0;
    BIO *bio = BIO_new(method);
    if (bio == NULL) { free(state); return 0; }
    BIO_set_data(bio, state);
    SSL_set_bio(ssl, bio, bio);
    return 1;
}

/// Whether reading `ssl` now would only meet EAGAIN: OpenSSL holds no bytes, decrypted or
/// not (SSL_has_pending, which read-ahead makes necessary: SSL_pending counts only the
/// current record's), and the descriptor's last read came up short since the last readiness
/// event (cosocket_ssl_note_readable clears that).
static inline int cosocket_ssl_input_drained(SSL *ssl) {
    BIO *bio = SSL_get_rbio(ssl);
    cosocket_bio_state *state = bio == NULL ? NULL : (cosocket_bio_state *)BIO_get_data(bio);
    return state != NULL && state->drained && !SSL_has_pending(ssl);
}

/// A readiness event came: bytes may have arrived since the last short read.
static inline void cosocket_ssl_note_readable(SSL *ssl) {
    BIO *bio = SSL_get_rbio(ssl);
    cosocket_bio_state *state = bio == NULL ? NULL : (cosocket_bio_state *)BIO_get_data(bio);
    if (state != NULL) state->drained = 0;
}

/// nginx's `ngx_ssl_create` sets read-ahead on every context: a record's header and body (and
/// whatever follows them) come in one read(2) of up to the record buffer, not a 5-byte read
/// and a second for the body.
static inline void cosocket_ssl_ctx_set_read_ahead(SSL_CTX *ctx) { SSL_CTX_set_read_ahead(ctx, 1); }

/// The verify callback nginx installs: every certificate passes the handshake, and the result
/// (SSL_get_verify_result) is checked afterwards when the caller asked for verification.
static int cosocket_ssl_verify_accept(int ok, X509_STORE_CTX *store) { (void)ok; (void)store; return 1; }
static inline void cosocket_ssl_ctx_set_verify_accepting(SSL_CTX *ctx) { SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, cosocket_ssl_verify_accept); }

// ---- TLS for the host's clients (server side): the macros the server context needs.
static inline uint64_t cosocket_ssl_op_server_preference(void) { return SSL_OP_CIPHER_SERVER_PREFERENCE; }
static inline uint64_t cosocket_ssl_op_no_ticket(void) { return SSL_OP_NO_TICKET; }
static inline long cosocket_ssl_ctx_set_cache_size(SSL_CTX *ctx, long size) { return SSL_CTX_sess_set_cache_size(ctx, size); }
static inline long cosocket_ssl_ctx_set_curves(SSL_CTX *ctx, const char *list) { return SSL_CTX_set1_curves_list(ctx, list); }
static inline long cosocket_ssl_ctx_add0_chain_cert(SSL_CTX *ctx, X509 *certificate) { return SSL_CTX_add0_chain_cert(ctx, certificate); }
static inline long cosocket_ssl_ctx_set_ticket_keys(SSL_CTX *ctx, void *keys, long length) { return SSL_CTX_set_tlsext_ticket_keys(ctx, keys, length); }
static inline long cosocket_ssl_ctx_set_servername_callback(SSL_CTX *ctx, int (*callback)(SSL *, int *, void *)) {
    return SSL_CTX_set_tlsext_servername_callback(ctx, callback);
}
static inline long cosocket_ssl_clear_chain_certs(SSL *ssl) { return SSL_clear_chain_certs(ssl); }
static inline int cosocket_ssl_tlsext_err_ok(void) { return SSL_TLSEXT_ERR_OK; }
static inline int cosocket_ssl_tlsext_err_alert_fatal(void) { return SSL_TLSEXT_ERR_ALERT_FATAL; }
/// A server-side verify callback for `ssl_verify_client`: as nginx's, every certificate passes
/// the handshake and the request checks SSL_get_verify_result.
static inline void cosocket_ssl_ctx_set_verify_peer(SSL_CTX *ctx, int fail_without_certificate) {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | (fail_without_certificate ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0), cosocket_ssl_verify_accept);
}

// ---- ssl_session_ticket_key: nginx's ticket callback, keys of 48 bytes (AES-128-CBC, a
// 16-byte HMAC-SHA256 key) or 80 (AES-256-CBC, 32 bytes) in nginx's layout: name, then for 48
// AES then HMAC key, for 80 HMAC then AES key. The first key encrypts, any decrypts (a ticket
// under another than the first is renewed). The keys live in the SSL_CTX's ex_data, freed with it.
#include <openssl/core_names.h>
typedef struct { unsigned char name[16]; unsigned char hmac[32]; unsigned char aes[32]; int size; } cosocket_ticket_key;
typedef struct { int count; cosocket_ticket_key keys[]; } cosocket_ticket_keys;

static void cosocket_ticket_keys_free(void *parent, void *pointer, CRYPTO_EX_DATA *data, int index, long argl, void *argp) {
    (void)parent; (void)data; (void)index; (void)argl; (void)argp;
    if (pointer != NULL) { OPENSSL_cleanse(pointer, sizeof(cosocket_ticket_keys) + sizeof(cosocket_ticket_key) * (size_t)((cosocket_ticket_keys *)pointer)->count); free(pointer); }
}

static inline int cosocket_ticket_keys_index(void) {
    static _Atomic int shared = -1;
    int index = atomic_load(&shared);
    if (index >= 0) return index;
    int made = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, cosocket_ticket_keys_free);
    int expected = -1;
    if (!atomic_compare_exchange_strong(&shared, &expected, made)) return expected;
    return made;
}

static int cosocket_ticket_callback(SSL *ssl, unsigned char *name, unsigned char *iv, EVP_CIPHER_CTX *cipher_context, EVP_MAC_CTX *mac_context, int encrypt) {
    SSL_CTX *ctx = SSL_get_SSL_CTX(ssl);
    cosocket_ticket_keys *keys = ctx == NULL ? NULL : SSL_CTX_get_ex_data(ctx, cosocket_ticket_keys_index());
    if (keys == NULL || keys->count == 0) return -1;
    int found = 0;
    if (!encrypt) {
        for (found = 0; found < keys->count; found++) {
            if (memcmp(name, keys->keys[found].name, 16) == 0) break;
        }
        if (found == keys->count) return 0;
    }
    cosocket_ticket_key *key = &keys->keys[found];
    const EVP_CIPHER *cipher = key->size == 48 ? EVP_aes_128_cbc() : EVP_aes_256_cbc();
    OSSL_PARAM params[] = { OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0), OSSL_PARAM_construct_end() };
    if (EVP_MAC_CTX_set_params(mac_context, params) != 1) return -1;
    if (encrypt) {
        if (RAND_bytes(iv, EVP_CIPHER_get_iv_length(cipher)) != 1) return -1;
        if (EVP_EncryptInit_ex(cipher_context, cipher, NULL, key->aes, iv) != 1) return -1;
        if (EVP_MAC_init(mac_context, key->hmac, key->size == 48 ? 16 : 32, NULL) != 1) return -1;
        memcpy(name, key->name, 16);
        return 1;
    }
    if (EVP_MAC_init(mac_context, key->hmac, key->size == 48 ? 16 : 32, NULL) != 1) return -1;
    if (EVP_DecryptInit_ex(cipher_context, cipher, NULL, key->aes, iv) != 1) return -1;
    return found == 0 ? 1 : 2;
}

/// Installs `count` keys read from files (`bytes` holds them one after another, `sizes` each
/// one's length, 48 or 80); 1 on success.
static inline int cosocket_ssl_ctx_set_ticket_key_files(SSL_CTX *ctx, const unsigned char *bytes, const int *sizes, int count) {
    cosocket_ticket_keys *keys = calloc(1, sizeof(cosocket_ticket_keys) + sizeof(cosocket_ticket_key) * (size_t)count);
    if (keys == NULL) return 0;
    keys->count = count;
    for (int i = 0; i < count; i++) {
        cosocket_ticket_key *key = &keys->keys[i];
        key->size = sizes[i];
        memcpy(key->name, bytes, 16);
        if (sizes[i] == 48) {
            memcpy(key->aes, bytes + 16, 16);
            memcpy(key->hmac, bytes + 32, 16);
        } else {
            memcpy(key->hmac, bytes + 16, 32);
            memcpy(key->aes, bytes + 48, 32);
        }
        bytes += sizes[i];
    }
    if (SSL_CTX_set_ex_data(ctx, cosocket_ticket_keys_index(), keys) != 1) { free(keys); return 0; }
    return SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, cosocket_ticket_callback) == 1 ? 1 : 0;
}
static inline long cosocket_bio_get_mem_data(BIO *bio, char **data) { return BIO_get_mem_data(bio, data); }
static inline unsigned long cosocket_xn_flag_rfc2253(void) { return XN_FLAG_RFC2253; }

// ---- The hooks inside the host's handshakes (ngx.ssl in ssl_certificate_by_lua*, ...).
static inline void cosocket_ssl_set_verify_peer(SSL *ssl, int depth) {
    SSL_set_verify(ssl, SSL_VERIFY_PEER, cosocket_ssl_verify_accept);
    if (depth >= 0) SSL_set_verify_depth(ssl, depth);
}
static inline long cosocket_ssl_set1_verify_cert_store(SSL *ssl, X509_STORE *store) { return SSL_set1_verify_cert_store(ssl, store); }
static inline uint64_t cosocket_ssl_op_no_protocols(void) {
    return SSL_OP_NO_SSLv2 | SSL_OP_NO_SSLv3 | SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1 | SSL_OP_NO_TLSv1_2 | SSL_OP_NO_TLSv1_3;
}
