/* Process file descriptors: pidfd_open, poll on a pidfd (readable once
 * the process has ended, with a wait for it), pidfd_send_signal with and
 * without siginfo, and the errnos. Deterministic output; exit 0 when
 * every step went as Linux does it. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef PIDFD_NONBLOCK
#define PIDFD_NONBLOCK O_NONBLOCK
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

static const char *err(int e)
{
    switch (e) {
    case EINVAL: return "EINVAL";
    case ESRCH: return "ESRCH";
    case EBADF: return "EBADF";
    case EPERM: return "EPERM";
    default: return strerror(e);
    }
}

static int pidfd_open(pid_t pid, unsigned flags)
{
    return syscall(SYS_pidfd_open, pid, flags);
}

static int send_signal(int fd, int sig, siginfo_t *info, unsigned flags)
{
    return syscall(SYS_pidfd_send_signal, fd, sig, info, flags);
}

static const char *result(long r)
{
    return r < 0 ? err(errno) : "ok";
}

static int ready(int fd, int timeout_ms)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    int n = poll(&pfd, 1, timeout_ms);
    return n > 0 && (pfd.revents & POLLIN);
}

int main(void)
{
    pid_t child = fork();
    if (child == 0) {
        pause();
        _exit(0);
    }
    int fd = pidfd_open(child, 0);
    printf("pidfd_open: %s, cloexec %d\n", result(fd), (fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
    printf("ready while it runs: %d\n", ready(fd, 0));
    printf("signal 0: %s\n", result(send_signal(fd, 0, NULL, 0)));
    printf("SIGTERM: %s\n", result(send_signal(fd, SIGTERM, NULL, 0)));
    printf("ready after it ended: %d\n", ready(fd, 5000));
    printf("signal to a zombie: %s\n", result(send_signal(fd, SIGTERM, NULL, 0)));
    int status;
    waitpid(child, &status, 0);
    printf("child: signaled %d by %d\n", WIFSIGNALED(status), WTERMSIG(status));
    printf("ready after the reap: %d\n", ready(fd, 0));
    printf("signal after the reap: %s\n", result(send_signal(fd, SIGTERM, NULL, 0)));
    printf("pidfd_open after the reap: %s\n", result(pidfd_open(child, 0)));
    close(fd);

    /* A wait in poll for a child that ends by itself. */
    child = fork();
    if (child == 0) {
        usleep(50000);
        _exit(3);
    }
    fd = pidfd_open(child, PIDFD_NONBLOCK);
    printf("nonblock pidfd: %s, O_NONBLOCK %d\n", result(fd), (fcntl(fd, F_GETFL) & O_NONBLOCK) != 0);
    printf("poll waits for the exit: %d\n", ready(fd, -1));
    waitpid(child, &status, 0);
    printf("child: exited %d\n", WEXITSTATUS(status));
    close(fd);

    /* siginfo through pidfd_send_signal (blocked before the fork: it may
     * come before the child runs). */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, NULL);
    child = fork();
    if (child == 0) {
        siginfo_t got;
        sigwaitinfo(&set, &got);
        _exit(got.si_code == SI_QUEUE && got.si_value.sival_int == 42 ? 7 : 1);
    }
    fd = pidfd_open(child, 0);
    siginfo_t info;
    memset(&info, 0, sizeof info);
    info.si_signo = SIGUSR1;
    info.si_code = SI_QUEUE;
    info.si_pid = getpid();
    info.si_value.sival_int = 42;
    printf("SIGUSR1 with siginfo: %s\n", result(send_signal(fd, SIGUSR1, &info, 0)));
    waitpid(child, &status, 0);
    printf("child saw the value: %s\n", WEXITSTATUS(status) == 7 ? "yes" : "no");

    /* errnos */
    printf("bad flags: %s\n", result(pidfd_open(getpid(), 1)));
    printf("pid 0: %s\n", result(pidfd_open(0, 0)));
    printf("missing pid: %s\n", result(pidfd_open(999999, 0)));
    int self = pidfd_open(getpid(), 0);
    printf("self: %s, ready %d\n", result(self), ready(self, 0));
    printf("send flags: %s\n", result(send_signal(self, 0, NULL, 1 << 8)));
    printf("send through a non-pidfd: %s\n", result(send_signal(0, 0, NULL, 0)));
    printf("send through a bad fd: %s\n", result(send_signal(99, 0, NULL, 0)));
    printf("bad signal: %s\n", result(send_signal(self, 999, NULL, 0)));
    return 0;
}
