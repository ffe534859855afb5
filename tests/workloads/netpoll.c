/* An echo server on poll() and then on select(), serving several clients
 * at once, against Linux: run natively and in lamina, the two outputs must
 * be identical. The server's sockets are non-blocking; it keeps what a
 * client cannot take yet and stops reading that client until it can, so
 * flow control holds both ways. Clients (forked) are TCP over 127.0.0.1
 * and one AF_UNIX: most ping-pong 4 KiB pieces, one streams 1 MiB with a
 * poll() loop of its own; each checks what came back. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define PIECE 4096
#define PIECES 48
#define BULK_BYTES (1024 * 1024)
#define PINGERS 4
#define CLIENTS (PINGERS + 2)
#define PENDING_MAX (64 * 1024)

static int main_pid;

static const char *err_name(int e) {
    switch (e) {
    case 0: return "ok";
    case EAGAIN: return "EAGAIN";
    case ECONNRESET: return "ECONNRESET";
    case EPIPE: return "EPIPE";
    default: return "other";
    }
}

static unsigned char pattern(long i, int id) {
    return (unsigned char)(i * 7 + id * 13 + (i >> 9));
}

static void set_nonblocking(int fd) {
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static socklen_t unix_addr(struct sockaddr_un *a, int which) {
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    int n = snprintf(a->sun_path + 1, sizeof a->sun_path - 1, "netpoll-%d-%d", main_pid, which);
    return sizeof(sa_family_t) + 1 + n;
}

static int connect_to(int unix_socket, uint16_t port, int which) {
    int fd;
    if (unix_socket) {
        struct sockaddr_un a;
        socklen_t len = unix_addr(&a, which);
        fd = socket(AF_UNIX, SOCK_STREAM, 0);
        if (connect(fd, (struct sockaddr *)&a, len) != 0)
            return -1;
    } else {
        struct sockaddr_in a = {0};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        fd = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0)
            return -1;
    }
    return fd;
}

/* Ping-pong: a piece out, the same piece back, PIECES times. */
static int pinger(int fd, int id) {
    static unsigned char out[PIECE], in[PIECE];
    for (int r = 0; r < PIECES; r++) {
        for (int i = 0; i < PIECE; i++)
            out[i] = pattern((long)r * PIECE + i, id);
        if (write(fd, out, PIECE) != PIECE)
            return 2;
        int got = 0;
        while (got < PIECE) {
            ssize_t n = read(fd, in + got, PIECE - got);
            if (n <= 0)
                return 3;
            got += n;
        }
        if (memcmp(in, out, PIECE) != 0)
            return 4;
    }
    return 0;
}

/* Streams BULK_BYTES out while reading the echo back, on poll(). */
static int streamer(int fd, int id) {
    set_nonblocking(fd);
    static unsigned char buf[16384];
    long sent = 0, received = 0;
    while (received < BULK_BYTES) {
        struct pollfd pfd = {fd, POLLIN | (sent < BULK_BYTES ? POLLOUT : 0), 0};
        if (poll(&pfd, 1, 10000) <= 0)
            return 5;
        if (pfd.revents & POLLOUT) {
            long n = BULK_BYTES - sent;
            if (n > (long)sizeof buf)
                n = sizeof buf;
            for (long i = 0; i < n; i++)
                buf[i] = pattern(sent + i, id);
            ssize_t w = write(fd, buf, n);
            if (w > 0)
                sent += w;
            else if (errno != EAGAIN)
                return 6;
            if (sent == BULK_BYTES)
                shutdown(fd, SHUT_WR);
        }
        if (pfd.revents & (POLLIN | POLLHUP)) {
            ssize_t r = read(fd, buf, sizeof buf);
            if (r == 0)
                return 7;
            if (r < 0 && errno != EAGAIN)
                return 8;
            for (ssize_t i = 0; i < r; i++)
                if (buf[i] != pattern(received + i, id))
                    return 9;
            if (r > 0)
                received += r;
        }
    }
    char c;
    set_nonblocking(fd);
    /* The server closes after our SHUT_WR: EOF follows. */
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    return read(fd, &c, 1) == 0 ? 0 : 10;
}

struct conn {
    int fd;
    unsigned char pending[PENDING_MAX];
    int len;
    int eof;
};

static struct conn conns[CLIENTS];
static int nconns;
static long echoed;

/* One step for a connection the loop found ready: flush, then read. */
static void serve(struct conn *c, int readable, int writable) {
    if (writable && c->len > 0) {
        ssize_t n = write(c->fd, c->pending, c->len);
        if (n > 0) {
            memmove(c->pending, c->pending + n, c->len - n);
            c->len -= n;
            echoed += n;
        } else if (errno != EAGAIN) {
            printf("server write: %s\n", err_name(errno));
            c->eof = 1;
            c->len = 0;
        }
    }
    if (readable && !c->eof && c->len < PENDING_MAX) {
        ssize_t n = read(c->fd, c->pending + c->len, PENDING_MAX - c->len);
        if (n == 0)
            c->eof = 1;
        else if (n > 0)
            c->len += n;
        else if (errno != EAGAIN) {
            printf("server read: %s\n", err_name(errno));
            c->eof = 1;
        }
    }
}

static void drop_finished(void) {
    for (int i = 0; i < nconns;) {
        if (conns[i].eof && conns[i].len == 0) {
            close(conns[i].fd);
            conns[i] = conns[--nconns];
        } else {
            i++;
        }
    }
}

static void accept_from(int listener) {
    int fd = accept(listener, NULL, NULL);
    if (fd < 0) {
        if (errno != EAGAIN)
            printf("accept: %s\n", err_name(errno));
        return;
    }
    set_nonblocking(fd);
    conns[nconns].fd = fd;
    conns[nconns].len = 0;
    conns[nconns].eof = 0;
    nconns++;
}

static void run(int use_select) {
    printf("-- echo server on %s\n", use_select ? "select" : "poll");
    int tcp = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(tcp, (struct sockaddr *)&a, sizeof a);
    listen(tcp, CLIENTS);
    socklen_t len = sizeof a;
    getsockname(tcp, (struct sockaddr *)&a, &len);
    uint16_t port = ntohs(a.sin_port);
    int local = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_un ua;
    len = unix_addr(&ua, use_select);
    bind(local, (struct sockaddr *)&ua, len);
    listen(local, CLIENTS);

    fflush(stdout);
    pid_t pids[CLIENTS];
    for (int id = 0; id < CLIENTS; id++) {
        pids[id] = fork();
        if (pids[id] == 0) {
            close(tcp);
            close(local);
            int unix_socket = id == PINGERS;
            int fd = connect_to(unix_socket, port, use_select);
            if (fd < 0)
                _exit(1);
            _exit(id == PINGERS + 1 ? streamer(fd, id) : pinger(fd, id));
        }
    }
    int accepted = 0, rounds = 0;
    echoed = 0;
    while (accepted < CLIENTS || nconns > 0) {
        rounds++;
        if (use_select) {
            fd_set r, w;
            FD_ZERO(&r);
            FD_ZERO(&w);
            int top = tcp > local ? tcp : local;
            FD_SET(tcp, &r);
            FD_SET(local, &r);
            for (int i = 0; i < nconns; i++) {
                if (!conns[i].eof && conns[i].len < PENDING_MAX)
                    FD_SET(conns[i].fd, &r);
                if (conns[i].len > 0)
                    FD_SET(conns[i].fd, &w);
                if (conns[i].fd > top)
                    top = conns[i].fd;
            }
            struct timeval tv = {10, 0};
            if (select(top + 1, &r, &w, NULL, &tv) <= 0) {
                printf("select: stalled\n");
                break;
            }
            if (FD_ISSET(tcp, &r)) {
                accept_from(tcp);
                accepted++;
            }
            if (FD_ISSET(local, &r)) {
                accept_from(local);
                accepted++;
            }
            for (int i = 0; i < nconns; i++)
                serve(&conns[i], FD_ISSET(conns[i].fd, &r), FD_ISSET(conns[i].fd, &w));
        } else {
            struct pollfd pfds[CLIENTS + 2];
            pfds[0] = (struct pollfd){tcp, POLLIN, 0};
            pfds[1] = (struct pollfd){local, POLLIN, 0};
            for (int i = 0; i < nconns; i++) {
                short events = 0;
                if (!conns[i].eof && conns[i].len < PENDING_MAX)
                    events |= POLLIN;
                if (conns[i].len > 0)
                    events |= POLLOUT;
                pfds[2 + i] = (struct pollfd){conns[i].fd, events, 0};
            }
            int n = nconns;
            if (poll(pfds, 2 + n, 10000) <= 0) {
                printf("poll: stalled\n");
                break;
            }
            if (pfds[0].revents & POLLIN) {
                accept_from(tcp);
                accepted++;
            }
            if (pfds[1].revents & POLLIN) {
                accept_from(local);
                accepted++;
            }
            for (int i = 0; i < n; i++)
                serve(&conns[i], pfds[2 + i].revents & (POLLIN | POLLHUP | POLLERR),
                      pfds[2 + i].revents & POLLOUT);
        }
        drop_finished();
    }
    printf("served %d clients, echoed %ld bytes, took more than one round: %s\n", accepted, echoed,
           rounds > CLIENTS ? "yes" : "no");
    for (int id = 0; id < CLIENTS; id++) {
        int status;
        waitpid(pids[id], &status, 0);
        printf("client %d (%s): exited %d\n", id,
               id == PINGERS ? "unix pinger" : id == PINGERS + 1 ? "tcp streamer" : "tcp pinger",
               WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    }
    close(tcp);
    close(local);
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    main_pid = getpid();
    run(0);
    run(1);
    return 0;
}
