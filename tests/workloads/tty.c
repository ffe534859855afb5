/* The terminal with job control, run on a pty natively and in lamina (the
 * test harness opens the pty, sets its size to 30x100 and starts this
 * program as a session leader with the pty as its controlling terminal);
 * the two transcripts must be identical. One line per check: termios
 * settings stored and read back, the window size and SIGWINCH on a change,
 * the foreground process group (tcgetpgrp, tcsetpgrp, tcgetsid), SIGTTIN
 * for a background read (EIO when ignored), SIGTTOU for a background
 * tcsetattr and for a background write under TOSTOP (allowed when
 * ignored), TIOCSCTTY and TIOCNOTTY rules, errno cases. Echo is turned
 * off first, so that nothing the harness types shows. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

static const char *err_name(int e) {
    switch (e) {
    case 0: return "ok";
    case EINTR: return "EINTR";
    case EIO: return "EIO";
    case EINVAL: return "EINVAL";
    case ENOTTY: return "ENOTTY";
    case EPERM: return "EPERM";
    case ESRCH: return "ESRCH";
    case EBADF: return "EBADF";
    default: return "other";
    }
}

static void say(const char *line) {
    /* write(2): no stdio buffer to duplicate in a fork. */
    if (write(1, line, strlen(line)) < 0)
        _exit(90);
}

static void sayf(const char *fmt, long a, long b) {
    char line[200];
    snprintf(line, sizeof line, fmt, a, b);
    say(line);
}

static volatile sig_atomic_t winches;
static void on_winch(int sig) {
    (void)sig;
    winches++;
}

/* What happened to a child: "exit N", "signal N" or "stopped N" (then
 * killed). */
static void report_child(const char *what, pid_t pid) {
    int status;
    if (waitpid(pid, &status, WUNTRACED) != pid) {
        say("waitpid failed\n");
        return;
    }
    char line[200];
    if (WIFSTOPPED(status)) {
        snprintf(line, sizeof line, "%s: stopped by %s\n", what,
                 WSTOPSIG(status) == SIGTTIN ? "SIGTTIN"
                 : WSTOPSIG(status) == SIGTTOU ? "SIGTTOU" : "other");
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
    } else if (WIFEXITED(status)) {
        snprintf(line, sizeof line, "%s: exit %d\n", what, WEXITSTATUS(status));
    } else {
        snprintf(line, sizeof line, "%s: signal %d\n", what, WTERMSIG(status));
    }
    say(line);
}

/* A child in a process group of its own (the background) runs `body`;
 * its exit status is its result. */
static pid_t background(int (*body)(void)) {
    pid_t pid = fork();
    if (pid == 0) {
        setpgid(0, 0);
        _exit(body());
    }
    setpgid(pid, pid);
    return pid;
}

static int bg_read(void) {
    char c;
    ssize_t n = read(0, &c, 1);
    return n < 0 ? 100 + (errno == EIO) : 0;
}

static int bg_read_ignoring(void) {
    signal(SIGTTIN, SIG_IGN);
    return bg_read();
}

static int bg_tcsetattr(void) {
    struct termios t;
    tcgetattr(0, &t);
    return tcsetattr(0, TCSANOW, &t) == 0 ? 0 : 100 + (errno == EIO);
}

static int bg_tcsetattr_ignoring(void) {
    signal(SIGTTOU, SIG_IGN);
    return bg_tcsetattr();
}

static int bg_write(void) {
    return write(1, "bg write\n", 9) == 9 ? 0 : 100;
}

static int bg_tcgetpgrp(void) {
    /* Reading the foreground group is allowed from the background. */
    return tcgetpgrp(0) == getppid() ? 0 : 100;
}

int main(void) {
    struct termios saved, t;
    if (!isatty(0) || !isatty(1)) {
        say("not on a terminal\n");
        return 1;
    }
    if (tcgetattr(0, &saved) != 0) {
        say("tcgetattr failed\n");
        return 1;
    }
    /* The settings a fresh pty has (Linux's tty_std_termios). */
    sayf("icanon %ld echo %ld\n", !!(saved.c_lflag & ICANON), !!(saved.c_lflag & ECHO));
    sayf("isig %ld icrnl %ld\n", !!(saved.c_lflag & ISIG), !!(saved.c_iflag & ICRNL));
    sayf("opost %ld onlcr %ld\n", !!(saved.c_oflag & OPOST), !!(saved.c_oflag & ONLCR));
    sayf("vintr %ld veof %ld\n", saved.c_cc[VINTR], saved.c_cc[VEOF]);

    /* Settings are stored: echo off, read back. */
    t = saved;
    t.c_lflag &= ~(ECHO | ECHOE | ECHOK);
    t.c_cc[VMIN] = 1;
    int rc = tcsetattr(0, TCSAFLUSH, &t);
    struct termios back;
    tcgetattr(0, &back);
    sayf("tcsetattr %ld echo now %ld\n", rc, !!(back.c_lflag & ECHO));
    errno = 0;
    rc = tcsetattr(0, 99, &t);
    sayf("tcsetattr bad action %ld ", rc, 0), say(err_name(errno)), say("\n");

    /* The window size the harness set, then a change: SIGWINCH to the
     * foreground group (this process's). */
    struct winsize ws;
    rc = ioctl(0, TIOCGWINSZ, &ws);
    sayf("winsize %ld x %ld\n", ws.ws_row, ws.ws_col);
    signal(SIGWINCH, on_winch);
    ws.ws_row = 31;
    ws.ws_col = 101;
    ioctl(1, TIOCSWINSZ, &ws);
    ioctl(1, TIOCSWINSZ, &ws); /* the same size again: no signal */
    struct winsize now;
    ioctl(2, TIOCGWINSZ, &now);
    sayf("resized %ld x %ld", now.ws_row, now.ws_col);
    sayf(" winches %ld\n", winches, 0);

    /* The foreground group and the session. */
    sayf("leader %ld fg is own group %ld\n", getsid(0) == getpid(), tcgetpgrp(0) == getpgrp());
    sayf("tcgetsid is getsid %ld\n", tcgetsid(0) == getsid(0), 0);
    errno = 0;
    rc = tcsetpgrp(0, 0x3fffffff);
    say("tcsetpgrp nonexistent: "), say(err_name(errno)), say("\n");
    int neg = -5;
    errno = 0;
    rc = ioctl(0, TIOCSPGRP, &neg);
    say("TIOCSPGRP negative: "), say(err_name(errno)), say("\n");
    errno = 0;
    rc = ioctl(0, TIOCSCTTY, 0);
    sayf("TIOCSCTTY own %ld\n", rc, 0);
    int tty = open("/dev/tty", O_RDWR);
    sayf("/dev/tty opens %ld, a terminal %ld\n", tty >= 0, tty >= 0 && isatty(tty));
    if (tty >= 0) {
        sayf("/dev/tty fg is own group %ld\n", tcgetpgrp(tty) == getpgrp(), 0);
        close(tty);
    }
    errno = 0;
    rc = ioctl(-1, TIOCGPGRP, &neg);
    say("TIOCGPGRP bad fd: "), say(err_name(errno)), say("\n");

    /* Background process groups. */
    report_child("background read", background(bg_read));
    report_child("background read, SIGTTIN ignored", background(bg_read_ignoring));
    report_child("background tcsetattr", background(bg_tcsetattr));
    report_child("background tcsetattr, SIGTTOU ignored", background(bg_tcsetattr_ignoring));
    report_child("background tcgetpgrp", background(bg_tcgetpgrp));
    report_child("background write", background(bg_write));
    t.c_lflag |= TOSTOP;
    tcsetattr(0, TCSANOW, &t);
    report_child("background write, TOSTOP", background(bg_write));
    t.c_lflag &= ~TOSTOP;
    tcsetattr(0, TCSANOW, &t);

    /* A child made the foreground can change the settings; handing the
     * terminal back from the background needs SIGTTOU ignored, as a shell
     * does it. */
    pid_t pid = fork();
    if (pid == 0) {
        setpgid(0, 0);
        /* Wait until the parent made this group the foreground. */
        for (int i = 0; i < 1000 && tcgetpgrp(0) != getpgrp(); i++)
            usleep(1000);
        _exit(tcsetattr(0, TCSANOW, &t) == 0 ? 0 : 1);
    }
    setpgid(pid, pid);
    rc = tcsetpgrp(0, pid);
    sayf("tcsetpgrp child %ld\n", rc, 0);
    report_child("foreground tcsetattr", pid);
    signal(SIGTTOU, SIG_IGN);
    rc = tcsetpgrp(0, getpgrp());
    signal(SIGTTOU, SIG_DFL);
    sayf("tcsetpgrp back %ld fg is own group %ld\n", rc, tcgetpgrp(0) == getpgrp());

    /* A new session has no controlling terminal, and cannot take this
     * one from its session without force. */
    pid = fork();
    if (pid == 0) {
        setsid();
        int code = 0;
        errno = 0;
        if (tcgetpgrp(0) != -1 || errno != ENOTTY)
            code |= 1;
        errno = 0;
        if (ioctl(0, TIOCSCTTY, 0) != -1 || errno != EPERM)
            code |= 2;
        errno = 0;
        if (ioctl(0, TIOCNOTTY) != -1 || errno != ENOTTY)
            code |= 4;
        /* Still a terminal, still readable settings. */
        if (tcgetattr(0, &back) != 0)
            code |= 8;
        errno = 0;
        if (open("/dev/tty", O_RDWR) != -1 || errno != ENXIO)
            code |= 16;
        _exit(code);
    }
    report_child("new session", pid);

    /* A member that is not the leader gives the terminal up for itself. */
    pid = fork();
    if (pid == 0) {
        int code = 0;
        if (ioctl(0, TIOCNOTTY) != 0)
            code |= 1;
        errno = 0;
        if (tcgetpgrp(0) != -1 || errno != ENOTTY)
            code |= 2;
        _exit(code);
    }
    report_child("TIOCNOTTY member", pid);
    sayf("still ours %ld\n", tcgetpgrp(0) == getpgrp(), 0);

    tcsetattr(0, TCSANOW, &saved);
    say("done\n");
    return 0;
}
