/* fork+exit+wait latency: the parent forks, the child _exits at once, the
 * parent waits for it; µs per round, the mean over at most ITERATIONS rounds
 * or SECONDS of them, whichever ends first (after 10 untimed rounds). The
 * native run is pinned to one CPU, as the guests have one.
 * Usage: fork [ITERATIONS [SECONDS]] */
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

#define WARMUP 10

static int round_trip(void)
{
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "fork: fork: %s\n", strerror(errno));
        return -1;
    }
    if (pid == 0)
        _exit(0);
    int status;
    if (waitpid(pid, &status, 0) != pid) {
        fprintf(stderr, "fork: waitpid: %s\n", strerror(errno));
        return -1;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "fork: child status %#x\n", status);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    long iterations = argc > 1 ? atol(argv[1]) : 10000;
    double seconds = argc > 2 ? atof(argv[2]) : 2.0;
    if (iterations <= 0 || seconds <= 0) {
        fprintf(stderr, "usage: fork [ITERATIONS [SECONDS]] (both positive)\n");
        return 2;
    }
    pin_one_cpu();
    for (int i = 0; i < WARMUP; i++)
        if (round_trip() != 0)
            return 1;
    double start = now_s(), elapsed;
    long done = 0;
    do {
        if (round_trip() != 0)
            return 1;
        done++;
        elapsed = now_s() - start;
    } while (done < iterations && elapsed < seconds);
    printf("fork_exit_wait %.2f us\n", elapsed * 1e6 / (double)done);
    printf("fork_exit_wait_rounds %ld rounds\n", done);
    return 0;
}
