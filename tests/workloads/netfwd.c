/* Forwarded sockets (issue 9): TCP and UDP through the host proxy.
 * The host's loopback is 10.0.2.2 from inside the guest.
 *   netfwd tcp PORT BYTES      echo BYTES through a host echo server, checksummed
 *   netfwd refused PORT        connect to a closed host port: ECONNREFUSED
 *   netfwd denied IP PORT      connect the policy refuses: EPERM
 *   netfwd nbconnect PORT      non-blocking connect, poll for POLLOUT, SO_ERROR
 *   netfwd udp PORT            sendto/recvfrom a host UDP echo server
 *   netfwd udpconn PORT        connected UDP: send/recv, getpeername
 *   netfwd sink PORT BYTES     one blocking send() of BYTES to a host sink
 *                              that answers with the count at end of file
 *   netfwd serve PORT COUNT    poll()-based echo server on 0.0.0.0:PORT for
 *                              COUNT connections (published and loopback)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static struct sockaddr_in host_addr(const char *ip, int port) {
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, ip, &a.sin_addr);
    return a;
}

static void show(const char *what, int fd, int peer) {
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    int r = peer ? getpeername(fd, (void *)&a, &len) : getsockname(fd, (void *)&a, &len);
    if (r < 0) {
        printf("%s: %s\n", what, strerror(errno));
        return;
    }
    char ip[32];
    inet_ntop(AF_INET, &a.sin_addr, ip, sizeof ip);
    printf("%s: %s:%s\n", what, ip, peer ? "port" : (ntohs(a.sin_port) ? "nonzero" : "0"));
    if (peer) printf("  port %d\n", ntohs(a.sin_port));
}

static uint8_t pattern(size_t i) { return (uint8_t)(i * 131 + (i >> 9)); }

static int tcp(int port, size_t total) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0) perror("nodelay");
    struct sockaddr_in a = host_addr("10.0.2.2", port);
    if (connect(fd, (void *)&a, sizeof a) < 0) {
        printf("connect: %s\n", strerror(errno));
        return 1;
    }
    show("local", fd, 0);
    show("peer", fd, 1);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    static uint8_t buf[65536];
    size_t sent = 0, got = 0;
    uint64_t sum_out = 0, sum_in = 0;
    int shut = 0;
    while (got < total) {
        struct pollfd p = {.fd = fd, .events = POLLIN | (sent < total ? POLLOUT : 0)};
        if (poll(&p, 1, 20000) <= 0) {
            printf("poll timed out: sent %zu got %zu\n", sent, got);
            return 1;
        }
        if ((p.revents & POLLOUT) && sent < total) {
            size_t n = total - sent < sizeof buf ? total - sent : sizeof buf;
            for (size_t i = 0; i < n; i++) buf[i] = pattern(sent + i);
            ssize_t w = send(fd, buf, n, MSG_NOSIGNAL);
            if (w < 0 && errno != EAGAIN) {
                printf("send: %s\n", strerror(errno));
                return 1;
            }
            if (w > 0) {
                for (ssize_t i = 0; i < w; i++) sum_out += buf[i] * (sent + i + 1);
                sent += w;
            }
        }
        if (sent == total && !shut) {
            shutdown(fd, SHUT_WR);
            shut = 1;
        }
        if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t r = recv(fd, buf, sizeof buf, 0);
            if (r < 0 && errno != EAGAIN) {
                printf("recv: %s\n", strerror(errno));
                return 1;
            }
            if (r == 0) break;
            if (r > 0) {
                for (ssize_t i = 0; i < r; i++) {
                    if (buf[i] != pattern(got + i)) {
                        printf("mismatch at %zu\n", got + i);
                        return 1;
                    }
                    sum_in += buf[i] * (got + i + 1);
                }
                got += r;
            }
        }
    }
    char c;
    fcntl(fd, F_SETFL, 0);
    ssize_t end = recv(fd, &c, 1, 0);
    printf("echoed %zu of %zu bytes, sums %s, then recv %zd\n", got, total,
           sum_in == sum_out ? "match" : "DIFFER", end);
    close(fd);
    return got == total && sum_in == sum_out ? 0 : 1;
}

static int sink(int port, size_t total) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = host_addr("10.0.2.2", port);
    if (connect(fd, (void *)&a, sizeof a) < 0) {
        printf("connect: %s\n", strerror(errno));
        return 1;
    }
    char *buf = malloc(total);
    for (size_t i = 0; i < total; i++) buf[i] = pattern(i);
    ssize_t w = send(fd, buf, total, 0);
    printf("one send: %zd of %zu\n", w, total);
    shutdown(fd, SHUT_WR);
    char reply[64] = {0};
    char peek[4] = {0};
    ssize_t p = recv(fd, peek, 3, MSG_PEEK);
    ssize_t r = recv(fd, reply, sizeof reply - 1, MSG_WAITALL);
    printf("peeked %zd '%s', reply %zd: %s", p, peek, r, reply);
    r = recv(fd, reply, 1, 0);
    printf("then %zd\n", r);
    close(fd);
    return 0;
}

static int refused(const char *ip, int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = host_addr(ip, port);
    int r = connect(fd, (void *)&a, sizeof a);
    printf("connect %s:%d: %d %s\n", ip, port, r, r < 0 ? strerror(errno) : "ok");
    /* The socket may connect again after a failure. */
    r = connect(fd, (void *)&a, sizeof a);
    printf("again: %d %s\n", r, r < 0 ? strerror(errno) : "ok");
    close(fd);
    return 0;
}

static int nbconnect(int port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in a = host_addr("10.0.2.2", port);
    int r = connect(fd, (void *)&a, sizeof a);
    printf("connect: %d %s\n", r, r < 0 ? strerror(errno) : "ok");
    r = connect(fd, (void *)&a, sizeof a);
    printf("again: %d %s\n", r, r < 0 ? strerror(errno) : "ok");
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    r = poll(&p, 1, 10000);
    int err = -1;
    socklen_t len = sizeof err;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    printf("poll %d revents %s%s%s, SO_ERROR %s\n", r, p.revents & POLLOUT ? "OUT " : "",
           p.revents & POLLERR ? "ERR " : "", p.revents & POLLHUP ? "HUP" : "",
           err ? strerror(err) : "0");
    if (err == 0) {
        r = connect(fd, (void *)&a, sizeof a);
        printf("connect after: %d %s\n", r, r < 0 ? strerror(errno) : "ok");
        r = send(fd, "hello", 5, 0);
        char buf[16] = {0};
        p.events = POLLIN;
        poll(&p, 1, 10000);
        ssize_t n = recv(fd, buf, sizeof buf - 1, 0);
        printf("sent %d, echoed %zd '%s'\n", r, n, buf);
    }
    close(fd);
    return 0;
}

static int udp(int port, int connected) {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = host_addr("10.0.2.2", port);
    char buf[2048];
    for (int i = 0; i < 3; i++) {
        int len = snprintf(buf, sizeof buf, "datagram %d", i);
        ssize_t w;
        if (connected) {
            if (i == 0 && connect(fd, (void *)&a, sizeof a) < 0) {
                printf("connect: %s\n", strerror(errno));
                return 1;
            }
            w = send(fd, buf, len, 0);
        } else {
            w = sendto(fd, buf, len, 0, (void *)&a, sizeof a);
        }
        if (w != len) {
            printf("send: %zd %s\n", w, strerror(errno));
            return 1;
        }
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 10000) != 1) {
            printf("no reply\n");
            return 1;
        }
        struct sockaddr_in from;
        socklen_t flen = sizeof from;
        ssize_t n = recvfrom(fd, buf, sizeof buf - 1, 0, (void *)&from, &flen);
        if (n < 0) {
            printf("recvfrom: %s\n", strerror(errno));
            return 1;
        }
        buf[n] = 0;
        char ip[32];
        inet_ntop(AF_INET, &from.sin_addr, ip, sizeof ip);
        printf("reply %zd '%s' from %s:%d\n", n, buf, ip, ntohs(from.sin_port));
    }
    if (connected) show("peer", fd, 1);
    close(fd);
    return 0;
}

static int serve(int port, int count) {
    int l = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = host_addr("0.0.0.0", port);
    if (bind(l, (void *)&a, sizeof a) < 0 || listen(l, 8) < 0) {
        printf("bind/listen: %s\n", strerror(errno));
        return 1;
    }
    printf("listening on %d\n", port);
    fflush(stdout);
    /* One loopback client of our own, through the same listener. */
    int self = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in lo = host_addr("127.0.0.1", port);
    connect(self, (void *)&lo, sizeof lo);
    send(self, "self\n", 5, 0);
    struct pollfd fds[64];
    int n = 1, served = 0, closed = 0;
    fds[0] = (struct pollfd){.fd = l, .events = POLLIN};
    while (closed < count) {
        if (poll(fds, n, 30000) <= 0) {
            printf("poll timed out\n");
            return 1;
        }
        if (fds[0].revents & POLLIN) {
            struct sockaddr_in peer;
            socklen_t len = sizeof peer;
            int c = accept(l, (void *)&peer, &len);
            if (c >= 0) {
                char ip[32];
                inet_ntop(AF_INET, &peer.sin_addr, ip, sizeof ip);
                printf("accepted from %s\n", ip);
                fflush(stdout);
                fds[n++] = (struct pollfd){.fd = c, .events = POLLIN};
                served++;
            }
        }
        for (int i = 1; i < n; i++) {
            if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            char buf[4096];
            ssize_t r = recv(fds[i].fd, buf, sizeof buf, 0);
            if (r > 0) {
                send(fds[i].fd, buf, r, MSG_NOSIGNAL);
                if (fds[i].fd >= 0 && r >= 4 && memcmp(buf, "self", 4) == 0) {
                    /* our own loopback client: done with it */
                    close(fds[i].fd);
                    fds[i] = fds[--n];
                    closed++;
                    i--;
                }
                continue;
            }
            close(fds[i].fd);
            fds[i] = fds[--n];
            closed++;
            i--;
        }
    }
    char buf[16] = {0};
    recv(self, buf, sizeof buf - 1, 0);
    printf("served %d connections (self got '%.4s')\n", served, buf);
    return 0;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 3) return 2;
    const char *cmd = argv[1];
    int port = atoi(argv[2]);
    if (!strcmp(cmd, "tcp")) return tcp(port, argc > 3 ? strtoul(argv[3], 0, 0) : 1 << 20);
    if (!strcmp(cmd, "sink")) return sink(port, argc > 3 ? strtoul(argv[3], 0, 0) : 1 << 20);
    if (!strcmp(cmd, "refused")) return refused("10.0.2.2", port);
    if (!strcmp(cmd, "denied")) return refused(argv[2], atoi(argv[3]));
    if (!strcmp(cmd, "nbconnect")) return nbconnect(port);
    if (!strcmp(cmd, "udp")) return udp(port, 0);
    if (!strcmp(cmd, "udpconn")) return udp(port, 1);
    if (!strcmp(cmd, "serve")) return serve(port, argc > 3 ? atoi(argv[3]) : 1);
    return 2;
}
