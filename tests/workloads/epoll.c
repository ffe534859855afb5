/* epoll over pipes: readiness, blocking waits woken by another process,
 * one-shot and modified interests, hang-ups, timeouts and the errnos.
 * Deterministic output; exit 0 when every step went as Linux does it. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *err(int e)
{
    switch (e) {
    case EEXIST: return "EEXIST";
    case ENOENT: return "ENOENT";
    case EINVAL: return "EINVAL";
    case EPERM: return "EPERM";
    case EBADF: return "EBADF";
    default: return strerror(e);
    }
}

static void events(const char *what, int n, struct epoll_event *ev)
{
    printf("%s: %d", what, n);
    for (int i = 0; i < n; i++)
        printf(" [data %lu%s%s%s%s]", (unsigned long)ev[i].data.u64,
               ev[i].events & EPOLLIN ? " IN" : "", ev[i].events & EPOLLOUT ? " OUT" : "",
               ev[i].events & EPOLLHUP ? " HUP" : "", ev[i].events & EPOLLERR ? " ERR" : "");
    printf("\n");
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(void)
{
    int a[2], b[2];
    struct epoll_event ev, out[8];
    if (pipe(a) || pipe(b))
        return 1;
    int ep = epoll_create1(EPOLL_CLOEXEC);
    printf("epoll_create1: %s, cloexec %s\n", ep >= 0 ? "ok" : err(errno),
           (fcntl(ep, F_GETFD) & FD_CLOEXEC) ? "yes" : "no");

    ev.events = EPOLLIN;
    ev.data.u64 = 1;
    epoll_ctl(ep, EPOLL_CTL_ADD, a[0], &ev);
    ev.data.u64 = 2;
    epoll_ctl(ep, EPOLL_CTL_ADD, b[0], &ev);
    printf("add again: %s\n", epoll_ctl(ep, EPOLL_CTL_ADD, a[0], &ev) ? err(errno) : "ok");
    printf("mod of an unwatched fd: %s\n",
           epoll_ctl(ep, EPOLL_CTL_MOD, a[1], &ev) ? err(errno) : "ok");
    printf("add itself: %s\n", epoll_ctl(ep, EPOLL_CTL_ADD, ep, &ev) ? err(errno) : "ok");
    int file = open("/proc/self/cmdline", O_RDONLY);
    int devnull = open("/dev/null", O_RDONLY);
    (void)devnull;
    printf("add a bad fd: %s\n", epoll_ctl(ep, EPOLL_CTL_ADD, 1000, &ev) ? err(errno) : "ok");
    printf("maxevents 0: %s\n", epoll_wait(ep, out, 0, 0) < 0 ? err(errno) : "ok");
    (void)file;

    events("nothing ready, timeout 0", epoll_wait(ep, out, 8, 0), out);
    double t0 = now();
    int n = epoll_wait(ep, out, 8, 100);
    printf("nothing ready, timeout 100 ms: %d, waited at least 90 ms: %s\n", n,
           now() - t0 >= 0.09 ? "yes" : "no");

    write(b[1], "x", 1);
    events("b readable", epoll_wait(ep, out, 8, -1), out);

    pid_t child = fork();
    if (child == 0) {
        usleep(100000);
        write(a[1], "yz", 2);
        _exit(0);
    }
    char buf[8];
    read(b[0], buf, 1);
    events("blocked until the child writes a", epoll_wait(ep, out, 8, -1), out);
    waitpid(child, NULL, 0);
    read(a[0], buf, 2);

    ev.events = EPOLLIN | EPOLLONESHOT;
    ev.data.u64 = 3;
    epoll_ctl(ep, EPOLL_CTL_MOD, b[0], &ev);
    write(b[1], "12", 2);
    events("one-shot fires", epoll_wait(ep, out, 8, 0), out);
    events("then is silent", epoll_wait(ep, out, 8, 0), out);
    epoll_ctl(ep, EPOLL_CTL_MOD, b[0], &ev);
    events("re-armed by MOD", epoll_wait(ep, out, 8, 0), out);
    read(b[0], buf, 2);

    ev.events = EPOLLOUT;
    ev.data.u64 = 4;
    epoll_ctl(ep, EPOLL_CTL_ADD, a[1], &ev);
    events("write end writable", epoll_wait(ep, out, 8, 0), out);
    epoll_ctl(ep, EPOLL_CTL_DEL, a[1], NULL);
    printf("del again: %s\n", epoll_ctl(ep, EPOLL_CTL_DEL, a[1], NULL) ? err(errno) : "ok");

    close(a[1]);
    events("a's writer gone", epoll_wait(ep, out, 8, 0), out);
    close(a[0]);
    events("a closed: dropped from the set", epoll_wait(ep, out, 8, 0), out);

    pid_t late = fork();
    if (late == 0) {
        usleep(50000);
        _exit(0);
    }
    /* A blocked epoll_wait on b, woken by nothing but its timeout. */
    events("b quiet for 50 ms", epoll_wait(ep, out, 8, 50), out);
    waitpid(late, NULL, 0);
    printf("done\n");
    return 0;
}
