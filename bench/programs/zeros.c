/* Bulk stdout, as `dd if=/dev/zero bs=BLOCK count=COUNT` does it: COUNT
 * write()s of BLOCK zero bytes to fd 1 (a partial write is finished). The
 * bench times the bytes on the host, where they arrive (lamina's stdout,
 * the Linux guest's serial console through QEMU's stdout, a pipe natively);
 * the program itself prints nothing else.
 * Usage: zeros BLOCK COUNT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_BLOCK (1 << 20)

static char block[MAX_BLOCK];

int main(int argc, char **argv)
{
    long size = argc > 1 ? atol(argv[1]) : 0, count = argc > 2 ? atol(argv[2]) : 0;
    if (size <= 0 || size > MAX_BLOCK || count <= 0) {
        fprintf(stderr, "usage: zeros BLOCK COUNT (BLOCK at most %d)\n", MAX_BLOCK);
        return 2;
    }
    for (long i = 0; i < count; i++) {
        const char *p = block;
        size_t left = (size_t)size;
        while (left > 0) {
            ssize_t n = write(1, p, left);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                fprintf(stderr, "zeros: write: %s\n", n < 0 ? strerror(errno) : "0 bytes");
                return 1;
            }
            p += n;
            left -= (size_t)n;
        }
    }
    return 0;
}
