/*
 * The program's own pages (its data, read-only data and bss, as the ELF
 * loader mapped them) under madvise, munmap and mremap. On Linux they are a
 * private file mapping: MADV_DONTNEED drops the page's changes and the next
 * touch reads the file again; an anonymous mapping over them reads zero; a
 * moved page keeps its contents. Each test page is a whole, page-aligned
 * array, so no libc state shares it.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGE 4096
#define FILL(byte) {[0 ... PAGE - 1] = (byte)}

/* Initialised, so they are file bytes of the data or rodata segment. */
static char refill_page[PAGE] __attribute__((aligned(PAGE))) = FILL(0x11);
static char replaced_page[PAGE] __attribute__((aligned(PAGE))) = FILL(0x22);
static char moved_untouched[PAGE] __attribute__((aligned(PAGE))) = FILL(0x33);
static char moved_written[PAGE] __attribute__((aligned(PAGE))) = FILL(0x44);
static const char rodata_page[PAGE] __attribute__((aligned(PAGE))) = FILL(0x55);
/* Zero-initialised: bss, beyond the segment's file bytes. */
static char bss[16 * PAGE] __attribute__((aligned(PAGE)));

/* Sum of a page's bytes, read through a volatile so the compiler cannot
 * fold in what it knows of the initialiser. */
static unsigned long sum(const char *page)
{
    const volatile unsigned char *p = (const volatile unsigned char *)page;
    unsigned long total = 0;
    for (int i = 0; i < PAGE; i++) total += p[i];
    return total;
}

static void *laundered(const void *pointer)
{
    void *volatile p = (void *)pointer;
    return p;
}

int main(void)
{
    /* MADV_DONTNEED on a written data page: the image's bytes come back. */
    char *refill = laundered(refill_page);
    memset(refill, 0x7f, PAGE);
    printf("data page written: %lu\n", sum(refill));
    if (madvise(refill, PAGE, MADV_DONTNEED) != 0) perror("madvise data");
    printf("data page after MADV_DONTNEED: %lu\n", sum(refill));

    /* On a bss page: zeros. */
    char *zeroed = laundered(bss + 8 * PAGE);
    memset(zeroed, 0x7f, PAGE);
    if (madvise(zeroed, PAGE, MADV_DONTNEED) != 0) perror("madvise bss");
    printf("bss page after MADV_DONTNEED: %lu, whole bss: %lu\n", sum(zeroed),
           sum(bss) + sum(bss + 15 * PAGE));

    /* munmap, then an anonymous mapping at the same address: zeros. */
    char *replaced = laundered(replaced_page);
    char *rodata = laundered(rodata_page);
    printf("before munmap: data %lu rodata %lu\n", sum(replaced), sum(rodata));
    for (int i = 0; i < 2; i++) {
        char *page = i ? rodata : replaced;
        if (munmap(page, PAGE) != 0) perror("munmap");
        void *fresh = mmap(page, PAGE, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
        if (fresh != page) perror("mmap");
    }
    printf("anonymous over them: data %lu rodata %lu\n", sum(replaced), sum(rodata));

    /* mremap keeps contents: of a page never touched (the next page is
     * taken, so growing moves it) and of a written one (which may grow in
     * place, as the last page of its segment). */
    char *untouched = mremap(laundered(moved_untouched), PAGE, 2 * PAGE, MREMAP_MAYMOVE);
    char *written = laundered(moved_written);
    written[0] = 0;
    written = mremap(written, PAGE, 2 * PAGE, MREMAP_MAYMOVE);
    if (untouched == MAP_FAILED || written == MAP_FAILED) {
        perror("mremap");
        return 1;
    }
    /* (Not checked: MADV_DONTNEED on a moved page. Linux refills it from
     * the file; lamina moves image pages as anonymous memory, so zeros.) */
    printf("moved: untouched %lu, written %lu\n", sum(untouched), sum(written));
    return 0;
}
