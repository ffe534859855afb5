/* The descriptor kinds that are not files, against Linux: eventfd
 * (counter, semaphore, overflow, blocking both ways), timerfd (relative,
 * absolute, interval, on three clocks), signalfd (reading pending
 * signals, changing the mask), memfd (and its seals on write, truncate
 * and mmap), POSIX timers (SIGEV_SIGNAL, SIGEV_THREAD_ID, SIGEV_NONE,
 * SIGEV_THREAD through libc, overruns, a CPU-time clock), inotify (events
 * of changes made by the program itself, in a temporary directory), and one epoll
 * loop waiting on an eventfd, a timerfd and a signalfd together. One line
 * per check, errno names included; timing shows only as bounds. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *err_name(int e)
{
    switch (e) {
    case 0: return "ok";
    case EAGAIN: return "EAGAIN";
    case EINVAL: return "EINVAL";
    case EBADF: return "EBADF";
    case EPERM: return "EPERM";
    case EBUSY: return "EBUSY";
    case EFAULT: return "EFAULT";
    case EINTR: return "EINTR";
    case ENOSYS: return "ENOSYS";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case ENOENT: return "ENOENT";
    case EEXIST: return "EEXIST";
    case ENOTDIR: return "ENOTDIR";
    case EACCES: return "EACCES";
    default: return strerror(e);
    }
}

/* "ok" or the errno's name for a call returning -1 on failure. */
static const char *res(long r)
{
    return r < 0 ? err_name(errno) : "ok";
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}

static const char *revents(int fd)
{
    static char out[32];
    struct pollfd p = {fd, POLLIN | POLLOUT, 0};
    int n = poll(&p, 1, 0);
    snprintf(out, sizeof out, "%d%s%s", n, p.revents & POLLIN ? " IN" : "",
             p.revents & POLLOUT ? " OUT" : "");
    return out;
}

static void fd_link(const char *what, int fd)
{
    char path[64], link[128];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(path, link, sizeof link - 1);
    link[n < 0 ? 0 : n] = 0;
    printf("%s link: %s\n", what, n < 0 ? err_name(errno) : link);
}

static void eventfd_checks(void)
{
    uint64_t v = 0;
    printf("eventfd2 bad flags: %s\n", res(eventfd(0, 0x40)));
    int fd = eventfd(3, EFD_CLOEXEC | EFD_NONBLOCK);
    printf("eventfd: %s, cloexec %d, nonblock %d\n", res(fd), fcntl(fd, F_GETFD) & FD_CLOEXEC,
           !!(fcntl(fd, F_GETFL) & O_NONBLOCK));
    fd_link("eventfd", fd);
    printf("poll at 3: %s\n", revents(fd));
    char small[4];
    printf("short read: %s\n", res(read(fd, small, sizeof small)));
    printf("short write: %s\n", res(write(fd, small, sizeof small)));
    const char *r = res(read(fd, &v, 8));
    printf("read: %s %llu\n", r, (unsigned long long)v);
    printf("empty read: %s\n", res(read(fd, &v, 8)));
    printf("poll at 0: %s\n", revents(fd));
    v = UINT64_MAX;
    printf("write max: %s\n", res(write(fd, &v, 8)));
    v = 0xfffffffffffffffeULL;
    printf("write top: %s\n", res(write(fd, &v, 8)));
    printf("poll at top: %s\n", revents(fd));
    v = 1;
    printf("write past top: %s\n", res(write(fd, &v, 8)));
    v = 0;
    printf("write zero at top: %s\n", res(write(fd, &v, 8)));
    r = res(read(fd, &v, 8));
    printf("read top: %s %llx\n", r, (unsigned long long)v);
    close(fd);

    int sem = eventfd(2, EFD_SEMAPHORE | EFD_NONBLOCK);
    uint64_t a = 0, b = 0;
    read(sem, &a, 8);
    read(sem, &b, 8);
    printf("semaphore reads: %llu %llu, then %s\n", (unsigned long long)a,
           (unsigned long long)b, res(read(sem, &v, 8)));
    close(sem);

    /* A blocking read woken by another process's write, and a blocking
     * write (at the top) woken by another process's read. */
    int efd = eventfd(0, 0);
    pid_t child = fork();
    if (child == 0) {
        sleep_ms(50);
        uint64_t one = 7;
        write(efd, &one, 8);
        _exit(0);
    }
    double t0 = now();
    r = res(read(efd, &v, 8));
    printf("blocking read: %s %llu", r, (unsigned long long)v);
    printf(", waited %s\n", now() - t0 > 0.03 ? "yes" : "no");
    waitpid(child, NULL, 0);
    v = 0xfffffffffffffffeULL;
    write(efd, &v, 8);
    child = fork();
    if (child == 0) {
        sleep_ms(50);
        uint64_t got;
        read(efd, &got, 8);
        _exit(got == 0xfffffffffffffffeULL ? 0 : 1);
    }
    v = 5;
    t0 = now();
    printf("blocking write past top: %s", res(write(efd, &v, 8)));
    printf(", waited %s", now() - t0 > 0.03 ? "yes" : "no");
    int status;
    waitpid(child, &status, 0);
    read(efd, &v, 8);
    printf(", reader %d, then %llu\n", WEXITSTATUS(status), (unsigned long long)v);
    close(efd);
}

static void timerfd_checks(void)
{
    struct itimerspec its = {0}, old;
    uint64_t n = 0;
    printf("timerfd bad clock: %s\n", res(timerfd_create(CLOCK_PROCESS_CPUTIME_ID, 0)));
    printf("timerfd bad flags: %s\n", res(timerfd_create(CLOCK_MONOTONIC, 0x40)));
    int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    printf("timerfd: %s, cloexec %d\n", res(fd), fcntl(fd, F_GETFD) & FD_CLOEXEC);
    fd_link("timerfd", fd);
    timerfd_gettime(fd, &old);
    printf("disarmed: %ld %ld %ld %ld\n", (long)old.it_value.tv_sec, old.it_value.tv_nsec,
           (long)old.it_interval.tv_sec, old.it_interval.tv_nsec);
    printf("read disarmed: %s\n", res(read(fd, &n, 8)));
    its.it_value.tv_nsec = 1000000000;
    printf("settime bad nsec: %s\n", res(timerfd_settime(fd, 0, &its, NULL)));
    its.it_value.tv_nsec = 0;
    its.it_value.tv_sec = -1;
    printf("settime negative: %s\n", res(timerfd_settime(fd, 0, &its, NULL)));
    its.it_value.tv_sec = 0;
    printf("settime bad flags: %s\n", res(timerfd_settime(fd, 0x10, &its, NULL)));
    printf("settime bad pointer: %s\n", res(timerfd_settime(fd, 0, (void *)8, NULL)));
    printf("settime on stdin: %s\n", res(timerfd_settime(0, 0, &its, NULL)));
    printf("settime on fd 999: %s\n", res(timerfd_settime(999, 0, &its, NULL)));
    printf("gettime on stdin: %s\n", res(timerfd_gettime(0, &old)));

    its.it_value.tv_nsec = 30000000;
    timerfd_settime(fd, 0, &its, NULL);
    timerfd_gettime(fd, &old);
    printf("armed 30ms: left %s\n",
           old.it_value.tv_sec == 0 && old.it_value.tv_nsec > 0 &&
                   old.it_value.tv_nsec <= 30000000
               ? "in (0, 30ms]"
               : "wrong");
    printf("poll before: %s\n", revents(fd));
    printf("read early: %s\n", res(read(fd, &n, 8)));
    struct pollfd p = {fd, POLLIN, 0};
    printf("poll wait: %d\n", poll(&p, 1, 2000));
    char small[4];
    printf("short read: %s\n", res(read(fd, small, sizeof small)));
    const char *r = res(read(fd, &n, 8));
    printf("read: %s %llu\n", r, (unsigned long long)n);
    timerfd_gettime(fd, &old);
    printf("after one-shot: %ld %ld\n", (long)old.it_value.tv_sec, old.it_value.tv_nsec);

    /* Interval: expirations pile up while nobody reads. */
    its.it_value.tv_nsec = 10000000;
    its.it_interval.tv_nsec = 10000000;
    timerfd_settime(fd, 0, &its, NULL);
    sleep_ms(75);
    read(fd, &n, 8);
    printf("interval count after 75ms: %s\n", n >= 4 ? ">= 4" : "fewer");
    timerfd_gettime(fd, &old);
    printf("interval kept: %ld, left within it: %s\n", old.it_interval.tv_nsec,
           old.it_value.tv_nsec > 0 && old.it_value.tv_nsec <= 10000000 ? "yes" : "no");
    struct itimerspec off = {0};
    timerfd_settime(fd, 0, &off, &old);
    printf("old interval on disarm: %ld\n", old.it_interval.tv_nsec);
    printf("read after disarm: %s\n", res(read(fd, &n, 8)));
    close(fd);

    /* Absolute, on the realtime clock, blocking. */
    int rt = timerfd_create(CLOCK_REALTIME, 0);
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    t.tv_nsec += 40000000;
    if (t.tv_nsec >= 1000000000) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000;
    }
    struct itimerspec abs = {{0, 0}, t};
    double t0 = now();
    printf("realtime abstime: %s", res(timerfd_settime(rt, TFD_TIMER_ABSTIME, &abs, NULL)));
    r = res(read(rt, &n, 8));
    printf(", blocking read %s %llu", r, (unsigned long long)n);
    printf(", waited %s\n", now() - t0 > 0.02 ? "yes" : "no");
    /* An absolute time in the past expires at once. */
    abs.it_value.tv_sec = 1;
    abs.it_value.tv_nsec = 0;
    timerfd_settime(rt, TFD_TIMER_ABSTIME, &abs, NULL);
    r = res(read(rt, &n, 8));
    printf("past abstime: %s %llu\n", r, (unsigned long long)n);
    close(rt);

    int boot = timerfd_create(CLOCK_BOOTTIME, TFD_NONBLOCK);
    its.it_value.tv_nsec = 5000000;
    its.it_interval.tv_nsec = 0;
    timerfd_settime(boot, 0, &its, NULL);
    p.fd = boot;
    int ready = poll(&p, 1, 2000);
    r = res(read(boot, &n, 8));
    printf("boottime: poll %d, read %s %llu\n", ready, r, (unsigned long long)n);
    close(boot);
}

static void signalfd_checks(void)
{
    sigset_t mask, pending;
    struct signalfd_siginfo si[4];
    sigemptyset(&mask);
    sigaddset(&mask, SIGUSR1);
    sigaddset(&mask, SIGUSR2);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    printf("signalfd bad size: %s\n", res(syscall(SYS_signalfd4, -1, &mask, 4, 0)));
    printf("signalfd bad flags: %s\n", res(signalfd(-1, &mask, 0x40)));
    printf("signalfd on stdin: %s\n", res(signalfd(0, &mask, 0)));
    int fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    printf("signalfd: %s, cloexec %d\n", res(fd), fcntl(fd, F_GETFD) & FD_CLOEXEC);
    fd_link("signalfd", fd);
    printf("poll empty: %s\n", revents(fd));
    printf("read empty: %s\n", res(read(fd, si, sizeof si)));
    printf("short read: %s\n", res(read(fd, si, sizeof si[0] - 1)));
    kill(getpid(), SIGUSR1);
    printf("poll after kill: %s\n", revents(fd));
    ssize_t n = read(fd, si, sizeof si);
    printf("read: %zd bytes, signo %s, code %s, pid %s\n", n,
           si[0].ssi_signo == SIGUSR1 ? "SIGUSR1" : "other",
           si[0].ssi_code == SI_USER ? "SI_USER" : "other",
           si[0].ssi_pid == (uint32_t)getpid() ? "self" : "other");
    sigpending(&pending);
    printf("taken from pending: %s\n", sigismember(&pending, SIGUSR1) ? "no" : "yes");

    union sigval val = {.sival_int = 1234};
    sigqueue(getpid(), SIGUSR2, val);
    kill(getpid(), SIGUSR1);
    n = read(fd, si, sizeof si);
    printf("two at once: %zd bytes, %d then %d, code %s, int %d\n", n, si[0].ssi_signo,
           si[1].ssi_signo, si[1].ssi_code == SI_QUEUE ? "SI_QUEUE" : "other", si[1].ssi_int);

    /* A new mask on the same descriptor. */
    sigset_t only2;
    sigemptyset(&only2);
    sigaddset(&only2, SIGUSR2);
    printf("update mask: %s\n", signalfd(fd, &only2, 0) == fd ? "same fd" : err_name(errno));
    kill(getpid(), SIGUSR1);
    printf("poll SIGUSR1 outside the mask: %s\n", revents(fd));
    /* A signal for this thread only (raise is tgkill). */
    raise(SIGUSR2);
    printf("poll after raise: %s\n", revents(fd));
    struct epoll_event ev = {.events = EPOLLIN}, got;
    int ep = epoll_create1(0);
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    printf("epoll after raise: %d\n", epoll_wait(ep, &got, 1, 0));
    close(ep);
    n = read(fd, si, sizeof si);
    printf("read: %zd bytes, signo %d, code %s\n", n, si[0].ssi_signo,
           si[0].ssi_code == SI_TKILL ? "SI_TKILL" : "other");
    kill(getpid(), SIGUSR2);
    n = read(fd, si, sizeof si);
    printf("read: %zd bytes, signo %d\n", n, si[0].ssi_signo);
    sigpending(&pending);
    printf("SIGUSR1 still pending: %s\n", sigismember(&pending, SIGUSR1) ? "yes" : "no");
    int sig;
    sigwait(&mask, &sig);

    /* A blocking read woken by a signal from another process. */
    int blocking = signalfd(-1, &mask, 0);
    pid_t parent = getpid(), child = fork();
    if (child == 0) {
        sleep_ms(50);
        kill(parent, SIGUSR2);
        _exit(0);
    }
    n = read(blocking, si, sizeof si);
    printf("blocking read: %zd bytes, signo %d, from the child %s\n", n, si[0].ssi_signo,
           si[0].ssi_pid == (uint32_t)child ? "yes" : "no");
    waitpid(child, NULL, 0);
    close(blocking);
    close(fd);
    sigprocmask(SIG_UNBLOCK, &mask, NULL);
}

static void memfd_checks(void)
{
    struct stat st;
    char buf[16] = {0};
    printf("memfd bad flags: %s\n", res(memfd_create("x", 0x100)));
    char longname[300];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    printf("memfd long name: %s\n", res(memfd_create(longname, 0)));
    int fd = memfd_create("plain", MFD_CLOEXEC);
    printf("memfd: %s, cloexec %d, flags %#x\n", res(fd), fcntl(fd, F_GETFD) & FD_CLOEXEC,
           fcntl(fd, F_GETFL) & (O_ACCMODE | O_NONBLOCK));
    fd_link("memfd", fd);
    fstat(fd, &st);
    printf("fstat: regular %d, mode %o, size %ld\n", S_ISREG(st.st_mode), st.st_mode & 0777,
           (long)st.st_size);
    ssize_t wrote = write(fd, "hello memfd", 11);
    ssize_t got = pread(fd, buf, 5, 6);
    printf("write: %zd, pread: %zd %s\n", wrote, got, buf);
    int seals = fcntl(fd, F_GET_SEALS);
    printf("seals without sealing: %#x, add: %s\n", seals,
           res(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE)));
    close(fd);

    int pfd[2];
    pipe(pfd);
    printf("seals of a pipe: %s\n", res(fcntl(pfd[0], F_GET_SEALS)));
    close(pfd[0]);
    close(pfd[1]);

    fd = memfd_create("sealed", MFD_ALLOW_SEALING);
    printf("allow sealing: seals %#x\n", fcntl(fd, F_GET_SEALS));
    ftruncate(fd, 8192);
    printf("unknown seal: %s\n", res(fcntl(fd, F_ADD_SEALS, 0x1000)));
    printf("add SHRINK: %s\n", res(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK)));
    printf("shrink: %s", res(ftruncate(fd, 4096)));
    printf(", grow: %s\n", res(ftruncate(fd, 12288)));
    printf("add GROW: %s", res(fcntl(fd, F_ADD_SEALS, F_SEAL_GROW)));
    printf(", seals %#x\n", fcntl(fd, F_GET_SEALS));
    printf("grow: %s", res(ftruncate(fd, 16384)));
    printf(", write inside: %s", res(pwrite(fd, "abc", 3, 100)));
    /* Linux writes page by page: the part up to the page where the file
     * ends goes in. */
    printf(", write across the end: %zd", pwrite(fd, "abc", 3, 12287));
    printf(", at the end: %s\n", res(pwrite(fd, "abc", 3, 12288)));
    printf("fallocate past end: %s\n", res(fallocate(fd, 0, 0, 20000)));

    /* F_SEAL_WRITE: refused while a shared writable mapping exists. */
    char *map = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    printf("add WRITE while mapped: %s\n", res(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE)));
    munmap(map, 4096);
    printf("add WRITE after munmap: %s\n", res(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE)));
    printf("write: %s\n", res(pwrite(fd, "x", 1, 0)));
    printf("mmap shared writable: %s\n",
           mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) == MAP_FAILED
               ? err_name(errno)
               : "ok");
    map = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
    printf("mmap shared read-only: %s, byte 100 %c\n", map == MAP_FAILED ? err_name(errno) : "ok",
           map == MAP_FAILED ? '?' : map[100]);
    printf("mprotect it writable: %s\n", res(mprotect(map, 4096, PROT_READ | PROT_WRITE)));
    map = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    printf("mmap private writable: %s\n", map == MAP_FAILED ? err_name(errno) : "ok");
    printf("add SEAL: %s", res(fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL)));
    printf(", then add: %s", res(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK)));
    printf(", seals %#x\n", fcntl(fd, F_GET_SEALS));
    close(fd);

#ifndef F_SEAL_EXEC
#define F_SEAL_EXEC 0x0020
#endif
    fd = memfd_create("exec", MFD_ALLOW_SEALING);
    printf("add EXEC: %s", res(fcntl(fd, F_ADD_SEALS, F_SEAL_EXEC)));
    printf(", chmod 644: %s", res(fchmod(fd, 0644)));
    printf(", chmod 755: %s\n", res(fchmod(fd, 0755)));
    close(fd);
}

static volatile sig_atomic_t timer_signals, timer_code, timer_value;

static void on_timer(int sig, siginfo_t *info, void *ctx)
{
    (void)sig;
    (void)ctx;
    timer_signals++;
    timer_code = info->si_code;
    timer_value = info->si_value.sival_int;
}

static volatile int thread_notified;

static void on_thread_timer(union sigval v)
{
    thread_notified = v.sival_int;
}

static void posix_timer_checks(void)
{
    timer_t t;
    struct sigevent ev = {0};
    struct itimerspec its = {0}, cur;
    struct sigaction sa = {0};
    sa.sa_sigaction = on_timer;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR1, &sa, NULL);

    printf("timer_create bad clock: %s\n", res(timer_create(99, NULL, &t)));
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = 0;
    printf("timer_create bad signal: %s\n", res(timer_create(CLOCK_MONOTONIC, &ev, &t)));
    ev.sigev_notify = 77;
    ev.sigev_signo = SIGUSR1;
    printf("timer_create bad notify: %s\n", res(timer_create(CLOCK_MONOTONIC, &ev, &t)));
    printf("timer_create raw clock: %s\n",
           res(syscall(SYS_timer_create, CLOCK_MONOTONIC_RAW, NULL, &t)));
    struct {
        union sigval v;
        int signo, notify, tid;
        int pad[11];
    } raw = {{0}, SIGUSR1, SIGEV_THREAD_ID, 999999, {0}};
    int rawid;
    printf("timer_create other thread: %s\n",
           res(syscall(SYS_timer_create, CLOCK_MONOTONIC, &raw, &rawid)));

    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = SIGUSR1;
    ev.sigev_value.sival_int = 4321;
    printf("timer_create: %s\n", res(timer_create(CLOCK_MONOTONIC, &ev, &t)));
    timer_gettime(t, &cur);
    printf("disarmed: %ld %ld\n", (long)cur.it_value.tv_sec, cur.it_value.tv_nsec);
    printf("settime bad nsec: %s\n", res(timer_settime(t, 0, &(struct itimerspec){{0, 0}, {0, -1}}, NULL)));
    its.it_value.tv_nsec = 20000000;
    timer_settime(t, 0, &its, NULL);
    timer_gettime(t, &cur);
    printf("armed: left %s\n", cur.it_value.tv_nsec > 0 && cur.it_value.tv_nsec <= 20000000 ? "in (0, 20ms]" : "wrong");
    double t0 = now();
    while (!timer_signals && now() - t0 < 2)
        pause();
    printf("SIGEV_SIGNAL: %d signal, code %s, value %d\n", timer_signals,
           timer_code == SI_TIMER ? "SI_TIMER" : "other", timer_value);
    timer_gettime(t, &cur);
    printf("after it: %ld %ld, overrun %d\n", (long)cur.it_value.tv_sec, cur.it_value.tv_nsec,
           timer_getoverrun(t));

    /* Overruns: an interval timer whose signal stays blocked. */
    sigset_t usr1, old;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigprocmask(SIG_BLOCK, &usr1, &old);
    its.it_value.tv_nsec = 2000000;
    its.it_interval.tv_nsec = 2000000;
    timer_settime(t, 0, &its, NULL);
    sleep_ms(60);
    siginfo_t info;
    int sig = sigwaitinfo(&usr1, &info);
    printf("blocked interval: sig %d, code %s, overrun > 5 %s, getoverrun agrees %s\n", sig,
           info.si_code == SI_TIMER ? "SI_TIMER" : "other", info.si_overrun > 5 ? "yes" : "no",
           timer_getoverrun(t) >= info.si_overrun ? "yes" : "no");
    struct itimerspec off = {0};
    timer_settime(t, 0, &off, &cur);
    printf("old interval: %ld\n", cur.it_interval.tv_nsec);
    sigprocmask(SIG_SETMASK, &old, NULL);
    printf("timer_delete: %s", res(timer_delete(t)));
    printf(", again: %s", res(syscall(SYS_timer_delete, t)));
    printf(", settime after: %s\n", res(timer_settime(t, 0, &its, NULL)));

    /* SIGEV_NONE: counts time only. */
    ev.sigev_notify = SIGEV_NONE;
    timer_create(CLOCK_REALTIME, &ev, &t);
    its.it_value.tv_sec = 5;
    its.it_value.tv_nsec = 0;
    its.it_interval.tv_nsec = 0;
    timer_settime(t, 0, &its, NULL);
    timer_gettime(t, &cur);
    printf("SIGEV_NONE: left %s\n", cur.it_value.tv_sec == 4 ? "4.x s" : "wrong");
    timer_delete(t);

    /* SIGEV_THREAD_ID: to this thread. */
    timer_signals = 0;
    raw.signo = SIGUSR1;
    raw.notify = SIGEV_THREAD_ID;
    raw.tid = (int)syscall(SYS_gettid);
    raw.v.sival_int = 77;
    printf("SIGEV_THREAD_ID create: %s\n",
           res(syscall(SYS_timer_create, CLOCK_MONOTONIC, &raw, &rawid)));
    its.it_value.tv_sec = 0;
    its.it_value.tv_nsec = 10000000;
    syscall(SYS_timer_settime, rawid, 0, &its, NULL);
    t0 = now();
    while (!timer_signals && now() - t0 < 2)
        pause();
    printf("SIGEV_THREAD_ID: %d signal, value %d\n", timer_signals, timer_value);
    syscall(SYS_timer_delete, rawid);

    /* SIGEV_THREAD: libc's helper thread. */
    ev.sigev_notify = SIGEV_THREAD;
    ev.sigev_notify_function = on_thread_timer;
    ev.sigev_value.sival_int = 99;
    printf("SIGEV_THREAD create: %s\n", res(timer_create(CLOCK_MONOTONIC, &ev, &t)));
    its.it_value.tv_nsec = 10000000;
    timer_settime(t, 0, &its, NULL);
    t0 = now();
    while (!thread_notified && now() - t0 < 2)
        sleep_ms(5);
    printf("SIGEV_THREAD: notified with %d\n", thread_notified);
    timer_delete(t);

    /* CPU time: fires only after the process has used it. */
    timer_signals = 0;
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = SIGUSR1;
    ev.sigev_value.sival_int = 5;
    printf("cputime create: %s\n", res(timer_create(CLOCK_PROCESS_CPUTIME_ID, &ev, &t)));
    its.it_value.tv_nsec = 30000000;
    timer_settime(t, 0, &its, NULL);
    sleep_ms(60);
    printf("cputime after sleeping: %d signals\n", timer_signals);
    t0 = now();
    volatile unsigned long spin = 0;
    while (!timer_signals && now() - t0 < 5)
        spin++;
    printf("cputime after spinning: %d signal, value %d\n", timer_signals, timer_value);
    /* The same clock as clock_gettime's, for an absolute expiry. */
    timer_signals = 0;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &its.it_value);
    its.it_value.tv_nsec += 20000000;
    if (its.it_value.tv_nsec >= 1000000000) {
        its.it_value.tv_sec++;
        its.it_value.tv_nsec -= 1000000000;
    }
    timer_settime(t, TIMER_ABSTIME, &its, NULL);
    t0 = now();
    while (!timer_signals && now() - t0 < 5)
        spin++;
    printf("cputime absolute: %d signal, within 4s %s\n", timer_signals,
           now() - t0 < 4 ? "yes" : "no");
    timer_delete(t);
    signal(SIGUSR1, SIG_DFL);
}

static const char *mask_names(uint32_t mask)
{
    static char out[160];
    static const struct {
        uint32_t bit;
        const char *name;
    } names[] = {
        {IN_ACCESS, "ACCESS"}, {IN_MODIFY, "MODIFY"}, {IN_ATTRIB, "ATTRIB"},
        {IN_CLOSE_WRITE, "CLOSE_WRITE"}, {IN_CLOSE_NOWRITE, "CLOSE_NOWRITE"},
        {IN_OPEN, "OPEN"}, {IN_MOVED_FROM, "MOVED_FROM"}, {IN_MOVED_TO, "MOVED_TO"},
        {IN_CREATE, "CREATE"}, {IN_DELETE, "DELETE"}, {IN_DELETE_SELF, "DELETE_SELF"},
        {IN_MOVE_SELF, "MOVE_SELF"}, {IN_Q_OVERFLOW, "Q_OVERFLOW"}, {IN_IGNORED, "IGNORED"},
        {IN_ISDIR, "ISDIR"},
    };
    out[0] = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (mask & names[i].bit) {
            if (out[0])
                strcat(out, "|");
            strcat(out, names[i].name);
        }
    return out;
}

/* Prints every queued event of `fd` (non-blocking); cookies show as
 * "cookie" and whether a MOVED_TO has its MOVED_FROM's. */
static void drain(int fd, const char *after)
{
    char buf[4096] __attribute__((aligned(8)));
    uint32_t last_cookie = 0;
    printf("after %s:", after);
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0) {
            if (n < 0 && errno != EAGAIN)
                printf(" read %s", err_name(errno));
            break;
        }
        for (char *p = buf; p < buf + n;) {
            struct inotify_event *e = (struct inotify_event *)p;
            printf(" [%d %s%s%s", e->wd, mask_names(e->mask), e->len ? " " : "",
                   e->len ? e->name : "");
            if (e->mask & IN_MOVED_FROM)
                last_cookie = e->cookie;
            if (e->mask & IN_MOVED_TO)
                printf(" cookie %s", e->cookie && e->cookie == last_cookie ? "paired" : "wrong");
            printf("]");
            p += sizeof *e + e->len;
        }
    }
    printf("\n");
}

static void inotify_checks(void)
{
    char dir[] = "/tmp/fdkinds-XXXXXX";
    char path[128], path2[128];
    if (!mkdtemp(dir)) {
        printf("mkdtemp: %s\n", err_name(errno));
        return;
    }
    printf("inotify bad flags: %s\n", res(inotify_init1(0x40)));
    int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    printf("inotify: %s, cloexec %d\n", res(fd), fcntl(fd, F_GETFD) & FD_CLOEXEC);
    snprintf(path, sizeof path, "%s/missing", dir);
    printf("watch missing: %s\n", res(inotify_add_watch(fd, path, IN_ALL_EVENTS)));
    printf("watch no events: %s\n", res(inotify_add_watch(fd, dir, 0)));
    printf("watch on a pipe's fd: %s\n", res(inotify_add_watch(0, dir, IN_ALL_EVENTS)));
    int wd = inotify_add_watch(fd, dir, IN_ALL_EVENTS);
    printf("watch dir: %d\n", wd);
    printf("again: %d", inotify_add_watch(fd, dir, IN_ALL_EVENTS));
    printf(", with MASK_CREATE: %s\n", res(inotify_add_watch(fd, dir, IN_ALL_EVENTS | IN_MASK_CREATE)));
    printf("read empty: %s", res(read(fd, path2, sizeof path2)));
    printf(", poll: %s\n", revents(fd));

    snprintf(path, sizeof path, "%s/a", dir);
    int f = open(path, O_CREAT | O_WRONLY, 0644);
    write(f, "12", 2);
    write(f, "34", 2);
    printf("poll: %s", revents(fd));
    int queued = 0;
    ioctl(fd, FIONREAD, &queued);
    printf(", FIONREAD %d\n", queued);
    char tiny[8];
    printf("short read: %s\n", res(read(fd, tiny, sizeof tiny)));
    close(f);
    drain(fd, "create, two writes, close");

    printf("watch IN_ONLYDIR on a file: %s\n",
           res(inotify_add_watch(fd, path, IN_ALL_EVENTS | IN_ONLYDIR)));
    int wf = inotify_add_watch(fd, path, IN_ALL_EVENTS);
    printf("watch file: %d\n", wf);
    f = open(path, O_RDONLY);
    close(f);
    drain(fd, "open and close read-only");
    f = open(path, O_RDONLY);
    char four[4];
    read(f, four, 4);
    read(f, four, 4);
    read(f, four, 4);
    close(f);
    drain(fd, "three reads, the last at the end");
    f = open(dir, O_RDONLY | O_DIRECTORY);
    char dents[1024];
    while (syscall(SYS_getdents64, f, dents, sizeof dents) > 0) {
    }
    close(f);
    drain(fd, "listing the directory");
    chmod(path, 0600);
    drain(fd, "chmod");
    snprintf(path2, sizeof path2, "%s/b", dir);
    rename(path, path2);
    drain(fd, "rename a to b");
    f = open(path2, O_WRONLY | O_APPEND);
    write(f, "5", 1);
    close(f);
    drain(fd, "append to b");
    truncate(path2, 1);
    drain(fd, "truncate b");
    f = open(path2, O_WRONLY | O_TRUNC);
    close(f);
    drain(fd, "open b with O_TRUNC");
    snprintf(path, sizeof path, "%s/r", dir);
    close(open(path, O_CREAT | O_WRONLY, 0600));
    int wr = inotify_add_watch(fd, path, IN_ALL_EVENTS);
    printf("watch r: %d\n", wr);
    drain(fd, "create r");
    rename(path2, path);
    drain(fd, "rename b over r");
    rename(path, path2);
    drain(fd, "rename r back to b");

    snprintf(path, sizeof path, "%s/sub", dir);
    mkdir(path, 0755);
    int wsub = inotify_add_watch(fd, path, IN_CREATE | IN_DELETE_SELF | IN_MOVE_SELF);
    char moved[128];
    snprintf(moved, sizeof moved, "%s/sub2", dir);
    rename(path, moved);
    snprintf(path, sizeof path, "%s/sub2/inner", dir);
    close(open(path, O_CREAT | O_WRONLY, 0600));
    unlink(path);
    rmdir(moved);
    printf("watch sub: %d\n", wsub);
    drain(fd, "mkdir sub, rename to sub2, a file in it, rmdir");

    snprintf(path, sizeof path, "%s/link", dir);
    symlink("b", path);
    snprintf(path, sizeof path, "%s/hard", dir);
    link(path2, path);
    drain(fd, "symlink, hard link to b");
    printf("rm_watch of b's watch: %s\n", res(inotify_rm_watch(fd, wf)));
    unlink(path);
    unlink(path2);
    drain(fd, "rm_watch of b's watch, unlink of hard and b");
    printf("rm_watch of it again: %s\n", res(inotify_rm_watch(fd, wf)));
    snprintf(path, sizeof path, "%s/e", dir);
    close(open(path, O_CREAT | O_WRONLY, 0600));
    int we = inotify_add_watch(fd, path, IN_ALL_EVENTS);
    unlink(path);
    printf("watch e: %d\n", we);
    drain(fd, "create e, watch it, unlink it");

    int once = inotify_init1(IN_NONBLOCK);
    inotify_add_watch(once, dir, IN_CREATE | IN_ONESHOT);
    snprintf(path, sizeof path, "%s/c", dir);
    close(open(path, O_CREAT | O_WRONLY, 0600));
    snprintf(path2, sizeof path2, "%s/d", dir);
    close(open(path2, O_CREAT | O_WRONLY, 0600));
    drain(once, "IN_ONESHOT, two creates");
    close(once);

    /* A blocking read woken by another process's change. */
    int blocking = inotify_init();
    inotify_add_watch(blocking, dir, IN_DELETE);
    pid_t child = fork();
    if (child == 0) {
        sleep_ms(50);
        unlink(path);
        _exit(0);
    }
    char buf[256] __attribute__((aligned(8)));
    ssize_t n = read(blocking, buf, sizeof buf);
    struct inotify_event *e = (struct inotify_event *)buf;
    printf("blocking read: %zd bytes, %s %s\n", n, mask_names(e->mask), e->name);
    waitpid(child, NULL, 0);
    close(blocking);

    unlink(path2);
    drain(fd, "the rest");
    printf("rm_watch: %s", res(inotify_rm_watch(fd, wd)));
    printf(", again: %s\n", res(inotify_rm_watch(fd, wd)));
    drain(fd, "rm_watch");
    close(fd);
    snprintf(path, sizeof path, "%s/link", dir);
    unlink(path);
    printf("cleaned up: %s\n", res(rmdir(dir)));
}

/* One loop over an eventfd, a timerfd and a signalfd: a child writes the
 * eventfd and sends SIGUSR2, the timer fires; every source is seen once. */
static void epoll_loop(void)
{
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGUSR2);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    int efd = eventfd(0, EFD_NONBLOCK);
    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
    int sfd = signalfd(-1, &mask, SFD_NONBLOCK);
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN};
    ev.data.u32 = 1;
    epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev);
    ev.data.u32 = 2;
    epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev);
    ev.data.u32 = 3;
    epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev);
    struct itimerspec its = {{0, 0}, {0, 30000000}};
    timerfd_settime(tfd, 0, &its, NULL);
    pid_t parent = getpid(), child = fork();
    if (child == 0) {
        sleep_ms(60);
        uint64_t one = 1;
        write(efd, &one, 8);
        sleep_ms(60);
        kill(parent, SIGUSR2);
        _exit(0);
    }
    int seen[4] = {0}, waits = 0;
    while (!(seen[1] && seen[2] && seen[3]) && waits < 20) {
        struct epoll_event out[4];
        int n = epoll_wait(ep, out, 4, 3000);
        waits++;
        for (int i = 0; i < n; i++) {
            uint64_t v;
            struct signalfd_siginfo si;
            switch (out[i].data.u32) {
            case 1: read(efd, &v, 8); break;
            case 2: read(tfd, &v, 8); break;
            case 3: read(sfd, &si, sizeof si); v = si.ssi_signo; break;
            }
            seen[out[i].data.u32]++;
        }
    }
    waitpid(child, NULL, 0);
    printf("epoll loop: eventfd %d, timerfd %d, signalfd %d\n", seen[1], seen[2], seen[3]);
    close(ep);
    close(efd);
    close(tfd);
    close(sfd);
    sigprocmask(SIG_UNBLOCK, &mask, NULL);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    eventfd_checks();
    timerfd_checks();
    signalfd_checks();
    memfd_checks();
    posix_timer_checks();
    inotify_checks();
    epoll_loop();
    return 0;
}
