/* Many small anonymous mappings, brk growth in small steps, and partial
 * munmap/mprotect splits: the kernel's region bookkeeping must neither
 * run out of its own memory nor lose data. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAPS 20000
#define UNMERGEABLE 20000
#define PAGE 4096

static char *maps[MAPS];

int main(void) {
    unsigned long sum = 0;
    for (int i = 0; i < MAPS; i++) {
        maps[i] = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (maps[i] == MAP_FAILED) {
            printf("mmap %d failed\n", i);
            return 1;
        }
        maps[i][0] = (char)(i & 0x7f);
    }
    for (int i = 0; i < MAPS; i++) sum += (unsigned char)maps[i][0];
    printf("maps: %d, sum %lu\n", MAPS, sum);

    /* Neighbours with different protections cannot merge: one region each. */
    int made = 0;
    for (int i = 0; i < UNMERGEABLE; i++) {
        int prot = (i & 1) ? PROT_READ : PROT_READ | PROT_WRITE;
        if (mmap(NULL, PAGE, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) != MAP_FAILED) made++;
    }
    printf("unmergeable maps: %d\n", made);

    /* Split one big mapping into alternating protections and holes. */
    char *big = mmap(NULL, 64 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    for (int i = 0; i < 64; i++) big[i * PAGE] = (char)i;
    for (int i = 0; i < 64; i += 4) munmap(big + i * PAGE, PAGE);
    for (int i = 1; i < 64; i += 4) mprotect(big + i * PAGE, PAGE, PROT_READ);
    unsigned long kept = 0;
    for (int i = 0; i < 64; i++)
        if (i % 4 != 0) kept += (unsigned char)big[i * PAGE];
    printf("split: kept sum %lu\n", kept);

    /* A 1 TiB PROT_NONE reservation (as language runtimes make), used in
     * one spot, then released whole: costs what is touched, not its size. */
    size_t reservation = (size_t)1 << 40;
    char *reserved = mmap(NULL, reservation, PROT_NONE,
                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (reserved == MAP_FAILED) {
        printf("reservation failed\n");
        return 1;
    }
    char *spot = reserved + ((size_t)300 << 30);
    if (mprotect(spot, 1 << 20, PROT_READ | PROT_WRITE) != 0) {
        printf("mprotect failed\n");
        return 1;
    }
    for (int i = 0; i < (1 << 20); i += PAGE) spot[i] = 1;
    mprotect(reserved, reservation, PROT_READ);
    int value = spot[0];
    printf("reservation: %d %d\n", value, munmap(reserved, reservation));

        /* The program break in 1-byte steps, touching each new byte (raw
     * brk: musl's sbrk refuses to move it). */
    char *start = (char *)syscall(SYS_brk, 0);
    char *cur = start;
    for (int i = 0; i < 20000; i++) {
        char *next = (char *)syscall(SYS_brk, cur + 1);
        if (next != cur + 1) {
            printf("brk failed at %d\n", i);
            return 1;
        }
        *cur = 1;
        cur = next;
    }
    printf("brk grew by %ld\n", (long)(cur - start));
    return 0;
}
