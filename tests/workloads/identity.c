/*
 * Process identity against Linux: run as root, each scenario in a child
 * process drops or switches ids and prints what the kernel answers
 * (ids, groups, /proc/self/status lines, capabilities that do not depend
 * on the starting set, errnos, permission checks on files in DIR).
 *
 * `identity DIR`: DIR is a scratch directory (created, then removed);
 * nothing printed names it, so native and lamina runs compare.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* <linux/capability.h>, which musl's headers lack. */
#define _LINUX_CAPABILITY_VERSION_3 0x20080522
#define CAP_KILL 5
#define CAP_SETUID 7
struct __user_cap_header_struct {
    unsigned version;
    int pid;
};
struct __user_cap_data_struct {
    unsigned effective, permitted, inheritable;
};

static char secret[4200], mine[4200], dir[4000];

/* errno's name (musl has no strerrorname_np). */
static const char *errname(int e)
{
    switch (e) {
    case EPERM: return "EPERM";
    case EACCES: return "EACCES";
    case EINVAL: return "EINVAL";
    case ENOENT: return "ENOENT";
    case EFAULT: return "EFAULT";
    case ESRCH: return "ESRCH";
    case EEXIST: return "EEXIST";
    default: return "E?";
    }
}

static const char *err(long r)
{
    static char buf[64];
    if (r >= 0) {
        snprintf(buf, sizeof buf, "ok(%ld)", r);
        return buf;
    }
    return errname(errno);
}

static void ids(const char *when)
{
    uid_t r, e, s;
    gid_t rg, eg, sg;
    getresuid(&r, &e, &s);
    getresgid(&rg, &eg, &sg);
    gid_t groups[64];
    int n = getgroups(64, groups);
    printf("%s: uid %u %u %u gid %u %u %u fsuid %d groups", when, r, e, s, rg, eg, sg,
           setfsuid(-1));
    for (int i = 0; i < n; i++)
        printf(" %u", groups[i]);
    printf("\n");
}

/* The Uid:, Gid:, Groups:, CapEff: (only when zero: the starting sets
 * differ), NoNewPrivs: lines of /proc/self/status. */
static void status(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[512];
    while (f && fgets(line, sizeof line, f)) {
        if (!strncmp(line, "Uid:", 4) || !strncmp(line, "Gid:", 4) ||
            !strncmp(line, "Groups:", 7) || !strncmp(line, "NoNewPrivs:", 11) ||
            !strncmp(line, "CapAmb:", 7))
            printf("  status %s", line);
        if (!strncmp(line, "CapEff:", 7) || !strncmp(line, "CapPrm:", 7))
            printf("  status %.7s %s\n", line,
                   strcmp(line + 8, "0000000000000000\n") ? "some" : "none");
    }
    if (f)
        fclose(f);
}

static void caps(const char *when)
{
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2];
    long r = syscall(SYS_capget, &h, d);
    printf("%s: capget %s effective %s permitted %s inheritable %x setuid-effective %d\n", when,
           err(r), d[0].effective || d[1].effective ? "some" : "none",
           d[0].permitted || d[1].permitted ? "some" : "none", d[0].inheritable,
           (d[0].effective >> CAP_SETUID) & 1);
}

static void files(const char *when)
{
    int fd = open(secret, O_RDONLY);
    printf("%s: open secret %s", when, err(fd));
    if (fd >= 0)
        close(fd);
    printf(", access R %s", err(access(secret, R_OK)));
    printf(", eaccess R %s", err(faccessat(AT_FDCWD, secret, R_OK, AT_EACCESS)));
    fd = open(mine, O_RDWR);
    printf(", open mine %s", err(fd));
    if (fd >= 0)
        close(fd);
    /* Each change that is allowed is undone, for the next check. */
    long r = chown(mine, 0, -1);
    printf(", chown mine %s", err(r));
    if (r == 0)
        chown(mine, 1000, -1);
    r = chmod(secret, 0644);
    printf(", chmod secret %s\n", err(r));
    if (r == 0)
        chmod(secret, 0600);
}

static void drop_to_user(void)
{
    gid_t groups[] = {2000, 1000};
    printf("setgroups %s\n", err(setgroups(2, groups)));
    printf("setresgid %s\n", err(setresgid(1000, 1000, 1000)));
    printf("setresuid %s\n", err(setresuid(1000, 1000, 1000)));
    ids("dropped");
    status();
    caps("dropped");
    printf("regain: setuid(0) %s", err(setuid(0)));
    printf(", seteuid(0) %s", err(seteuid(0)));
    printf(", setresuid(-1,0,-1) %s", err(setresuid(-1, 0, -1)));
    printf(", setgid(0) %s", err(setgid(0)));
    printf(", setgroups %s", err(setgroups(0, NULL)));
    printf(", setfsuid(0) was %d now %d\n", setfsuid(0), setfsuid(-1));
    printf("own ids: setuid(1000) %s, setreuid(-1,1000) %s\n", err(setuid(1000)),
           err(setreuid(-1, 1000)));
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2] = {{1u << CAP_KILL, 1u << CAP_KILL, 0}, {0, 0, 0}};
    printf("capset raise %s", err(syscall(SYS_capset, &h, d)));
    printf(", capbset drop %s", err(prctl(PR_CAPBSET_DROP, CAP_KILL, 0, 0, 0)));
    printf(", capbset read setuid %s\n", err(prctl(PR_CAPBSET_READ, CAP_SETUID, 0, 0, 0)));
    files("dropped");
    char path[4200];
    snprintf(path, sizeof path, "%s/new", dir);
    int fd = open(path, O_CREAT | O_WRONLY, 0600);
    struct stat st;
    fstat(fd, &st);
    printf("created: uid %u gid %u\n", st.st_uid, st.st_gid);
    close(fd);
    printf("unlink new %s, unlink secret (sticky) %s\n", err(unlink(path)), err(unlink(secret)));
    /* In root's 0755 directory: an existing name is EEXIST, a missing
     * one ENOENT, before the EACCES of a change (mkdir -p relies on it). */
    char locked[4200], sub[4300], other[4300];
    snprintf(locked, sizeof locked, "%s/locked", dir);
    snprintf(sub, sizeof sub, "%s/sub", locked);
    snprintf(other, sizeof other, "%s/other", locked);
    printf("locked: mkdir sub %s, mkdir other %s, symlink sub %s, unlink missing %s",
           err(mkdir(sub, 0755)), err(mkdir(other, 0755)), err(symlink("x", sub)),
           err(unlink(other)));
    printf(", rmdir sub %s, rename in %s, rename out %s, create %s\n", err(rmdir(sub)),
           err(rename(mine, other)), err(rename(sub, path)),
           err(open(other, O_CREAT | O_WRONLY, 0600)));
    int sv[2];
    struct ucred peer;
    socklen_t len = sizeof peer;
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    getsockopt(sv[0], SOL_SOCKET, SO_PEERCRED, &peer, &len);
    printf("peer cred uid %u gid %u\n", peer.uid, peer.gid);
    /* The parent is root's: only SIGCONT, within the session, reaches it. */
    printf("kill parent 0 %s, SIGCONT %s, self %s\n", err(kill(getppid(), 0)),
           err(kill(getppid(), SIGCONT)), err(kill(getpid(), 0)));
}

static void switch_effective(void)
{
    printf("seteuid(1000) %s\n", err(setresuid(-1, 1000, -1)));
    ids("effective 1000");
    caps("effective 1000");
    files("effective 1000");
    printf("back: seteuid(0) %s\n", err(seteuid(0)));
    caps("back to root");
    printf("setreuid(-1,5) %s\n", err(setreuid(-1, 5)));
    ids("setreuid");
}

static void fs_ids(void)
{
    printf("setfsuid(1000) was %d\n", setfsuid(1000));
    files("fsuid 1000");
    caps("fsuid 1000");
    printf("setfsuid(0) was %d\n", setfsuid(0));
    files("fsuid 0");
}

static void keep_caps(void)
{
    printf("keepcaps %s", err(prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0)));
    printf(", set %s", err(prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0)));
    printf(", bad %s\n", err(prctl(PR_SET_KEEPCAPS, 2, 0, 0, 0)));
    printf("setresuid %s\n", err(setresuid(1000, 1000, 1000)));
    caps("kept");
    printf("keepcaps now %s\n", err(prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0)));
}

static void errors(void)
{
    struct __user_cap_header_struct h = {0x12345678, 0};
    struct __user_cap_data_struct d[2];
    printf("capget bad version %s", err(syscall(SYS_capget, &h, d)));
    printf(" -> %#x", h.version);
    h.version = 0x12345678;
    printf(", NULL data %s -> %#x", err(syscall(SYS_capget, &h, NULL)), h.version);
    h.pid = -1;
    printf(", pid -1 %s", err(syscall(SYS_capget, &h, d)));
    h.pid = 0;
    printf(", bad data %s\n", err(syscall(SYS_capget, &h, (void *)8)));
    gid_t one;
    gid_t g2[] = {2, 1};
    setgroups(2, g2);
    printf("getgroups(0) %s", err(getgroups(0, NULL)));
    printf(", getgroups(1) %s", err(getgroups(1, &one)));
    printf(", setgroups(65537) %s", err(syscall(SYS_setgroups, 65537, g2)));
    printf(", setgroups(-1) %s", err(syscall(SYS_setgroups, -1, g2)));
    printf(", setuid(-1) %s", err(syscall(SYS_setuid, -1)));
    printf(", capbset read 99 %s\n", err(prctl(PR_CAPBSET_READ, 99, 0, 0, 0)));
    printf("nnp %s", err(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0)));
    printf(", set 2 %s", err(prctl(PR_SET_NO_NEW_PRIVS, 2, 0, 0, 0)));
    printf(", set %s", err(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)));
    printf(", now %s\n", err(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0)));
    status();
}

static void scenario(const char *name, void (*run)(void))
{
    printf("== %s\n", name);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        run();
        fflush(stdout);
        _exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: identity DIR\n");
        return 2;
    }
    snprintf(dir, sizeof dir, "%s", argv[1]);
    snprintf(secret, sizeof secret, "%s/secret", dir);
    snprintf(mine, sizeof mine, "%s/mine", dir);
    umask(022);
    /* The host's root may have supplementary groups; start from none. */
    setgroups(0, NULL);
    mkdir(dir, 0700);
    chmod(dir, 01777);
    int fd = open(secret, O_CREAT | O_WRONLY | O_TRUNC, 0600);
    close(fd);
    fd = open(mine, O_CREAT | O_WRONLY | O_TRUNC, 0600);
    close(fd);
    chown(mine, 1000, 1000);
    char locked[4200], sub[4300];
    snprintf(locked, sizeof locked, "%s/locked", dir);
    snprintf(sub, sizeof sub, "%s/sub", locked);
    mkdir(locked, 0755);
    mkdir(sub, 0755);
    ids("start");
    caps("start");
    files("start");
    scenario("drop to a user", drop_to_user);
    scenario("switch the effective uid", switch_effective);
    scenario("file-system uid", fs_ids);
    scenario("keep capabilities", keep_caps);
    scenario("errors", errors);
    unlink(secret);
    unlink(mine);
    rmdir(sub);
    rmdir(locked);
    rmdir(dir);
    return 0;
}
