/* Upstream for bench/compare's streaming workloads: on each connection, writes the contents of
 * FILE REPEAT times, then closes. Listens on 127.0.0.1:PORT only.
 *
 *     payload-server PORT FILE REPEAT [CERT KEY]
 *
 * With CERT and KEY (PEM) it speaks TLS (OpenSSL, link with -lssl -lcrypto): the handshake,
 * then the same bytes as records, then close_notify.
 *
 * The file is read into memory once and each connection gets its own thread with plain blocking
 * send() calls, so wrk's concurrent requests never queue behind one another here, and a 256 MiB
 * stream is a loop over a small in-memory block rather than 256 MiB of resident data. It reads
 * nothing from the client: the benchmark handlers only receive. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <openssl/ssl.h>

static char *payload;
static size_t payload_size;
static long repeat;
static SSL_CTX *tls;

static int send_all(int fd, const char *data, size_t size) {
    while (size > 0) {
        ssize_t sent = send(fd, data, size, MSG_NOSIGNAL);
        if (sent <= 0) return -1;
        data += sent;
        size -= (size_t)sent;
    }
    return 0;
}

static int tls_send_all(SSL *ssl, const char *data, size_t size) {
    while (size > 0) {
        int chunk = size > (1 << 30) ? (1 << 30) : (int)size;
        int sent = SSL_write(ssl, data, chunk);
        if (sent <= 0) return -1;
        data += sent;
        size -= (size_t)sent;
    }
    return 0;
}

static void *serve_connection(void *arg) {
    int fd = (int)(intptr_t)arg;
    if (tls) {
        SSL *ssl = SSL_new(tls);
        SSL_set_fd(ssl, fd);
        if (SSL_accept(ssl) == 1) {
            for (long i = 0; i < repeat; i++)
                if (tls_send_all(ssl, payload, payload_size) != 0) break;
            SSL_shutdown(ssl);
        }
        SSL_free(ssl);
    } else {
        for (long i = 0; i < repeat; i++)
            if (send_all(fd, payload, payload_size) != 0) break; /* the client gave up: nothing to report */
    }
    close(fd);
    return NULL;
}

static void load_payload(const char *path) {
    FILE *file = fopen(path, "rb");
    if (!file) { perror(path); exit(1); }
    fseek(file, 0, SEEK_END);
    payload_size = (size_t)ftell(file);
    rewind(file);
    payload = malloc(payload_size);
    if (!payload || fread(payload, 1, payload_size, file) != payload_size) { perror(path); exit(1); }
    fclose(file);
}

int main(int argc, char **argv) {
    if (argc != 4 && argc != 6) { fprintf(stderr, "usage: %s PORT FILE REPEAT [CERT KEY]\n", argv[0]); return 2; }
    if (argc == 6) {
        tls = SSL_CTX_new(TLS_server_method());
        if (!tls || SSL_CTX_use_certificate_chain_file(tls, argv[4]) != 1 || SSL_CTX_use_PrivateKey_file(tls, argv[5], SSL_FILETYPE_PEM) != 1) {
            fprintf(stderr, "cannot load %s / %s\n", argv[4], argv[5]);
            return 1;
        }
    }
    load_payload(argv[2]);
    repeat = atol(argv[3]);
    signal(SIGPIPE, SIG_IGN);

    int listener = socket(AF_INET, SOCK_STREAM, 0);
    int on = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1]))};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(listener, (struct sockaddr *)&address, sizeof address) != 0 || listen(listener, 1024) != 0) {
        perror("listen");
        return 1;
    }
    pthread_attr_t detached;
    pthread_attr_init(&detached);
    pthread_attr_setdetachstate(&detached, PTHREAD_CREATE_DETACHED);
    for (;;) {
        int fd = accept(listener, NULL, NULL);
        if (fd < 0) continue;
        pthread_t thread;
        if (pthread_create(&thread, &detached, serve_connection, (void *)(intptr_t)fd) != 0) close(fd);
    }
}
