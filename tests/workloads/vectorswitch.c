/* Vector registers across task switches: two processes each keep a value
 * in ymm5 (AVX) while the other runs, for 1.5 s of busy loops (the timer
 * switches between them). Prints how often a value came back wrong, or
 * that the platform does not run AVX in user code. Exit 0 when none did. */
#include <cpuid.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static long spin(unsigned char seed, double secs)
{
    unsigned char in[32], out[32];
    memset(in, seed, sizeof in);
    long bad = 0;
    double end = now() + secs;
    while (now() < end) {
        __asm__ volatile("vmovdqu (%0), %%ymm5" ::"r"(in) : "xmm5");
        for (int k = 0; k < 200000; k++)
            __asm__ volatile("pause");
        __asm__ volatile("vmovdqu %%ymm5, (%0)" ::"r"(out) : "memory");
        if (memcmp(in, out, sizeof in) != 0)
            bad++;
    }
    return bad;
}

int main(void)
{
    unsigned a, b, c, d;
    __cpuid(1, a, b, c, d);
    if (!((c >> 27) & 1) || !((c >> 28) & 1)) {
        printf("AVX not usable here\n");
        return 0;
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0)
        _exit(spin(0x77, 1.5) != 0);
    long bad = spin(0x33, 1.5);
    int status;
    waitpid(pid, &status, 0);
    printf("AVX registers wrong after a switch: %ld (parent), child %s\n", bad,
           WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "none" : "some");
    return bad != 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0;
}
