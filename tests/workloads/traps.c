/* CPU exceptions in user mode end the process with the signal Linux sends:
 * int3 -> SIGTRAP (133), ud2 -> SIGILL (132), divide by zero -> SIGFPE
 * (136), a store to a read-only page -> SIGSEGV (139). */
#include <stdio.h>
#include <string.h>

static const int read_only = 1;

int main(int argc, char **argv) {
    const char *what = argc > 1 ? argv[1] : "";
    printf("trap: %s\n", what);
    fflush(stdout);
    if (strcmp(what, "int3") == 0) __asm__ volatile("int3");
    if (strcmp(what, "ud2") == 0) __asm__ volatile("ud2");
    if (strcmp(what, "div0") == 0) {
        volatile int zero = argc - 2;
        printf("%d\n", 10 / zero);
    }
    if (strcmp(what, "rodata") == 0) *(volatile int *)&read_only = 2;
    return 0;
}
