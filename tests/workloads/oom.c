/*
 * Allocates and touches memory 1 MiB at a time until malloc fails (prints
 * "got NULL after N MiB", exits 0) or the kernel kills the process for want
 * of memory. Run only inside a small VM: natively it would stop at the cap.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIB (1024UL * 1024UL)
#define CAP_MIB 8192UL

int main(void)
{
    unsigned long mib = 0;
    printf("allocating\n");
    fflush(stdout);
    while (mib < CAP_MIB) {
        char *p = malloc(MIB);
        if (!p) {
            printf("got NULL after %lu MiB\n", mib);
            return 0;
        }
        memset(p, (int)(mib & 0xff) | 1, MIB);
        mib++;
    }
    printf("reached the cap of %lu MiB\n", mib);
    return 1;
}
