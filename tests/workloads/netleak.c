/* Sockets opened, used and closed in a loop must not leak: MemFree (guest
 * frames: the sockets' buffers) and Slab (lamina's kernel heap: the
 * socket objects, names and ports) in /proc/meminfo after the cycles are
 * what they were after a few warm-up cycles. Each cycle leaves bytes
 * unread in both directions of a socketpair, a TCP connection (with a
 * full buffer) and an AF_UNIX connection on a path, queues UDP and
 * AF_UNIX datagrams nobody reads, and leaves a connection in a
 * listener's backlog. Prints the numbers; exits 1 on a leak, 2 if a
 * cycle went wrong. For inside lamina only: on Linux these move with
 * everything else the machine does. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define WARM_UP_CYCLES 5
#define CYCLES 200

/* Read with one read(2) into a static buffer: no allocation of ours may
 * move the numbers between two readings. */
static long meminfo_kib(const char *field) {
    static char text[4096];
    int fd = open("/proc/meminfo", O_RDONLY);
    if (fd < 0)
        exit(2);
    ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    if (n <= 0)
        exit(2);
    text[n] = 0;
    char *at = strstr(text, field);
    if (at == NULL) {
        printf("no %s in /proc/meminfo\n", field);
        exit(2);
    }
    return strtol(at + strlen(field), NULL, 10);
}

static void fail(const char *what) {
    printf("cycle failed: %s: %d\n", what, errno);
    exit(2);
}

static void cycle(void) {
    static char chunk[65536];
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        fail("socketpair");
    send(sv[0], chunk, 10000, 0);
    send(sv[1], chunk, 5000, 0);
    close(sv[0]);
    close(sv[1]);
    if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) != 0)
        fail("socketpair dgram");
    for (int i = 0; i < 5; i++)
        send(sv[0], chunk, 100, 0);
    close(sv[1]);
    close(sv[0]);

    /* TCP: a full buffer one way, some bytes the other, one connection
     * never accepted. */
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(listener, (struct sockaddr *)&a, sizeof a) != 0 || listen(listener, 4) != 0)
        fail("listen");
    socklen_t len = sizeof a;
    getsockname(listener, (struct sockaddr *)&a, &len);
    int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (connect(c, (struct sockaddr *)&a, sizeof a) != 0 && errno != EINPROGRESS)
        fail("connect");
    int s = accept(listener, NULL, NULL);
    if (s < 0)
        fail("accept");
    while (send(c, chunk, sizeof chunk, 0) > 0)
        ;
    send(s, chunk, 3000, 0);
    int pending = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(pending, (struct sockaddr *)&a, sizeof a) != 0)
        fail("connect pending");
    close(s);
    close(c);
    close(listener);
    close(pending);

    /* UDP datagrams nobody reads. */
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    a.sin_port = 0;
    bind(u, (struct sockaddr *)&a, sizeof a);
    len = sizeof a;
    getsockname(u, (struct sockaddr *)&a, &len);
    int v = socket(AF_INET, SOCK_DGRAM, 0);
    for (int i = 0; i < 10; i++)
        sendto(v, chunk, 1000, 0, (struct sockaddr *)&a, sizeof a);
    close(u);
    close(v);

    /* AF_UNIX on a path: a connection with bytes unread, datagrams. */
    struct sockaddr_un p = {0};
    p.sun_family = AF_UNIX;
    strcpy(p.sun_path, "/tmp/netleak.sock");
    int ul = socket(AF_UNIX, SOCK_STREAM, 0);
    if (bind(ul, (struct sockaddr *)&p, sizeof p) != 0 || listen(ul, 2) != 0)
        fail("unix listen");
    int uc = socket(AF_UNIX, SOCK_STREAM, 0);
    if (connect(uc, (struct sockaddr *)&p, sizeof p) != 0)
        fail("unix connect");
    send(uc, chunk, 7000, 0);
    int us = accept(ul, NULL, NULL);
    close(us);
    close(uc);
    close(ul);
    unlink(p.sun_path);
    int ud = socket(AF_UNIX, SOCK_DGRAM, 0);
    p.sun_path[0] = 0;
    memcpy(p.sun_path + 1, "netleak", 7);
    if (bind(ud, (struct sockaddr *)&p, sizeof(sa_family_t) + 8) != 0)
        fail("abstract bind");
    int sender = socket(AF_UNIX, SOCK_DGRAM, 0);
    for (int i = 0; i < 4; i++)
        sendto(sender, chunk, 500, 0, (struct sockaddr *)&p, sizeof(sa_family_t) + 8);
    close(ud);
    close(sender);
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    /* The first reading faults in its own buffer. */
    meminfo_kib("MemFree:");
    for (int i = 0; i < WARM_UP_CYCLES; i++)
        cycle();
    long free_before = meminfo_kib("MemFree:"), slab_before = meminfo_kib("Slab:");
    for (int i = 0; i < CYCLES; i++)
        cycle();
    long free_after = meminfo_kib("MemFree:"), slab_after = meminfo_kib("Slab:");
    printf("MemFree after %d warm-up cycles: %ld kB; after %d more: %ld kB\n", WARM_UP_CYCLES,
           free_before, CYCLES, free_after);
    printf("Slab after %d warm-up cycles: %ld kB; after %d more: %ld kB\n", WARM_UP_CYCLES,
           slab_before, CYCLES, slab_after);
    if (free_after < free_before || slab_after > slab_before) {
        printf("leak\n");
        return 1;
    }
    printf("no leak\n");
    return 0;
}
