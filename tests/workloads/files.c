/* File system calls with Linux semantics: run natively and in lamina on a
 * scratch directory under /tmp, the two outputs must be identical. Every
 * call prints its result or its errno's name, so a difference names the
 * call. Usage: files DIR (DIR must not exist; it is removed at the end). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

static const char *err_name(int e) {
    switch (e) {
    case 0: return "ok";
    case ENOENT: return "ENOENT";
    case EEXIST: return "EEXIST";
    case ENOTDIR: return "ENOTDIR";
    case EISDIR: return "EISDIR";
    case ENOTEMPTY: return "ENOTEMPTY";
    case EBADF: return "EBADF";
    case ELOOP: return "ELOOP";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case EINVAL: return "EINVAL";
    case EXDEV: return "EXDEV";
    case EACCES: return "EACCES";
    case EPERM: return "EPERM";
    case EBUSY: return "EBUSY";
    case ESPIPE: return "ESPIPE";
    case EROFS: return "EROFS";
    default: return "other";
    }
}

/* Prints "what: value" for a result >= 0, else "what: ERRNO". */
static long check(const char *what, long result) {
    if (result < 0)
        printf("%s: %s\n", what, err_name(errno));
    else
        printf("%s: %ld\n", what, result);
    return result;
}

static int compare_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The entries of `path`, sorted, "." and ".." included. */
static void list(const char *path) {
    DIR *dir = opendir(path);
    if (!dir) {
        printf("opendir %s: %s\n", path, err_name(errno));
        return;
    }
    char *names[64];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(dir)) && n < 64) {
        char type = e->d_type == DT_DIR ? 'd' : e->d_type == DT_LNK ? 'l' : e->d_type == DT_REG ? 'f' : '?';
        names[n] = malloc(strlen(e->d_name) + 3);
        sprintf(names[n], "%s:%c", e->d_name, type);
        n++;
    }
    closedir(dir);
    qsort(names, n, sizeof names[0], compare_names);
    printf("list %s:", path);
    for (int i = 0; i < n; i++) {
        printf(" %s", names[i]);
        free(names[i]);
    }
    printf("\n");
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: files DIR\n");
        return 2;
    }
    const char *top = argv[1];
    char buf[256];
    struct stat st;

    check("mkdir", mkdir(top, 0755));
    check("mkdir again", mkdir(top, 0755));
    check("chdir", chdir(top));

    /* Create, write, read back, offsets. */
    int fd = check("open creat excl", open("a", O_CREAT | O_EXCL | O_RDWR, 0644));
    check("open creat excl again", open("a", O_CREAT | O_EXCL | O_RDWR, 0644));
    check("write", write(fd, "hello world", 11));
    check("lseek cur", lseek(fd, 0, SEEK_CUR));
    check("lseek set", lseek(fd, 6, SEEK_SET));
    memset(buf, 0, sizeof buf);
    check("read", read(fd, buf, sizeof buf));
    printf("read data: %s\n", buf);
    check("pwrite", pwrite(fd, "W", 1, 6));
    memset(buf, 0, sizeof buf);
    check("pread", pread(fd, buf, 5, 6));
    printf("pread data: %s\n", buf);
    check("lseek end", lseek(fd, 0, SEEK_END));
    check("lseek negative", lseek(fd, -100, SEEK_SET));
    check("fstat", fstat(fd, &st));
    printf("size %lld mode %o nlink %ld\n", (long long)st.st_size, st.st_mode, (long)st.st_nlink);

    /* dup shares the offset; F_GETFL shows the access mode. */
    int fd2 = check("dup", dup(fd));
    check("lseek via dup", lseek(fd2, 2, SEEK_SET));
    check("offset seen by original", lseek(fd, 0, SEEK_CUR));
    check("F_GETFL accmode", fcntl(fd, F_GETFL) & O_ACCMODE);
    struct flock lock = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    check("F_SETLK", fcntl(fd, F_SETLK, &lock));
    check("flock", flock(fd, LOCK_EX));
    check("close dup", close(fd2));
    check("read closed", read(fd2, buf, 1));
    check("ftruncate", ftruncate(fd, 5));
    check("fstat after ftruncate", fstat(fd, &st));
    printf("size %lld\n", (long long)st.st_size);
    check("fsync", fsync(fd));
    check("close", close(fd));

    /* O_APPEND and O_TRUNC. */
    fd = check("open append", open("a", O_WRONLY | O_APPEND));
    check("lseek start", lseek(fd, 0, SEEK_SET));
    check("append", write(fd, "++", 2));
    check("pwrite on O_APPEND appends", pwrite(fd, "P", 1, 0));
    close(fd);
    fd = open("a", O_RDONLY);
    memset(buf, 0, sizeof buf);
    check("read appended", read(fd, buf, sizeof buf));
    printf("data: %s\n", buf);
    check("write to read-only fd", write(fd, "x", 1));
    close(fd);
    fd = check("open trunc", open("a", O_WRONLY | O_TRUNC));
    check("stat after trunc", stat("a", &st));
    printf("size %lld\n", (long long)st.st_size);
    check("write after trunc", write(fd, "abc", 3));
    close(fd);

    /* Directories, names, links. */
    check("mkdir d", mkdir("d", 0700));
    check("mkdir d/e", mkdir("d/e", 0755));
    check("stat d mode", stat("d", &st));
    printf("mode %o\n", st.st_mode);
    check("rename a d/b", rename("a", "d/b"));
    check("stat a", stat("a", &st));
    check("link", link("d/b", "hard"));
    check("stat nlink", stat("hard", &st));
    printf("nlink %ld size %lld\n", (long)st.st_nlink, (long long)st.st_size);
    check("symlink", symlink("d/b", "soft"));
    check("lstat soft", lstat("soft", &st));
    printf("is link %d\n", S_ISLNK(st.st_mode));
    check("stat soft", stat("soft", &st));
    printf("size via link %lld\n", (long long)st.st_size);
    memset(buf, 0, sizeof buf);
    check("readlink", readlink("soft", buf, sizeof buf));
    printf("target %s\n", buf);
    check("readlink on file", readlink("hard", buf, sizeof buf));
    check("symlink loop a", symlink("loop2", "loop1"));
    check("symlink loop b", symlink("loop1", "loop2"));
    check("open loop", open("loop1", O_RDONLY));
    check("open nofollow", open("soft", O_RDONLY | O_NOFOLLOW));
    check("renameat2 noreplace", syscall(SYS_renameat2, AT_FDCWD, "hard", AT_FDCWD, "soft", 1));
    check("rename over", rename("hard", "soft"));
    check("lstat replaced", lstat("soft", &st));
    printf("is link %d\n", S_ISLNK(st.st_mode));
    list(".");
    list("d");

    /* Errors. */
    check("rmdir non-empty", rmdir("d"));
    check("unlink dir", unlink("d/e"));
    check("rmdir file", rmdir("d/b"));
    check("open missing", open("nope", O_RDONLY));
    check("open file as dir", open("d/b/x", O_RDONLY));
    check("open O_DIRECTORY on file", open("d/b", O_RDONLY | O_DIRECTORY));
    check("open dir for write", open("d", O_WRONLY));
    check("mkdir in missing", mkdir("nope/x", 0755));
    char long_name[300];
    memset(long_name, 'n', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = 0;
    check("open long name", open(long_name, O_RDONLY));
    check("rename dir into itself", rename("d", "d/e/d"));

    /* *at calls on a directory descriptor. */
    int dirfd = check("open dir", open("d", O_RDONLY | O_DIRECTORY));
    check("openat", fd = openat(dirfd, "new", O_CREAT | O_WRONLY, 0600));
    close(fd);
    check("fstatat", fstatat(dirfd, "new", &st, 0));
    printf("mode %o\n", st.st_mode);
    check("unlinkat", unlinkat(dirfd, "new", 0));
    check("mkdirat", mkdirat(dirfd, "m", 0755));
    check("unlinkat dir", unlinkat(dirfd, "m", AT_REMOVEDIR));
    check("fchdir", fchdir(dirfd));
    printf("cwd ends with /d: %d\n", strlen(getcwd(buf, sizeof buf)) > 2 && !strcmp(buf + strlen(buf) - 2, "/d"));
    check("chdir ..", chdir(".."));
    close(dirfd);

    /* Metadata. */
    check("chmod", chmod("d/b", 0600));
    check("stat mode", stat("d/b", &st));
    printf("mode %o\n", st.st_mode);
    check("access F_OK", access("d/b", F_OK));
    check("access X_OK", access("d/b", X_OK));
    check("access missing", access("nope", F_OK));
    struct timespec times[2] = {{.tv_sec = 1000000000, .tv_nsec = 5}, {.tv_sec = 1234567890, .tv_nsec = 0}};
    check("utimensat", utimensat(AT_FDCWD, "d/b", times, 0));
    check("stat mtime", stat("d/b", &st));
    printf("mtime %lld\n", (long long)st.st_mtime);
    check("truncate", truncate("d/b", 100));
    check("stat size", stat("d/b", &st));
    printf("size %lld blocks>0 %d\n", (long long)st.st_size, st.st_blocks >= 0);
    struct statfs sfs;
    check("statfs", statfs(".", &sfs));

    /* Many entries in one directory. */
    check("mkdir many", mkdir("many", 0755));
    int created = 0;
    for (int i = 0; i < 5000; i++) {
        char name[64];
        snprintf(name, sizeof name, "many/entry-%05d", i);
        int f = open(name, O_CREAT | O_WRONLY, 0644);
        if (f >= 0) {
            created++;
            close(f);
        }
    }
    printf("created %d\n", created);
    DIR *many = opendir("many");
    int seen = 0;
    while (readdir(many))
        seen++;
    closedir(many);
    printf("listed %d\n", seen);
    for (int i = 0; i < 5000; i++) {
        char name[64];
        snprintf(name, sizeof name, "many/entry-%05d", i);
        unlink(name);
    }
    check("rmdir many", rmdir("many"));

    /* Devices. */
    fd = open("/dev/null", O_RDWR);
    check("read /dev/null", read(fd, buf, 10));
    check("write /dev/null", write(fd, buf, 10));
    close(fd);
    fd = open("/dev/zero", O_RDONLY);
    memset(buf, 1, 16);
    check("read /dev/zero", read(fd, buf, 16));
    printf("zeros %d\n", buf[0] == 0 && buf[15] == 0);
    close(fd);
    fd = open("/dev/full", O_WRONLY);
    check("write /dev/full", write(fd, "x", 1));
    close(fd);
    check("lseek on a pipe-like stdout", isatty(1) ? 0 : lseek(1, 0, SEEK_CUR));
    fflush(stdout);
    fd = open("/dev/stdout", O_WRONLY);
    check("write /dev/stdout", write(fd, "via /dev/stdout\n", 16));
    close(fd);
    check("readlink /proc/self/exe", readlink("/proc/self/exe", buf, sizeof buf) > 0);

    /* Clean up; "/.." is "/". */
    check("unlink d/b", unlink("d/b"));
    check("unlink soft", unlink("soft"));
    check("unlink loop1", unlink("loop1"));
    check("unlink loop2", unlink("loop2"));
    check("rmdir d/e", rmdir("d/e"));
    check("rmdir d", rmdir("d"));
    check("chdir /", chdir("/"));
    check("chdir ..", chdir(".."));
    printf("cwd %s\n", getcwd(buf, sizeof buf));
    check("rmdir top", rmdir(top));
    return 0;
}
