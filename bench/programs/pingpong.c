/* Context-switch ping-pong: a parent and a forked child bounce one byte over
 * two pipes (parent writes to the first, child reads it and writes to the
 * second, parent reads it); µs per round trip (two switches on one CPU), the
 * mean over at most ROUNDS round trips or SECONDS of them, whichever ends
 * first (after 100 untimed ones). The native run is pinned to one CPU, as the
 * guests have one, so both processes share it.
 * Usage: pingpong [ROUNDS [SECONDS]] */
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

#define WARMUP 100
/* The clock is read once per this many round trips (a system call in a
 * guest without a vDSO). */
#define CLOCK_EVERY 16

/* One byte each way; 0 when done, -1 on an error. */
static int bounce(int out, int in)
{
    char byte = 'x';
    if (write(out, &byte, 1) != 1) {
        fprintf(stderr, "pingpong: write: %s\n", strerror(errno));
        return -1;
    }
    if (read(in, &byte, 1) != 1) {
        fprintf(stderr, "pingpong: read: %s\n", strerror(errno));
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    long rounds = argc > 1 ? atol(argv[1]) : 100000;
    double seconds = argc > 2 ? atof(argv[2]) : 2.0;
    if (rounds <= 0 || seconds <= 0) {
        fprintf(stderr, "usage: pingpong [ROUNDS [SECONDS]] (both positive)\n");
        return 2;
    }
    pin_one_cpu();
    int ping[2], pong[2];
    if (pipe(ping) != 0 || pipe(pong) != 0) {
        fprintf(stderr, "pingpong: pipe: %s\n", strerror(errno));
        return 1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "pingpong: fork: %s\n", strerror(errno));
        return 1;
    }
    if (pid == 0) {
        close(ping[1]);
        close(pong[0]);
        char byte;
        ssize_t n;
        while ((n = read(ping[0], &byte, 1)) == 1)
            if (write(pong[1], &byte, 1) != 1)
                _exit(1);
        _exit(n == 0 ? 0 : 1);
    }
    close(ping[0]);
    close(pong[1]);
    for (int i = 0; i < WARMUP; i++)
        if (bounce(ping[1], pong[0]) != 0)
            return 1;
    double start = now_s(), elapsed = 0;
    long done = 0;
    while (done < rounds) {
        if (bounce(ping[1], pong[0]) != 0)
            return 1;
        done++;
        if (done % CLOCK_EVERY == 0) {
            elapsed = now_s() - start;
            if (elapsed >= seconds)
                break;
        }
    }
    elapsed = now_s() - start;
    close(ping[1]);
    int status;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "pingpong: the child failed (status %#x)\n", status);
        return 1;
    }
    printf("pingpong_round_trip %.2f us\n", elapsed * 1e6 / (double)done);
    printf("pingpong_rounds %ld rounds\n", done);
    return 0;
}
