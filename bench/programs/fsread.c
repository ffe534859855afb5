/* Sequential read of one file in 1 MiB read()s, to EOF; MB/s (10^6 bytes
 * per second) from open() to close(). The file must be non-empty and read
 * whole (its fstat size). Usage: fsread FILE */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
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
    if (argc != 2) {
        fprintf(stderr, "usage: fsread FILE\n");
        return 2;
    }
    char *buf = malloc(CHUNK_BYTES);
    if (!buf) {
        perror("fsread: malloc");
        return 1;
    }
    /* Fault the buffer in first: page faults are not file reads. */
    for (size_t i = 0; i < CHUNK_BYTES; i += 4096)
        buf[i] = 1;
    double start = now_ns();
    int fd = open(argv[1], O_RDONLY);
    if (fd < 0) {
        perror(argv[1]);
        return 1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        perror("fsread: fstat");
        return 1;
    }
    unsigned long long total = 0, calls = 0;
    for (;;) {
        ssize_t n = read(fd, buf, CHUNK_BYTES);
        if (n < 0) {
            perror("fsread: read");
            return 1;
        }
        if (n == 0)
            break;
        total += (unsigned long long)n;
        calls++;
    }
    if (close(fd) != 0) {
        perror("fsread: close");
        return 1;
    }
    double elapsed = now_ns() - start;
    if (total == 0 || total != (unsigned long long)st.st_size) {
        fprintf(stderr, "fsread: read %llu bytes of %lld\n", total,
                (long long)st.st_size);
        return 1;
    }
    printf("fs_seqread_bytes %llu bytes\n", total);
    printf("fs_seqread_calls %llu calls\n", calls);
    printf("fs_seqread_ms %.1f ms\n", elapsed / 1e6);
    printf("fs_seqread %.1f MB/s\n", (double)total / (elapsed / 1e9) / 1e6);
    return 0;
}
