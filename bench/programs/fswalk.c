/* `ls -lR` without the printing: walk DIR depth first with
 * opendir/readdir, lstat() every entry by its path (as ls does), recurse
 * into directories; milliseconds for the whole walk. Fails unless it saw
 * EXPECTED entries (DIR itself not counted). Usage: fswalk DIR EXPECTED */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static long entries;
static unsigned long long size_sum;

static int walk(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) {
        perror(dir);
        return -1;
    }
    struct dirent *e;
    char path[4096];
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(path, &st) != 0) {
            perror(path);
            closedir(d);
            return -1;
        }
        entries++;
        size_sum += (unsigned long long)st.st_size;
        if (S_ISDIR(st.st_mode) && walk(path) != 0) {
            closedir(d);
            return -1;
        }
    }
    closedir(d);
    return 0;
}

int main(int argc, char **argv)
{
    long expected = argc == 3 ? atol(argv[2]) : -1;
    if (expected < 0) {
        fprintf(stderr, "usage: fswalk DIR EXPECTED\n");
        return 2;
    }
    double start = now_ns();
    if (walk(argv[1]) != 0)
        return 1;
    double elapsed = now_ns() - start;
    if (entries != expected) {
        fprintf(stderr, "fswalk: %ld entries, expected %ld\n", entries, expected);
        return 1;
    }
    printf("fs_walk_entries %ld entries\n", entries);
    printf("fs_walk_us_per_entry %.2f us\n", elapsed / 1e3 / (double)entries);
    printf("fs_walk %.1f ms\n", elapsed / 1e6);
    return 0;
}
