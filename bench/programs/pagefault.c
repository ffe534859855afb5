/* Anonymous page-fault cost: mmap SIZE MiB, touch the first byte of every
 * page once, ns per page. Usage: pagefault [MIB] */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define PAGE_BYTES 4096UL

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    long mib = argc > 1 ? atol(argv[1]) : 64;
    if (mib <= 0) {
        fprintf(stderr, "pagefault: MIB must be positive\n");
        return 2;
    }
    size_t len_bytes = (size_t)mib << 20;
    volatile char *region = mmap(NULL, len_bytes, PROT_READ | PROT_WRITE,
                                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (region == MAP_FAILED) {
        perror("pagefault: mmap");
        return 1;
    }
    size_t pages = len_bytes / PAGE_BYTES;
    double start = now_ns();
    for (size_t i = 0; i < pages; i++)
        region[i * PAGE_BYTES] = 1;
    double elapsed = now_ns() - start;
    printf("pagefault_anon %.1f ns/page\n", elapsed / (double)pages);
    munmap((void *)region, len_bytes);
    return 0;
}
