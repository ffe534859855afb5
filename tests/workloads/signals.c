/* Signals with Linux semantics: run natively and in lamina, the two
 * outputs must be identical. Handlers record what they see in globals and
 * the main flow prints it, one line per check, so a difference names the
 * check: siginfo fields (SI_TKILL, SI_USER, SI_QUEUE), the mask while a
 * handler runs, SA_RESETHAND and SA_NODEFER, SIG_IGN, blocking, pending
 * and sigsuspend, queued real-time signals, delivery order, SA_RESTART
 * against EINTR on a pipe read (alarm and setitimer), nanosleep's EINTR,
 * SIGSEGV on an alternate stack left with siglongjmp, SIGCHLD's siginfo,
 * auto-reaping under SIG_IGN, sigtimedwait, signals between processes,
 * stop and continue, and the FPU state surviving handlers. */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *err_name(int e) {
    switch (e) {
    case 0: return "ok";
    case EINTR: return "EINTR";
    case EAGAIN: return "EAGAIN";
    case ECHILD: return "ECHILD";
    case EINVAL: return "EINVAL";
    case ESRCH: return "ESRCH";
    case ENOSYS: return "ENOSYS";
    default: return "other";
    }
}

static const char *code_name(int code) {
    switch (code) {
    case SI_USER: return "SI_USER";
    case SI_TKILL: return "SI_TKILL";
    case SI_QUEUE: return "SI_QUEUE";
    case SI_KERNEL: return "SI_KERNEL";
    default: return "other";
    }
}

static const char *signal_name(int sig) {
    switch (sig) {
    case SIGUSR1: return "SIGUSR1";
    case SIGUSR2: return "SIGUSR2";
    case SIGALRM: return "SIGALRM";
    case SIGCHLD: return "SIGCHLD";
    case SIGSEGV: return "SIGSEGV";
    case SIGTERM: return "SIGTERM";
    case SIGABRT: return "SIGABRT";
    case SIGSTOP: return "SIGSTOP";
    case SIGKILL: return "SIGKILL";
    default:
        if (sig == SIGRTMIN) return "SIGRTMIN";
        if (sig == SIGRTMIN + 1) return "SIGRTMIN+1";
        return "other";
    }
}

static void set_handler(int sig, void (*handler)(int, siginfo_t *, void *), int flags,
                        const sigset_t *mask) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO | flags;
    if (mask)
        sa.sa_mask = *mask;
    else
        sigemptyset(&sa.sa_mask);
    if (sigaction(sig, &sa, NULL) != 0) {
        printf("sigaction %s: %s\n", signal_name(sig), err_name(errno));
        exit(1);
    }
}

static void set_plain(int sig, void (*handler)(int)) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, NULL);
}

static sigset_t just(int sig) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    return set;
}

static const char *yes(int condition) {
    return condition ? "yes" : "no";
}

/* ---- siginfo, the handler's mask, SA_RESETHAND, SA_NODEFER ---------- */

static volatile sig_atomic_t seen_signo, seen_code, seen_count;
static volatile pid_t seen_pid;
static volatile int seen_value;
static volatile sig_atomic_t seen_self_blocked, seen_mask_blocked;

static void record(int sig, siginfo_t *info, void *context) {
    (void)context;
    sigset_t now;
    sigprocmask(SIG_BLOCK, NULL, &now);
    seen_signo = info->si_signo;
    seen_code = info->si_code;
    seen_pid = info->si_pid;
    seen_value = info->si_code == SI_QUEUE ? info->si_value.sival_int : -1;
    seen_self_blocked = sigismember(&now, sig);
    seen_mask_blocked = sigismember(&now, SIGUSR2);
    seen_count++;
}

static void print_seen(const char *what) {
    printf("%s: signo %s, code %s, pid is ours %s, value %d, count %d\n", what,
           signal_name(seen_signo), code_name(seen_code), yes(seen_pid == getpid()), seen_value,
           (int)seen_count);
    seen_count = 0;
}

static void siginfo_checks(void) {
    sigset_t usr2 = just(SIGUSR2);
    set_handler(SIGUSR1, record, 0, &usr2);
    raise(SIGUSR1);
    print_seen("raise");
    printf("in the handler: own signal blocked %s, sa_mask blocked %s\n", yes(seen_self_blocked),
           yes(seen_mask_blocked));
    kill(getpid(), SIGUSR1);
    print_seen("kill");
    union sigval value = {.sival_int = 42};
    sigqueue(getpid(), SIGUSR1, value);
    print_seen("sigqueue");
    sigset_t now;
    sigprocmask(SIG_BLOCK, NULL, &now);
    printf("after the handler: SIGUSR1 blocked %s\n", yes(sigismember(&now, SIGUSR1)));

    set_handler(SIGUSR1, record, SA_RESETHAND | SA_NODEFER, NULL);
    raise(SIGUSR1);
    printf("SA_RESETHAND|SA_NODEFER: ran %d, own signal blocked inside %s\n", (int)seen_count,
           yes(seen_self_blocked));
    seen_count = 0;
    struct sigaction after;
    sigaction(SIGUSR1, NULL, &after);
    printf("disposition after one delivery is SIG_DFL: %s\n", yes(after.sa_handler == SIG_DFL));

    set_plain(SIGUSR2, SIG_IGN);
    printf("raise of an ignored signal returns %d\n", raise(SIGUSR2));
    set_plain(SIGUSR2, SIG_DFL);
}

/* ---- blocking, pending, sigsuspend, queueing, order ----------------- */

static volatile sig_atomic_t order[8];
static volatile sig_atomic_t order_len;
static volatile int values[8];

static void note_order(int sig, siginfo_t *info, void *context) {
    (void)context;
    if (order_len < 8) {
        values[order_len] = info->si_code == SI_QUEUE ? info->si_value.sival_int : 0;
        order[order_len++] = sig;
    }
}

static void print_order(const char *what) {
    printf("%s:", what);
    for (int i = 0; i < order_len; i++)
        printf(" %s(%d)", signal_name(order[i]), values[i]);
    printf("\n");
    order_len = 0;
}

static void blocking_checks(void) {
    sigset_t usr1 = just(SIGUSR1), old, pending;
    set_handler(SIGUSR1, note_order, 0, NULL);
    sigprocmask(SIG_BLOCK, &usr1, &old);
    raise(SIGUSR1);
    raise(SIGUSR1);
    raise(SIGUSR1);
    sigpending(&pending);
    printf("blocked: ran %d times, pending %s\n", (int)order_len,
           yes(sigismember(&pending, SIGUSR1)));
    sigset_t wait_mask;
    sigemptyset(&wait_mask);
    int r = sigsuspend(&wait_mask);
    int e = errno;
    sigset_t now;
    sigprocmask(SIG_BLOCK, NULL, &now);
    printf("sigsuspend: %d %s, standard signal ran %d time(s), blocked again after %s\n", r,
           err_name(e), (int)order_len, yes(sigismember(&now, SIGUSR1)));
    order_len = 0;
    sigpending(&pending);
    printf("pending after sigsuspend %s\n", yes(sigismember(&pending, SIGUSR1)));

    /* Real-time signals queue, each with its value. */
    sigset_t rt = just(SIGRTMIN);
    set_handler(SIGRTMIN, note_order, 0, NULL);
    sigprocmask(SIG_BLOCK, &rt, NULL);
    for (int i = 1; i <= 3; i++)
        sigqueue(getpid(), SIGRTMIN, (union sigval){.sival_int = i});
    sigprocmask(SIG_UNBLOCK, &rt, NULL);
    print_order("queued real-time signals");

    /* Unblocked together, lower numbers first; each handler blocks all. */
    sigset_t all, three;
    sigfillset(&all);
    sigemptyset(&three);
    sigaddset(&three, SIGUSR1);
    sigaddset(&three, SIGUSR2);
    sigaddset(&three, SIGRTMIN + 1);
    set_handler(SIGUSR1, note_order, 0, &all);
    set_handler(SIGUSR2, note_order, 0, &all);
    set_handler(SIGRTMIN + 1, note_order, 0, &all);
    sigprocmask(SIG_BLOCK, &three, NULL);
    raise(SIGRTMIN + 1);
    raise(SIGUSR2);
    raise(SIGUSR1);
    sigprocmask(SIG_SETMASK, &old, NULL);
    print_order("delivery order");
    set_plain(SIGUSR1, SIG_DFL);
    set_plain(SIGUSR2, SIG_DFL);
}

/* ---- SA_RESTART against EINTR ---------------------------------------- */

static int alarm_pipe[2];
static volatile sig_atomic_t alarms;

static void alarm_writes(int sig, siginfo_t *info, void *context) {
    (void)sig;
    (void)info;
    (void)context;
    alarms++;
    (void)!write(alarm_pipe[1], "a", 1);
}

static void arm_timer_ms(long ms) {
    struct itimerval timer = {.it_value = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000}};
    setitimer(ITIMER_REAL, &timer, NULL);
}

static void restart_checks(void) {
    if (pipe(alarm_pipe) != 0) {
        printf("pipe: %s\n", err_name(errno));
        exit(1);
    }
    char byte;
    set_handler(SIGALRM, alarm_writes, 0, NULL);
    alarm(1);
    ssize_t r = read(alarm_pipe[0], &byte, 1);
    printf("read without SA_RESTART: %ld %s\n", (long)r, err_name(r < 0 ? errno : 0));
    r = read(alarm_pipe[0], &byte, 1);
    printf("the handler's byte is then read: %ld\n", (long)r);

    set_handler(SIGALRM, alarm_writes, SA_RESTART, NULL);
    arm_timer_ms(100);
    r = read(alarm_pipe[0], &byte, 1);
    printf("read with SA_RESTART: %ld %s\n", (long)r, err_name(r < 0 ? errno : 0));

    /* nanosleep is never restarted: EINTR with the time left. */
    arm_timer_ms(100);
    struct timespec request = {.tv_sec = 5}, left = {0};
    int s = nanosleep(&request, &left);
    printf("nanosleep with SA_RESTART: %d %s, more than 3 s left %s\n", s,
           err_name(s < 0 ? errno : 0), yes(left.tv_sec >= 3));
    r = read(alarm_pipe[0], &byte, 1);
    printf("alarms %d\n", (int)alarms);
    set_plain(SIGALRM, SIG_DFL);
    close(alarm_pipe[0]);
    close(alarm_pipe[1]);
}

/* ---- SIGSEGV on an alternate stack ----------------------------------- */

#define ALT_STACK_BYTES (64 * 1024)

static char *alt_stack;
static sigjmp_buf segv_return;
static volatile uintptr_t fault_address;
static volatile sig_atomic_t fault_code, fault_on_alt_stack, fault_ss_onstack;

static void segv_handler(int sig, siginfo_t *info, void *context) {
    (void)sig;
    (void)context;
    char here;
    stack_t ss;
    sigaltstack(NULL, &ss);
    fault_address = (uintptr_t)info->si_addr;
    fault_code = info->si_code;
    fault_on_alt_stack = &here >= alt_stack && &here < alt_stack + ALT_STACK_BYTES;
    fault_ss_onstack = (ss.ss_flags & SS_ONSTACK) != 0;
    siglongjmp(segv_return, 1);
}

static void store_faulting(uintptr_t address, const char *what) {
    fault_address = 0;
    fault_code = 0;
    if (sigsetjmp(segv_return, 1) == 0) {
        *(volatile int *)address = 1;
        printf("%s: no fault\n", what);
        return;
    }
    stack_t ss;
    sigaltstack(NULL, &ss);
    printf("%s: si_addr exact %s, si_code %s, on the alternate stack %s (SS_ONSTACK %s), "
           "off it after siglongjmp %s\n",
           what, yes(fault_address == address),
           fault_code == SEGV_MAPERR   ? "SEGV_MAPERR"
           : fault_code == SEGV_ACCERR ? "SEGV_ACCERR"
                                       : "other",
           yes(fault_on_alt_stack), yes(fault_ss_onstack), yes(!(ss.ss_flags & SS_ONSTACK)));
}

static void altstack_checks(void) {
    alt_stack = malloc(ALT_STACK_BYTES);
    stack_t ss = {.ss_sp = alt_stack, .ss_size = ALT_STACK_BYTES, .ss_flags = 0};
    if (sigaltstack(&ss, NULL) != 0) {
        printf("sigaltstack: %s\n", err_name(errno));
        return;
    }
    set_handler(SIGSEGV, segv_handler, SA_ONSTACK, NULL);
    /* An address no program maps, kept from the compiler's sight. */
    volatile uintptr_t unmapped = 0x10;
    store_faulting(unmapped, "store to an unmapped address");
    char *read_only = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    store_faulting((uintptr_t)read_only + 8, "store to a read-only page");
    store_faulting(unmapped, "again, with SIGSEGV unblocked by siglongjmp");
    munmap(read_only, 4096);
    set_plain(SIGSEGV, SIG_DFL);
    ss.ss_flags = SS_DISABLE;
    sigaltstack(&ss, NULL);
}

/* ---- children: SIGCHLD, SIG_IGN, stop and continue ------------------- */

static volatile sig_atomic_t child_code, child_status, child_signals;
static volatile pid_t child_pid;

static void chld_handler(int sig, siginfo_t *info, void *context) {
    (void)sig;
    (void)context;
    child_code = info->si_code;
    child_status = info->si_status;
    child_pid = info->si_pid;
    child_signals++;
}

static const char *cld_name(int code) {
    switch (code) {
    case CLD_EXITED: return "CLD_EXITED";
    case CLD_KILLED: return "CLD_KILLED";
    case CLD_DUMPED: return "CLD_DUMPED";
    case CLD_STOPPED: return "CLD_STOPPED";
    case CLD_CONTINUED: return "CLD_CONTINUED";
    default: return "other";
    }
}

static const char *describe_status(int status) {
    static char text[64];
    if (WIFEXITED(status))
        snprintf(text, sizeof text, "exited %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(text, sizeof text, "killed by %s", signal_name(WTERMSIG(status)));
    else if (WIFSTOPPED(status))
        snprintf(text, sizeof text, "stopped by %s", signal_name(WSTOPSIG(status)));
    else if (WIFCONTINUED(status))
        snprintf(text, sizeof text, "continued");
    else
        snprintf(text, sizeof text, "status %#x", status);
    return text;
}

static pid_t spawn(void (*body)(void)) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        printf("fork: %s\n", err_name(errno));
        exit(1);
    }
    if (pid == 0) {
        body();
        _exit(0);
    }
    return pid;
}

static void exits_7(void) {
    _exit(7);
}

static void raises_term(void) {
    raise(SIGTERM);
    _exit(1);
}

static void child_checks(void) {
    sigset_t chld = just(SIGCHLD), old;
    set_handler(SIGCHLD, chld_handler, SA_NOCLDSTOP, NULL);
    sigprocmask(SIG_BLOCK, &chld, &old);
    void (*bodies[])(void) = {exits_7, raises_term};
    for (int i = 0; i < 2; i++) {
        child_signals = 0;
        pid_t pid = spawn(bodies[i]);
        sigset_t wait_mask = old;
        sigdelset(&wait_mask, SIGCHLD);
        while (!child_signals)
            sigsuspend(&wait_mask);
        int status;
        pid_t waited = waitpid(pid, &status, 0);
        printf("SIGCHLD: %s, si_status %d, si_pid is the child %s; waitpid %s: %s\n",
               cld_name(child_code), (int)child_status, yes(child_pid == pid), yes(waited == pid),
               describe_status(status));
    }
    sigprocmask(SIG_SETMASK, &old, NULL);

    /* Ignoring SIGCHLD: children are reaped by the kernel, and wait
     * waits for them all and then fails with ECHILD. */
    set_plain(SIGCHLD, SIG_IGN);
    spawn(exits_7);
    spawn(exits_7);
    int status;
    pid_t r = wait(&status);
    printf("wait with SIGCHLD ignored: %d %s\n", (int)r, err_name(r < 0 ? errno : 0));
    set_plain(SIGCHLD, SIG_DFL);
}

/* Stops, and once continued waits for the parent's word before exiting,
 * so the parent's WCONTINUED wait cannot race with the exit. */
static int go_pipe[2];

static void stops_itself(void) {
    close(go_pipe[1]);
    raise(SIGSTOP);
    char byte;
    (void)!read(go_pipe[0], &byte, 1);
    _exit(5);
}

static int ready_pipe[2];

static void waits_for_usr1(int sig) {
    (void)sig;
    _exit(11);
}

static void pauses(void) {
    set_plain(SIGUSR1, waits_for_usr1);
    close(ready_pipe[0]);
    (void)!write(ready_pipe[1], "r", 1);
    for (;;)
        pause();
}

static void sleeps_forever(void) {
    for (;;)
        pause();
}

static void between_processes(void) {
    int status;
    if (pipe(go_pipe) != 0)
        exit(1);
    pid_t pid = spawn(stops_itself);
    close(go_pipe[0]);
    pid_t r = waitpid(pid, &status, WUNTRACED);
    printf("waitpid WUNTRACED: %s %s\n", yes(r == pid), describe_status(status));
    kill(pid, SIGCONT);
    r = waitpid(pid, &status, WCONTINUED);
    printf("waitpid WCONTINUED: %s %s\n", yes(r == pid), describe_status(status));
    (void)!write(go_pipe[1], "g", 1);
    close(go_pipe[1]);
    r = waitpid(pid, &status, 0);
    printf("then: %s %s\n", yes(r == pid), describe_status(status));

    if (pipe(ready_pipe) != 0)
        exit(1);
    pid = spawn(pauses);
    close(ready_pipe[1]);
    char byte;
    ssize_t got = read(ready_pipe[0], &byte, 1);
    close(ready_pipe[0]);
    kill(pid, SIGUSR1);
    r = waitpid(pid, &status, 0);
    printf("SIGUSR1 to a child in pause (ready %ld): %s\n", (long)got, describe_status(status));

    pid = spawn(sleeps_forever);
    kill(pid, SIGKILL);
    r = waitpid(pid, &status, 0);
    printf("SIGKILL to a child: %s\n", describe_status(status));
    printf("kill of a reaped child: %s\n", err_name(kill(pid, 0) == 0 ? 0 : errno));
    printf("waitpid without children: %s\n",
           err_name(waitpid(-1, &status, WNOHANG) < 0 ? errno : 0));
}

/* ---- sigtimedwait ----------------------------------------------------- */

static void sends_usr2_to_parent(void) {
    kill(getppid(), SIGUSR2);
}

static void timedwait_checks(void) {
    sigset_t usr2 = just(SIGUSR2), old;
    sigprocmask(SIG_BLOCK, &usr2, &old);
    kill(getpid(), SIGUSR2);
    siginfo_t info;
    struct timespec second = {.tv_sec = 1};
    int sig = sigtimedwait(&usr2, &info, &second);
    printf("sigtimedwait: %s, code %s, pid is ours %s\n", signal_name(sig),
           code_name(info.si_code), yes(info.si_pid == getpid()));
    struct timespec short_wait = {.tv_nsec = 100 * 1000 * 1000};
    sig = sigtimedwait(&usr2, &info, &short_wait);
    printf("sigtimedwait with nothing pending: %d %s\n", sig, err_name(sig < 0 ? errno : 0));
    pid_t pid = spawn(sends_usr2_to_parent);
    struct timespec long_wait = {.tv_sec = 30};
    sig = sigtimedwait(&usr2, &info, &long_wait);
    printf("sigtimedwait for a child's kill: %s, code %s, pid is the child %s\n",
           signal_name(sig), code_name(info.si_code), yes(info.si_pid == pid));
    waitpid(pid, NULL, 0);
    sigprocmask(SIG_SETMASK, &old, NULL);
}

/* ---- FPU and SSE state across handlers -------------------------------- */

static volatile sig_atomic_t ticks;

static void clobbers_fpu(int sig) {
    (void)sig;
    volatile double x = 3.0;
    for (int i = 0; i < 50; i++)
        x = x * 1.0001 + 0.5;
    ticks++;
}

static double work(void) {
    double sum = 0;
    for (int i = 1; i <= 20000; i++)
        sum += 1.0 / ((double)i * (double)i);
    return sum;
}

static void fpu_checks(void) {
    set_plain(SIGALRM, clobbers_fpu);
    struct itimerval every_ms = {.it_interval = {.tv_usec = 1000}, .it_value = {.tv_usec = 1000}};
    setitimer(ITIMER_REAL, &every_ms, NULL);
    double first = work();
    int same = 1;
    while (ticks < 20)
        same &= work() == first;
    struct itimerval off = {0};
    setitimer(ITIMER_REAL, &off, NULL);
    set_plain(SIGALRM, SIG_DFL);
    printf("floating point unchanged by 20 handlers: %s (%.12f)\n", yes(same), first);
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    siginfo_checks();
    blocking_checks();
    restart_checks();
    altstack_checks();
    child_checks();
    between_processes();
    timedwait_checks();
    fpu_checks();
    printf("done\n");
    return 0;
}
