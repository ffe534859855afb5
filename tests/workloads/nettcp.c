/* TCP on the loopback against Linux: run natively and in lamina, the two
 * outputs must be identical. 10 MiB from one process to another with a
 * checksum, addresses (getsockname/getpeername, INADDR_ANY listening,
 * 127.0.0.2), half-close, non-blocking connect (EINPROGRESS, then
 * connect again: 0, then EISCONN), ECONNREFUSED blocking and not,
 * EADDRINUSE, a reset when a socket closes with bytes unread, EPIPE with
 * SIGPIPE and MSG_NOSIGNAL, socket options, accept4 flags.
 * Arguments: "ipv6" adds ::1 and dual-stack checks (the harness passes
 * it when the host has IPv6 loopback); "unreachable" (lamina only: it
 * would send packets natively) connects to a non-loopback address. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define TRANSFER_BYTES (10 * 1024 * 1024)

static const char *err_name(int e) {
    switch (e) {
    case 0: return "ok";
    case EAGAIN: return "EAGAIN";
    case EPIPE: return "EPIPE";
    case EINVAL: return "EINVAL";
    case ENOTCONN: return "ENOTCONN";
    case ECONNREFUSED: return "ECONNREFUSED";
    case ECONNRESET: return "ECONNRESET";
    case EADDRINUSE: return "EADDRINUSE";
    case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
    case EINPROGRESS: return "EINPROGRESS";
    case EALREADY: return "EALREADY";
    case EISCONN: return "EISCONN";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case ENETUNREACH: return "ENETUNREACH";
    case EAFNOSUPPORT: return "EAFNOSUPPORT";
    case ENOPROTOOPT: return "ENOPROTOOPT";
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

static pid_t spawn(void) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        printf("fork: %s\n", err_name(errno));
        exit(1);
    }
    return pid;
}

static void reap(const char *what, pid_t pid) {
    int status;
    if (waitpid(pid, &status, 0) != pid) {
        printf("%s: waitpid: %s\n", what, err_name(errno));
        return;
    }
    if (WIFEXITED(status))
        printf("%s: exited %d\n", what, WEXITSTATUS(status));
    else
        printf("%s: killed by signal %d\n", what, WTERMSIG(status));
}

static struct sockaddr_in v4(const char *ip, uint16_t port) {
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    inet_pton(AF_INET, ip, &a.sin_addr);
    return a;
}

static uint16_t port_of(int fd) {
    struct sockaddr_storage a;
    socklen_t len = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &len);
    return a.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&a)->sin6_port)
                                   : ntohs(((struct sockaddr_in *)&a)->sin_port);
}

/* A listener on ip, port 0 (an ephemeral port). */
static int listener_on(const char *ip) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = v4(ip, 0);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 16) != 0) {
        printf("listener on %s: %s\n", ip, err_name(errno));
        exit(1);
    }
    return fd;
}

static int connect_v4(const char *ip, uint16_t port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = v4(ip, port);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

/* A port nobody listens on: bound once, then given back. */
static uint16_t closed_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = v4("127.0.0.1", 0);
    bind(fd, (struct sockaddr *)&a, sizeof a);
    uint16_t port = port_of(fd);
    close(fd);
    return port;
}

static uint64_t fnv(uint64_t hash, const unsigned char *p, size_t n) {
    for (size_t i = 0; i < n; i++) {
        hash ^= p[i];
        hash *= 0x100000001b3ULL;
    }
    return hash;
}

static int write_all(int fd, const void *buf, size_t len) {
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n <= 0)
            return -1;
        p += n;
        len -= n;
    }
    return 0;
}

static void bulk(void) {
    printf("-- 10 MiB\n");
    int listener = listener_on("127.0.0.1");
    uint16_t port = port_of(listener);
    printf("ephemeral port in Linux's range: %s\n", port >= 32768 && port <= 60999 ? "yes" : "no");
    pid_t pid = spawn();
    if (pid == 0) {
        close(listener);
        int fd = connect_v4("127.0.0.1", port);
        if (fd < 0)
            _exit(10);
        static unsigned char buf[100003];
        uint64_t hash = 0xcbf29ce484222325ULL;
        uint32_t x = 12345;
        size_t sent = 0;
        while (sent < TRANSFER_BYTES) {
            size_t n = sizeof buf - (sent % 7919);
            if (n > TRANSFER_BYTES - sent)
                n = TRANSFER_BYTES - sent;
            for (size_t i = 0; i < n; i++) {
                x = x * 1103515245 + 12345;
                buf[i] = x >> 16;
            }
            hash = fnv(hash, buf, n);
            if (write_all(fd, buf, n) != 0)
                _exit(11);
            sent += n;
        }
        shutdown(fd, SHUT_WR);
        uint64_t echoed = 0;
        size_t got = 0;
        while (got < sizeof echoed) {
            ssize_t n = read(fd, (char *)&echoed + got, sizeof echoed - got);
            if (n <= 0)
                _exit(12);
            got += n;
        }
        _exit(echoed == hash ? 0 : 13);
    }
    struct sockaddr_in peer;
    socklen_t len = sizeof peer;
    int conn = accept(listener, (struct sockaddr *)&peer, &len);
    if (conn < 0) {
        printf("accept: %s\n", err_name(errno));
        exit(1);
    }
    char ip[32];
    inet_ntop(AF_INET, &peer.sin_addr, ip, sizeof ip);
    printf("peer: %s, len %u\n", ip, len);
    static unsigned char buf[65536];
    uint64_t hash = 0xcbf29ce484222325ULL;
    long total = 0;
    ssize_t n;
    while ((n = read(conn, buf, sizeof buf)) > 0) {
        hash = fnv(hash, buf, n);
        total += n;
    }
    printf("received %ld bytes, last read %zd, checksum %016llx\n", total, n,
           (unsigned long long)hash);
    write_all(conn, &hash, sizeof hash);
    close(conn);
    reap("sender (0: its checksum matches)", pid);
    close(listener);
}

static void addresses(void) {
    printf("-- addresses\n");
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    int on = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    struct sockaddr_in any = v4("0.0.0.0", 0);
    check("bind INADDR_ANY", bind(listener, (struct sockaddr *)&any, sizeof any));
    check("listen", listen(listener, 8));
    uint16_t port = port_of(listener);
    const char *targets[] = {"127.0.0.1", "127.0.0.2", "0.0.0.0"};
    for (int i = 0; i < 3; i++) {
        int c = connect_v4(targets[i], port);
        if (c < 0) {
            printf("connect %s: %s\n", targets[i], err_name(errno));
            continue;
        }
        int s = accept(listener, NULL, NULL);
        struct sockaddr_in local, peer, client_local, client_peer;
        socklen_t len = sizeof local;
        getsockname(s, (struct sockaddr *)&local, &len);
        len = sizeof peer;
        getpeername(s, (struct sockaddr *)&peer, &len);
        len = sizeof client_local;
        getsockname(c, (struct sockaddr *)&client_local, &len);
        len = sizeof client_peer;
        getpeername(c, (struct sockaddr *)&client_peer, &len);
        char a[32], b[32];
        inet_ntop(AF_INET, &local.sin_addr, a, sizeof a);
        inet_ntop(AF_INET, &client_peer.sin_addr, b, sizeof b);
        printf("connect %s: accepted socket's address %s, client's peer %s\n", targets[i], a, b);
        inet_ntop(AF_INET, &peer.sin_addr, a, sizeof a);
        printf("  server's peer %s; ports match: %s %s\n", a,
               peer.sin_port == client_local.sin_port ? "yes" : "no",
               local.sin_port == htons(port) ? "yes" : "no");
        close(c);
        close(s);
    }
    /* The port is taken, SO_REUSEADDR or not, while it listens. */
    int other = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in same = v4("127.0.0.1", port);
    check("bind the listening port", bind(other, (struct sockaddr *)&same, sizeof same));
    setsockopt(other, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    check("again with SO_REUSEADDR", bind(other, (struct sockaddr *)&same, sizeof same));
    close(other);
    close(listener);
    other = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(other, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    check("rebind once closed (SO_REUSEADDR)", bind(other, (struct sockaddr *)&same, sizeof same));
    check("bind twice", bind(other, (struct sockaddr *)&same, sizeof same));
    close(other);
    other = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in foreign = v4("192.0.2.1", 0);
    check("bind a foreign address", bind(other, (struct sockaddr *)&foreign, sizeof foreign));
    check("bind a short address", bind(other, (struct sockaddr *)&any, 8));
    struct sockaddr_in wrong = any;
    wrong.sin_family = AF_UNIX;
    check("bind another family", bind(other, (struct sockaddr *)&wrong, sizeof wrong));
    /* listen without bind takes an ephemeral port. */
    check("listen unbound", listen(other, 1));
    uint16_t auto_port = port_of(other);
    printf("listen picked a port: %s\n", auto_port != 0 ? "yes" : "no");
    close(other);
}

static void connects(void) {
    printf("-- connect\n");
    uint16_t closed = closed_port();
    check("blocking connect to a closed port", connect_v4("127.0.0.1", closed));
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in a = v4("127.0.0.1", closed);
    check("non-blocking connect to a closed port", connect(fd, (struct sockaddr *)&a, sizeof a));
    struct pollfd pfd = {fd, POLLOUT, 0};
    check("poll", poll(&pfd, 1, 5000));
    printf("revents: OUT %d ERR %d HUP %d\n", !!(pfd.revents & POLLOUT), !!(pfd.revents & POLLERR),
           !!(pfd.revents & POLLHUP));
    int err = -1;
    socklen_t len = sizeof err;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    printf("SO_ERROR: %s\n", err_name(err));
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    printf("SO_ERROR again: %s\n", err_name(err));
    close(fd);

    int listener = listener_on("127.0.0.1");
    a = v4("127.0.0.1", port_of(listener));
    fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    check("non-blocking connect", connect(fd, (struct sockaddr *)&a, sizeof a));
    pfd.fd = fd;
    pfd.events = POLLOUT;
    check("poll", poll(&pfd, 1, 5000));
    printf("revents: %s\n", pfd.revents == POLLOUT ? "POLLOUT" : "other");
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    printf("SO_ERROR: %s\n", err_name(err));
    check("connect again", connect(fd, (struct sockaddr *)&a, sizeof a));
    check("and again", connect(fd, (struct sockaddr *)&a, sizeof a));
    /* A backlog of 0 holds one connection; the next connect waits
     * (Linux drops its SYN until there is room, and retries). */
    int waiting_listener = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in w = v4("127.0.0.1", 0);
    bind(waiting_listener, (struct sockaddr *)&w, sizeof w);
    check("listen backlog 0", listen(waiting_listener, 0));
    w = v4("127.0.0.1", port_of(waiting_listener));
    int first = connect_v4("127.0.0.1", ntohs(w.sin_port));
    printf("first connect: %s\n", first >= 0 ? "ok" : err_name(errno));
    int second = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    check("second, non-blocking", connect(second, (struct sockaddr *)&w, sizeof w));
    check("connect again while it waits", connect(second, (struct sockaddr *)&w, sizeof w));
    pfd.fd = second;
    pfd.events = POLLOUT;
    check("poll while it waits", poll(&pfd, 1, 0));
    int taken = accept(waiting_listener, NULL, NULL);
    check("poll once there is room", poll(&pfd, 1, 5000));
    check("connect again", connect(second, (struct sockaddr *)&w, sizeof w));
    int later = accept(waiting_listener, NULL, NULL);
    printf("accepted both: %s\n", taken >= 0 && later >= 0 ? "yes" : "no");
    close(later);
    close(taken);
    close(second);
    close(first);
    close(waiting_listener);

    int s = accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    printf("accept4 flags: nonblock %s, cloexec %s\n", fcntl(s, F_GETFL) & O_NONBLOCK ? "yes" : "no",
           fcntl(s, F_GETFD) & FD_CLOEXEC ? "yes" : "no");
    char c;
    check("read nothing yet (non-blocking)", read(s, &c, 1));
    check("accept nothing (non-blocking listener)", (fcntl(listener, F_SETFL, O_NONBLOCK),
                                                    accept(listener, NULL, NULL)));
    close(s);
    close(fd);
    close(listener);
    fd = socket(AF_INET, SOCK_STREAM, 0);
    check("send unconnected", send(fd, "x", 1, MSG_NOSIGNAL));
    check("recv unconnected", recv(fd, &c, 1, 0));
    struct sockaddr_in peer;
    len = sizeof peer;
    check("getpeername unconnected", getpeername(fd, (struct sockaddr *)&peer, &len));
    check("shutdown unconnected", shutdown(fd, SHUT_RDWR));
    check("accept unlistening", accept(fd, NULL, NULL));
    close(fd);
}

static int sigpipes;
static void on_sigpipe(int sig) {
    (void)sig;
    sigpipes++;
}

/* A connected pair over the loopback. */
static void tcp_pair(int *client, int *server) {
    int listener = listener_on("127.0.0.1");
    *client = connect_v4("127.0.0.1", port_of(listener));
    *server = accept(listener, NULL, NULL);
    close(listener);
}

static void closing(void) {
    printf("-- closing\n");
    int c, s;
    char buf[64];
    tcp_pair(&c, &s);
    check("send", send(c, "half", 4, 0));
    check("shutdown SHUT_WR", shutdown(c, SHUT_WR));
    check("server reads", read(s, buf, sizeof buf));
    check("server reads EOF", read(s, buf, sizeof buf));
    check("server answers", write(s, "reply", 5));
    check("client reads it", read(c, buf, sizeof buf));
    signal(SIGPIPE, on_sigpipe);
    check("client writes after SHUT_WR", write(c, "x", 1));
    printf("sigpipes: %d\n", sigpipes);
    close(c);
    close(s);

    /* The peer has gone: writes end in EPIPE (the first may still be taken). */
    tcp_pair(&c, &s);
    close(s);
    check("read from a closed peer", read(c, buf, sizeof buf));
    int e = 0;
    for (int i = 0; i < 50 && e == 0; i++) {
        if (send(c, "x", 1, MSG_NOSIGNAL) < 0)
            e = errno;
        else
            usleep(10000);
    }
    printf("writing to a closed peer (MSG_NOSIGNAL) ends with %s, sigpipes %d\n", err_name(e),
           sigpipes);
    check("once more, with the signal", write(c, "x", 1));
    printf("sigpipes: %d\n", sigpipes);
    close(c);
    signal(SIGPIPE, SIG_DFL);

    /* Closing with bytes unread resets the connection. */
    tcp_pair(&c, &s);
    check("send what the server will not read", send(c, "unread", 6, 0));
    usleep(20000);
    close(s);
    check("client reads after the reset", read(c, buf, sizeof buf));
    check("and again", read(c, buf, sizeof buf));
    close(c);

    /* MSG_WAITALL, MSG_PEEK, zero-length sends. */
    tcp_pair(&c, &s);
    pid_t pid = spawn();
    if (pid == 0) {
        for (int i = 0; i < 8; i++) {
            send(c, "ab", 2, 0);
            usleep(2000);
        }
        _exit(0);
    }
    check("recv MSG_WAITALL 16", recv(s, buf, 16, MSG_WAITALL));
    reap("trickler", pid);
    check("send 0 bytes", send(c, "", 0, 0));
    check("send", send(c, "peek", 4, 0));
    usleep(10000);
    check("recv MSG_PEEK", recv(s, buf, sizeof buf, MSG_PEEK));
    check("recv", recv(s, buf, sizeof buf, 0));
    close(c);
    close(s);
}

static void options(void) {
    printf("-- options\n");
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int v = -1;
    socklen_t len = sizeof v;
    getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, &len);
    printf("TCP_NODELAY: %d\n", v);
    v = 5;
    check("set TCP_NODELAY", setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, sizeof v));
    getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, &len);
    printf("TCP_NODELAY: %d\n", v);
    v = 1;
    check("set SO_KEEPALIVE", setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &v, sizeof v));
    getsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &v, &len);
    printf("SO_KEEPALIVE: %d\n", v);
    v = 65536;
    check("set SO_RCVBUF", setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof v));
    getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, &len);
    printf("SO_RCVBUF: %d\n", v);
    v = 32768;
    check("set SO_SNDBUF", setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof v));
    getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, &len);
    printf("SO_SNDBUF: %d\n", v);
    struct linger l = {1, 7};
    check("set SO_LINGER", setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l));
    memset(&l, 0, sizeof l);
    len = sizeof l;
    getsockopt(fd, SOL_SOCKET, SO_LINGER, &l, &len);
    printf("SO_LINGER: %d %d, len %u\n", l.l_onoff, l.l_linger, len);
    len = sizeof v;
    getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &v, &len);
    printf("SO_PROTOCOL: %s\n", v == IPPROTO_TCP ? "IPPROTO_TCP" : "other");
    getsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &v, &len);
    printf("SO_REUSEADDR: %d\n", v);
    v = 2;
    len = 2;
    check("getsockopt with a short length", getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len));
    printf("length back: %u\n", len);
    check("set with a short length", setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &v, 2));
    check("unknown option", getsockopt(fd, SOL_SOCKET, 9999, &v, &len));
    check("set TCP_KEEPIDLE 0", setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &(int){0}, sizeof(int)));
    close(fd);
}

static void ipv6(void) {
    printf("-- ipv6\n");
    int listener = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 a = {0};
    a.sin6_family = AF_INET6;
    a.sin6_addr = in6addr_loopback;
    check("bind ::1", bind(listener, (struct sockaddr *)&a, sizeof a));
    check("listen", listen(listener, 4));
    a.sin6_port = htons(port_of(listener));
    int c = socket(AF_INET6, SOCK_STREAM, 0);
    check("connect ::1", connect(c, (struct sockaddr *)&a, sizeof a));
    int s = accept(listener, NULL, NULL);
    check("send", send(c, "six", 3, 0));
    char buf[8] = {0};
    check("recv", recv(s, buf, sizeof buf, 0));
    struct sockaddr_in6 peer;
    socklen_t len = sizeof peer;
    getpeername(s, (struct sockaddr *)&peer, &len);
    char ip[64];
    inet_ntop(AF_INET6, &peer.sin6_addr, ip, sizeof ip);
    printf("peer %s, len %u\n", ip, len);
    close(c);
    close(s);
    close(listener);
    /* Dual stack: a wildcard AF_INET6 listener takes IPv4 connections. */
    listener = socket(AF_INET6, SOCK_STREAM, 0);
    a.sin6_addr = in6addr_any;
    a.sin6_port = 0;
    int v6only = -1;
    len = sizeof v6only;
    getsockopt(listener, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &len);
    printf("IPV6_V6ONLY: %d\n", v6only);
    check("bind ::", bind(listener, (struct sockaddr *)&a, sizeof a));
    check("listen", listen(listener, 4));
    uint16_t port = port_of(listener);
    c = connect_v4("127.0.0.1", port);
    printf("IPv4 connect to a dual-stack listener: %s\n", c >= 0 ? "ok" : err_name(errno));
    len = sizeof peer;
    s = accept(listener, (struct sockaddr *)&peer, &len);
    inet_ntop(AF_INET6, &peer.sin6_addr, ip, sizeof ip);
    printf("accepted peer %s, len %u\n", ip, len);
    close(c);
    close(s);
    int v4sock = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in any = v4("0.0.0.0", port);
    check("AF_INET bind on the dual-stack port", bind(v4sock, (struct sockaddr *)&any, sizeof any));
    close(v4sock);
    close(listener);
    /* With IPV6_V6ONLY the IPv4 port stays free. */
    listener = socket(AF_INET6, SOCK_STREAM, 0);
    int on = 1;
    check("set IPV6_V6ONLY", setsockopt(listener, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on));
    check("bind ::", bind(listener, (struct sockaddr *)&a, sizeof a));
    check("listen", listen(listener, 4));
    port = port_of(listener);
    v4sock = socket(AF_INET, SOCK_STREAM, 0);
    any = v4("0.0.0.0", port);
    check("AF_INET bind on the v6-only port", bind(v4sock, (struct sockaddr *)&any, sizeof any));
    check("IPv4 connect to it", connect_v4("127.0.0.1", port));
    close(v4sock);
    close(listener);
    int fd = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in short4 = v4("127.0.0.1", 80);
    check("AF_INET6 connect with an AF_INET address", connect(fd, (struct sockaddr *)&short4, sizeof short4));
    close(fd);
}

static void unreachable(void) {
    printf("-- unreachable\n");
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = v4("192.0.2.1", 80);
    check("connect 192.0.2.1", connect(fd, (struct sockaddr *)&a, sizeof a));
    close(fd);
    fd = socket(AF_INET, SOCK_DGRAM, 0);
    check("sendto 192.0.2.1", sendto(fd, "x", 1, 0, (struct sockaddr *)&a, sizeof a));
    close(fd);
    fd = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 b = {0};
    b.sin6_family = AF_INET6;
    b.sin6_port = htons(80);
    inet_pton(AF_INET6, "2001:db8::1", &b.sin6_addr);
    check("connect 2001:db8::1", connect(fd, (struct sockaddr *)&b, sizeof b));
    close(fd);
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    int with_ipv6 = 0, with_unreachable = 0;
    for (int i = 1; i < argc; i++) {
        with_ipv6 |= strcmp(argv[i], "ipv6") == 0;
        with_unreachable |= strcmp(argv[i], "unreachable") == 0;
    }
    if (with_unreachable) {
        unreachable();
        return 0;
    }
    bulk();
    addresses();
    connects();
    closing();
    options();
    if (with_ipv6)
        ipv6();
    return 0;
}
