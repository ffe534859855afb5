/* fork+execve+wait latency: the parent forks, the child execve()s PROGRAM
 * (a static /bin/true: `true` of bench/programs) with no arguments but its
 * name and an empty environment, the parent waits for its exit 0; µs per
 * round, the mean over at most ITERATIONS rounds or SECONDS of them,
 * whichever ends first (after 5 untimed rounds). PROGRAM is a path as the
 * kernel's execve takes it (relative: to the working directory). The native
 * run is pinned to one CPU, as the guests have one.
 * Usage: forkexec PROGRAM [ITERATIONS [SECONDS]] */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "process.h"

#define WARMUP 5
/* The child's exit status when execve itself failed. */
#define EXEC_FAILED 127

static int round_trip(const char *program)
{
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "forkexec: fork: %s\n", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        char *argv[] = {(char *)program, NULL};
        char *envp[] = {NULL};
        execve(program, argv, envp);
        /* Only async-signal-safe calls between fork and _exit. */
        static const char msg[] = "forkexec: execve failed\n";
        write(2, msg, sizeof msg - 1);
        _exit(EXEC_FAILED);
    }
    int status;
    if (waitpid(pid, &status, 0) != pid) {
        fprintf(stderr, "forkexec: waitpid: %s\n", strerror(errno));
        return -1;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "forkexec: %s: child status %#x\n", program, status);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: forkexec PROGRAM [ITERATIONS [SECONDS]]\n");
        return 2;
    }
    const char *program = argv[1];
    long iterations = argc > 2 ? atol(argv[2]) : 5000;
    double seconds = argc > 3 ? atof(argv[3]) : 2.0;
    if (iterations <= 0 || seconds <= 0) {
        fprintf(stderr, "forkexec: ITERATIONS and SECONDS must be positive\n");
        return 2;
    }
    pin_one_cpu();
    for (int i = 0; i < WARMUP; i++)
        if (round_trip(program) != 0)
            return 1;
    double start = now_s(), elapsed;
    long done = 0;
    do {
        if (round_trip(program) != 0)
            return 1;
        done++;
        elapsed = now_s() - start;
    } while (done < iterations && elapsed < seconds);
    printf("fork_exec_wait %.2f us\n", elapsed * 1e6 / (double)done);
    printf("fork_exec_wait_rounds %ld rounds\n", done);
    return 0;
}
