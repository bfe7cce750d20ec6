/* The Swift API loop's baseline: sequential redis PING round trips over one blocking POSIX
 * socket, no event loop at all. Prints one JSON line in cosocket-bench's format.
 *
 *     ping-blocking PORT COUNT */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Untimed round trips first, as cosocket-bench does, so both start on a warm connection. */
#define WARM_UP_ROUND_TRIPS 1000

static const char ping[] = "PING\r\n";
static const char pong[] = "+PONG\r\n";

static void round_trip(int fd) {
    if (send(fd, ping, sizeof ping - 1, 0) != (ssize_t)(sizeof ping - 1)) { perror("send"); exit(1); }
    char reply[sizeof pong - 1];
    size_t received = 0;
    while (received < sizeof reply) { /* a reply can arrive in pieces */
        ssize_t n = recv(fd, reply + received, sizeof reply - received, 0);
        if (n <= 0) { perror("recv"); exit(1); }
        received += (size_t)n;
    }
    if (memcmp(reply, pong, sizeof reply) != 0) { fprintf(stderr, "unexpected reply\n"); exit(1); }
}

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: %s PORT COUNT\n", argv[0]); return 2; }
    long count = atol(argv[2]);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1]))};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&address, sizeof address) != 0) { perror("connect"); return 1; }
    int on = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on); /* NIO and our engine set it too */

    for (int i = 0; i < WARM_UP_ROUND_TRIPS; i++) round_trip(fd);
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (long i = 0; i < count; i++) round_trip(fd);
    clock_gettime(CLOCK_MONOTONIC, &end);
    close(fd);
    double seconds = (double)(end.tv_sec - start.tv_sec) + (double)(end.tv_nsec - start.tv_nsec) / 1e9;
    printf("{\"implementation\": \"blocking POSIX socket (C)\", \"round_trips\": %ld, \"seconds\": %.6f}\n", count, seconds);
    return 0;
}
