/* Socket timeouts and AF_UNIX ancillary data against Linux: run natively
 * and in lamina, the two outputs must be identical. SO_RCVTIMEO and
 * SO_SNDTIMEO on every kind of socket (recv, read, accept, send: EAGAIN
 * once the time has passed, a partial count for a send that moved some
 * bytes, a negative time that does not wait); SCM_RIGHTS on streams and
 * datagrams (the received descriptor is a new one on the same open file,
 * shared offset included, across fork; MSG_CTRUNC and closed descriptors
 * when the control buffer is short; MSG_CMSG_CLOEXEC; EBADF and EINVAL
 * for bad ones); SCM_CREDENTIALS with SO_PASSCRED. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *err_name(int e) {
    switch (e) {
    case 0: return "ok";
    case EAGAIN: return "EAGAIN";
    case EBADF: return "EBADF";
    case EINVAL: return "EINVAL";
    case EINPROGRESS: return "EINPROGRESS";
    case EPIPE: return "EPIPE";
    case EMSGSIZE: return "EMSGSIZE";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case EDOM: return "EDOM";
    case ETOOMANYREFS: return "ETOOMANYREFS";
    default: return "other";
    }
}

static long check(const char *what, long result) {
    if (result < 0)
        printf("%s: %s\n", what, err_name(errno));
    else
        printf("%s: %ld\n", what, result);
    fflush(stdout);
    return result;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void set_timeout(int fd, int name, long sec, long usec) {
    struct timeval tv = {sec, usec};
    if (setsockopt(fd, SOL_SOCKET, name, &tv, sizeof tv) != 0)
        printf("setsockopt timeout: %s\n", err_name(errno));
}

/* Runs `call` and says whether it failed with EAGAIN after about `ms`. */
#define TIMED(what, ms, call)                                                  \
    do {                                                                       \
        double started = now();                                                \
        errno = 0;                                                             \
        long r_ = (call);                                                      \
        double waited = (now() - started) * 1000;                              \
        printf("%s: %ld %s, waited %s\n", what, r_, err_name(r_ < 0 ? errno : 0), \
               waited >= (ms) * 0.9 ? (waited < (ms) + 5000 ? "long enough" : "too long") \
                                    : "too little");                           \
        fflush(stdout);                                                        \
    } while (0)

static void timeouts(void) {
    int sv[2];
    char buf[64];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    set_timeout(sv[0], SO_RCVTIMEO, 0, 200000);
    TIMED("stream recv with SO_RCVTIMEO", 200, recv(sv[0], buf, sizeof buf, 0));
    TIMED("stream read with SO_RCVTIMEO", 200, read(sv[0], buf, sizeof buf));
    write(sv[1], "x", 1);
    check("data before the timeout", recv(sv[0], buf, sizeof buf, 0));
    struct timeval tv;
    socklen_t len = sizeof tv;
    getsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, &len);
    printf("SO_RCVTIMEO reads back %ld.%06ld\n", (long)tv.tv_sec, (long)tv.tv_usec);
    struct timeval bad = {0, 1000000};
    check("SO_RCVTIMEO usec out of range", setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &bad, sizeof bad));
    set_timeout(sv[0], SO_RCVTIMEO, -1, 0);
    TIMED("negative SO_RCVTIMEO", 0, recv(sv[0], buf, sizeof buf, 0));
    set_timeout(sv[0], SO_RCVTIMEO, 0, 0);

    /* A full stream: the send waits SO_SNDTIMEO, then EAGAIN; a send that
     * moved some bytes returns their count. */
    int flags = fcntl(sv[1], F_GETFL);
    fcntl(sv[1], F_SETFL, flags | O_NONBLOCK);
    static char big[65536];
    long total = 0, n;
    while ((n = send(sv[1], big, sizeof big, 0)) > 0)
        total += n;
    fcntl(sv[1], F_SETFL, flags);
    set_timeout(sv[1], SO_SNDTIMEO, 0, 150000);
    TIMED("stream send to a full peer with SO_SNDTIMEO", 150, send(sv[1], big, sizeof big, 0));
    /* An empty peer and a send bigger than it holds: what went in is the
     * result once the time has passed. */
    char drain[8192];
    while (recv(sv[0], drain, sizeof drain, MSG_DONTWAIT) > 0)
        ;
    static char huge[1 << 20];
    double started = now();
    n = send(sv[1], huge, sizeof huge, 0);
    printf("partial send: %s, waited %s\n", n > 0 && n < (long)sizeof huge ? "some bytes" : "other",
           (now() - started) >= 0.135 ? "long enough" : "too little");
    close(sv[0]);
    close(sv[1]);

    socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
    set_timeout(sv[0], SO_RCVTIMEO, 0, 100000);
    TIMED("datagram recv with SO_RCVTIMEO", 100, recv(sv[0], buf, sizeof buf, 0));
    close(sv[0]);
    close(sv[1]);

    int listener = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    snprintf(addr.sun_path + 1, sizeof addr.sun_path - 1, "netmsg-%d", getpid());
    socklen_t addr_len = offsetof(struct sockaddr_un, sun_path) + 1 + strlen(addr.sun_path + 1);
    bind(listener, (struct sockaddr *)&addr, addr_len);
    listen(listener, 1);
    set_timeout(listener, SO_RCVTIMEO, 0, 100000);
    TIMED("accept with SO_RCVTIMEO", 100, accept(listener, NULL, NULL));
    close(listener);

    /* TCP on the loopback too. */
    int server = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in in = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bind(server, (struct sockaddr *)&in, sizeof in);
    socklen_t in_len = sizeof in;
    getsockname(server, (struct sockaddr *)&in, &in_len);
    listen(server, 1);
    int client = socket(AF_INET, SOCK_STREAM, 0);
    connect(client, (struct sockaddr *)&in, sizeof in);
    set_timeout(client, SO_RCVTIMEO, 0, 100000);
    TIMED("tcp recv with SO_RCVTIMEO", 100, recv(client, buf, sizeof buf, 0));
    close(client);
    close(server);

    int udp = socket(AF_INET, SOCK_DGRAM, 0);
    set_timeout(udp, SO_RCVTIMEO, 0, 100000);
    TIMED("udp recv with SO_RCVTIMEO", 100, recv(udp, buf, sizeof buf, 0));
    close(udp);
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    timeouts();
    return 0;
}
