/* Pipes between processes with Linux semantics: run natively and in
 * lamina, the two outputs must be identical. One line per check, so a
 * difference names the check: pipe2 flags, EAGAIN on O_NONBLOCK, the
 * 64 KiB capacity (F_GETPIPE_SZ and filling until EAGAIN), FIONREAD,
 * fstat and /proc/self/fd, end of file only once every write end is
 * closed (dup and fork copies included), 1 MiB through a child, dup2 onto
 * stdin and stdout, EPIPE and SIGPIPE (ignored, handled, default, and a
 * writer blocked when the reader leaves), and poll's readiness. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHUNK_BYTES 1024
#define TRANSFER_BYTES (1024 * 1024)

static const char *err_name(int e) {
    switch (e) {
    case 0: return "ok";
    case EAGAIN: return "EAGAIN";
    case EPIPE: return "EPIPE";
    case EBADF: return "EBADF";
    case EINVAL: return "EINVAL";
    case EINTR: return "EINTR";
    case ENOSYS: return "ENOSYS";
    default: return "other";
    }
}

static const char *yes(int condition) {
    return condition ? "yes" : "no";
}

/* Prints "what: value" for a result >= 0, else "what: ERRNO". */
static long check(const char *what, long result) {
    if (result < 0)
        printf("%s: %s\n", what, err_name(errno));
    else
        printf("%s: %ld\n", what, result);
    return result;
}

static void make_pipe(int fds[2], int flags) {
    if (pipe2(fds, flags) != 0) {
        printf("pipe2: %s\n", err_name(errno));
        exit(1);
    }
}

static const char *describe_status(int status) {
    static char text[64];
    if (WIFEXITED(status))
        snprintf(text, sizeof text, "exited %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(text, sizeof text, "killed by signal %d", WTERMSIG(status));
    else
        snprintf(text, sizeof text, "status %#x", status);
    return text;
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
    if (waitpid(pid, &status, 0) != pid)
        printf("%s: waitpid: %s\n", what, err_name(errno));
    else
        printf("%s: %s\n", what, describe_status(status));
}

static void flags_checks(void) {
    int p[2];
    make_pipe(p, O_CLOEXEC);
    printf("pipe2(O_CLOEXEC): FD_CLOEXEC on read end %s, write end %s\n",
           yes(fcntl(p[0], F_GETFD) & FD_CLOEXEC), yes(fcntl(p[1], F_GETFD) & FD_CLOEXEC));
    close(p[0]);
    close(p[1]);
    if (pipe(p) != 0)
        exit(1);
    printf("pipe: FD_CLOEXEC %s %s; access modes %s %s\n", yes(fcntl(p[0], F_GETFD) & FD_CLOEXEC),
           yes(fcntl(p[1], F_GETFD) & FD_CLOEXEC),
           (fcntl(p[0], F_GETFL) & O_ACCMODE) == O_RDONLY ? "O_RDONLY" : "other",
           (fcntl(p[1], F_GETFL) & O_ACCMODE) == O_WRONLY ? "O_WRONLY" : "other");
    struct stat st;
    fstat(p[0], &st);
    printf("fstat: S_ISFIFO %s\n", yes(S_ISFIFO(st.st_mode)));
    char path[64], link[64] = {0};
    snprintf(path, sizeof path, "/proc/self/fd/%d", p[0]);
    ssize_t len = readlink(path, link, sizeof link - 1);
    printf("/proc/self/fd names a pipe: %s\n", yes(len > 0 && strncmp(link, "pipe:[", 6) == 0));
    check("write to the read end", write(p[0], "x", 1));
    char byte;
    check("read from the write end", read(p[1], &byte, 1));
    close(p[0]);
    close(p[1]);
}

static void capacity_checks(void) {
    int p[2];
    make_pipe(p, O_NONBLOCK);
    printf("pipe2(O_NONBLOCK): O_NONBLOCK set %s\n", yes(fcntl(p[0], F_GETFL) & O_NONBLOCK));
    char buffer[4096];
    check("read of an empty O_NONBLOCK pipe", read(p[0], buffer, sizeof buffer));
    check("F_GETPIPE_SZ", fcntl(p[0], F_GETPIPE_SZ));
    char chunk[CHUNK_BYTES];
    memset(chunk, 'c', sizeof chunk);
    long total = 0;
    ssize_t n;
    while ((n = write(p[1], chunk, sizeof chunk)) > 0)
        total += n;
    printf("filled with %ld bytes until %s\n", total, err_name(n < 0 ? errno : 0));
    int available = -1;
    ioctl(p[0], FIONREAD, &available);
    printf("FIONREAD: %d\n", available);
    check("read 4096 of them", read(p[0], buffer, sizeof buffer));
    check("write 4096 into the room made", write(p[1], buffer, sizeof buffer));
    check("then write 1", write(p[1], buffer, 1));
    close(p[0]);
    close(p[1]);
}

static void eof_checks(void) {
    int p[2];
    make_pipe(p, 0);
    int copy = dup(p[1]);
    check("write 5", write(p[1], "hello", 5));
    close(p[1]);
    char buffer[64];
    check("read asks 64, gets what is there", read(p[0], buffer, sizeof buffer));
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    check("a dup of the write end is still open: read", read(p[0], buffer, sizeof buffer));
    pid_t pid = spawn();
    if (pid == 0) {
        /* The child's copy of the write end keeps the pipe open too. */
        close(p[0]);
        usleep(100 * 1000);
        (void)!write(copy, "late", 4);
        _exit(0);
    }
    close(copy);
    fcntl(p[0], F_SETFL, 0);
    check("a blocking read waits for the child's write", read(p[0], buffer, sizeof buffer));
    check("then end of file once the child exits", read(p[0], buffer, sizeof buffer));
    reap("child", pid);
    close(p[0]);
}

static void transfer_checks(void) {
    int to_child[2], from_child[2];
    make_pipe(to_child, 0);
    make_pipe(from_child, 0);
    pid_t pid = spawn();
    if (pid == 0) {
        close(to_child[1]);
        close(from_child[0]);
        uint32_t sum = 0;
        long got = 0;
        unsigned char buffer[3000];
        ssize_t n;
        while ((n = read(to_child[0], buffer, sizeof buffer)) > 0) {
            for (ssize_t i = 0; i < n; i++)
                sum = sum * 31 + buffer[i];
            got += n;
        }
        char reply[64];
        int len = snprintf(reply, sizeof reply, "%ld bytes, sum %08x", got, sum);
        (void)!write(from_child[1], reply, (size_t)len);
        _exit(n == 0 ? 0 : 1);
    }
    close(to_child[0]);
    close(from_child[1]);
    static unsigned char data[TRANSFER_BYTES];
    uint32_t sum = 0;
    for (long i = 0; i < TRANSFER_BYTES; i++) {
        data[i] = (unsigned char)(i * 7 + i / 4093);
        sum = sum * 31 + data[i];
    }
    long sent = 0;
    while (sent < TRANSFER_BYTES) {
        ssize_t n = write(to_child[1], data + sent, TRANSFER_BYTES - sent);
        if (n <= 0) {
            printf("write: %s\n", err_name(errno));
            break;
        }
        sent += n;
    }
    close(to_child[1]);
    char reply[64] = {0};
    ssize_t n = read(from_child[0], reply, sizeof reply - 1);
    printf("child read %s (%ld bytes of reply); parent's sum %08x\n", n > 0 ? reply : "nothing",
           (long)n, sum);
    close(from_child[0]);
    reap("child", pid);
}

static void dup2_checks(void) {
    int in[2], out[2];
    make_pipe(in, 0);
    make_pipe(out, 0);
    pid_t pid = spawn();
    if (pid == 0) {
        dup2(in[0], STDIN_FILENO);
        dup2(out[1], STDOUT_FILENO);
        close(in[0]);
        close(in[1]);
        close(out[0]);
        close(out[1]);
        char line[64] = {0};
        ssize_t n = read(STDIN_FILENO, line, sizeof line - 1);
        printf("child got %ld bytes on stdin: %s", (long)n, line);
        fflush(stdout);
        _exit(0);
    }
    close(in[0]);
    close(out[1]);
    (void)!write(in[1], "via stdin\n", 10);
    close(in[1]);
    char buffer[128] = {0};
    long total = 0;
    ssize_t n;
    while ((n = read(out[0], buffer + total, sizeof buffer - 1 - total)) > 0)
        total += n;
    printf("from the child's stdout: %s", buffer);
    close(out[0]);
    reap("child", pid);
}

static volatile sig_atomic_t sigpipes;

static void count_sigpipe(int sig) {
    (void)sig;
    sigpipes++;
}

static void set_sigpipe(void (*handler)(int)) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGPIPE, &sa, NULL);
}

static void epipe_checks(void) {
    int p[2];
    make_pipe(p, 0);
    close(p[0]);
    set_sigpipe(SIG_IGN);
    check("write with no reader, SIGPIPE ignored", write(p[1], "x", 1));
    set_sigpipe(count_sigpipe);
    check("write with no reader, SIGPIPE handled", write(p[1], "x", 1));
    printf("SIGPIPE handler ran %d time(s)\n", (int)sigpipes);
    set_sigpipe(SIG_DFL);
    pid_t pid = spawn();
    if (pid == 0) {
        (void)!write(p[1], "x", 1);
        _exit(0);
    }
    reap("a writer with SIGPIPE's default action", pid);
    close(p[1]);

    /* A writer blocked on a full pipe when the reader goes away. */
    int ready[2];
    make_pipe(p, 0);
    make_pipe(ready, 0);
    pid = spawn();
    if (pid == 0) {
        close(p[0]);
        close(ready[0]);
        set_sigpipe(SIG_IGN);
        static char big[256 * 1024];
        (void)!write(ready[1], "r", 1);
        ssize_t n;
        long total = 0;
        while ((n = write(p[1], big, sizeof big)) > 0)
            total += n;
        /* Exit with the error: 32 for EPIPE. */
        _exit(n < 0 ? errno : 0);
    }
    close(p[1]);
    close(ready[1]);
    char byte;
    (void)!read(ready[0], &byte, 1);
    char buffer[10];
    (void)!read(p[0], buffer, sizeof buffer);
    usleep(100 * 1000);
    close(p[0]);
    reap("a blocked writer when the reader closes (exits with its errno)", pid);
    close(ready[0]);
}

static const char *events(short revents) {
    static char text[64];
    text[0] = '\0';
    if (revents & POLLIN) strcat(text, " POLLIN");
    if (revents & POLLOUT) strcat(text, " POLLOUT");
    if (revents & POLLHUP) strcat(text, " POLLHUP");
    if (revents & POLLERR) strcat(text, " POLLERR");
    if (revents & POLLNVAL) strcat(text, " POLLNVAL");
    if (!text[0]) strcat(text, " none");
    return text;
}

static void print_poll(const char *what, int fd, short wanted, int timeout_ms) {
    struct pollfd pfd = {.fd = fd, .events = wanted};
    int r = poll(&pfd, 1, timeout_ms);
    printf("poll %s: %d%s\n", what, r, r < 0 ? err_name(errno) : events(pfd.revents));
}

static void poll_checks(void) {
    int p[2];
    make_pipe(p, O_NONBLOCK);
    print_poll("empty read end", p[0], POLLIN, 0);
    print_poll("empty write end", p[1], POLLOUT, 0);
    (void)!write(p[1], "x", 1);
    print_poll("read end with data", p[0], POLLIN, 0);
    char chunk[CHUNK_BYTES] = {0};
    while (write(p[1], chunk, sizeof chunk) > 0)
        ;
    print_poll("full write end", p[1], POLLOUT, 0);
    close(p[1]);
    print_poll("read end with data, writers gone", p[0], POLLIN, 0);
    char buffer[4096];
    while (read(p[0], buffer, sizeof buffer) > 0)
        ;
    print_poll("drained read end, writers gone", p[0], POLLIN, 0);
    close(p[0]);

    make_pipe(p, 0);
    close(p[0]);
    print_poll("write end, reader gone", p[1], POLLOUT, 0);
    close(p[1]);

    /* A blocking poll woken by another process's write; the child keeps
     * its write end open until released, so there is no POLLHUP yet. */
    int release[2];
    make_pipe(p, 0);
    make_pipe(release, 0);
    pid_t pid = spawn();
    if (pid == 0) {
        close(p[0]);
        close(release[1]);
        usleep(100 * 1000);
        (void)!write(p[1], "w", 1);
        char byte;
        (void)!read(release[0], &byte, 1);
        _exit(0);
    }
    close(p[1]);
    close(release[0]);
    print_poll("blocking, until the child writes", p[0], POLLIN, 30000);
    close(release[1]);
    reap("child", pid);
    close(p[0]);
}

/* One write() larger than the pipe, with a slow reader: a blocking pipe
 * takes every byte before the call returns (no partial count). */
static void big_write_checks(void) {
    enum { BIG = 1 << 20 };
    static char data[BIG];
    int p[2];
    if (pipe(p) != 0)
        return;
    pid_t pid = spawn();
    if (pid == 0) {
        close(p[1]);
        static char sink[BIG];
        size_t got = 0;
        ssize_t n;
        usleep(50 * 1000);
        while ((n = read(p[0], sink, 7000)) > 0)
            got += (size_t)n;
        _exit(got == BIG ? 0 : 1);
    }
    close(p[0]);
    memset(data, 'b', sizeof data);
    ssize_t n = write(p[1], data, sizeof data);
    printf("one write of 1 MiB to a pipe read slowly: %ld\n", (long)n);
    close(p[1]);
    reap("reader", pid);
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    flags_checks();
    capacity_checks();
    eof_checks();
    transfer_checks();
    dup2_checks();
    epipe_checks();
    poll_checks();
    big_write_checks();
    printf("done\n");
    return 0;
}
