/* Socket timeouts and AF_UNIX ancillary data against Linux: run natively
 * and in lamina, the two outputs must be identical. SO_RCVTIMEO and
 * SO_SNDTIMEO on every kind of socket (recv, read, accept, send: EAGAIN
 * once the time has passed, a partial count for a send that moved some
 * bytes, a negative time that does not wait); SCM_RIGHTS on streams and
 * datagrams (the received descriptor is a new one on the same open file,
 * shared offset included, across fork; MSG_CTRUNC and closed descriptors
 * when the control buffer is short; MSG_CMSG_CLOEXEC; EBADF and EINVAL
 * for bad ones); SCM_CREDENTIALS with SO_PASSCRED; SOCK_SEQPACKET
 * (socketpair, and listen/accept/connect on an abstract name): records
 * kept whole, cut with MSG_TRUNC, empty ones, EMSGSIZE, end of file. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
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
    case ESRCH: return "ESRCH";
    case EPROTOTYPE: return "EPROTOTYPE";
    case ECONNREFUSED: return "ECONNREFUSED";
    case ESOCKTNOSUPPORT: return "ESOCKTNOSUPPORT";
    case EPROTONOSUPPORT: return "EPROTONOSUPPORT";
    case ENOTCONN: return "ENOTCONN";
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

static void ioctl_fionread(int fd, int *out) {
    if (ioctl(fd, FIONREAD, out) != 0)
        *out = -1;
}

/* Sends `text` with `nfds` descriptors (and credentials when `cred`). */
static long send_fds(int sock, const char *text, const int *fds, int nfds, const struct ucred *cred) {
    char control[CMSG_SPACE(sizeof(int) * 8) + CMSG_SPACE(sizeof(struct ucred))];
    memset(control, 0, sizeof control);
    struct iovec iov = {(void *)text, strlen(text)};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control};
    size_t used = 0;
    struct cmsghdr *cm = (struct cmsghdr *)control;
    if (nfds > 0) {
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
        memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
        used += CMSG_SPACE(sizeof(int) * nfds);
        cm = (struct cmsghdr *)(control + used);
    }
    if (cred) {
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_CREDENTIALS;
        cm->cmsg_len = CMSG_LEN(sizeof *cred);
        memcpy(CMSG_DATA(cm), cred, sizeof *cred);
        used += CMSG_SPACE(sizeof *cred);
    }
    msg.msg_controllen = used;
    if (used == 0)
        msg.msg_control = NULL;
    return sendmsg(sock, &msg, 0);
}

/* Receives with `room` control bytes; prints what came: the text, each
 * control message, the flags. Returns the first passed descriptor (-1). */
static int recv_fds(const char *what, int sock, size_t room, int flags) {
    char data[64] = {0};
    char control[512];
    struct iovec iov = {data, sizeof data - 1};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = room ? control : NULL,
                         .msg_controllen = room};
    long n = recvmsg(sock, &msg, flags);
    if (n < 0) {
        printf("%s: recvmsg %s\n", what, err_name(errno));
        return -1;
    }
    printf("%s: %ld bytes \"%s\", controllen %zu%s%s\n", what, n, data, (size_t)msg.msg_controllen,
           msg.msg_flags & MSG_CTRUNC ? ", MSG_CTRUNC" : "", msg.msg_flags & MSG_TRUNC ? ", MSG_TRUNC" : "");
    int first = -1;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
        if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
            int count = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            printf("  SCM_RIGHTS %d:", count);
            for (int i = 0; i < count; i++) {
                int fd;
                memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof fd);
                if (first < 0)
                    first = fd;
                printf(" %s%s", fcntl(fd, F_GETFD) >= 0 ? "open" : "closed",
                       fcntl(fd, F_GETFD) == FD_CLOEXEC ? "+cloexec" : "");
            }
            printf("\n");
        } else if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_CREDENTIALS) {
            if (cm->cmsg_len < CMSG_LEN(sizeof(struct ucred))) {
                printf("  SCM_CREDENTIALS cut to %zu\n", (size_t)cm->cmsg_len);
                continue;
            }
            struct ucred cred;
            memcpy(&cred, CMSG_DATA(cm), sizeof cred);
            printf("  SCM_CREDENTIALS pid %s uid %u gid %u\n",
                   cred.pid == getpid() ? "self" : cred.pid == getppid() ? "parent" : "other",
                   cred.uid, cred.gid);
        } else {
            printf("  level %d type %d\n", cm->cmsg_level, cm->cmsg_type);
        }
    }
    return first;
}

/* How many descriptors are open (below 64). */
static int open_fds(void) {
    int n = 0;
    for (int fd = 0; fd < 64; fd++)
        n += fcntl(fd, F_GETFD) >= 0;
    return n;
}

static void rights(int type) {
    printf("-- SCM_RIGHTS on %s\n", type == SOCK_STREAM ? "a stream" : "datagrams");
    int sv[2];
    socketpair(AF_UNIX, type, 0, sv);
    char path[] = "/tmp/netmsg-XXXXXX";
    int file = mkstemp(path);
    unlink(path);
    write(file, "0123456789", 10);
    lseek(file, 2, SEEK_SET);
    int baseline = open_fds();

    /* One descriptor: a new one on the same open file (shared offset). */
    check("send one", send_fds(sv[0], "one", &file, 1, NULL));
    int got = recv_fds("recv one", sv[1], 512, 0);
    if (got >= 0) {
        printf("same file: offset %ld\n", (long)lseek(got, 0, SEEK_CUR));
        lseek(got, 5, SEEK_SET);
        printf("offset shared: %ld\n", (long)lseek(file, 0, SEEK_CUR));
        close(got);
    }
    /* Two, the second the socket itself; MSG_CMSG_CLOEXEC. */
    int two[2] = {file, sv[0]};
    check("send two", send_fds(sv[0], "two", two, 2, NULL));
    got = recv_fds("recv two cloexec", sv[1], 512, MSG_CMSG_CLOEXEC);
    if (got >= 0) {
        close(got);
        close(got + 1);
    }
    /* A short control buffer: what fits, the rest closed. */
    int three[3] = {file, file, file};
    check("send three", send_fds(sv[0], "three", three, 3, NULL));
    got = recv_fds("recv three in room for one", sv[1], CMSG_LEN(sizeof(int)), 0);
    if (got >= 0)
        close(got);
    check("send three again", send_fds(sv[0], "3", three, 3, NULL));
    recv_fds("recv with no control buffer", sv[1], 0, 0);
    printf("descriptors leaked: %d\n", open_fds() - baseline);
    /* A peek gives them too, and the data stays. */
    check("send for peek", send_fds(sv[0], "peek", &file, 1, NULL));
    got = recv_fds("peek", sv[1], 512, MSG_PEEK);
    if (got >= 0)
        close(got);
    got = recv_fds("after peek", sv[1], 512, 0);
    if (got >= 0)
        close(got);
    /* Plain bytes around passed descriptors. */
    check("plain before", send(sv[0], "ab", 2, 0));
    check("send with bytes around", send_fds(sv[0], "cd", &file, 1, NULL));
    check("plain after", send(sv[0], "ef", 2, 0));
    if (type == SOCK_DGRAM) {
        recv_fds("recv plain", sv[1], 512, 0);
        got = recv_fds("recv cd", sv[1], 512, 0);
        if (got >= 0)
            close(got);
    } else {
        got = recv_fds("recv up to the descriptors", sv[1], 512, 0);
        if (got >= 0)
            close(got);
    }
    recv_fds("recv after", sv[1], 512, 0);

    /* Errors. */
    int bad = 99;
    errno = 0;
    check("send a closed descriptor", send_fds(sv[0], "x", &bad, 1, NULL));
    int many[254];
    for (int i = 0; i < 254; i++)
        many[i] = file;
    struct iovec iov = {"x", 1};
    char control[CMSG_SPACE(sizeof many)];
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
                         .msg_controllen = CMSG_SPACE(sizeof many)};
    struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof many);
    memcpy(CMSG_DATA(cm), many, sizeof many);
    check("send 254 descriptors", sendmsg(sv[0], &msg, 0));
    cm->cmsg_len = CMSG_LEN(sizeof many) + 64;
    check("send a control length past the buffer", sendmsg(sv[0], &msg, 0));
    cm->cmsg_len = CMSG_LEN(4);
    cm->cmsg_type = 77;
    check("send an unknown type", sendmsg(sv[0], &msg, 0));

    /* Across fork: the child receives a pipe's read end and reads what the
     * parent writes into the pipe. */
    int pipefd[2];
    pipe(pipefd);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = recv_fds("child recv", sv[1], 512, 0);
        char buf[16] = {0};
        if (fd >= 0 && read(fd, buf, sizeof buf - 1) > 0)
            printf("child read from the passed pipe: %s\n", buf);
        _exit(0);
    }
    check("send a pipe to the child", send_fds(sv[0], "pipe", &pipefd[0], 1, NULL));
    close(pipefd[0]);
    write(pipefd[1], "through", 7);
    close(pipefd[1]);
    int status;
    waitpid(pid, &status, 0);
    printf("child exit %d\n", WEXITSTATUS(status));
    close(sv[0]);
    close(sv[1]);
    close(file);
}

/* Descriptors in flight close with the socket that holds them. */
static void in_flight_close(void) {
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    int pipefd[2];
    pipe(pipefd);
    send_fds(sv[0], "x", &pipefd[1], 1, NULL);
    close(pipefd[1]);
    close(sv[0]);
    close(sv[1]);
    char c;
    /* The write end was only in flight: gone, the read end sees EOF. */
    check("pipe read after the in-flight write end closed", read(pipefd[0], &c, 1));
    close(pipefd[0]);
}

static void credentials(int type) {
    printf("-- SCM_CREDENTIALS on %s\n", type == SOCK_STREAM ? "a stream" : "datagrams");
    int sv[2];
    socketpair(AF_UNIX, type, 0, sv);
    check("send without SO_PASSCRED", send(sv[0], "a", 1, 0));
    recv_fds("recv without SO_PASSCRED", sv[1], 512, 0);
    int on = 1;
    setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &on, sizeof on);
    check("send plain", send(sv[0], "b", 1, 0));
    recv_fds("recv with SO_PASSCRED", sv[1], 512, 0);
    struct ucred mine = {getpid(), getuid(), getgid()};
    check("send own credentials", send_fds(sv[0], "c", NULL, 0, &mine));
    recv_fds("recv them", sv[1], 512, 0);
    recv_fds("nothing: EAGAIN", sv[1], 512, MSG_DONTWAIT);
    check("send again", send(sv[0], "d", 1, 0));
    recv_fds("recv in a short buffer", sv[1], CMSG_LEN(4), 0);
    struct ucred nobody = {0x3fffffff, 0, 0};
    check("send a pid that does not exist", send_fds(sv[0], "e", NULL, 0, &nobody));
    struct ucred bad_uid = {getpid(), (uid_t)-1, 0};
    check("send uid -1", send_fds(sv[0], "f", NULL, 0, &bad_uid));
    /* Bytes of a child and of the parent, read with credentials. */
    pid_t pid = fork();
    if (pid == 0) {
        send(sv[0], "g", 1, 0);
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    check("parent sends", send(sv[0], "h", 1, 0));
    recv_fds("the child's", sv[1], 512, 0);
    recv_fds("the parent's", sv[1], 512, 0);
    close(sv[0]);
    close(sv[1]);
    /* Other families ignore both. */
    int udp = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in in = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bind(udp, (struct sockaddr *)&in, sizeof in);
    socklen_t in_len = sizeof in;
    getsockname(udp, (struct sockaddr *)&in, &in_len);
    connect(udp, (struct sockaddr *)&in, sizeof in);
    check("SCM_RIGHTS on UDP", send_fds(udp, "u", &udp, 1, NULL));
    check("SCM_CREDENTIALS on UDP", send_fds(udp, "v", NULL, 0, &mine));
    close(udp);
}

static void seqpacket_records(int a, int b) {
    char buf[64];
    check("send 5", send(a, "hello", 5, 0));
    check("send 3", send(a, "abc", 3, 0));
    check("send 0", send(a, "", 0, 0));
    check("send 7", send(a, "seventh", 7, 0));
    int pending = -1;
    ioctl_fionread(b, &pending);
    printf("FIONREAD %d\n", pending);
    memset(buf, 0, sizeof buf);
    check("recv one record in a big buffer", recv(b, buf, sizeof buf, 0));
    printf("  \"%s\"\n", buf);
    memset(buf, 0, sizeof buf);
    check("recv 2 of 3 (MSG_TRUNC: the whole length)", recv(b, buf, 2, MSG_TRUNC));
    printf("  \"%s\"\n", buf);
    check("recv the empty record", recv(b, buf, sizeof buf, 0));
    char small[4] = {0};
    struct iovec iov = {small, 3};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
    check("recvmsg 3 of 7", recvmsg(b, &msg, 0));
    printf("  msg_flags MSG_TRUNC %d\n", !!(msg.msg_flags & MSG_TRUNC));
    check("nothing left", recv(b, buf, sizeof buf, MSG_DONTWAIT));
    check("peek", (send(a, "pk", 2, 0), recv(b, buf, sizeof buf, MSG_PEEK)));
    check("after peek", recv(b, buf, sizeof buf, 0));
    static char huge[300000];
    check("a record too big", send(a, huge, sizeof huge, 0));
    int fds[1] = {a};
    check("a record with a descriptor", send_fds(a, "fd", fds, 1, NULL));
    int got = recv_fds("recv it", b, 512, 0);
    if (got >= 0)
        close(got);
    close(a);
    check("end of file", recv(b, buf, sizeof buf, 0));
    check("send to a closed peer", send(b, "x", 1, MSG_NOSIGNAL));
    close(b);
}

static void seqpacket(void) {
    printf("-- SOCK_SEQPACKET\n");
    int sv[2];
    check("socketpair", socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv));
    int type = 0;
    socklen_t len = sizeof type;
    getsockopt(sv[0], SOL_SOCKET, SO_TYPE, &type, &len);
    printf("SO_TYPE %d\n", type);
    seqpacket_records(sv[0], sv[1]);

    int listener = check("socket", socket(AF_UNIX, SOCK_SEQPACKET, 0));
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    snprintf(addr.sun_path + 1, sizeof addr.sun_path - 1, "netmsg-seq-%d", getpid());
    socklen_t addr_len = offsetof(struct sockaddr_un, sun_path) + 1 + strlen(addr.sun_path + 1);
    check("bind", bind(listener, (struct sockaddr *)&addr, addr_len));
    check("listen", listen(listener, 4));
    int stream = socket(AF_UNIX, SOCK_STREAM, 0);
    errno = 0;
    check("a stream connects to it", connect(stream, (struct sockaddr *)&addr, addr_len));
    close(stream);
    int client = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    check("connect", connect(client, (struct sockaddr *)&addr, addr_len));
    int server = check("accept", accept(listener, NULL, NULL));
    getsockopt(server, SOL_SOCKET, SO_TYPE, &type, &len);
    printf("accepted SO_TYPE %d\n", type);
    seqpacket_records(client, server);
    close(listener);
    check("inet SOCK_SEQPACKET", socket(AF_INET, SOCK_SEQPACKET, 0));
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    timeouts();
    rights(SOCK_STREAM);
    rights(SOCK_DGRAM);
    in_flight_close();
    credentials(SOCK_STREAM);
    credentials(SOCK_DGRAM);
    seqpacket();
    return 0;
}
