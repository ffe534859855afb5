/*
 * The syscalls a static libc and a typical program issue at startup, each
 * checked for a plausible result. Only "ok NAME" or "FAIL NAME: detail"
 * lines are printed, so native and lamina output compare byte for byte.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

/* 2020-01-01T00:00:00Z: any real clock is past this. */
#define YEAR_2020_SECS 1577836800L
#define UNIMPLEMENTED_SYSCALL 9999

static int failures;

static void check(const char *name, int ok, const char *detail)
{
    if (ok) {
        printf("ok %s\n", name);
    } else {
        printf("FAIL %s: %s\n", name, detail);
        failures++;
    }
}

static long long ns_of(const struct timespec *ts)
{
    return (long long)ts->tv_sec * 1000000000LL + ts->tv_nsec;
}

static void on_usr1(int sig)
{
    (void)sig;
}

int main(void)
{
    char detail[128];

    check("getpid", getpid() > 0, "not positive");
    check("getppid", getppid() >= 0, "negative");
    check("gettid", syscall(SYS_gettid) == getpid(), "differs from getpid in a single-threaded process");
    check("getuid", getuid() == geteuid(), "uid != euid");
    check("getgid", getgid() == getegid(), "gid != egid");

    struct utsname u;
    int r = uname(&u);
    check("uname", r == 0, strerror(errno));
    snprintf(detail, sizeof detail, "sysname=%s", u.sysname);
    check("uname.sysname", r == 0 && strcmp(u.sysname, "Linux") == 0, detail);
    snprintf(detail, sizeof detail, "machine=%s", u.machine);
    check("uname.machine", r == 0 && strcmp(u.machine, "x86_64") == 0, detail);
    check("uname.release", r == 0 && u.release[0] >= '1' && u.release[0] <= '9', "release does not start with a digit");

    struct timespec t0, t1, t2, res;
    check("clock_getres", clock_getres(CLOCK_MONOTONIC, &res) == 0 && ns_of(&res) > 0 && ns_of(&res) <= 1000000,
          "bad resolution");
    check("clock_gettime", clock_gettime(CLOCK_MONOTONIC, &t0) == 0, strerror(errno));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    check("clock_gettime.monotonic", ns_of(&t1) >= ns_of(&t0), "went backwards");
    struct timespec nap = { .tv_sec = 0, .tv_nsec = 10 * 1000 * 1000 };
    check("nanosleep", nanosleep(&nap, NULL) == 0, strerror(errno));
    clock_gettime(CLOCK_MONOTONIC, &t2);
    snprintf(detail, sizeof detail, "only %lld ns passed", ns_of(&t2) - ns_of(&t1));
    check("nanosleep.duration", ns_of(&t2) - ns_of(&t1) >= 10 * 1000 * 1000, detail);
    check("clock_gettime.boottime", clock_gettime(CLOCK_BOOTTIME, &t0) == 0, strerror(errno));

    struct timeval tv;
    check("gettimeofday", gettimeofday(&tv, NULL) == 0, strerror(errno));
    snprintf(detail, sizeof detail, "tv_sec=%lld", (long long)tv.tv_sec);
    check("gettimeofday.plausible", tv.tv_sec > YEAR_2020_SECS, detail);
    struct timespec rt;
    clock_gettime(CLOCK_REALTIME, &rt);
    check("clock_gettime.realtime", rt.tv_sec > YEAR_2020_SECS, "before 2020");
    time_t now = time(NULL);
    check("time", now > YEAR_2020_SECS, "before 2020");

    unsigned char rnd1[16] = { 0 }, rnd2[16] = { 0 };
    check("getrandom", getrandom(rnd1, sizeof rnd1, 0) == (ssize_t)sizeof rnd1, strerror(errno));
    getrandom(rnd2, sizeof rnd2, 0);
    check("getrandom.differs", memcmp(rnd1, rnd2, sizeof rnd1) != 0, "two draws are equal");

    (void)isatty(1);
    check("isatty", 1, "");

    char cwd[4096];
    check("getcwd", getcwd(cwd, sizeof cwd) != NULL && cwd[0] == '/', "not an absolute path");

    cpu_set_t set;
    CPU_ZERO(&set);
    r = sched_getaffinity(0, sizeof set, &set);
    check("sched_getaffinity", r == 0 && CPU_COUNT(&set) >= 1, "no CPU in the mask");
    check("sched_yield", sched_yield() == 0, strerror(errno));

    struct rlimit rl;
    check("getrlimit.stack", getrlimit(RLIMIT_STACK, &rl) == 0 && rl.rlim_cur > 0, "no stack limit");
    check("prlimit.nofile", prlimit(0, RLIMIT_NOFILE, NULL, &rl) == 0 && rl.rlim_cur >= 3, "fewer than 3 fds");

    sigset_t mask, old;
    sigemptyset(&mask);
    sigaddset(&mask, SIGUSR2);
    check("sigprocmask", sigprocmask(SIG_BLOCK, &mask, &old) == 0, strerror(errno));
    sigprocmask(SIG_SETMASK, &old, NULL);
    {
        /* A bad `how` fails and leaves the old-set buffer alone. */
        sigset_t probe;
        memset(&probe, 0xa5, sizeof probe);
        long ret = syscall(SYS_rt_sigprocmask, 99, &mask, &probe, 8);
        unsigned char first = ((unsigned char *)&probe)[0];
        check("sigprocmask bad how", ret == -1 && errno == EINVAL && first == 0xa5, "oldset written");
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    check("sigaction", sigaction(SIGUSR1, &sa, NULL) == 0, strerror(errno));

    errno = 0;
    long ret = syscall(UNIMPLEMENTED_SYSCALL);
    snprintf(detail, sizeof detail, "ret=%ld errno=%d", ret, errno);
    check("enosys", ret == -1 && errno == ENOSYS, detail);

    printf("%s\n", failures == 0 ? "all ok" : "some checks failed");
    return failures == 0 ? 0 : 1;
}
