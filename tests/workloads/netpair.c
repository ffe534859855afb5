/* socketpair(AF_UNIX) against Linux: run natively and in lamina, the two
 * outputs must be identical. A stream pair ping-pongs across fork; then
 * the object itself (fstat, /proc/self/fd, SO_TYPE, addresses, FIONREAD),
 * MSG_PEEK and MSG_DONTWAIT, readv/writev and sendmsg/recvmsg with
 * iovecs, shutdown in each direction, EPIPE with and without SIGPIPE,
 * ECONNRESET when the peer closes with bytes unread, and a datagram pair
 * (message boundaries, truncation, MSG_TRUNC). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define ROUNDS 200

static const char *err_name(int e) {
    switch (e) {
    case 0: return "ok";
    case EAGAIN: return "EAGAIN";
    case EPIPE: return "EPIPE";
    case EBADF: return "EBADF";
    case EINVAL: return "EINVAL";
    case ENOTCONN: return "ENOTCONN";
    case ECONNRESET: return "ECONNRESET";
    case ENOTSOCK: return "ENOTSOCK";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case EISCONN: return "EISCONN";
    case EAFNOSUPPORT: return "EAFNOSUPPORT";
    case EPROTONOSUPPORT: return "EPROTONOSUPPORT";
    case ESPIPE: return "ESPIPE";
    case ENOSYS: return "ENOSYS";
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

static void make_pair(int type, int sv[2]) {
    if (socketpair(AF_UNIX, type, 0, sv) != 0) {
        printf("socketpair: %s\n", err_name(errno));
        exit(1);
    }
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

static void ping_pong(void) {
    int sv[2];
    make_pair(SOCK_STREAM, sv);
    pid_t pid = spawn();
    if (pid == 0) {
        close(sv[0]);
        unsigned value;
        for (;;) {
            ssize_t n = read(sv[1], &value, sizeof value);
            if (n != sizeof value)
                _exit(n == 0 ? 0 : 2);
            value = value * 3 + 1;
            if (write(sv[1], &value, sizeof value) != sizeof value)
                _exit(3);
        }
    }
    close(sv[1]);
    unsigned value = 1, sum = 0;
    for (int i = 0; i < ROUNDS; i++) {
        if (write(sv[0], &value, sizeof value) != sizeof value ||
            read(sv[0], &value, sizeof value) != sizeof value) {
            printf("ping-pong: broke at round %d: %s\n", i, err_name(errno));
            break;
        }
        sum += value;
        value %= 1000;
    }
    printf("ping-pong: %d rounds, sum %u\n", ROUNDS, sum);
    close(sv[0]);
    reap("ping-pong child", pid);
}

static void object(void) {
    int sv[2];
    make_pair(SOCK_STREAM | SOCK_CLOEXEC, sv);
    struct stat st;
    fstat(sv[0], &st);
    printf("fstat: socket %s, nlink %lu\n", S_ISSOCK(st.st_mode) ? "yes" : "no",
           (unsigned long)st.st_nlink);
    char link[64], path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", sv[0]);
    ssize_t n = readlink(path, link, sizeof link - 1);
    link[n < 0 ? 0 : n] = 0;
    printf("/proc/self/fd: %s\n", strncmp(link, "socket:[", 8) == 0 ? "socket:[...]" : link);
    printf("cloexec: %s\n", fcntl(sv[0], F_GETFD) & FD_CLOEXEC ? "yes" : "no");
    printf("status flags: %s\n", (fcntl(sv[0], F_GETFL) & O_ACCMODE) == O_RDWR ? "O_RDWR" : "other");
    int type = 0, domain = 0, listening = 1;
    socklen_t len = sizeof type;
    check("getsockopt SO_TYPE", getsockopt(sv[0], SOL_SOCKET, SO_TYPE, &type, &len));
    printf("SO_TYPE: %s, len %u\n", type == SOCK_STREAM ? "SOCK_STREAM" : "other", len);
    len = sizeof domain;
    getsockopt(sv[0], SOL_SOCKET, SO_DOMAIN, &domain, &len);
    printf("SO_DOMAIN: %s\n", domain == AF_UNIX ? "AF_UNIX" : "other");
    len = sizeof listening;
    getsockopt(sv[0], SOL_SOCKET, SO_ACCEPTCONN, &listening, &len);
    printf("SO_ACCEPTCONN: %d\n", listening);
    struct ucred cred;
    len = sizeof cred;
    check("SO_PEERCRED", getsockopt(sv[0], SOL_SOCKET, SO_PEERCRED, &cred, &len));
    printf("peer pid is mine: %s, len %u\n", cred.pid == getpid() ? "yes" : "no", len);
    struct sockaddr_un addr;
    len = sizeof addr;
    check("getsockname", getsockname(sv[0], (struct sockaddr *)&addr, &len));
    printf("getsockname: family %s, len %u\n", addr.sun_family == AF_UNIX ? "AF_UNIX" : "other", len);
    len = sizeof addr;
    check("getpeername", getpeername(sv[0], (struct sockaddr *)&addr, &len));
    printf("getpeername: len %u\n", len);
    check("lseek", lseek(sv[0], 0, SEEK_SET));
    check("socketpair AF_INET", socketpair(AF_INET, SOCK_STREAM, 0, sv + 0));
    check("socketpair bad protocol", socketpair(AF_UNIX, SOCK_STREAM, 7, sv + 0));
    check("getsockopt on a pipe", getsockopt(0, SOL_SOCKET, SO_TYPE, &type, &len) == 0 ? 0 : -1);
    int p[2];
    pipe(p);
    check("shutdown on a pipe", shutdown(p[0], SHUT_RD));
    close(p[0]);
    close(p[1]);
    close(sv[0]);
    close(sv[1]);
}

static void transfers(void) {
    int sv[2];
    make_pair(SOCK_STREAM, sv);
    char buf[64];
    check("recv MSG_DONTWAIT (empty)", recv(sv[0], buf, sizeof buf, MSG_DONTWAIT));
    check("send", send(sv[1], "hello world", 11, 0));
    int avail = 0;
    ioctl(sv[0], FIONREAD, &avail);
    printf("FIONREAD: %d\n", avail);
    memset(buf, 0, sizeof buf);
    check("recv MSG_PEEK", recv(sv[0], buf, 5, MSG_PEEK));
    printf("peeked: %s\n", buf);
    memset(buf, 0, sizeof buf);
    check("recv", recv(sv[0], buf, sizeof buf, 0));
    printf("received: %s\n", buf);
    struct iovec out[3] = {{"abc", 3}, {"", 0}, {"defgh", 5}};
    check("writev", writev(sv[1], out, 3));
    char a[2], b[10];
    struct iovec in[2] = {{a, 2}, {b, sizeof b}};
    memset(b, 0, sizeof b);
    check("readv", readv(sv[0], in, 2));
    printf("readv: %.2s|%s\n", a, b);
    struct msghdr msg = {0};
    struct iovec parts[2] = {{"one,", 4}, {"two", 3}};
    msg.msg_iov = parts;
    msg.msg_iovlen = 2;
    check("sendmsg", sendmsg(sv[0], &msg, 0));
    memset(buf, 0, sizeof buf);
    struct iovec whole = {buf, sizeof buf};
    struct msghdr rmsg = {0};
    rmsg.msg_iov = &whole;
    rmsg.msg_iovlen = 1;
    rmsg.msg_flags = -1;
    check("recvmsg", recvmsg(sv[1], &rmsg, 0));
    printf("recvmsg: %s, flags %d, namelen %u\n", buf, rmsg.msg_flags, rmsg.msg_namelen);
    /* Non-blocking: fill until EAGAIN; poll shows no POLLOUT then. */
    fcntl(sv[0], F_SETFL, O_NONBLOCK);
    static char big[65536];
    long total = 0;
    for (;;) {
        ssize_t n = write(sv[0], big, sizeof big);
        if (n < 0) {
            printf("fill: stopped with %s\n", err_name(errno));
            break;
        }
        total += n;
        if (total > 64L << 20) {
            printf("fill: unbounded\n");
            break;
        }
    }
    printf("fill: bounded: %s\n", total > 0 && total <= 4L << 20 ? "yes" : "no");
    struct pollfd pfd = {sv[0], POLLOUT | POLLIN, 0};
    check("poll full", poll(&pfd, 1, 0));
    long drained = 0;
    ssize_t n;
    fcntl(sv[1], F_SETFL, O_NONBLOCK);
    while ((n = read(sv[1], big, sizeof big)) > 0)
        drained += n;
    printf("drained all: %s (%s)\n", drained == total ? "yes" : "no", err_name(errno));
    pfd.revents = 0;
    check("poll drained", poll(&pfd, 1, 0));
    printf("revents: %s\n", pfd.revents == POLLOUT ? "POLLOUT" : "other");
    close(sv[0]);
    close(sv[1]);
}

static int sigpipes;
static void on_sigpipe(int sig) {
    (void)sig;
    sigpipes++;
}

static void shutdowns(void) {
    int sv[2];
    char buf[16];
    make_pair(SOCK_STREAM, sv);
    check("send before shutdown", send(sv[0], "xy", 2, 0));
    check("shutdown SHUT_WR", shutdown(sv[0], SHUT_WR));
    struct pollfd pfd = {sv[1], POLLIN | POLLRDHUP | POLLOUT, 0};
    poll(&pfd, 1, 0);
    printf("peer revents: IN %d RDHUP %d OUT %d HUP %d\n", !!(pfd.revents & POLLIN),
           !!(pfd.revents & POLLRDHUP), !!(pfd.revents & POLLOUT), !!(pfd.revents & POLLHUP));
    check("peer reads data", read(sv[1], buf, sizeof buf));
    check("peer reads EOF", read(sv[1], buf, sizeof buf));
    signal(SIGPIPE, on_sigpipe);
    check("send after SHUT_WR", send(sv[0], "z", 1, 0));
    printf("sigpipes: %d\n", sigpipes);
    check("send after SHUT_WR, MSG_NOSIGNAL", send(sv[0], "z", 1, MSG_NOSIGNAL));
    printf("sigpipes: %d\n", sigpipes);
    check("reverse direction still works", send(sv[1], "back", 4, 0));
    check("read it", read(sv[0], buf, sizeof buf));
    check("shutdown bad how", shutdown(sv[0], 7));
    close(sv[0]);
    close(sv[1]);

    make_pair(SOCK_STREAM, sv);
    check("shutdown SHUT_RD", shutdown(sv[1], SHUT_RD));
    check("read after SHUT_RD", read(sv[1], buf, sizeof buf));
    check("peer writes to SHUT_RD end", send(sv[0], "q", 1, MSG_NOSIGNAL));
    close(sv[0]);
    close(sv[1]);

    /* The peer closes: EOF for its reader, EPIPE for its writer. */
    make_pair(SOCK_STREAM, sv);
    close(sv[1]);
    check("read from closed peer", read(sv[0], buf, sizeof buf));
    check("write to closed peer", write(sv[0], "w", 1));
    printf("sigpipes: %d\n", sigpipes);
    pfd.fd = sv[0];
    pfd.events = POLLIN | POLLOUT;
    poll(&pfd, 1, 0);
    printf("revents: IN %d OUT %d HUP %d\n", !!(pfd.revents & POLLIN),
           !!(pfd.revents & POLLOUT), !!(pfd.revents & POLLHUP));
    close(sv[0]);

    /* Closed with bytes unread: the peer sees ECONNRESET once, then EOF. */
    make_pair(SOCK_STREAM, sv);
    send(sv[0], "unread", 6, 0);
    close(sv[1]);
    check("read after reset", read(sv[0], buf, sizeof buf));
    check("read again", read(sv[0], buf, sizeof buf));
    close(sv[0]);

    /* SIGPIPE by default kills a child writing to a closed peer. */
    make_pair(SOCK_STREAM, sv);
    close(sv[1]);
    pid_t pid = spawn();
    if (pid == 0) {
        signal(SIGPIPE, SIG_DFL);
        write(sv[0], "x", 1);
        _exit(0);
    }
    reap("writer to a closed peer", pid);
    close(sv[0]);
    signal(SIGPIPE, SIG_DFL);
}

static void datagrams(void) {
    int sv[2];
    make_pair(SOCK_DGRAM, sv);
    check("send 5", send(sv[0], "first", 5, 0));
    check("send 0", send(sv[0], "", 0, 0));
    check("send 6", send(sv[0], "second", 6, 0));
    char buf[16];
    int avail = -1;
    ioctl(sv[1], FIONREAD, &avail);
    printf("FIONREAD (next datagram): %d\n", avail);
    memset(buf, 0, sizeof buf);
    check("recv whole", recv(sv[1], buf, sizeof buf, 0));
    printf("got: %s\n", buf);
    check("recv empty datagram", recv(sv[1], buf, sizeof buf, 0));
    check("recv truncated, MSG_TRUNC", recv(sv[1], buf, 3, MSG_TRUNC));
    check("recv nothing left", recv(sv[1], buf, sizeof buf, MSG_DONTWAIT));
    check("send 6", send(sv[0], "cutoff", 6, 0));
    struct iovec v = {buf, 2};
    struct msghdr msg = {0};
    msg.msg_iov = &v;
    msg.msg_iovlen = 1;
    check("recvmsg truncated", recvmsg(sv[1], &msg, 0));
    printf("msg_flags has MSG_TRUNC: %s\n", msg.msg_flags & MSG_TRUNC ? "yes" : "no");
    int type;
    socklen_t len = sizeof type;
    getsockopt(sv[0], SOL_SOCKET, SO_TYPE, &type, &len);
    printf("SO_TYPE: %s\n", type == SOCK_DGRAM ? "SOCK_DGRAM" : "other");
    /* Datagrams keep their boundaries across fork. */
    pid_t pid = spawn();
    if (pid == 0) {
        for (int i = 0; i < 20; i++) {
            char m[8];
            int n = snprintf(m, sizeof m, "m%d", i);
            if (send(sv[0], m, n, 0) != n)
                _exit(1);
        }
        _exit(0);
    }
    int lengths = 0;
    for (int i = 0; i < 20; i++) {
        ssize_t n = recv(sv[1], buf, sizeof buf, 0);
        lengths += n;
    }
    printf("20 datagrams, %d bytes\n", lengths);
    reap("datagram child", pid);
    /* Fill a non-blocking pair until EAGAIN. */
    int filled = 0;
    static char chunk[4096];
    while (send(sv[0], chunk, sizeof chunk, MSG_DONTWAIT) == sizeof chunk && filled < 100000)
        filled++;
    printf("datagram fill ends with: %s (bounded: %s)\n", err_name(errno),
           filled < 100000 ? "yes" : "no");
    /* A datagram socket's EPIPE comes without SIGPIPE. */
    signal(SIGPIPE, on_sigpipe);
    sigpipes = 0;
    check("shutdown SHUT_WR", shutdown(sv[0], SHUT_WR));
    check("write after it", write(sv[0], "x", 1));
    check("send after it", send(sv[0], "x", 1, 0));
    printf("sigpipes: %d\n", sigpipes);
    signal(SIGPIPE, SIG_DFL);
    close(sv[0]);
    close(sv[1]);
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    ping_pong();
    object();
    transfers();
    shutdowns();
    datagrams();
    return 0;
}
