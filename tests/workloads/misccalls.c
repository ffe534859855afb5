/* The small calls real programs make on the way: close_range (Python's
 * subprocess, systemd), personality (setarch), getcpu (glibc's
 * sched_getcpu), sched_setaffinity (consistent with one CPU), membarrier
 * (JITs, liburcu), the mlock family (databases, gpg), utime/utimes/
 * futimesat (old tools), with their errnos. Deterministic output; exit 0
 * when every step went as Linux does it. Works on any host CPU count. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>
#include <utime.h>

#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#define CLOSE_RANGE_UNSHARE (1U << 1)
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#define MEMBARRIER_CMD_QUERY 0
#define MEMBARRIER_CMD_GLOBAL 1
#define MEMBARRIER_CMD_PRIVATE_EXPEDITED (1 << 3)
#define MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED (1 << 4)
#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT 1
#endif

static const char *err(int e)
{
    switch (e) {
    case EINVAL: return "EINVAL";
    case EBADF: return "EBADF";
    case EPERM: return "EPERM";
    case ENOMEM: return "ENOMEM";
    case ESRCH: return "ESRCH";
    case ENOENT: return "ENOENT";
    case EFAULT: return "EFAULT";
    default: return strerror(e);
    }
}

static const char *result(long r)
{
    return r < 0 ? err(errno) : "ok";
}

static int is_open(int fd)
{
    return fcntl(fd, F_GETFD) != -1;
}

static void times_of(const char *path)
{
    struct stat st;
    if (stat(path, &st))
        printf("  stat: %s\n", err(errno));
    else
        printf("  atime %ld.%09ld mtime %ld.%09ld\n", (long)st.st_atim.tv_sec,
               st.st_atim.tv_nsec, (long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
}

int main(void)
{
    /* close_range */
    for (int i = 0; i < 6; i++)
        if (dup2(1, 10 + i) < 0)
            return 1;
    printf("close_range 11-12: %s\n", result(syscall(SYS_close_range, 11, 12, 0)));
    printf("  open 10 11 12 13: %d %d %d %d\n", is_open(10), is_open(11), is_open(12), is_open(13));
    printf("close_range cloexec 13-~0: %s\n",
           result(syscall(SYS_close_range, 13, ~0U, CLOSE_RANGE_CLOEXEC)));
    printf("  cloexec 13 15: %d %d, 10: %d\n", fcntl(13, F_GETFD) & FD_CLOEXEC,
           fcntl(15, F_GETFD) & FD_CLOEXEC, fcntl(10, F_GETFD) & FD_CLOEXEC);
    printf("close_range first > last: %s\n", result(syscall(SYS_close_range, 5, 4, 0)));
    printf("close_range bad flags: %s\n", result(syscall(SYS_close_range, 3, 4, 1)));
    printf("close_range unshare 13-15: %s\n",
           result(syscall(SYS_close_range, 13, 15, CLOSE_RANGE_UNSHARE)));
    printf("  open 13 14 15: %d %d %d\n", is_open(13), is_open(14), is_open(15));
    printf("close_range of nothing open: %s\n", result(syscall(SYS_close_range, 500, 600, 0)));
    close(10);

    /* personality */
    int persona = personality(0xffffffff);
    printf("personality: %#x\n", persona);
    printf("set ADDR_NO_RANDOMIZE, old: %#x\n", personality(PER_LINUX | ADDR_NO_RANDOMIZE));
    printf("now: %#x\n", personality(0xffffffff));
    pid_t child = fork();
    if (child == 0)
        _exit(personality(0xffffffff) == (PER_LINUX | ADDR_NO_RANDOMIZE) ? 0 : 1);
    int status;
    waitpid(child, &status, 0);
    printf("inherited by fork: %s\n", WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "yes" : "no");
    printf("back, old: %#x\n", personality(PER_LINUX));

    /* getcpu, affinity */
    unsigned cpu = 99, node = 99;
    printf("getcpu: %s", result(syscall(SYS_getcpu, &cpu, &node, NULL)));
    cpu_set_t set;
    CPU_ZERO(&set);
    sched_getaffinity(0, sizeof set, &set);
    printf(", cpu allowed: %s, node %u\n", CPU_ISSET(cpu, &set) ? "yes" : "no", node);
    printf("sched_getcpu in the set: %s\n", CPU_ISSET(sched_getcpu(), &set) ? "yes" : "no");
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(0, &one);
    printf("setaffinity to CPU 0: %s\n", result(sched_setaffinity(0, sizeof one, &one)));
    printf("  getcpu now: %d\n", sched_getcpu());
    CPU_ZERO(&one);
    printf("setaffinity empty: %s\n", result(sched_setaffinity(0, sizeof one, &one)));
    CPU_SET(0, &one);
    printf("setaffinity missing pid: %s\n", result(sched_setaffinity(999999, sizeof one, &one)));
    printf("setaffinity bad pointer: %s\n", result(syscall(SYS_sched_setaffinity, 0, 8, (void *)8)));

    /* membarrier */
    long supported = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
    long needed = MEMBARRIER_CMD_PRIVATE_EXPEDITED | MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED;
    printf("membarrier query has private expedited: %s\n",
           supported >= 0 && (supported & needed) == needed ? "yes" : "no");
    printf("private expedited unregistered: %s\n",
           result(syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0)));
    printf("register: %s\n",
           result(syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0)));
    printf("private expedited: %s\n",
           result(syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0)));
    printf("bad command: %s\n", result(syscall(SYS_membarrier, 1 << 20, 0, 0)));
    printf("bad flags: %s\n",
           result(syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 1, 0)));

    /* mlock family */
    long page = sysconf(_SC_PAGESIZE);
    char *m = mmap(NULL, 4 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return 1;
    munmap(m + 2 * page, page);
    printf("mlock: %s\n", result(mlock(m, 2 * page)));
    printf("mlock unaligned: %s\n", result(mlock(m + 10, 100)));
    printf("mlock over a hole: %s\n", result(mlock(m, 4 * page)));
    printf("munlock: %s\n", result(munlock(m, 2 * page)));
    printf("mlock2 onfault: %s\n", result(syscall(SYS_mlock2, m, page, MLOCK_ONFAULT)));
    printf("mlock2 bad flags: %s\n", result(syscall(SYS_mlock2, m, page, 2)));
    printf("mlockall 0: %s\n", result(mlockall(0)));
    printf("mlockall onfault alone: %s\n", result(mlockall(MCL_ONFAULT)));
    printf("mlockall current: %s\n", result(mlockall(MCL_CURRENT)));
    printf("munlockall: %s\n", result(munlockall()));
    m[0] = 1;

    /* utime, utimes, futimesat */
    const char *path = "/tmp/misccalls-utime";
    int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
    if (fd < 0)
        return 1;
    struct utimbuf ub = {.actime = 1000000000, .modtime = 1100000000};
    printf("utime: %s\n", result(utime(path, &ub)));
    times_of(path);
    struct timeval tv[2] = {{1200000000, 250000}, {1300000000, 999999}};
    printf("utimes: %s\n", result(utimes(path, tv)));
    times_of(path);
    tv[1].tv_usec = 1000000;
    printf("utimes bad usec: %s\n", result(utimes(path, tv)));
    tv[1].tv_usec = 5;
    int dir = open("/tmp", O_RDONLY | O_DIRECTORY);
    printf("futimesat: %s\n", result(syscall(SYS_futimesat, dir, "misccalls-utime", tv)));
    times_of(path);
    printf("futimesat null path on the file: %s\n", result(syscall(SYS_futimesat, fd, NULL, tv)));
    printf("utimes null path: %s\n", result(syscall(SYS_utimes, NULL, tv)));
    printf("utime missing: %s\n", result(utime("/tmp/misccalls-missing", &ub)));
    struct timeval before;
    gettimeofday(&before, NULL);
    printf("utime now: %s\n", result(utime(path, NULL)));
    struct stat st;
    stat(path, &st);
    printf("  mtime is now: %s\n", st.st_mtim.tv_sec >= before.tv_sec - 1 ? "yes" : "no");
    close(fd);
    close(dir);
    unlink(path);
    return 0;
}
