/* Pipe throughput: a forked child write()s 64 KiB chunks into a pipe until it
 * has written MIB MiB or SECONDS have passed (its clock), then exits; the
 * parent read()s 64 KiB at a time to EOF. MB/s (10^6 bytes per second) as
 * the parent sees it, from the end of the first whole chunk (untimed: the
 * fork and first touches) to EOF. The native run is pinned to one CPU, as
 * the guests have one.
 * Usage: pipe [MIB [SECONDS]] */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "process.h"

#define CHUNK_BYTES (64UL << 10)

static void writer(int fd, unsigned long long max_bytes, double seconds, char *buf)
{
    memset(buf, 'p', CHUNK_BYTES);
    double start = now_s();
    unsigned long long sent = 0;
    while (sent < max_bytes) {
        size_t off = 0;
        while (off < CHUNK_BYTES) {
            ssize_t n = write(fd, buf + off, CHUNK_BYTES - off);
            if (n < 0) {
                if (errno == EINTR)
                    continue;
                fprintf(stderr, "pipe: write: %s\n", strerror(errno));
                _exit(1);
            }
            off += (size_t)n;
        }
        sent += CHUNK_BYTES;
        if (now_s() - start >= seconds)
            break;
    }
    _exit(0);
}

int main(int argc, char **argv)
{
    long mib = argc > 1 ? atol(argv[1]) : 512;
    double seconds = argc > 2 ? atof(argv[2]) : 2.0;
    if (mib <= 0 || seconds <= 0) {
        fprintf(stderr, "usage: pipe [MIB [SECONDS]] (both positive)\n");
        return 2;
    }
    char *buf = malloc(CHUNK_BYTES);
    if (!buf) {
        perror("pipe: malloc");
        return 1;
    }
    memset(buf, 0, CHUNK_BYTES);
    pin_one_cpu();
    int fds[2];
    if (pipe(fds) != 0) {
        fprintf(stderr, "pipe: pipe: %s\n", strerror(errno));
        return 1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "pipe: fork: %s\n", strerror(errno));
        return 1;
    }
    if (pid == 0) {
        close(fds[0]);
        writer(fds[1], (unsigned long long)mib << 20, seconds, buf);
    }
    close(fds[1]);
    unsigned long long received = 0, timed = 0;
    double start = 0;
    for (;;) {
        ssize_t n = read(fds[0], buf, CHUNK_BYTES);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "pipe: read: %s\n", strerror(errno));
            return 1;
        }
        if (n == 0)
            break;
        received += (unsigned long long)n;
        if (start != 0) {
            timed += (unsigned long long)n;
        } else if (received >= CHUNK_BYTES) {
            start = now_s();
            timed = received - CHUNK_BYTES; /* what came past the first chunk */
        }
    }
    double elapsed = now_s() - start;
    int status;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "pipe: the writer failed (status %#x)\n", status);
        return 1;
    }
    if (start == 0 || timed == 0 || elapsed <= 0) {
        fprintf(stderr, "pipe: only %llu bytes arrived\n", received);
        return 1;
    }
    printf("pipe_throughput %.1f MB/s\n", (double)timed / 1e6 / elapsed);
    printf("pipe_bytes %llu bytes\n", received);
    return 0;
}
