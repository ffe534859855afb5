/* 20,000 futex waits that time out, each on its own address: the kernel
 * must not keep anything for them. Prints the kernel heap in use
 * (/proc/meminfo "Slab:", lamina's) before and after; exits 1 if it grew
 * by more than 64 kB. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* <linux/futex.h> is not in musl-gcc's include path. */
#define FUTEX_WAIT_PRIVATE 128

static long slab_kb(void)
{
    char line[256];
    long kb = -1;
    FILE *f = fopen("/proc/meminfo", "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "Slab:", 5) == 0)
            kb = atol(line + 5);
    fclose(f);
    return kb;
}

int main(void)
{
    static int words[20000];
    struct timespec ts = {0, 1000};
    long before = slab_kb();
    for (int i = 0; i < 20000; i++)
        syscall(SYS_futex, &words[i], FUTEX_WAIT_PRIVATE, 0, &ts, NULL, 0);
    long after = slab_kb();
    int grew = after - before > 64;
    printf("kernel heap %s after 20000 timed-out futex waits (%ld -> %ld kB)\n",
           grew ? "grew" : "flat", before, after);
    return grew;
}
