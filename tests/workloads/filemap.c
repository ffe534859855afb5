/* File-backed mmap as Linux gives it: private mappings read the file and
 * keep their writes to themselves; shared mappings of a file open for
 * writing reach the file on msync, on munmap, and when the process exits
 * (checked by the caller after the run: DIR/exit holds "at exit").
 * Usage: filemap DIR (DIR must not exist). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static void file_text(const char *path, char *out, size_t size) {
    int fd = open(path, O_RDONLY);
    ssize_t n = fd < 0 ? -1 : pread(fd, out, size - 1, 0);
    out[n < 0 ? 0 : n] = 0;
    if (fd >= 0)
        close(fd);
}

static int make(const char *path, const char *text) {
    int fd = open(path, O_CREAT | O_TRUNC | O_RDWR, 0644);
    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
        return -1;
    return fd;
}

int main(int argc, char **argv) {
    if (argc != 2 || mkdir(argv[1], 0755) != 0 || chdir(argv[1]) != 0) {
        fprintf(stderr, "usage: filemap DIR (a new directory)\n");
        return 2;
    }
    char text[256];
    long page = sysconf(_SC_PAGESIZE);

    /* Private: reads the file, writes stay in memory; past EOF is zero. */
    int fd = make("private", "private contents");
    char *p = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    printf("private map: %s\n", p == MAP_FAILED ? strerror(errno) : "ok");
    printf("private reads: %.16s, past EOF zero: %d\n", p, p[100] == 0);
    memcpy(p, "PRIVATE", 7);
    file_text("private", text, sizeof text);
    printf("private write kept out of the file: %s\n", text);
    munmap(p, page);
    close(fd);

    /* Shared: msync and munmap write the file. */
    fd = make("shared", "shared contents.");
    char *s = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    printf("shared map: %s\n", s == MAP_FAILED ? strerror(errno) : "ok");
    memcpy(s, "SHARED", 6);
    printf("msync: %d\n", msync(s, page, MS_SYNC));
    file_text("shared", text, sizeof text);
    printf("after msync: %s\n", text);
    memcpy(s + 7, "CONTENT", 7);
    printf("munmap: %d\n", munmap(s, page));
    file_text("shared", text, sizeof text);
    printf("after munmap: %s\n", text);
    struct stat st;
    fstat(fd, &st);
    printf("size unchanged: %lld\n", (long long)st.st_size);
    close(fd);

    /* Shared and writable needs a file open for writing. */
    fd = open("shared", O_RDONLY);
    s = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    printf("shared writable on a read-only fd: %s\n", s == MAP_FAILED ? (errno == EACCES ? "EACCES" : "other") : "mapped");
    s = mmap(NULL, page, PROT_READ, MAP_SHARED, fd, 0);
    printf("shared read-only on a read-only fd: %.6s\n", s == MAP_FAILED ? "failed" : s);
    close(fd);

    /* A mapping nobody wrote leaves the file to write(): its older copy
     * must not come back at munmap. */
    fd = make("untouched", "old contents");
    s = mmap(NULL, page, PROT_READ, MAP_SHARED, fd, 0);
    pwrite(fd, "NEW", 3, 0);
    munmap(s, page);
    file_text("untouched", text, sizeof text);
    printf("write() kept past an unwritten mapping: %s\n", text);
    close(fd);

    /* Left mapped at exit: the exit writes it back. */
    fd = make("exit", "before...");
    s = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    memcpy(s, "at exit..", 9);
    return 0;
}
