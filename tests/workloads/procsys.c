/* The /proc and /sys files runtimes read, as Linux has them: each file
 * exists, parses in Linux's format and agrees with what the system calls
 * say. Values that differ between this machine and the guest (CPU count,
 * limits, ids) are never printed, only whether they agree. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static char text[1 << 16];

/* The whole file into `text`; its length, or -1. */
static long slurp(const char *path) {
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    long total = 0;
    ssize_t n;
    while ((n = read(fd, text + total, sizeof text - 1 - total)) > 0)
        total += n;
    close(fd);
    text[total] = 0;
    return total;
}

/* The value after "Name:" in a status-like file, or NULL. */
static const char *field(const char *name) {
    size_t len = strlen(name);
    for (const char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        if (strncmp(line, name, len) == 0 && line[len] == ':') {
            const char *v = line + len + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            return v;
        }
    }
    return NULL;
}

/* A cpu list ("0", "0-3", "0,2-3") as a count, or -1. */
static int cpu_list_count(const char *s) {
    int count = 0;
    while (*s && *s != '\n') {
        char *end;
        long lo = strtol(s, &end, 10), hi = lo;
        if (end == s)
            return -1;
        if (*end == '-')
            hi = strtol(end + 1, &end, 10);
        count += hi - lo + 1;
        s = *end == ',' ? end + 1 : end;
    }
    return count;
}

static long number_file(const char *path) {
    if (slurp(path) < 0)
        return -1;
    return strtol(text, NULL, 10);
}

static void sys_files(void) {
    long n = slurp("/sys/devices/system/cpu/online");
    printf("cpu/online parses, agrees with sysconf: %d\n",
           n > 0 && cpu_list_count(text) == sysconf(_SC_NPROCESSORS_ONLN));
    slurp("/sys/devices/system/cpu/possible");
    int possible = cpu_list_count(text);
    slurp("/sys/devices/system/cpu/present");
    printf("possible >= present >= 1: %d\n", possible >= cpu_list_count(text) && cpu_list_count(text) >= 1);
    struct stat st;
    printf("cpu0 is a directory: %d\n",
           stat("/sys/devices/system/cpu/cpu0", &st) == 0 && S_ISDIR(st.st_mode));
    n = slurp("/sys/kernel/mm/transparent_hugepage/enabled");
    int choices = 0;
    for (char *p = text; (p = strchr(p, '[')); p++)
        choices++;
    printf("THP enabled has one choice: %d\n", n > 0 && choices == 1 && strstr(text, "never"));
    int fd = open("/sys/devices/system/cpu/online", O_WRONLY);
    printf("cpu/online for writing: %d %s\n", fd, strerror(errno));
}

static void proc_status(void) {
    signal(SIGPIPE, SIG_IGN);
    signal(SIGUSR2, (void (*)(int))abort);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, NULL);
    slurp("/proc/self/status");
    const char *names[] = {"Name", "State", "Tgid", "Pid", "PPid", "Uid", "Gid", "FDSize",
                           "VmSize", "VmRSS", "Threads", "SigPnd", "ShdPnd", "SigBlk",
                           "SigIgn", "SigCgt", "CapEff", "Cpus_allowed_list",
                           "voluntary_ctxt_switches", "nonvoluntary_ctxt_switches"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (!field(names[i]))
            printf("status lacks %s\n", names[i]);
    printf("Tgid is getpid: %d\n", atoi(field("Tgid")) == getpid());
    printf("PPid is getppid: %d\n", atoi(field("PPid")) == getppid());
    printf("Threads: %d\n", atoi(field("Threads")));
    printf("State: %.1s\n", field("State"));
    printf("VmRSS > 0 kB: %d\n", strtol(field("VmRSS"), NULL, 10) > 0 && strstr(field("VmRSS"), "kB") != NULL);
    unsigned long long blk = strtoull(field("SigBlk"), NULL, 16);
    unsigned long long ign = strtoull(field("SigIgn"), NULL, 16);
    unsigned long long cgt = strtoull(field("SigCgt"), NULL, 16);
    printf("SigBlk has SIGUSR1: %d\n", (int)(blk >> (SIGUSR1 - 1) & 1));
    printf("SigIgn has SIGPIPE: %d\n", (int)(ign >> (SIGPIPE - 1) & 1));
    printf("SigCgt has SIGUSR2: %d\n", (int)(cgt >> (SIGUSR2 - 1) & 1));
}

static void proc_statm(void) {
    slurp("/proc/self/statm");
    unsigned long v[7];
    int n = sscanf(text, "%lu %lu %lu %lu %lu %lu %lu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6]);
    printf("statm parses, size >= resident > 0: %d\n", n == 7 && v[0] >= v[1] && v[1] > 0);
}

static void proc_limits(void) {
    slurp("/proc/self/limits");
    const char *header = "Limit                     Soft Limit           Hard Limit           Units     \n";
    printf("limits header: %d\n", strncmp(text, header, strlen(header)) == 0);
    struct rlimit files, stack;
    getrlimit(RLIMIT_NOFILE, &files);
    getrlimit(RLIMIT_STACK, &stack);
    const char *line = strstr(text, "Max open files");
    printf("open files agree: %d\n", line && strtoul(line + 26, NULL, 10) == files.rlim_cur);
    line = strstr(text, "Max stack size");
    int stack_ok = line && (stack.rlim_cur == RLIM_INFINITY ? strncmp(line + 26, "unlimited", 9) == 0
                                                            : strtoul(line + 26, NULL, 10) == stack.rlim_cur);
    printf("stack size agrees: %d\n", stack_ok);
    int lines = 0;
    for (char *p = text; (p = strchr(p, '\n')); p++)
        lines++;
    printf("limits lines: %d\n", lines);
}

static void proc_environ(void) {
    long n = slurp("/proc/self/environ");
    int same = 1, count = 0;
    long at = 0;
    for (char **e = environ; *e; e++, count++) {
        if (at >= n || strcmp(text + at, *e) != 0)
            same = 0;
        at += strlen(*e) + 1;
    }
    printf("environ is the initial environment (%d strings): %d\n", count, same && at == n);
    /* Changing the environment later does not change the file. */
    setenv("LAMINA_ADDED", "1", 1);
    slurp("/proc/self/environ");
    printf("setenv leaves environ: %d\n", strstr(text, "LAMINA_ADDED") == NULL);
}

static void proc_mountinfo(void) {
    char mounts[1 << 14];
    slurp("/proc/mounts");
    strcpy(mounts, text);
    slurp("/proc/self/mountinfo");
    int lines = 0, well_formed = 1, all_in_mounts = 1, proc_dev_agrees = 0;
    struct stat proc_st;
    stat("/proc", &proc_st);
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        int id, parent;
        unsigned major, minor;
        char root[256], point[256], options[256], type[64], source[256];
        const char *dash = strstr(line, " - ");
        if (sscanf(line, "%d %d %u:%u %255s %255s %255s", &id, &parent, &major, &minor, root, point, options) != 7 ||
            !dash || sscanf(dash, " - %63s %255s", type, source) != 2) {
            well_formed = 0;
            continue;
        }
        lines++;
        char needle[600];
        snprintf(needle, sizeof needle, " %s %s ", point, type);
        if (!strstr(mounts, needle))
            all_in_mounts = 0;
        if (strcmp(point, "/proc") == 0)
            proc_dev_agrees = major == major(proc_st.st_dev) && minor == minor(proc_st.st_dev);
    }
    int mount_lines = 0;
    for (char *p = mounts; (p = strchr(p, '\n')); p++)
        mount_lines++;
    printf("mountinfo well formed: %d\n", well_formed && lines > 0);
    printf("mountinfo and mounts agree: %d\n", all_in_mounts && lines == mount_lines);
    printf("/proc's device agrees with stat: %d\n", proc_dev_agrees);
}

static void proc_machine(void) {
    slurp("/proc/stat");
    unsigned long long user, nice, sys, idle;
    printf("stat cpu line: %d\n", sscanf(text, "cpu %llu %llu %llu %llu", &user, &nice, &sys, &idle) == 4);
    printf("stat cpu0 line: %d\n", strstr(text, "\ncpu0 ") != NULL);
    const char *btime = strstr(text, "\nbtime ");
    const char *processes = strstr(text, "\nprocesses ");
    const char *running = strstr(text, "\nprocs_running ");
    double uptime = 0;
    FILE *f = fopen("/proc/uptime", "r");
    if (f) {
        if (fscanf(f, "%lf", &uptime) != 1)
            uptime = 0;
        fclose(f);
    }
    long boot = btime ? atol(btime + 7) : 0;
    printf("btime + uptime is now: %d\n", labs(boot + (long)uptime - (long)time(NULL)) <= 2);
    printf("processes, procs_running: %d %d\n", processes && atol(processes + 11) > 0,
           running && atol(running + 15) >= 1);
    slurp("/proc/loadavg");
    float a, b, c;
    int run, total, last;
    printf("loadavg parses: %d\n", sscanf(text, "%f %f %f %d/%d %d", &a, &b, &c, &run, &total, &last) == 6 &&
                                       run >= 1 && total >= run);
    slurp("/proc/filesystems");
    printf("filesystems: proc %d tmpfs %d\n", strstr(text, "nodev\tproc\n") != NULL,
           strstr(text, "nodev\ttmpfs\n") != NULL);
}

static void proc_sys(void) {
    slurp("/proc/sys/kernel/ostype");
    printf("ostype: %s", text);
    struct utsname u;
    uname(&u);
    slurp("/proc/sys/kernel/osrelease");
    printf("osrelease is uname's: %d\n", strncmp(text, u.release, strlen(u.release)) == 0);
    slurp("/proc/sys/kernel/hostname");
    printf("hostname is uname's: %d\n", strncmp(text, u.nodename, strlen(u.nodename)) == 0);
    printf("pid_max > pid: %d\n", number_file("/proc/sys/kernel/pid_max") > getpid());
    printf("threads-max > 0: %d\n", number_file("/proc/sys/kernel/threads-max") > 0);
    printf("ngroups_max > 0: %d\n", number_file("/proc/sys/kernel/ngroups_max") > 0);
    printf("cap_last_cap > 30: %d\n", number_file("/proc/sys/kernel/cap_last_cap") > 30);
    char boot[64], again[64], uuid[64];
    slurp("/proc/sys/kernel/random/boot_id");
    strcpy(boot, text);
    slurp("/proc/sys/kernel/random/boot_id");
    strcpy(again, text);
    slurp("/proc/sys/kernel/random/uuid");
    strcpy(uuid, text);
    int shaped = strlen(boot) == 37 && boot[8] == '-' && boot[13] == '-' && boot[14] == '4' && boot[18] == '-' &&
                 boot[23] == '-' && boot[36] == '\n';
    printf("boot_id is one UUID: %d; uuid is another: %d\n", shaped && strcmp(boot, again) == 0,
           strlen(uuid) == 37 && strcmp(uuid, boot) != 0);
    long overcommit = number_file("/proc/sys/vm/overcommit_memory");
    printf("overcommit_memory is a mode: %d\n", overcommit >= 0 && overcommit <= 2);
    printf("fs numbers: %d %d %d\n", number_file("/proc/sys/fs/file-max") > 0, number_file("/proc/sys/fs/nr_open") > 0,
           number_file("/proc/sys/fs/inotify/max_user_watches") > 0);
    printf("somaxconn > 0: %d\n", number_file("/proc/sys/net/core/somaxconn") > 0);
    int fd = open("/proc/sys/kernel/ostype", O_WRONLY);
    printf("ostype for writing: %d %s\n", fd, strerror(errno));
}

int main(void) {
    sys_files();
    proc_status();
    proc_statm();
    proc_limits();
    proc_environ();
    proc_mountinfo();
    proc_machine();
    proc_sys();
    return 0;
}
