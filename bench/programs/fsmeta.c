/* Small-file metadata: in a new directory DIR, create N files (open with
 * O_CREAT|O_EXCL, write 64 bytes, close), then stat() each, then unlink()
 * each. One op is one file's create+stat+unlink; ops/s over the three
 * phases (per-phase microseconds per file too). Usage: fsmeta DIR N */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    long n = argc == 3 ? atol(argv[2]) : 0;
    if (n <= 0) {
        fprintf(stderr, "usage: fsmeta DIR N\n");
        return 2;
    }
    const char *dir = argv[1];
    char path[4096], payload[64];
    memset(payload, 'x', sizeof payload);
    if (mkdir(dir, 0755) != 0) {
        perror(dir);
        return 1;
    }
    double t0 = now_ns();
    for (long i = 0; i < n; i++) {
        snprintf(path, sizeof path, "%s/file-%06ld", dir, i);
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
        if (fd < 0 || write(fd, payload, sizeof payload) != sizeof payload ||
            close(fd) != 0) {
            perror(path);
            return 1;
        }
    }
    double t1 = now_ns();
    for (long i = 0; i < n; i++) {
        struct stat st;
        snprintf(path, sizeof path, "%s/file-%06ld", dir, i);
        if (stat(path, &st) != 0 || st.st_size != sizeof payload) {
            fprintf(stderr, "fsmeta: stat %s failed or wrong size\n", path);
            return 1;
        }
    }
    double t2 = now_ns();
    for (long i = 0; i < n; i++) {
        snprintf(path, sizeof path, "%s/file-%06ld", dir, i);
        if (unlink(path) != 0) {
            perror(path);
            return 1;
        }
    }
    double t3 = now_ns();
    if (rmdir(dir) != 0) {
        perror(dir);
        return 1;
    }
    double per = 1e3 * (double)n; /* ns -> us per file */
    printf("fs_meta_create %.1f us/file\n", (t1 - t0) / per);
    printf("fs_meta_stat %.1f us/file\n", (t2 - t1) / per);
    printf("fs_meta_unlink %.1f us/file\n", (t3 - t2) / per);
    printf("fs_meta %.1f ops/s\n", (double)n / ((t3 - t0) / 1e9));
    return 0;
}
