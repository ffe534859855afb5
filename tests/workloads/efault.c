/*
 * Hands the kernel bad user pointers: near-null, kernel-half and
 * non-canonical addresses. Each call must fail with EFAULT ("Bad address")
 * instead of crashing the kernel or the process. Calls that libc may route
 * through the vDSO on Linux are made with syscall(2) so that the native run
 * enters the kernel too.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

/* Laundered through a volatile so the compiler cannot see (and warn about) the constant. */
static void *bad_pointer(uintptr_t address)
{
    volatile uintptr_t laundered = address;
    return (void *)laundered;
}

#define NEAR_NULL bad_pointer(1)
#define KERNEL_HALF bad_pointer(0xffffffff80000000UL)
#define NON_CANONICAL bad_pointer(0x0000800000000000UL)
#define PAGE_BYTES 4096UL

static void report(const char *what, long ret)
{
    int saved = errno;
    printf("%s: %ld %s\n", what, ret, ret == -1 ? strerror(saved) : "(no error)");
    fflush(stdout);
}

int main(void)
{
    errno = 0;
    report("write(1, 0x1)", write(1, NEAR_NULL, 10));
    report("write(1, kernel)", write(1, KERNEL_HALF, 10));
    report("write(1, noncanonical)", write(1, NON_CANONICAL, 10));
    report("uname(0x1)", uname(NEAR_NULL));
    report("uname(kernel)", uname(KERNEL_HALF));
    report("clock_gettime(MONOTONIC, 0x1)",
           syscall(SYS_clock_gettime, CLOCK_MONOTONIC, NEAR_NULL));
    report("clock_gettime(REALTIME, kernel)",
           syscall(SYS_clock_gettime, CLOCK_REALTIME, KERNEL_HALF));
    report("gettimeofday(0x1)", syscall(SYS_gettimeofday, NEAR_NULL, NULL));
    report("nanosleep(0x1)", syscall(SYS_nanosleep, NEAR_NULL, NULL));
    report("getcwd(0x1)", syscall(SYS_getcwd, NEAR_NULL, 256));
    report("getrandom(0x1)", syscall(SYS_getrandom, NEAR_NULL, 16, 0));
    report("writev(1, iov=0x1)", writev(1, NEAR_NULL, 1));
    report("writev(1, iov=kernel)", writev(1, KERNEL_HALF, 2));

    struct iovec bad_base[2] = {
        { .iov_base = NEAR_NULL, .iov_len = 5 },
        { .iov_base = NEAR_NULL, .iov_len = 5 },
    };
    report("writev(1, iov_base=0x1)", writev(1, bad_base, 2));

    /* A page that was mapped and then unmapped must fault again. */
    void *page = mmap(NULL, PAGE_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED) {
        printf("mmap failed\n");
        return 1;
    }
    memset(page, 'x', PAGE_BYTES);
    munmap(page, PAGE_BYTES);
    report("write(1, unmapped page)", write(1, bad_pointer((uintptr_t)page), 10));

    /* The process must be intact: ordinary output still works. */
    printf("still alive\n");
    return 0;
}
