/* AF_UNIX sockets with names against Linux: run natively and in lamina,
 * the two outputs must be identical. A stream server and its clients
 * across fork, once on a path (a socket node that stat shows, that
 * refuses connections once its socket closes, and that unlink removes)
 * and once on an abstract name; bind and connect errors (EADDRINUSE,
 * ECONNREFUSED, ENOENT, EPROTOTYPE, EINVAL); autobind; datagrams between
 * bound sockets with their senders' addresses, and a connected datagram
 * socket. Paths live under a fresh directory in /tmp, or with the
 * argument "cwd" in the working directory (the harness runs that on
 * lamina's 9P root, where bindings stay in the guest: the checks of the
 * socket node itself are left out then). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define CLIENTS 4

static char dir[64];
static int main_pid;
static int node_checks = 1;

static const char *err_name(int e) {
    switch (e) {
    case 0: return "ok";
    case EAGAIN: return "EAGAIN";
    case EPIPE: return "EPIPE";
    case EINVAL: return "EINVAL";
    case ENOENT: return "ENOENT";
    case ENOTCONN: return "ENOTCONN";
    case ECONNREFUSED: return "ECONNREFUSED";
    case ECONNRESET: return "ECONNRESET";
    case EADDRINUSE: return "EADDRINUSE";
    case EPROTOTYPE: return "EPROTOTYPE";
    case EISCONN: return "EISCONN";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case ENXIO: return "ENXIO";
    case EDESTADDRREQ: return "EDESTADDRREQ";
    default: return "other";
    }
}

static long check(const char *what, long result) {
    if (result < 0)
        printf("%s: %s\n", what, err_name(errno));
    else
        printf("%s: %ld\n", what, result);
    return result;
}

static pid_t spawn(void) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        printf("fork: %s\n", err_name(errno));
        exit(1);
    }
    return pid;
}

static void reap(const char *what, pid_t pid) {
    int status;
    if (waitpid(pid, &status, 0) != pid) {
        printf("%s: waitpid: %s\n", what, err_name(errno));
        return;
    }
    if (WIFEXITED(status))
        printf("%s: exited %d\n", what, WEXITSTATUS(status));
    else
        printf("%s: killed by signal %d\n", what, WTERMSIG(status));
}

/* An address for `name`: a path in dir, or with a leading '@' an abstract
 * name (made unique by the pid, as two runs may share the namespace). */
static socklen_t make_addr(struct sockaddr_un *addr, const char *name) {
    memset(addr, 0, sizeof *addr);
    addr->sun_family = AF_UNIX;
    if (name[0] == '@') {
        int n = snprintf(addr->sun_path + 1, sizeof addr->sun_path - 1, "lamina-%d-%s",
                         main_pid, name + 1);
        return offsetof(struct sockaddr_un, sun_path) + 1 + n;
    }
    snprintf(addr->sun_path, sizeof addr->sun_path, "%s/%s", dir, name);
    return offsetof(struct sockaddr_un, sun_path) + strlen(addr->sun_path) + 1;
}

/* A socket bound to `name`, or -1 with errno. */
static int try_bound(int type, const char *name) {
    int fd = socket(AF_UNIX, type, 0);
    struct sockaddr_un addr;
    socklen_t len = make_addr(&addr, name);
    if (bind(fd, (struct sockaddr *)&addr, len) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

static int bound(int type, const char *name) {
    int fd = try_bound(type, name);
    if (fd < 0) {
        printf("bind %s: %s\n", name, err_name(errno));
        exit(1);
    }
    return fd;
}

static int connect_to(int type, const char *name) {
    int fd = socket(AF_UNIX, type, 0);
    struct sockaddr_un addr;
    socklen_t len = make_addr(&addr, name);
    if (connect(fd, (struct sockaddr *)&addr, len) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

/* Clients send a line; the server answers with it upper-cased. */
static void client(const char *name, int id) {
    int fd = connect_to(SOCK_STREAM, name);
    if (fd < 0)
        _exit(10);
    char line[32], reply[32];
    int n = snprintf(line, sizeof line, "client %d says hi", id);
    if (write(fd, line, n) != n)
        _exit(11);
    shutdown(fd, SHUT_WR);
    int got = 0;
    ssize_t r;
    while ((r = read(fd, reply + got, sizeof reply - 1 - got)) > 0)
        got += r;
    reply[got] = 0;
    _exit(strcmp(reply, "CLIENT ") == 0 ? 12 : (got == n ? 0 : 13));
}

static void server(const char *name) {
    printf("-- stream server on %s\n", name[0] == '@' ? "an abstract name" : "a path");
    int listener = bound(SOCK_STREAM, name);
    check("listen", listen(listener, CLIENTS));
    int accepting = 0;
    socklen_t len = sizeof accepting;
    getsockopt(listener, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &len);
    printf("SO_ACCEPTCONN: %d\n", accepting);
    struct sockaddr_un addr;
    len = sizeof addr;
    getsockname(listener, (struct sockaddr *)&addr, &len);
    struct sockaddr_un want;
    socklen_t want_len = make_addr(&want, name);
    printf("getsockname is the bound name: %s\n",
           len == want_len && memcmp(&addr, &want, len) == 0 ? "yes" : "no");
    if (name[0] != '@' && node_checks) {
        struct stat st;
        check("stat", stat(want.sun_path, &st));
        printf("S_ISSOCK: %s, mode %o\n", S_ISSOCK(st.st_mode) ? "yes" : "no", st.st_mode & 0777);
        check("open the socket node", open(want.sun_path, O_RDONLY));
    }
    pid_t pids[CLIENTS];
    for (int i = 0; i < CLIENTS; i++) {
        pids[i] = spawn();
        if (pids[i] == 0) {
            close(listener);
            client(name, i);
        }
    }
    for (int i = 0; i < CLIENTS; i++) {
        struct sockaddr_un peer;
        socklen_t peer_len = sizeof peer;
        int conn = accept(listener, (struct sockaddr *)&peer, &peer_len);
        if (conn < 0) {
            printf("accept: %s\n", err_name(errno));
            break;
        }
        if (i == 0)
            printf("accepted peer: unnamed, len %u\n", peer_len);
        char buf[64];
        int got = 0;
        ssize_t r;
        while ((r = read(conn, buf + got, sizeof buf - got)) > 0)
            got += r;
        for (int k = 0; k < got; k++)
            if (buf[k] >= 'a' && buf[k] <= 'z')
                buf[k] -= 32;
        if (write(conn, buf, got) != got)
            printf("write back: %s\n", err_name(errno));
        close(conn);
    }
    for (int i = 0; i < CLIENTS; i++) {
        char what[32];
        snprintf(what, sizeof what, "client %d", i);
        reap(what, pids[i]);
    }
    /* A second socket may not take the name; a datagram socket may not
     * connect to a stream listener. */
    int other = socket(AF_UNIX, SOCK_STREAM, 0);
    socklen_t alen = make_addr(&addr, name);
    check("bind a taken name", bind(other, (struct sockaddr *)&addr, alen));
    close(other);
    check("datagram connect to a stream name", connect_to(SOCK_DGRAM, name));
    close(listener);
    check("connect after the listener closed", connect_to(SOCK_STREAM, name));
    if (name[0] != '@') {
        struct stat st;
        if (node_checks)
            check("the node stays", stat(want.sun_path, &st));
        check("unlink", unlink(want.sun_path));
        check("connect after unlink", connect_to(SOCK_STREAM, name));
        check("rebind after unlink", (other = try_bound(SOCK_STREAM, name)) >= 0 ? 0 : -1);
        close(other);
        unlink(want.sun_path);
    } else {
        /* Abstract names are per socket type. */
        int dgram = try_bound(SOCK_DGRAM, name);
        check("a datagram socket binds the same abstract name", dgram >= 0 ? 0 : -1);
        close(dgram);
        check("rebind once closed", (other = try_bound(SOCK_STREAM, name)) >= 0 ? 0 : -1);
        close(other);
    }
}

static void errors(void) {
    printf("-- errors\n");
    check("connect to a missing path", connect_to(SOCK_STREAM, "missing"));
    int fd = bound(SOCK_STREAM, "notlistening");
    check("connect to a bound, not listening socket", connect_to(SOCK_STREAM, "notlistening"));
    check("listen unbound", listen(socket(AF_UNIX, SOCK_STREAM, 0), 1));
    struct sockaddr_un addr;
    socklen_t len = make_addr(&addr, "second");
    check("bind twice", bind(fd, (struct sockaddr *)&addr, len));
    close(fd);
    make_addr(&addr, "notlistening");
    unlink(addr.sun_path);
    char file[80];
    snprintf(file, sizeof file, "%s/plainfile", dir);
    close(open(file, O_CREAT | O_WRONLY, 0644));
    check("connect to a plain file", connect_to(SOCK_STREAM, "plainfile"));
    check("bind over a plain file", try_bound(SOCK_STREAM, "plainfile") >= 0 ? 0 : -1);
    unlink(file);
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_in in = {0};
    in.sin_family = AF_INET;
    check("connect with AF_INET address", connect(fd, (struct sockaddr *)&in, sizeof in));
    check("send unconnected", send(fd, "x", 1, MSG_NOSIGNAL));
    char c;
    check("recv unconnected", recv(fd, &c, 1, MSG_DONTWAIT));
    check("getpeername unconnected", getpeername(fd, (struct sockaddr *)&addr, &len));
    check("accept not listening", accept(fd, NULL, NULL));
    check("shutdown unconnected", shutdown(fd, SHUT_RDWR));
    close(fd);
    /* Autobind: bind with the family alone gives an abstract name. */
    fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    addr.sun_family = AF_UNIX;
    check("autobind", bind(fd, (struct sockaddr *)&addr, sizeof(sa_family_t)));
    len = sizeof addr;
    getsockname(fd, (struct sockaddr *)&addr, &len);
    printf("autobind name: abstract %s, len %u\n", addr.sun_path[0] == 0 ? "yes" : "no", len);
    close(fd);
}

static void datagrams(void) {
    printf("-- datagrams\n");
    int a = bound(SOCK_DGRAM, "dgram-a");
    int b = bound(SOCK_DGRAM, "@dgram-b");
    struct sockaddr_un to, from;
    socklen_t to_len = make_addr(&to, "@dgram-b");
    check("sendto b", sendto(a, "to b", 4, 0, (struct sockaddr *)&to, to_len));
    char buf[32] = {0};
    socklen_t from_len = sizeof from;
    check("recvfrom", recvfrom(b, buf, sizeof buf, 0, (struct sockaddr *)&from, &from_len));
    struct sockaddr_un want;
    socklen_t want_len = make_addr(&want, "dgram-a");
    printf("from a: %s, data %s\n",
           from_len == want_len && strcmp(from.sun_path, want.sun_path) == 0 ? "yes" : "no", buf);
    /* An unbound sender is unnamed: the address is empty. */
    int anon = socket(AF_UNIX, SOCK_DGRAM, 0);
    check("sendto from unbound", sendto(anon, "anon", 4, 0, (struct sockaddr *)&to, to_len));
    from_len = sizeof from;
    check("recvfrom unnamed", recvfrom(b, buf, sizeof buf, 0, (struct sockaddr *)&from, &from_len));
    printf("unnamed sender: addrlen %u\n", from_len);
    check("send unconnected", send(anon, "x", 1, 0));
    check("sendto a missing path", sendto(anon, "x", 1, 0, (struct sockaddr *)&want, 
                                         make_addr(&want, "nobody")));
    /* Connected: send without an address; the peer's answer comes back. */
    socklen_t a_len = make_addr(&want, "dgram-a");
    check("connect to a", connect(anon, (struct sockaddr *)&want, a_len));
    check("send to a", send(anon, "hello a", 7, 0));
    memset(buf, 0, sizeof buf);
    check("a receives", recv(a, buf, sizeof buf, 0));
    printf("a got: %s\n", buf);
    socklen_t plen = sizeof from;
    check("getpeername", getpeername(anon, (struct sockaddr *)&from, &plen));
    printf("peer is a: %s\n", strcmp(from.sun_path, want.sun_path) == 0 ? "yes" : "no");
    check("stream connect to a datagram name", connect_to(SOCK_STREAM, "dgram-a"));
    /* Across fork: the child sends 10, the parent counts them. */
    pid_t pid = spawn();
    if (pid == 0) {
        for (int i = 0; i < 10; i++)
            if (send(anon, "tick", 4, 0) != 4)
                _exit(1);
        _exit(0);
    }
    int count = 0;
    for (int i = 0; i < 10; i++)
        if (recv(a, buf, sizeof buf, 0) == 4)
            count++;
    printf("ticks: %d\n", count);
    reap("datagram sender", pid);
    close(a);
    check("send to a closed peer", send(anon, "x", 1, 0));
    check("send after that", send(anon, "x", 1, 0));
    close(anon);
    close(b);
    make_addr(&want, "dgram-a");
    unlink(want.sun_path);
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    main_pid = (int)getpid();
    if (argc > 1 && strcmp(argv[1], "cwd") == 0) {
        node_checks = 0;
        snprintf(dir, sizeof dir, "netunix-%d", main_pid);
    } else {
        snprintf(dir, sizeof dir, "/tmp/netunix-%d", main_pid);
    }
    if (mkdir(dir, 0755) != 0) {
        printf("mkdir: %s\n", err_name(errno));
        return 1;
    }
    server("listener");
    server("@listener");
    errors();
    datagrams();
    rmdir(dir);
    return 0;
}
