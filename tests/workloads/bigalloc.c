/*
 * Exercises anonymous memory: a 16 MiB malloc (an mmap inside libc), a
 * 64 MiB mmap touched page by page, munmap, and a realloc that grows a large
 * block step by step (glibc and musl move large blocks with mremap).
 * Every number printed is a function of the program alone.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define MIB (1024UL * 1024UL)
#define PAGE_BYTES 4096UL

/* Writes a pattern derived from the offset into every page, then sums it back. */
static uint64_t fill_and_sum(unsigned char *buf, size_t len_bytes)
{
    for (size_t off = 0; off < len_bytes; off += PAGE_BYTES) {
        uint64_t v = (uint64_t)off * 2654435761u;
        memcpy(buf + off, &v, sizeof v);
        buf[off + PAGE_BYTES - 1] = (unsigned char)(off >> 12);
    }
    uint64_t sum = 0;
    for (size_t off = 0; off < len_bytes; off += PAGE_BYTES) {
        uint64_t v;
        memcpy(&v, buf + off, sizeof v);
        sum = sum * 31 + v + buf[off + PAGE_BYTES - 1];
    }
    return sum;
}

static int check_zero(const unsigned char *buf, size_t len_bytes)
{
    for (size_t off = 0; off < len_bytes; off += PAGE_BYTES / 2)
        if (buf[off] != 0)
            return 0;
    return 1;
}

int main(void)
{
    size_t malloc_len = 16 * MIB;
    unsigned char *heap = malloc(malloc_len);
    if (!heap) {
        printf("malloc 16 MiB failed\n");
        return 1;
    }
    printf("malloc 16 MiB: ok\n");
    printf("malloc checksum: %016llx\n",
           (unsigned long long)fill_and_sum(heap, malloc_len));
    free(heap);

    size_t map_len = 64 * MIB;
    unsigned char *map = mmap(NULL, map_len, PROT_READ | PROT_WRITE,
                              MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED) {
        printf("mmap 64 MiB failed\n");
        return 1;
    }
    printf("mmap 64 MiB: %s\n", check_zero(map, map_len) ? "zero-filled" : "NOT ZERO");
    printf("mmap checksum: %016llx\n",
           (unsigned long long)fill_and_sum(map, map_len));
    printf("munmap: %d\n", munmap(map, map_len));

    /* Unmapping part of a mapping must leave the rest usable. */
    map = mmap(NULL, 4 * MIB, PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED) {
        printf("mmap 4 MiB failed\n");
        return 1;
    }
    memset(map, 0x5a, 4 * MIB);
    printf("partial munmap: %d\n", munmap(map + 2 * MIB, 2 * MIB));
    printf("rest intact: %s\n", map[2 * MIB - 1] == 0x5a && map[0] == 0x5a ? "yes" : "no");
    munmap(map, 2 * MIB);

    /* Grow a block from 1 MiB to 32 MiB, checking that contents survive. */
    size_t len = 1 * MIB;
    unsigned char *grow = malloc(len);
    if (!grow) {
        printf("malloc 1 MiB failed\n");
        return 1;
    }
    for (size_t i = 0; i < len; i++)
        grow[i] = (unsigned char)(i * 7);
    while (len < 32 * MIB) {
        size_t new_len = len * 2;
        unsigned char *p = realloc(grow, new_len);
        if (!p) {
            printf("realloc to %zu MiB failed\n", new_len / MIB);
            return 1;
        }
        grow = p;
        int intact = 1;
        for (size_t i = 0; i < 1 * MIB; i += 997)
            if (grow[i] != (unsigned char)(i * 7))
                intact = 0;
        memset(grow + len, 0xa5, new_len - len);
        printf("realloc %zu -> %zu MiB: %s\n", len / MIB, new_len / MIB,
               intact ? "contents kept" : "CONTENTS LOST");
        len = new_len;
    }
    printf("realloc tail byte: %02x\n", grow[len - 1]);
    free(grow);

    /* Explicit mremap growth of an anonymous mapping. */
    unsigned char *m = mmap(NULL, 1 * MIB, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
        printf("mmap 1 MiB failed\n");
        return 1;
    }
    memset(m, 0x3c, 1 * MIB);
    unsigned char *m2 = mremap(m, 1 * MIB, 8 * MIB, MREMAP_MAYMOVE);
    if (m2 == MAP_FAILED) {
        printf("mremap failed\n");
        return 1;
    }
    printf("mremap 1 -> 8 MiB: old %s, new %s\n",
           m2[1 * MIB - 1] == 0x3c ? "kept" : "LOST",
           check_zero(m2 + 1 * MIB, 7 * MIB) ? "zero-filled" : "NOT ZERO");
    printf("munmap: %d\n", munmap(m2, 8 * MIB));
    printf("done\n");
    return 0;
}
