/* Signal-driven I/O as nginx's master sets it up on its channel to each
 * worker: FIOASYNC / F_SETFL O_ASYNC, F_SETOWN / F_GETOWN (and the _EX
 * forms glibc uses), SIGIO to the owner process or process group when data
 * arrives on a socket or a pipe, none once O_ASYNC is off, and the errnos.
 * Deterministic output; exit 0 when every step went as Linux does it. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t sigios;

static void on_sigio(int sig)
{
    (void)sig;
    sigios++;
}

static const char *err(int e)
{
    switch (e) {
    case ESRCH: return "ESRCH";
    case EINVAL: return "EINVAL";
    case ENOTTY: return "ENOTTY";
    case EBADF: return "EBADF";
    default: return strerror(e);
    }
}

static const char *result(int r)
{
    return r < 0 ? err(errno) : "ok";
}

/* Whether writing to `to` made SIGIO come (at least once). */
static int sigio_after_write(int to, int from)
{
    char c = 'x';
    sigios = 0;
    if (write(to, &c, 1) != 1)
        return -1;
    int got = sigios > 0;
    if (read(from, &c, 1) != 1)
        return -1;
    return got;
}

int main(void)
{
    int s[2], p[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, s) || pipe(p))
        return 1;
    signal(SIGIO, on_sigio);
    pid_t me = getpid();
    /* A group of our own: SIGIO to the group must reach no one else. */
    if (getpgrp() != me && setpgid(0, 0))
        return 1;

    printf("F_GETOWN at first: %d\n", fcntl(s[0], F_GETOWN));
    printf("F_SETOWN self: %s\n", result(fcntl(s[0], F_SETOWN, me)));
    printf("F_GETOWN is self: %s\n", fcntl(s[0], F_GETOWN) == me ? "yes" : "no");
    printf("F_SETOWN of a missing process: %s\n", result(fcntl(s[1], F_SETOWN, 999999)));
    struct f_owner_ex ex = {.type = F_OWNER_PID, .pid = 0};
    printf("F_GETOWN_EX: %s", result(fcntl(s[0], F_GETOWN_EX, &ex)));
    printf(", type %d, self %s\n", ex.type, ex.pid == me ? "yes" : "no");
    ex.type = 7;
    printf("F_SETOWN_EX bad type: %s\n", result(fcntl(s[0], F_SETOWN_EX, &ex)));
    printf("F_GETOWN on a bad fd: %s\n", result(fcntl(99, F_GETOWN)));

    printf("no O_ASYNC, sigio: %d\n", sigio_after_write(s[1], s[0]));
    int on = 1;
    printf("FIOASYNC on: %s\n", result(ioctl(s[0], FIOASYNC, &on)));
    printf("O_ASYNC in F_GETFL: %s\n", (fcntl(s[0], F_GETFL) & O_ASYNC) ? "yes" : "no");
    printf("socket, sigio: %d\n", sigio_after_write(s[1], s[0]));
    on = 0;
    printf("FIOASYNC off: %s\n", result(ioctl(s[0], FIOASYNC, &on)));
    printf("O_ASYNC in F_GETFL: %s\n", (fcntl(s[0], F_GETFL) & O_ASYNC) ? "yes" : "no");
    printf("socket off, sigio: %d\n", sigio_after_write(s[1], s[0]));

    /* A pipe through F_SETFL, owned by the process group. */
    printf("pipe F_SETOWN group: %s\n", result(fcntl(p[0], F_SETOWN, -getpgrp())));
    printf("F_GETOWN is -group: %s\n", fcntl(p[0], F_GETOWN) == -getpgrp() ? "yes" : "no");
    printf("F_SETFL O_ASYNC: %s\n",
           result(fcntl(p[0], F_SETFL, fcntl(p[0], F_GETFL) | O_ASYNC)));
    printf("pipe, sigio: %d\n", sigio_after_write(p[1], p[0]));
    printf("F_SETFL without O_ASYNC: %s\n",
           result(fcntl(p[0], F_SETFL, fcntl(p[0], F_GETFL) & ~O_ASYNC)));
    printf("pipe off, sigio: %d\n", sigio_after_write(p[1], p[0]));

    /* No owner: O_ASYNC alone signals nobody. */
    printf("F_SETOWN 0: %s\n", result(fcntl(s[0], F_SETOWN, 0)));
    on = 1;
    ioctl(s[0], FIOASYNC, &on);
    printf("no owner, sigio: %d\n", sigio_after_write(s[1], s[0]));

    /* Another process's write wakes the owner waiting in sigsuspend. */
    fcntl(s[0], F_SETOWN, me);
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGIO);
    sigprocmask(SIG_BLOCK, &block, &old);
    sigios = 0;
    pid_t child = fork();
    if (child == 0) {
        usleep(20000);
        (void)!write(s[1], "y", 1);
        _exit(0);
    }
    while (sigios == 0)
        sigsuspend(&old);
    printf("SIGIO from the child's write: yes\n");
    int status;
    waitpid(child, &status, 0);
    char c;
    printf("data: %s\n", read(s[0], &c, 1) == 1 && c == 'y' ? "y" : "missing");

    /* An object without asynchronous events. */
    int null = open("/dev/null", O_RDWR);
    printf("FIOASYNC on /dev/null: %s\n", result(ioctl(null, FIOASYNC, &on)));
    return 0;
}
