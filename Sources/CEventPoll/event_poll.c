#define _GNU_SOURCE
#include "CEventPoll.h"

#ifdef __linux__
#include <errno.h>
#include <sys/socket.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>

int cosocket_epoll_create(void) {
    return epoll_create1(EPOLL_CLOEXEC);
}

int cosocket_epoll_ctl(int epoll_fd, int op, int fd, uint32_t events, uint64_t token) {
    struct epoll_event event = { .events = events, .data = { .u64 = token } };
    return epoll_ctl(epoll_fd, op, fd, &event);
}

int cosocket_epoll_poll(int epoll_fd, uint64_t *tokens, uint32_t *events, int capacity) {
    struct epoll_event ready[64];
    if (capacity > 64) capacity = 64;
    int count;
    do {
        count = epoll_wait(epoll_fd, ready, capacity, 0);
    } while (count < 0 && errno == EINTR);
    for (int i = 0; i < count; i++) {
        tokens[i] = ready[i].data.u64;
        events[i] = ready[i].events;
    }
    return count;
}

int cosocket_eventfd_create(void) {
    return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

int cosocket_eventfd_signal(int fd) {
    return eventfd_write(fd, 1);
}

int cosocket_accept(int fd, void *address, uint32_t *length) {
    return accept4(fd, (struct sockaddr *)address, (socklen_t *)length, SOCK_NONBLOCK | SOCK_CLOEXEC);
}

static __thread void *thread_poller;

void *cosocket_thread_poller(void) { return thread_poller; }
void cosocket_set_thread_poller(void *poller) { thread_poller = poller; }
#endif
