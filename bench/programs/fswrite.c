/* Sequential write of a new file in 1 MiB write()s, then fsync() and
 * close(); MB/s (10^6 bytes per second) from open(O_CREAT|O_EXCL) to
 * close(), so every byte has reached the host's file (and its disk) when
 * the clock stops. Also prints the rate up to the last write() returning.
 * Usage: fswrite FILE MIB */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define CHUNK_BYTES (1UL << 20)

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    long mib = argc == 3 ? atol(argv[2]) : 0;
    if (mib <= 0) {
        fprintf(stderr, "usage: fswrite FILE MIB\n");
        return 2;
    }
    unsigned char *buf = malloc(CHUNK_BYTES);
    if (!buf) {
        perror("fswrite: malloc");
        return 1;
    }
    /* Not zeros (nothing may skip them as holes); faulted in before timing. */
    for (size_t i = 0; i < CHUNK_BYTES; i++)
        buf[i] = (unsigned char)(i * 131 + 7);
    double start = now_ns();
    int fd = open(argv[1], O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0) {
        perror(argv[1]);
        return 1;
    }
    for (long i = 0; i < mib; i++) {
        buf[0] = (unsigned char)i;
        size_t done = 0;
        while (done < CHUNK_BYTES) {
            ssize_t n = write(fd, buf + done, CHUNK_BYTES - done);
            if (n <= 0) {
                perror("fswrite: write");
                return 1;
            }
            done += (size_t)n;
        }
    }
    double written = now_ns() - start;
    if (fsync(fd) != 0) {
        perror("fswrite: fsync");
        return 1;
    }
    if (close(fd) != 0) {
        perror("fswrite: close");
        return 1;
    }
    double elapsed = now_ns() - start;
    double bytes = (double)mib * (double)CHUNK_BYTES;
    printf("fs_seqwrite_ms %.1f ms\n", elapsed / 1e6);
    printf("fs_seqwrite_nofsync %.1f MB/s\n", bytes / (written / 1e9) / 1e6);
    printf("fs_seqwrite %.1f MB/s\n", bytes / (elapsed / 1e9) / 1e6);
    return 0;
}
