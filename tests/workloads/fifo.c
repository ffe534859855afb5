/* Named pipes and mknod: mkfifo and mknod(S_IFIFO/S_IFSOCK/S_IFREG), the
 * open rules (a reader waits for a writer and a writer for a reader,
 * O_NONBLOCK: ENXIO for a writer alone, O_RDWR never waits), data between
 * processes, the bytes gone once the last end closes, and the errnos.
 * argv[1]: the directory to work in (default /tmp). Deterministic output;
 * exit 0 when every step went as Linux does it. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *err(int e)
{
    switch (e) {
    case EEXIST: return "EEXIST";
    case ENXIO: return "ENXIO";
    case EPERM: return "EPERM";
    case EINVAL: return "EINVAL";
    case ENOENT: return "ENOENT";
    case EAGAIN: return "EAGAIN";
    default: return strerror(e);
    }
}

static const char *result(int r)
{
    return r < 0 ? err(errno) : "ok";
}

static void read_all(const char *what, int fd)
{
    char buf[128];
    int total = 0, n;
    while ((n = read(fd, buf + total, sizeof buf - 1 - total)) > 0)
        total += n;
    buf[total] = 0;
    printf("%s: \"%s\" (%s)\n", what, buf, n == 0 ? "EOF" : err(errno));
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "/tmp";
    char path[256], other[256];
    snprintf(path, sizeof path, "%s/fifo-test", dir);
    umask(022);
    unlink(path);
    printf("mkfifo: %s\n", result(mkfifo(path, 0666)));
    struct stat st;
    stat(path, &st);
    printf("  is a fifo: %s, mode %o, size %ld\n", S_ISFIFO(st.st_mode) ? "yes" : "no",
           st.st_mode & 07777, (long)st.st_size);
    printf("mkfifo again: %s\n", result(mkfifo(path, 0666)));
    printf("writer alone, nonblock: %s\n", result(open(path, O_WRONLY | O_NONBLOCK)));

    int r = open(path, O_RDONLY | O_NONBLOCK);
    printf("reader alone, nonblock: %s\n", result(r));
    char c;
    printf("  read with no writer yet: %ld\n", (long)read(r, &c, 1));
    int w = open(path, O_WRONLY | O_NONBLOCK);
    printf("writer, nonblock, with a reader: %s\n", result(w));
    printf("  write: %ld\n", (long)write(w, "abc", 3));
    int n = -1;
    ioctl(r, FIONREAD, &n);
    printf("  FIONREAD: %d\n", n);
    char buf[16] = {0};
    printf("  read: %ld %s\n", (long)read(r, buf, sizeof buf), buf);
    printf("  read empty with a writer: %s\n", read(r, buf, 1) < 0 ? err(errno) : "data");
    struct stat fst;
    fstat(w, &fst);
    printf("  fstat is a fifo: %s\n", S_ISFIFO(fst.st_mode) ? "yes" : "no");
    close(w);
    printf("  read after the writer closed: %ld\n", (long)read(r, &c, 1));
    close(r);

    /* A writer waits for a reader. */
    pid_t child = fork();
    if (child == 0) {
        int fd = open(path, O_WRONLY);
        (void)!write(fd, "from the child", 14);
        _exit(fd < 0);
    }
    usleep(50000);
    r = open(path, O_RDONLY);
    read_all("reader after a waiting writer", r);
    close(r);
    int status;
    waitpid(child, &status, 0);
    printf("  child: %d\n", WEXITSTATUS(status));

    /* A reader waits for a writer. */
    child = fork();
    if (child == 0) {
        usleep(50000);
        int fd = open(path, O_WRONLY);
        (void)!write(fd, "late writer", 11);
        _exit(fd < 0);
    }
    r = open(path, O_RDONLY);
    read_all("waiting reader", r);
    close(r);
    waitpid(child, &status, 0);
    printf("  child: %d\n", WEXITSTATUS(status));

    /* O_RDWR never waits; the bytes go with the last end. */
    int rw = open(path, O_RDWR);
    printf("O_RDWR alone: %s\n", result(rw));
    long wrote = write(rw, "xy", 2);
    printf("  write %ld, read %ld\n", wrote, (long)read(rw, buf, 1));
    close(rw);
    rw = open(path, O_RDWR | O_NONBLOCK);
    n = -1;
    ioctl(rw, FIONREAD, &n);
    printf("  reopened: %d bytes left\n", n);
    printf("  read: %s\n", read(rw, buf, 1) < 0 ? err(errno) : "data");
    close(rw);
    printf("O_TRUNC on a fifo: %s\n", result(open(path, O_RDWR | O_TRUNC)));
    printf("unlink: %s\n", result(unlink(path)));

    /* mknod */
    printf("mknod fifo: %s\n", result(mknod(path, S_IFIFO | 0640, 0)));
    stat(path, &st);
    printf("  is a fifo: %s, mode %o\n", S_ISFIFO(st.st_mode) ? "yes" : "no", st.st_mode & 07777);
    unlink(path);
    printf("mknod regular: %s\n", result(mknod(path, S_IFREG | 0600, 0)));
    stat(path, &st);
    printf("  regular: %s, size %ld\n", S_ISREG(st.st_mode) ? "yes" : "no", (long)st.st_size);
    printf("mknod existing: %s\n", result(mknod(path, S_IFIFO | 0600, 0)));
    unlink(path);
    printf("mknod type 0: %s\n", result(mknod(path, 0600, 0)));
    stat(path, &st);
    printf("  regular: %s\n", S_ISREG(st.st_mode) ? "yes" : "no");
    unlink(path);
    printf("mknod socket: %s\n", result(mknod(path, S_IFSOCK | 0600, 0)));
    stat(path, &st);
    printf("  is a socket: %s, open: %s\n", S_ISSOCK(st.st_mode) ? "yes" : "no",
           result(open(path, O_RDWR)));
    unlink(path);
    printf("mknod directory: %s\n", result(mknod(path, S_IFDIR | 0700, 0)));
    printf("mknod bad type: %s\n", result(mknod(path, 0130000 | 0600, 0)));
    snprintf(other, sizeof other, "%s/no-such-dir/fifo", dir);
    printf("mkfifo in a missing directory: %s\n", result(mkfifo(other, 0600)));
    return 0;
}
