/* UDP on the loopback against Linux: run natively and in lamina, the two
 * outputs must be identical. A round trip with a child echoing datagrams,
 * senders' addresses, autobind on the first send, connected sockets
 * (send without an address, only the peer's datagrams taken, a datagram
 * to a closed port answered with ECONNREFUSED, AF_UNSPEC to dissolve),
 * message boundaries (MSG_PEEK, MSG_TRUNC, FIONREAD, empty datagrams,
 * EMSGSIZE), EAGAIN, EDESTADDRREQ, EADDRINUSE and SO_REUSEADDR.
 * Argument "ipv6" adds a round trip on ::1. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define ROUND_TRIPS 100

static const char *err_name(int e) {
    switch (e) {
    case 0: return "ok";
    case EAGAIN: return "EAGAIN";
    case EINVAL: return "EINVAL";
    case ENOTCONN: return "ENOTCONN";
    case ECONNREFUSED: return "ECONNREFUSED";
    case EADDRINUSE: return "EADDRINUSE";
    case EDESTADDRREQ: return "EDESTADDRREQ";
    case EMSGSIZE: return "EMSGSIZE";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case EPIPE: return "EPIPE";
    default: return "other";
    }
}

static long check(const char *what, long result) {
    if (result < 0)
        printf("%s: %s\n", what, err_name(errno));
    else
        printf("%s: %ld\n", what, result);
    return result;
}

static struct sockaddr_in v4(const char *ip, uint16_t port) {
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    inet_pton(AF_INET, ip, &a.sin_addr);
    return a;
}

static struct sockaddr_in name_of(int fd) {
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &len);
    return a;
}

static int udp_on(const char *ip) {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = v4(ip, 0);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        printf("bind: %s\n", err_name(errno));
        exit(1);
    }
    return fd;
}

static void round_trip(void) {
    printf("-- round trip\n");
    int server = udp_on("127.0.0.1");
    struct sockaddr_in server_addr = name_of(server);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        for (int i = 0; i < ROUND_TRIPS; i++) {
            char buf[256];
            struct sockaddr_in from;
            socklen_t len = sizeof from;
            ssize_t n = recvfrom(server, buf, sizeof buf, 0, (struct sockaddr *)&from, &len);
            if (n < 0)
                _exit(1);
            for (ssize_t k = 0; k < n; k++)
                buf[k] ^= 0x20;
            if (sendto(server, buf, n, 0, (struct sockaddr *)&from, len) != n)
                _exit(2);
        }
        _exit(0);
    }
    int client = socket(AF_INET, SOCK_DGRAM, 0);
    long bytes = 0;
    unsigned sum = 0;
    int from_server = 1;
    for (int i = 0; i < ROUND_TRIPS; i++) {
        char msg[256], reply[256];
        int n = snprintf(msg, sizeof msg, "datagram number %d of %d", i, ROUND_TRIPS);
        if (sendto(client, msg, n, 0, (struct sockaddr *)&server_addr, sizeof server_addr) != n) {
            printf("sendto: %s\n", err_name(errno));
            break;
        }
        struct sockaddr_in from;
        socklen_t len = sizeof from;
        ssize_t got = recvfrom(client, reply, sizeof reply, 0, (struct sockaddr *)&from, &len);
        if (got != n) {
            printf("recvfrom: %zd %s\n", got, err_name(errno));
            break;
        }
        from_server &= len == sizeof from && from.sin_port == server_addr.sin_port &&
                       from.sin_addr.s_addr == server_addr.sin_addr.s_addr;
        for (int k = 0; k < n; k++)
            sum = sum * 31 + (unsigned char)reply[k];
        bytes += got;
    }
    printf("%d round trips, %ld bytes, sum %u, every reply from the server: %s\n", ROUND_TRIPS,
           bytes, sum, from_server ? "yes" : "no");
    struct sockaddr_in client_addr = name_of(client);
    char ip[32];
    inet_ntop(AF_INET, &client_addr.sin_addr, ip, sizeof ip);
    printf("the first sendto bound the client: %s, port %s\n", ip,
           client_addr.sin_port != 0 ? "set" : "zero");
    int status;
    waitpid(pid, &status, 0);
    printf("echo child: exited %d\n", WEXITSTATUS(status));
    close(client);
    close(server);
}

static void connected(void) {
    printf("-- connected\n");
    int a = udp_on("127.0.0.1");
    int b = udp_on("127.0.0.1");
    int stranger = udp_on("127.0.0.1");
    struct sockaddr_in a_addr = name_of(a), b_addr = name_of(b);
    check("connect a to b", connect(a, (struct sockaddr *)&b_addr, sizeof b_addr));
    struct sockaddr_in peer;
    socklen_t len = sizeof peer;
    check("getpeername", getpeername(a, (struct sockaddr *)&peer, &len));
    printf("peer is b: %s\n", peer.sin_port == b_addr.sin_port ? "yes" : "no");
    check("send", send(a, "a to b", 6, 0));
    char buf[64] = {0};
    check("b receives", recv(b, buf, sizeof buf, 0));
    /* a takes only b's datagrams. */
    check("stranger sends to a", sendto(stranger, "noise", 5, 0, (struct sockaddr *)&a_addr, sizeof a_addr));
    check("b sends to a", sendto(b, "b to a", 6, 0, (struct sockaddr *)&a_addr, sizeof a_addr));
    memset(buf, 0, sizeof buf);
    check("a receives", recv(a, buf, sizeof buf, 0));
    printf("a got: %s\n", buf);
    check("nothing else", recv(a, buf, sizeof buf, MSG_DONTWAIT));
    /* A datagram to a closed port comes back as ECONNREFUSED. */
    struct sockaddr_in closed = name_of(stranger);
    close(stranger);
    int c = socket(AF_INET, SOCK_DGRAM, 0);
    check("connect to a closed port", connect(c, (struct sockaddr *)&closed, sizeof closed));
    check("send to it", send(c, "lost", 4, 0));
    struct pollfd pfd = {c, POLLIN, 0};
    check("poll", poll(&pfd, 1, 2000));
    printf("revents: ERR %d\n", !!(pfd.revents & POLLERR));
    check("recv", recv(c, buf, sizeof buf, MSG_DONTWAIT));
    check("recv again", recv(c, buf, sizeof buf, MSG_DONTWAIT));
    check("dissolve with AF_UNSPEC", connect(c, (struct sockaddr *)&(struct sockaddr){.sa_family = AF_UNSPEC},
                                             sizeof(struct sockaddr)));
    check("getpeername", getpeername(c, (struct sockaddr *)&peer, &len));
    check("send without an address", send(c, "x", 1, 0));
    close(c);
    close(a);
    close(b);
}

static void boundaries(void) {
    printf("-- boundaries\n");
    int a = udp_on("127.0.0.1");
    int b = udp_on("127.0.0.1");
    struct sockaddr_in to = name_of(b);
    sendto(a, "first", 5, 0, (struct sockaddr *)&to, sizeof to);
    sendto(a, "", 0, 0, (struct sockaddr *)&to, sizeof to);
    sendto(a, "third one", 9, 0, (struct sockaddr *)&to, sizeof to);
    int avail = -1;
    ioctl(b, FIONREAD, &avail);
    printf("FIONREAD: %d\n", avail);
    char buf[64] = {0};
    check("recv MSG_PEEK", recv(b, buf, 2, MSG_PEEK));
    check("recv whole", recv(b, buf, sizeof buf, 0));
    check("recv empty", recv(b, buf, sizeof buf, 0));
    check("recv MSG_TRUNC into 4", recv(b, buf, 4, MSG_TRUNC));
    check("recv nothing", recv(b, buf, sizeof buf, MSG_DONTWAIT));
    static char big[65536];
    check("send 65507", sendto(a, big, 65507, 0, (struct sockaddr *)&to, sizeof to));
    check("recv it", recv(b, big, sizeof big, 0));
    check("send 65508", sendto(a, big, 65508, 0, (struct sockaddr *)&to, sizeof to));
    int fresh = socket(AF_INET, SOCK_DGRAM, 0);
    check("send unconnected", send(fresh, "x", 1, 0));
    check("recv unbound, non-blocking", recv(fresh, buf, 1, MSG_DONTWAIT));
    check("shutdown unconnected", shutdown(fresh, SHUT_RDWR));
    check("send after shutdown", sendto(fresh, "x", 1, MSG_NOSIGNAL, (struct sockaddr *)&to, sizeof to));
    check("listen", listen(fresh, 1));
    check("accept", accept(fresh, NULL, NULL));
    close(fresh);
    int on = 1;
    int c = socket(AF_INET, SOCK_DGRAM, 0);
    check("bind b's port", bind(c, (struct sockaddr *)&to, sizeof to));
    close(c);
    int r1 = socket(AF_INET, SOCK_DGRAM, 0), r2 = socket(AF_INET, SOCK_DGRAM, 0);
    setsockopt(r1, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    setsockopt(r2, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    struct sockaddr_in any = v4("127.0.0.1", 0);
    bind(r1, (struct sockaddr *)&any, sizeof any);
    any = name_of(r1);
    check("two SO_REUSEADDR sockets share a port", bind(r2, (struct sockaddr *)&any, sizeof any));
    close(r1);
    close(r2);
    check("set SO_BROADCAST", setsockopt(a, SOL_SOCKET, SO_BROADCAST, &on, sizeof on));
    int v = 0;
    socklen_t len = sizeof v;
    getsockopt(a, SOL_SOCKET, SO_BROADCAST, &v, &len);
    printf("SO_BROADCAST: %d\n", v);
    getsockopt(a, SOL_SOCKET, SO_PROTOCOL, &v, &len);
    printf("SO_PROTOCOL: %s\n", v == IPPROTO_UDP ? "IPPROTO_UDP" : "other");
    check("TCP option on UDP", getsockopt(a, IPPROTO_TCP, 1, &v, &len));
    close(a);
    close(b);
}

static void ipv6(void) {
    printf("-- ipv6\n");
    int a = socket(AF_INET6, SOCK_DGRAM, 0);
    int b = socket(AF_INET6, SOCK_DGRAM, 0);
    struct sockaddr_in6 addr = {0};
    addr.sin6_family = AF_INET6;
    addr.sin6_addr = in6addr_loopback;
    check("bind ::1", bind(b, (struct sockaddr *)&addr, sizeof addr));
    socklen_t len = sizeof addr;
    getsockname(b, (struct sockaddr *)&addr, &len);
    check("sendto ::1", sendto(a, "over six", 8, 0, (struct sockaddr *)&addr, sizeof addr));
    char buf[16] = {0};
    struct sockaddr_in6 from;
    len = sizeof from;
    check("recvfrom", recvfrom(b, buf, sizeof buf, 0, (struct sockaddr *)&from, &len));
    char ip[64];
    inet_ntop(AF_INET6, &from.sin6_addr, ip, sizeof ip);
    printf("from %s, len %u: %s\n", ip, len, buf);
    /* A wildcard AF_INET6 socket takes IPv4 datagrams, v4-mapped. */
    int dual = socket(AF_INET6, SOCK_DGRAM, 0);
    addr.sin6_addr = in6addr_any;
    addr.sin6_port = 0;
    bind(dual, (struct sockaddr *)&addr, sizeof addr);
    len = sizeof addr;
    getsockname(dual, (struct sockaddr *)&addr, &len);
    int four = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in to = v4("127.0.0.1", ntohs(addr.sin6_port));
    check("IPv4 sendto the dual-stack socket", sendto(four, "mapped", 6, 0, (struct sockaddr *)&to, sizeof to));
    len = sizeof from;
    memset(buf, 0, sizeof buf);
    check("recvfrom", recvfrom(dual, buf, sizeof buf, 0, (struct sockaddr *)&from, &len));
    inet_ntop(AF_INET6, &from.sin6_addr, ip, sizeof ip);
    printf("from %s: %s\n", ip, buf);
    close(four);
    close(dual);
    close(a);
    close(b);
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    round_trip();
    connected();
    boundaries();
    if (argc > 1 && strcmp(argv[1], "ipv6") == 0)
        ipv6();
    return 0;
}
