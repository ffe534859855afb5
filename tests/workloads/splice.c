/* splice, tee and vmsplice: bytes moved between files, pipes and sockets
 * through pipes, with and without offsets, waiting for another process,
 * a 200 KiB round trip, and the errnos. Deterministic output; exit 0 when
 * every step went as Linux does it. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *err(int e)
{
    switch (e) {
    case EINVAL: return "EINVAL";
    case EBADF: return "EBADF";
    case ESPIPE: return "ESPIPE";
    case EAGAIN: return "EAGAIN";
    case EPIPE: return "EPIPE";
    default: return strerror(e);
    }
}

static void say(const char *what, long n)
{
    if (n < 0)
        printf("%s: %s\n", what, err(errno));
    else
        printf("%s: %ld\n", what, n);
}

static void drain(const char *what, int fd)
{
    char buf[256];
    long n = read(fd, buf, sizeof buf);
    printf("%s: %.*s\n", what, n > 0 ? (int)n : 0, buf);
}

static int pending(int fd)
{
    int n = -1;
    ioctl(fd, FIONREAD, &n);
    return n;
}

int main(void)
{
    const char *path = "/tmp/splice-test-file";
    const char *copy = "/tmp/splice-test-copy";
    int file = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (file < 0 || write(file, "0123456789abcdef", 16) != 16 || lseek(file, 0, SEEK_SET))
        return 1;
    int p[2], q[2], s[2];
    if (pipe(p) || pipe(q) || socketpair(AF_UNIX, SOCK_STREAM, 0, s))
        return 1;

    /* file -> pipe, at an offset and at the file's own */
    loff_t off = 4;
    say("file@4 -> pipe", splice(file, &off, p[1], NULL, 6, 0));
    printf("  offset now %lld, file offset %ld\n", (long long)off, (long)lseek(file, 0, SEEK_CUR));
    drain("  pipe", p[0]);
    say("file -> pipe", splice(file, NULL, p[1], NULL, 3, 0));
    printf("  file offset %ld\n", (long)lseek(file, 0, SEEK_CUR));
    drain("  pipe", p[0]);
    off = 16;
    say("file at its end -> pipe", splice(file, &off, p[1], NULL, 10, 0));

    /* pipe -> file at an offset */
    (void)!write(p[1], "XYZ", 3);
    off = 2;
    say("pipe -> file@2", splice(p[0], NULL, file, &off, 100, 0));
    char buf[64] = {0};
    (void)!pread(file, buf, 16, 0);
    printf("  file: %s, offset %lld\n", buf, (long long)off);

    /* pipe -> pipe, tee */
    (void)!write(p[1], "hello", 5);
    say("tee", tee(p[0], q[1], 100, 0));
    printf("  left in the first pipe: %d\n", pending(p[0]));
    drain("  second pipe", q[0]);
    say("pipe -> pipe", splice(p[0], NULL, q[1], NULL, 3, 0));
    printf("  left: %d\n", pending(p[0]));
    drain("  second pipe", q[0]);
    drain("  first pipe", p[0]);

    /* sockets */
    (void)!write(p[1], "to the socket", 13);
    say("pipe -> socket", splice(p[0], NULL, s[0], NULL, 64, 0));
    drain("  socket", s[1]);
    (void)!write(s[1], "from the socket", 15);
    say("socket -> pipe", splice(s[0], NULL, p[1], NULL, 64, 0));
    drain("  pipe", p[0]);

    /* vmsplice both ways */
    struct iovec iov[2] = {{"vm", 2}, {"splice", 6}};
    say("vmsplice into the write end", vmsplice(p[1], iov, 2, 0));
    char a[3] = {0}, b[6] = {0};
    struct iovec back[2] = {{a, 2}, {b, 5}};
    say("vmsplice from the read end", vmsplice(p[0], back, 2, 0));
    printf("  %s %s, left %d\n", a, b, pending(p[0]));
    drain("  pipe", p[0]);

    /* a wait for another process's write */
    pid_t child = fork();
    if (child == 0) {
        usleep(30000);
        (void)!write(p[1], "late", 4);
        _exit(0);
    }
    off = 0;
    int out = open(copy, O_RDWR | O_CREAT | O_TRUNC, 0644);
    say("pipe -> file, waiting", splice(p[0], NULL, out, &off, 100, 0));
    waitpid(child, NULL, 0);

    /* 200 KiB through a pipe, 64 KiB at most a step */
    enum { BIG = 200 * 1024 };
    char *data = malloc(BIG), *check = malloc(BIG);
    for (int i = 0; i < BIG; i++)
        data[i] = (char)(i * 7 + i / 251);
    if (ftruncate(file, 0) || pwrite(file, data, BIG, 0) != BIG || ftruncate(out, 0))
        return 1;
    loff_t in_at = 0, out_at = 0;
    long steps = 0;
    while (in_at < BIG) {
        long n = splice(file, &in_at, p[1], NULL, BIG, 0);
        if (n <= 0)
            return 2;
        while (n > 0) {
            long m = splice(p[0], NULL, out, &out_at, n, 0);
            if (m <= 0)
                return 3;
            n -= m;
        }
        steps++;
    }
    printf("200 KiB copied in more than one step: %s, same bytes: %s\n", steps > 1 ? "yes" : "no",
           pread(out, check, BIG, 0) == BIG && !memcmp(data, check, BIG) ? "yes" : "no");

    /* errnos */
    say("neither a pipe", splice(file, NULL, out, NULL, 10, 0));
    off = 0;
    say("offset on a pipe", splice(p[0], &off, out, NULL, 10, 0));
    say("empty pipe, nonblock", splice(p[0], NULL, out, NULL, 10, SPLICE_F_NONBLOCK));
    say("bad flags", splice(p[0], NULL, out, NULL, 10, 64));
    say("bad fd", splice(99, NULL, p[1], NULL, 10, 0));
    say("write end as input", splice(p[1], NULL, out, NULL, 10, 0));
    say("length 0", splice(file, NULL, p[1], NULL, 0, 0));
    int appending = open(copy, O_WRONLY | O_APPEND);
    (void)!write(p[1], "z", 1);
    say("to an O_APPEND file", splice(p[0], NULL, appending, NULL, 10, 0));
    say("tee of a file", tee(file, q[1], 10, 0));
    say("tee to the same pipe", tee(p[0], p[1], 10, 0));
    say("tee from a write end", tee(q[1], p[1], 10, 0));
    say("vmsplice on a file", vmsplice(file, iov, 1, 0));
    drain("  left", p[0]);
    close(p[1]);
    say("pipe without writers", splice(p[0], NULL, out, NULL, 10, 0));
    say("tee without writers", tee(p[0], q[1], 10, 0));
    close(q[0]);
    signal(SIGPIPE, SIG_IGN);
    say("into a pipe without readers", splice(file, &in_at, q[1], NULL, 10, 0));
    unlink(path);
    unlink(copy);
    return 0;
}
