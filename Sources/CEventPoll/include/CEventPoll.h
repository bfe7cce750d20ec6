#ifndef COSOCKET_CEVENTPOLL_H
#define COSOCKET_CEVENTPOLL_H

// The epoll and eventfd calls the engine's readiness set needs. Glibc's Swift module map
// leaves <sys/epoll.h> out, and `struct epoll_event` is packed on x86-64, which Swift does
// not lay out; these wrappers take and return plain integers instead.

#include <stdint.h>

#ifdef __linux__

/// A new epoll set (close-on-exec), or -1 with errno.
int cosocket_epoll_create(void);

/// `epoll_ctl` with the event's data as a 64-bit token.
int cosocket_epoll_ctl(int epoll_fd, int op, int fd, uint32_t events, uint64_t token);

/// `epoll_wait` without blocking: fills up to `capacity` tokens and event masks; returns the
/// count, or -1 with errno.
int cosocket_epoll_poll(int epoll_fd, uint64_t *tokens, uint32_t *events, int capacity);

/// A non-blocking, close-on-exec eventfd, or -1 with errno.
int cosocket_eventfd_create(void);

/// Adds one to an eventfd's counter (which makes it readable, a new edge for epoll).
int cosocket_eventfd_signal(int fd);

/// `accept4` (a GNU extension Glibc's module map leaves out): non-blocking, close-on-exec.
int cosocket_accept(int fd, void *address, uint32_t *length);

/// The calling thread's readiness set (the one its event loop drains), or NULL.
void *cosocket_thread_poller(void);
void cosocket_set_thread_poller(void *poller);

enum {
    COSOCKET_EPOLL_CTL_ADD = 1,
    COSOCKET_EPOLL_CTL_DEL = 2,
    COSOCKET_EPOLL_CTL_MOD = 3,
    COSOCKET_EPOLLIN = 0x001,
    COSOCKET_EPOLLOUT = 0x004,
    COSOCKET_EPOLLERR = 0x008,
    COSOCKET_EPOLLHUP = 0x010,
    COSOCKET_EPOLLRDHUP = 0x2000,
};
#define COSOCKET_EPOLLET (1u << 31)

#endif
#endif
