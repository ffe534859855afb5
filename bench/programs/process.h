/* What the process rows share: a monotonic clock in seconds, and pinning
 * the native run to one CPU (the guests have one). */
#ifndef LAMINA_BENCH_PROCESS_H
#define LAMINA_BENCH_PROCESS_H

#include <sched.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One CPU: the lowest of the current mask, when it has more than one (the
 * guests' has one: no call). Errors are ignored. */
static void pin_one_cpu(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0 || CPU_COUNT(&set) <= 1)
        return;
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
        if (CPU_ISSET(cpu, &set)) {
            CPU_ZERO(&set);
            CPU_SET(cpu, &set);
            sched_setaffinity(0, sizeof set, &set);
            return;
        }
    }
}

#endif
