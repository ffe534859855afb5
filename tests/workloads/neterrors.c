/* Socket calls given bad input, and the errors of sockets in use, against
 * Linux: run natively and in lamina, the two outputs must be identical.
 * Bad families, types, flags, lengths and pointers are errnos; an AF_UNIX
 * backlog that is full is EAGAIN for a non-blocking connect and a wait
 * for a blocking one; a signal interrupts a blocking accept and recv
 * (EINTR); descriptors that are not sockets are ENOTSOCK. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

/* A pointer into the unmapped first page, hidden from the compiler. */
static void *volatile bad_pointer = (void *)16;
#define BAD_POINTER (bad_pointer)

static int main_pid;

static const char *err_name(int e) {
    switch (e) {
    case 0: return "ok";
    case EAGAIN: return "EAGAIN";
    case EBADF: return "EBADF";
    case EFAULT: return "EFAULT";
    case EINTR: return "EINTR";
    case EINVAL: return "EINVAL";
    case EMSGSIZE: return "EMSGSIZE";
    case ENOTSOCK: return "ENOTSOCK";
    case ENOTCONN: return "ENOTCONN";
    case EISCONN: return "EISCONN";
    case EPIPE: return "EPIPE";
    case ECONNREFUSED: return "ECONNREFUSED";
    case EADDRINUSE: return "EADDRINUSE";
    case EAFNOSUPPORT: return "EAFNOSUPPORT";
    case EPROTONOSUPPORT: return "EPROTONOSUPPORT";
    case ESOCKTNOSUPPORT: return "ESOCKTNOSUPPORT";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case ENOPROTOOPT: return "ENOPROTOOPT";
    case EDOM: return "EDOM";
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

static socklen_t abstract(struct sockaddr_un *a, const char *name) {
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    int n = snprintf(a->sun_path + 1, sizeof a->sun_path - 1, "neterrors-%d-%s", main_pid, name);
    return sizeof(sa_family_t) + 1 + n;
}

static void bad_input(void) {
    printf("-- bad input\n");
    check("socket family 9999", socket(9999, SOCK_STREAM, 0));
    check("socket AF_INET type 0", socket(AF_INET, 0, 0));
    check("socket AF_UNIX type 0", socket(AF_UNIX, 0, 0));
    check("socket AF_UNIX type 9", socket(AF_UNIX, 9, 0));
    check("socket unknown flag", socket(AF_INET, SOCK_STREAM | 0x100000, 0));
    check("socket TCP with UDP protocol", socket(AF_INET, SOCK_STREAM, IPPROTO_UDP));
    check("socket UDP with TCP protocol", socket(AF_INET, SOCK_DGRAM, IPPROTO_TCP));
    check("socketpair bad pointer", socketpair(AF_UNIX, SOCK_STREAM, 0, BAD_POINTER));
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    check("bind addrlen 1000", bind(fd, (struct sockaddr *)&a, 1000));
    check("bind addrlen -1", bind(fd, (struct sockaddr *)&a, (socklen_t)-1));
    check("bind bad pointer", bind(fd, BAD_POINTER, sizeof a));
    check("connect bad pointer", connect(fd, BAD_POINTER, sizeof a));
    check("connect addrlen 0", connect(fd, (struct sockaddr *)&a, 0));
    socklen_t len = sizeof a;
    check("getsockname bad length pointer", getsockname(fd, (struct sockaddr *)&a, BAD_POINTER));
    check("getsockname bad address", getsockname(fd, BAD_POINTER, &len));
    len = (socklen_t)-1;
    check("getsockname negative length", getsockname(fd, (struct sockaddr *)&a, &len));
    int v = 0;
    check("getsockopt bad length pointer", getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, BAD_POINTER));
    len = sizeof v;
    check("getsockopt bad value pointer", getsockopt(fd, SOL_SOCKET, SO_TYPE, BAD_POINTER, &len));
    check("setsockopt bad value pointer", setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, BAD_POINTER, 4));
    check("setsockopt negative length", setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &v, (socklen_t)-1));
    check("setsockopt SO_TYPE", setsockopt(fd, SOL_SOCKET, SO_TYPE, &v, sizeof v));
    struct timeval tv = {1, 2000000};
    check("SO_RCVTIMEO with 2e6 usec", setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv));
    /* The raw calls: libc wrappers may copy the header themselves. */
    check("sendmsg bad header", syscall(SYS_sendmsg, fd, BAD_POINTER, 0));
    check("recvmsg bad header", syscall(SYS_recvmsg, fd, BAD_POINTER, 0));
    struct msghdr msg = {0};
    struct iovec iov = {&v, 1};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 2000;
    check("sendmsg 2000 iovecs", syscall(SYS_sendmsg, fd, &msg, 0));
    check("recvmsg 2000 iovecs", syscall(SYS_recvmsg, fd, &msg, 0));
    check("listen bad fd", listen(-1, 1));
    check("accept closed fd", accept(1000, NULL, NULL));
    check("shutdown how -1", shutdown(fd, -1));
    check("accept4 unknown flag", accept4(fd, NULL, NULL, 0x1));
    close(fd);
    int file = open("/proc/self/status", O_RDONLY);
    check("bind a file", bind(file, (struct sockaddr *)&a, sizeof a));
    check("recv a file", recv(file, &v, 1, 0));
    check("send a file", send(file, &v, 1, 0));
    check("getsockopt a file", getsockopt(file, SOL_SOCKET, SO_TYPE, &v, &len));
    close(file);

    /* A bad buffer loses nothing: the data is still there after EFAULT. */
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    send(sv[0], "kept", 4, 0);
    check("recv into a bad buffer", recv(sv[1], BAD_POINTER, 4, 0));
    char buf[8] = {0};
    check("recv again", recv(sv[1], buf, sizeof buf, 0));
    printf("data: %s\n", buf);
    check("send from a bad buffer", send(sv[0], BAD_POINTER, 4, 0));
    close(sv[0]);
    close(sv[1]);
}

static void on_alarm(int sig) {
    (void)sig;
}

static void waits(void) {
    printf("-- waiting\n");
    /* A full AF_UNIX backlog: EAGAIN when non-blocking. */
    int listener = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a;
    socklen_t alen = abstract(&a, "backlog");
    bind(listener, (struct sockaddr *)&a, alen);
    check("listen backlog 1", listen(listener, 1));
    int c[4];
    for (int i = 0; i < 3; i++) {
        c[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
        char what[32];
        snprintf(what, sizeof what, "non-blocking connect %d", i);
        check(what, connect(c[i], (struct sockaddr *)&a, alen));
    }
    /* A blocking connect waits until a child accepts. */
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        usleep(50000);
        int s = accept(listener, NULL, NULL);
        _exit(s >= 0 ? 0 : 1);
    }
    c[3] = socket(AF_UNIX, SOCK_STREAM, 0);
    check("blocking connect (waits for the accept)", connect(c[3], (struct sockaddr *)&a, alen));
    int status;
    waitpid(pid, &status, 0);
    printf("acceptor: exited %d\n", WEXITSTATUS(status));
    for (int i = 0; i < 4; i++)
        close(c[i]);
    close(listener);

    /* A signal interrupts a blocking accept and a blocking recv. */
    struct sigaction sa = {0};
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);
    listener = socket(AF_UNIX, SOCK_STREAM, 0);
    alen = abstract(&a, "interrupted");
    bind(listener, (struct sockaddr *)&a, alen);
    listen(listener, 1);
    ualarm(30000, 0);
    check("accept interrupted", accept(listener, NULL, NULL));
    close(listener);
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    ualarm(30000, 0);
    char buf[4];
    check("recv interrupted", recv(sv[0], buf, sizeof buf, 0));
    /* With SA_RESTART the recv goes on and gets the data. */
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, NULL);
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        usleep(80000);
        send(sv[1], "late", 4, 0);
        _exit(0);
    }
    ualarm(30000, 0);
    check("recv restarted", recv(sv[0], buf, sizeof buf, 0));
    waitpid(pid, &status, 0);
    close(sv[0]);
    close(sv[1]);

    /* Non-blocking everything: EAGAIN. */
    socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv);
    check("read", read(sv[0], buf, 1));
    check("recvmsg", recvmsg(sv[0], &(struct msghdr){.msg_iov = &(struct iovec){buf, 1}, .msg_iovlen = 1}, 0));
    close(sv[0]);
    close(sv[1]);
    socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
    check("recv MSG_DONTWAIT on a blocking socket", recv(sv[0], buf, 1, MSG_DONTWAIT));
    close(sv[0]);
    close(sv[1]);
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    main_pid = getpid();
    bad_input();
    waits();
    return 0;
}
