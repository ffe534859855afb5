/* execve, fork, vfork, posix_spawn and wait4 with Linux semantics: run
 * natively and in lamina, the two outputs must be identical. Usage:
 * `exec run DIR`, with the program started by an absolute path (it
 * re-executes itself through argv[0]) and /bin/sh present; DIR must not
 * exist. Checks, one line each: #! scripts (an optional argument, none,
 * a nested interpreter, /bin/sh, a relative path), the errnos of execve
 * (ENOEXEC, EACCES, ENOENT, ENOTDIR), argv and envp across execve,
 * close-on-exec, signal dispositions and the blocked mask across execve,
 * dup2 onto stdout before execve, vfork, posix_spawn, wait status
 * encoding, WNOHANG, ECHILD, file offsets shared by fork, process groups,
 * and /proc/<pid>/ of a child. Paths are never printed: they differ
 * between the two runs. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static const char *self;
static const char *dir;

static const char *err_name(int e) {
    switch (e) {
    case 0: return "ok";
    case ENOENT: return "ENOENT";
    case ENOEXEC: return "ENOEXEC";
    case EACCES: return "EACCES";
    case ENOTDIR: return "ENOTDIR";
    case ECHILD: return "ECHILD";
    case EBADF: return "EBADF";
    case EINVAL: return "EINVAL";
    case ESRCH: return "ESRCH";
    case EPERM: return "EPERM";
    case ENOSYS: return "ENOSYS";
    default: return "other";
    }
}

static const char *yes(int condition) {
    return condition ? "yes" : "no";
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

/* The last component of a path: the part both runs share. */
static const char *base(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* ---- the modes the program is re-executed in -------------------------- */

/* As the interpreter of a #! script: argv[1] is the optional argument
 * (when the script has one), then the script's path, then its arguments. */
static int interpreter_mode(int argc, char **argv) {
    printf("  interpreter, %d args:", argc);
    for (int i = 0; i < argc; i++) {
        if (argv[i][0] == '/')
            printf(" [/.../%s]", base(argv[i]));
        else
            printf(" [%s]", argv[i]);
    }
    printf("\n");
    return 40 + argc;
}

/* `exec show FD...`: prints its arguments, its environment, which of the
 * FDs are open, and what became of its signal state. */
static int show_mode(int argc, char **argv) {
    printf("  show:");
    for (int i = 2; i < argc; i++)
        printf(" [%s]", argv[i]);
    printf("\n  environment:");
    for (char **e = environ; *e; e++)
        printf(" [%s]", strncmp(*e, "PARENT=", 7) == 0 ? "PARENT=<pid>" : *e);
    printf("\n  open:");
    for (int i = 2; i < argc; i++) {
        int fd = atoi(argv[i]);
        if (fd > 0)
            printf(" %d=%s", fd, fcntl(fd, F_GETFD) >= 0 ? "open" : err_name(errno));
    }
    struct sigaction usr1, usr2;
    sigaction(SIGUSR1, NULL, &usr1);
    sigaction(SIGUSR2, NULL, &usr2);
    sigset_t mask;
    sigprocmask(SIG_BLOCK, NULL, &mask);
    printf("\n  handled SIGUSR1 is SIG_DFL %s, ignored SIGUSR2 is SIG_IGN %s, "
           "SIGINT still blocked %s\n",
           yes(usr1.sa_handler == SIG_DFL), yes(usr2.sa_handler == SIG_IGN),
           yes(sigismember(&mask, SIGINT)));
    printf("  ppid is the parent %s\n", yes(getenv("PARENT") && atoi(getenv("PARENT")) == getppid()));
    return 3;
}

/* `exec wait`: blocks until stdin reaches end of file. */
static int wait_mode(void) {
    char buffer[16];
    while (read(STDIN_FILENO, buffer, sizeof buffer) > 0)
        ;
    return 0;
}

/* ---- helpers for the checks ------------------------------------------- */

static void write_file(const char *name, const char *text, mode_t mode) {
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
        printf("writing %s: %s\n", name, err_name(errno));
        exit(1);
    }
    close(fd);
    chmod(path, mode);
}

/* Runs `path` with `argv` in a child (fork then execve) and prints how it
 * ended; an execve failure is printed as its errno. */
static void run(const char *what, const char *path, char *const argv[], char *const envp[]) {
    printf("%s:\n", what);
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        printf("fork: %s\n", err_name(errno));
        exit(1);
    }
    if (pid == 0) {
        execve(path, argv, envp);
        printf("  execve: %s\n", err_name(errno));
        fflush(stdout);
        _exit(127);
    }
    int status;
    if (waitpid(pid, &status, 0) != pid)
        printf("  waitpid: %s\n", err_name(errno));
    else
        printf("  %s\n", describe_status(status));
}

static char *in_dir(const char *name) {
    static char paths[8][PATH_MAX];
    static int next;
    char *path = paths[next++ % 8];
    snprintf(path, PATH_MAX, "%s/%s", dir, name);
    return path;
}

static void script_checks(void) {
    char text[PATH_MAX + 64];
    snprintf(text, sizeof text, "#!%s optional-arg\nignored\n", self);
    write_file("with-arg", text, 0755);
    snprintf(text, sizeof text, "#!%s  \t\nignored\n", self);
    write_file("bare", text, 0755);
    snprintf(text, sizeof text, "#!%s\n", in_dir("with-arg"));
    write_file("nested", text, 0755);
    write_file("sh-script", "#!/bin/sh\necho \"  sh script: $# args: $*\"\nexit 6\n", 0755);
    write_file("no-shebang", "echo this is not run\n", 0755);
    write_file("empty", "", 0755);
    write_file("not-executable", "#!/bin/sh\necho not run\n", 0644);
    write_file("missing-interpreter", "#!/nonexistent/interpreter\n", 0755);
    write_file("plain-file", "data\n", 0644);

    char *none[] = {NULL};
    char *with_arg[] = {"with-arg", "one", "two words", NULL};
    run("#! with an optional argument", in_dir("with-arg"), with_arg, none);
    char *bare[] = {"bare", "x", NULL};
    run("#! without an argument, trailing blanks", in_dir("bare"), bare, none);
    char *nested[] = {"nested", "n", NULL};
    run("#! naming another #! script", in_dir("nested"), nested, none);
    char *sh[] = {"sh-script", "a", "b c", NULL};
    run("#!/bin/sh", in_dir("sh-script"), sh, none);
    if (chdir(dir) != 0)
        printf("chdir: %s\n", err_name(errno));
    char *relative[] = {"./with-arg", NULL};
    run("#! script by a relative path", "./with-arg", relative, none);
    if (chdir("/") != 0)
        printf("chdir: %s\n", err_name(errno));

    char *args[] = {"x", NULL};
    run("no #! and not ELF", in_dir("no-shebang"), args, none);
    run("an empty file", in_dir("empty"), args, none);
    run("no execute permission", in_dir("not-executable"), args, none);
    run("a directory", dir, args, none);
    run("missing", in_dir("missing"), args, none);
    run("#! interpreter missing", in_dir("missing-interpreter"), args, none);
    run("a file as a directory", in_dir("plain-file/x"), args, none);
}

static void usr1_handler(int sig) {
    (void)sig;
}

/* argv, envp, close-on-exec, signal state and dup2 onto stdout across
 * execve; the child's output comes back through a pipe. */
static void state_across_execve(void) {
    int cloexec[2], plain[2], out[2];
    if (pipe2(cloexec, O_CLOEXEC) != 0 || pipe(plain) != 0 || pipe(out) != 0) {
        printf("pipe: %s\n", err_name(errno));
        exit(1);
    }
    char fds[4][16];
    for (int i = 0; i < 2; i++) {
        snprintf(fds[i], sizeof fds[i], "%d", cloexec[i]);
        snprintf(fds[2 + i], sizeof fds[2 + i], "%d", plain[i]);
    }
    char parent[32];
    snprintf(parent, sizeof parent, "PARENT=%d", (int)getpid());
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = usr1_handler;
    sigaction(SIGUSR1, &sa, NULL);
    signal(SIGUSR2, SIG_IGN);
    printf("state across execve, output through a pipe on the child's stdout:\n");
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        sigset_t intr;
        sigemptyset(&intr);
        sigaddset(&intr, SIGINT);
        sigprocmask(SIG_BLOCK, &intr, NULL);
        dup2(out[1], STDOUT_FILENO);
        close(out[0]);
        close(out[1]);
        char *argv[] = {(char *)self, "show", fds[0], fds[1], fds[2], fds[3], "", "last arg", NULL};
        char *envp[] = {"ALPHA=1", "BETA=two words", "EMPTY=", parent, NULL};
        execve(self, argv, envp);
        _exit(127);
    }
    close(out[1]);
    char buffer[4096] = {0};
    long total = 0;
    ssize_t n;
    while (total < (long)sizeof buffer - 1 &&
           (n = read(out[0], buffer + total, sizeof buffer - 1 - total)) > 0)
        total += n;
    close(out[0]);
    printf("%s", buffer);
    int status;
    waitpid(pid, &status, 0);
    printf("  %s\n", describe_status(status));
    signal(SIGUSR1, SIG_DFL);
    signal(SIGUSR2, SIG_DFL);
    for (int i = 0; i < 2; i++) {
        close(cloexec[i]);
        close(plain[i]);
    }
}

static void vfork_and_spawn(void) {
    fflush(stdout);
    pid_t pid = vfork();
    if (pid == 0)
        _exit(4);
    int status;
    pid_t waited = waitpid(pid, &status, 0);
    printf("vfork then _exit: waitpid is the child %s, %s\n", yes(waited == pid),
           describe_status(status));

    char *argv[] = {(char *)self, "interpret", "from vfork", NULL};
    fflush(stdout);
    pid = vfork();
    if (pid == 0) {
        execve(self, argv, environ);
        _exit(127);
    }
    waitpid(pid, &status, 0);
    printf("vfork then execve: %s\n", describe_status(status));

    char *spawn_argv[] = {(char *)self, "interpret", "from posix_spawn", NULL};
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 5, "/dev/null", O_RDONLY, 0);
    fflush(stdout);
    int err = posix_spawn(&pid, self, &actions, NULL, spawn_argv, environ);
    /* Printed once the child is done, as it writes to the same stdout. */
    if (err == 0)
        waitpid(pid, &status, 0);
    printf("posix_spawn: %s, %s\n", err_name(err), err == 0 ? describe_status(status) : "");
    posix_spawn_file_actions_destroy(&actions);
    char *missing_argv[] = {"missing", NULL};
    err = posix_spawn(&pid, in_dir("missing"), NULL, NULL, missing_argv, environ);
    printf("posix_spawn of a missing program: %s", err_name(err));
    if (err == 0) {
        /* glibc before 2.24 and some musl versions report it as 127. */
        waitpid(pid, &status, 0);
        printf(" (%s)", describe_status(status));
    }
    printf("\n");
}

static void wait_checks(void) {
    static const int codes[] = {0, 1, 127, 255, 256, 513};
    for (unsigned i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0)
            _exit(codes[i]);
        int status;
        waitpid(pid, &status, 0);
        printf("_exit(%d): %s, raw %#x\n", codes[i], describe_status(status), status);
    }
    int status;
    int ready[2];
    if (pipe(ready) != 0)
        exit(1);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        close(ready[1]);
        char byte;
        (void)!read(ready[0], &byte, 1);
        _exit(9);
    }
    close(ready[0]);
    printf("WNOHANG while the child runs: %d\n", (int)waitpid(pid, &status, WNOHANG));
    printf("waitpid of a pid that is not a child: %s\n",
           err_name(waitpid(1, &status, WNOHANG) < 0 ? errno : 0));
    close(ready[1]);
    pid_t any = waitpid(-1, &status, 0);
    printf("waitpid(-1): the child %s, %s\n", yes(any == pid), describe_status(status));
    printf("no children left: %s\n", err_name(wait(&status) < 0 ? errno : 0));
}

static void shared_offset(void) {
    char *path = in_dir("shared-offset");
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    (void)!write(fd, "parent,", 7);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        (void)!write(fd, "child,", 6);
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    (void)!write(fd, "parent again", 12);
    char buffer[64] = {0};
    (void)!pread(fd, buffer, sizeof buffer - 1, 0);
    printf("one file offset shared by fork: %s (at %ld)\n", buffer, (long)lseek(fd, 0, SEEK_CUR));
    close(fd);
}

static void process_groups(void) {
    int ready[2];
    if (pipe(ready) != 0)
        exit(1);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        setpgid(0, 0);
        close(ready[0]);
        (void)!write(ready[1], "r", 1);
        for (;;)
            pause();
    }
    close(ready[1]);
    char byte;
    (void)!read(ready[0], &byte, 1);
    close(ready[0]);
    printf("setpgid(0, 0) in the child: its own group %s, ours unchanged %s\n",
           yes(getpgid(pid) == pid), yes(getpgid(0) == getpgrp() && getpgrp() != pid));
    printf("kill of the group: %s\n", err_name(kill(-pid, SIGTERM) == 0 ? 0 : errno));
    int status;
    waitpid(pid, &status, 0);
    printf("  %s\n", describe_status(status));
    printf("kill of a group that is gone: %s\n", err_name(kill(-pid, SIGTERM) == 0 ? 0 : errno));
}

static int read_text(const char *path, char *buffer, size_t size) {
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -errno;
    ssize_t n = read(fd, buffer, size);
    close(fd);
    return n < 0 ? -errno : (int)n;
}

static void proc_checks(void) {
    int in[2];
    if (pipe(in) != 0)
        exit(1);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(in[0], STDIN_FILENO);
        close(in[0]);
        close(in[1]);
        char *argv[] = {(char *)self, "wait", "an argument", NULL};
        execve(self, argv, environ);
        _exit(127);
    }
    close(in[0]);
    /* /proc/<pid>/cmdline of a freshly forked child may still show ours:
     * wait until the execve has happened. */
    char path[64], text[512];
    char expected[512];
    int expected_len = snprintf(expected, sizeof expected, "%s%cwait%can argument%c", self, 0, 0, 0);
    snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
    int len = 0;
    for (int tries = 0; tries < 1000; tries++) {
        len = read_text(path, text, sizeof text);
        if (len == expected_len && memcmp(text, expected, (size_t)len) == 0)
            break;
        usleep(10 * 1000);
    }
    printf("/proc/<child>/cmdline after execve: %s\n",
           yes(len == expected_len && memcmp(text, expected, (size_t)len) == 0));
    char exe[PATH_MAX] = {0}, mine[PATH_MAX] = {0};
    snprintf(path, sizeof path, "/proc/%d/exe", (int)pid);
    ssize_t n = readlink(path, exe, sizeof exe - 1);
    n = n < 0 ? n : readlink("/proc/self/exe", mine, sizeof mine - 1);
    printf("/proc/<child>/exe is our program: %s\n", yes(n > 0 && strcmp(exe, mine) == 0));
    snprintf(path, sizeof path, "/proc/%d/fd/0", (int)pid);
    n = readlink(path, exe, sizeof exe - 1);
    printf("/proc/<child>/fd/0 is a pipe: %s\n", yes(n > 6 && strncmp(exe, "pipe:[", 6) == 0));
    char self_link[32] = {0}, own_pid[32];
    readlink("/proc/self", self_link, sizeof self_link - 1);
    snprintf(own_pid, sizeof own_pid, "%d", (int)getpid());
    printf("/proc/self names our pid: %s\n", yes(strcmp(self_link, own_pid) == 0));
    close(in[1]);
    int status;
    waitpid(pid, &status, 0);
    printf("  %s\n", describe_status(status));
    snprintf(path, sizeof path, "/proc/%d", (int)pid);
    struct stat st;
    printf("/proc/<child> after it was reaped: %s\n",
           err_name(stat(path, &st) == 0 ? 0 : errno));
}

int main(int argc, char **argv) {
    self = argv[0];
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc >= 2 && strcmp(argv[1], "show") == 0)
        return show_mode(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "wait") == 0)
        return wait_mode();
    if (argc != 3 || strcmp(argv[1], "run") != 0)
        return interpreter_mode(argc, argv);
    if (self[0] != '/') {
        fprintf(stderr, "usage: /absolute/path/to/exec run DIR\n");
        return 2;
    }
    dir = argv[2];
    if (mkdir(dir, 0755) != 0) {
        printf("mkdir DIR: %s\n", err_name(errno));
        return 1;
    }
    script_checks();
    state_across_execve();
    vfork_and_spawn();
    wait_checks();
    shared_offset();
    process_groups();
    proc_checks();
    printf("done\n");
    return 0;
}
