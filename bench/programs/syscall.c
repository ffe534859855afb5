/* Syscall round trip: getppid in a loop, ns per call (CLOCK_MONOTONIC).
 * Usage: syscall [ITERATIONS] */
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    long iterations = argc > 1 ? atol(argv[1]) : 100000;
    if (iterations <= 0) {
        fprintf(stderr, "syscall: ITERATIONS must be positive\n");
        return 2;
    }
    /* Warm up the path once so the first call's page faults do not count. */
    syscall(SYS_getppid);
    double start = now_ns();
    for (long i = 0; i < iterations; i++)
        syscall(SYS_getppid); /* libc getppid cannot be cached or elided */
    double elapsed = now_ns() - start;
    printf("syscall_getppid %.1f ns/call\n", elapsed / (double)iterations);
    return 0;
}
