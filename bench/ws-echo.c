/* ws-echo PORT CONNECTIONS SECONDS SIZE: WebSocket echo load for bench/compare's websocket
 * row. Each of CONNECTIONS threads upgrades one connection to 127.0.0.1:PORT, then sends a
 * masked text frame of SIZE bytes and reads the echoed frame back, over and over, for
 * SECONDS. Prints the echoed messages per second over all connections, or exits 1 when a
 * handshake or an echo went wrong (a wrong echo would measure nothing). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int port, seconds, size;
static atomic_long echoed;
static atomic_int failed;
static volatile int stop;

static int read_exactly(int fd, unsigned char *buffer, size_t count) {
    size_t got = 0;
    while (got < count) {
        ssize_t n = read(fd, buffer + got, count - got);
        if (n <= 0) return -1;
        got += (size_t)n;
    }
    return 0;
}

static int write_all(int fd, const unsigned char *buffer, size_t count) {
    size_t sent = 0;
    while (sent < count) {
        ssize_t n = write(fd, buffer + sent, count - sent);
        if (n <= 0) return -1;
        sent += (size_t)n;
    }
    return 0;
}

static int upgrade(int fd) {
    const char *request =
        "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    if (write_all(fd, (const unsigned char *)request, strlen(request)) != 0) return -1;
    char head[4096];
    size_t got = 0;
    while (got < sizeof head - 1) {
        ssize_t n = read(fd, head + got, 1);  /* byte by byte: no frame byte is taken */
        if (n <= 0) return -1;
        got += 1;
        head[got] = 0;
        if (got >= 4 && memcmp(head + got - 4, "\r\n\r\n", 4) == 0) break;
    }
    return strncmp(head, "HTTP/1.1 101", 12) == 0 ? 0 : -1;
}

static void *run(void *unused) {
    (void)unused;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&address, sizeof address) != 0 || upgrade(fd) != 0) {
        atomic_store(&failed, 1);
        close(fd);
        return NULL;
    }
    /* FIN + text, masked, 16-bit length (SIZE is 126..65535). */
    size_t frame_length = 8 + (size_t)size;
    unsigned char *frame = malloc(frame_length), *echo = malloc((size_t)size + 4);
    unsigned char mask[4] = { 0x12, 0x34, 0x56, 0x78 };
    frame[0] = 0x81;
    frame[1] = 0x80 | 126;
    frame[2] = (unsigned char)(size >> 8);
    frame[3] = (unsigned char)size;
    memcpy(frame + 4, mask, 4);
    for (int i = 0; i < size; i++) frame[8 + i] = (unsigned char)('a' + i % 26) ^ mask[i % 4];
    long count = 0;
    while (!stop) {
        unsigned char header[4];
        if (write_all(fd, frame, frame_length) != 0 || read_exactly(fd, header, 4) != 0 ||
            header[0] != 0x81 || header[1] != 126 || ((header[2] << 8) | header[3]) != size ||
            read_exactly(fd, echo, (size_t)size) != 0 || echo[size - 1] != (unsigned char)('a' + (size - 1) % 26)) {
            atomic_store(&failed, 1);
            break;
        }
        count++;
    }
    atomic_fetch_add(&echoed, count);
    /* A close frame (masked, no payload), then the connection goes. */
    unsigned char close_frame[6] = { 0x88, 0x80, 0, 0, 0, 0 };
    write_all(fd, close_frame, sizeof close_frame);
    close(fd);
    free(frame);
    free(echo);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: ws-echo PORT CONNECTIONS SECONDS SIZE\n");
        return 2;
    }
    port = atoi(argv[1]);
    int connections = atoi(argv[2]);
    seconds = atoi(argv[3]);
    size = atoi(argv[4]);
    if (connections < 1 || connections > 1000 || size < 126 || size > 65535) return 2;
    pthread_t threads[1000];
    struct timespec began, ended;
    clock_gettime(CLOCK_MONOTONIC, &began);
    for (int i = 0; i < connections; i++) pthread_create(&threads[i], NULL, run, NULL);
    sleep((unsigned)seconds);
    stop = 1;
    for (int i = 0; i < connections; i++) pthread_join(threads[i], NULL);
    clock_gettime(CLOCK_MONOTONIC, &ended);
    double elapsed = (double)(ended.tv_sec - began.tv_sec) + (double)(ended.tv_nsec - began.tv_nsec) / 1e9;
    if (atomic_load(&failed)) {
        fprintf(stderr, "ws-echo: a handshake or an echo failed\n");
        return 1;
    }
    printf("%.0f\n", (double)atomic_load(&echoed) / elapsed);
    return 0;
}
