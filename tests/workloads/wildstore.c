/*
 * Prints "before", then stores through a near-null pointer. The kernel must
 * deliver SIGSEGV, so the process dies with status 128 + 11 = 139 and the
 * line after the store never appears.
 */
#include <stdint.h>
#include <stdio.h>

int main(void)
{
    /* Laundered through a volatile so the compiler cannot prove the store is wild. */
    volatile uintptr_t address = 0x10;
    printf("before\n");
    fflush(stdout);
    *(volatile int *)address = 42;
    printf("after (should never be printed)\n");
    return 0;
}
