/* System V IPC as Linux gives it: a shared memory segment and a
 * semaphore set carrying a fork-based producer/consumer ring; segment
 * lifetime (IPC_RMID with attachments, nattch across fork and shmdt,
 * SHM_RDONLY); semctl's commands, IPC_NOWAIT, SEM_UNDO at exit, EIDRM to
 * a blocked waiter; message queues by type, MSG_NOERROR, E2BIG, ENOMSG,
 * a receiver blocked until a send; and the errno cases. Output never
 * depends on ids or keys that differ between runs. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SLOTS 8
#define ITEMS 500

/* glibc wants the caller to define it (svipc(7)). */
union semun {
    int val;
    struct semid_ds *buf;
    unsigned short *array;
};

struct ring {
    int head, tail;
    long items[SLOTS];
};

enum { EMPTY, FULL, MUTEX };

static void sem_change(int set, int num, int delta) {
    struct sembuf op = {.sem_num = num, .sem_op = delta, .sem_flg = 0};
    while (semop(set, &op, 1) != 0 && errno == EINTR) {
    }
}

static int child_status(void) {
    int status;
    if (wait(&status) < 0)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void report(const char *what, long result) {
    if (result < 0)
        printf("%s: -1 %s\n", what, strerror(errno));
    else
        printf("%s: ok\n", what);
}

static void shared_memory(void) {
    int shm = shmget(IPC_PRIVATE, sizeof(struct ring), IPC_CREAT | 0600);
    int set = semget(IPC_PRIVATE, 3, IPC_CREAT | 0600);
    report("shmget", shm);
    report("semget", set);
    unsigned short init[3] = {SLOTS, 0, 1};
    union semun arg = {.array = init};
    report("SETALL", semctl(set, 0, SETALL, arg));
    struct ring *ring = shmat(shm, NULL, 0);
    report("shmat", ring == (void *)-1 ? -1 : 0);
    printf("fresh segment reads zero: %d %d\n", ring->head, ring->items[SLOTS - 1] == 0);
    struct shmid_ds ds;
    shmctl(shm, IPC_STAT, &ds);
    printf("segsz %zu nattch %lu mode %o\n", ds.shm_segsz, (unsigned long)ds.shm_nattch,
           ds.shm_perm.mode & 0777);

    fflush(stdout);
    pid_t producer = fork();
    if (producer == 0) {
        for (long i = 1; i <= ITEMS; i++) {
            sem_change(set, EMPTY, -1);
            sem_change(set, MUTEX, -1);
            ring->items[ring->head] = i;
            ring->head = (ring->head + 1) % SLOTS;
            sem_change(set, MUTEX, 1);
            sem_change(set, FULL, 1);
        }
        _exit(0);
    }
    shmctl(shm, IPC_STAT, &ds);
    printf("nattch with the producer: %lu\n", (unsigned long)ds.shm_nattch);
    long sum = 0, in_order = 1;
    for (long i = 1; i <= ITEMS; i++) {
        sem_change(set, FULL, -1);
        sem_change(set, MUTEX, -1);
        long item = ring->items[ring->tail];
        ring->tail = (ring->tail + 1) % SLOTS;
        sem_change(set, MUTEX, 1);
        sem_change(set, EMPTY, 1);
        in_order &= item == i;
        sum += item;
    }
    printf("producer: %d; consumed %ld in order %ld\n", child_status(), sum, in_order);
    printf("GETVAL empty %d full %d\n", semctl(set, EMPTY, GETVAL), semctl(set, FULL, GETVAL));
    printf("GETPID is the last changer: %d\n", semctl(set, EMPTY, GETPID) == getpid());
    shmctl(shm, IPC_STAT, &ds);
    printf("nattch after the producer exited: %lu\n", (unsigned long)ds.shm_nattch);

    /* Removed while attached: it lives until the last detach. */
    report("IPC_RMID attached", shmctl(shm, IPC_RMID, NULL));
    ring->head = 7;
    printf("still mapped: %d\n", ring->head);
    report("IPC_STAT after RMID", shmctl(shm, IPC_STAT, &ds));
    printf("SHM_DEST set: %d\n", (ds.shm_perm.mode & 01000) != 0);
    report("shmdt", shmdt(ring));
    report("IPC_STAT after last detach", shmctl(shm, IPC_STAT, &ds));
    report("shmdt again", shmdt(ring));

    /* A read-only attachment faults on a store. */
    int ro = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
    char *rw = shmat(ro, NULL, 0);
    strcpy(rw, "seen read-only");
    char *view = shmat(ro, NULL, SHM_RDONLY);
    printf("read-only view: %s\n", view);
    report("mprotect SHM_RDONLY writable", mprotect(view, 4096, PROT_READ | PROT_WRITE));
    fflush(stdout);
    if (fork() == 0) {
        view[0] = 'X';
        _exit(0);
    }
    printf("store to SHM_RDONLY: status %d\n", child_status());
    shmdt(view);
    shmdt(rw);
    shmctl(ro, IPC_RMID, NULL);
    semctl(set, 0, IPC_RMID);
}

static void shm_errors(void) {
    key_t key = ftok("/", getpid() & 0xff);
    int id = shmget(key, 8192, IPC_CREAT | IPC_EXCL | 0600);
    report("shmget key", id);
    report("shmget key IPC_EXCL again", shmget(key, 8192, IPC_CREAT | IPC_EXCL | 0600));
    printf("shmget key again finds it: %d\n", shmget(key, 4096, 0) == id);
    report("shmget larger than the segment", shmget(key, 16384, 0));
    report("shmget size 0", shmget(IPC_PRIVATE, 0, IPC_CREAT | 0600));
    shmctl(id, IPC_RMID, NULL);
    report("shmget missing key", shmget(key, 4096, 0));
    report("shmat bad id", (long)shmat(-1, NULL, 0) == -1 ? -1 : 0);
    report("shmat removed id", (long)shmat(id, NULL, 0) == -1 ? -1 : 0);
    report("shmctl bad cmd", shmctl(id, 9999, NULL));
    int other = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
    report("shmat unaligned", (long)shmat(other, (void *)0x10000123, 0) == -1 ? -1 : 0);
    void *rounded = shmat(other, (void *)0x10000123, SHM_RND);
    printf("SHM_RND rounds down: %d\n", rounded == (void *)0x10000000);
    shmdt(rounded);
    shmctl(other, IPC_RMID, NULL);
}

static void semaphores(void) {
    int set = semget(IPC_PRIVATE, 2, IPC_CREAT | 0600);
    report("SETVAL", semctl(set, 0, SETVAL, (union semun){.val = 1}));
    report("SETVAL out of range", semctl(set, 0, SETVAL, (union semun){.val = 40000}));
    report("GETVAL bad semnum", semctl(set, 5, GETVAL));
    struct sembuf take = {.sem_num = 0, .sem_op = -1, .sem_flg = IPC_NOWAIT};
    report("semop take", semop(set, &take, 1));
    report("semop IPC_NOWAIT on 0", semop(set, &take, 1));
    struct sembuf bad = {.sem_num = 9, .sem_op = 1};
    report("semop bad semnum", semop(set, &bad, 1));
    report("semop nsops 0", semop(set, &take, 0));
    struct timespec short_wait = {0, 50 * 1000 * 1000};
    struct sembuf wait_one = {.sem_num = 0, .sem_op = -1};
    report("semtimedop times out", semtimedop(set, &wait_one, 1, &short_wait));
    /* Two operations at once, all or nothing. */
    struct sembuf pair[2] = {{.sem_num = 1, .sem_op = 1}, {.sem_num = 0, .sem_op = -1, .sem_flg = IPC_NOWAIT}};
    report("semop pair blocked", semop(set, pair, 2));
    printf("nothing of the pair applied: %d\n", semctl(set, 1, GETVAL));

    /* SEM_UNDO: a child's adjustment is given back at its exit. */
    fflush(stdout);
    if (fork() == 0) {
        struct sembuf up = {.sem_num = 1, .sem_op = 5, .sem_flg = SEM_UNDO};
        semop(set, &up, 1);
        _exit(semctl(set, 1, GETVAL));
    }
    printf("child saw %d; after its exit %d\n", child_status(), semctl(set, 1, GETVAL));

    /* A waiter blocked in semop; GETNCNT sees it; a post wakes it. */
    fflush(stdout);
    pid_t waiter = fork();
    if (waiter == 0) {
        struct sembuf down = {.sem_num = 0, .sem_op = -1};
        _exit(semop(set, &down, 1) == 0 ? 7 : 1);
    }
    while (semctl(set, 0, GETNCNT) != 1)
        usleep(1000);
    printf("GETNCNT: %d\n", semctl(set, 0, GETNCNT));
    struct sembuf up = {.sem_num = 0, .sem_op = 1};
    semop(set, &up, 1);
    printf("woken waiter: %d\n", child_status());

    /* Removing the set fails a blocked waiter with EIDRM. */
    fflush(stdout);
    pid_t doomed = fork();
    if (doomed == 0) {
        struct sembuf down = {.sem_num = 0, .sem_op = -1};
        int r = semop(set, &down, 1);
        _exit(r == -1 && errno == EIDRM ? 9 : 1);
    }
    while (semctl(set, 0, GETNCNT) != 1)
        usleep(1000);
    semctl(set, 0, IPC_RMID);
    printf("waiter after IPC_RMID: %d\n", child_status());
    report("semop on a removed set", semop(set, &up, 1));
    struct semid_ds ds;
    int other = semget(IPC_PRIVATE, 3, IPC_CREAT | 0640);
    semctl(other, 0, IPC_STAT, (union semun){.buf = &ds});
    printf("sem IPC_STAT: nsems %lu mode %o\n", (unsigned long)ds.sem_nsems, ds.sem_perm.mode & 0777);
    report("semget nsems 0 private", semget(IPC_PRIVATE, 0, IPC_CREAT | 0600));
    semctl(other, 0, IPC_RMID);
}

struct message {
    long type;
    char text[64];
};

static void messages(void) {
    int q = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
    report("msgget", q);
    struct message m;
    const char *texts[] = {"one", "two", "three", "four"};
    long types[] = {3, 1, 2, 1};
    for (int i = 0; i < 4; i++) {
        m.type = types[i];
        strcpy(m.text, texts[i]);
        msgsnd(q, &m, strlen(m.text) + 1, 0);
    }
    struct msqid_ds ds;
    msgctl(q, IPC_STAT, &ds);
    printf("qnum %lu cbytes %lu qbytes %lu\n", (unsigned long)ds.msg_qnum,
           (unsigned long)ds.__msg_cbytes, (unsigned long)ds.msg_qbytes);
    ssize_t n = msgrcv(q, &m, sizeof m.text, 1, 0);
    printf("type 1: %zd %ld %s\n", n, m.type, m.text);
    n = msgrcv(q, &m, sizeof m.text, -2, 0);
    printf("lowest type <= 2: %zd %ld %s\n", n, m.type, m.text);
    n = msgrcv(q, &m, sizeof m.text, 1, MSG_EXCEPT);
    printf("not type 1: %zd %ld %s\n", n, m.type, m.text);
    report("E2BIG", msgrcv(q, &m, 2, 0, 0));
    n = msgrcv(q, &m, 2, 0, MSG_NOERROR);
    printf("MSG_NOERROR: %zd %ld %.2s\n", n, m.type, m.text);
    report("ENOMSG", msgrcv(q, &m, sizeof m.text, 0, IPC_NOWAIT));
    m.type = 0;
    report("msgsnd type 0", msgsnd(q, &m, 4, 0));
    m.type = 1;
    report("msgsnd too big", msgsnd(q, &m, 9000, 0));

    /* A receiver blocked until the parent sends. */
    fflush(stdout);
    if (fork() == 0) {
        struct message got;
        ssize_t r = msgrcv(q, &got, sizeof got.text, 5, 0);
        printf("child received %zd %s\n", r, got.text);
        fflush(stdout);
        _exit(0);
    }
    usleep(50 * 1000);
    m.type = 5;
    strcpy(m.text, "late");
    msgsnd(q, &m, 5, 0);
    child_status();

    /* A full queue: IPC_NOWAIT fails, a blocked sender waits for room. */
    struct msqid_ds set = ds;
    set.msg_qbytes = 128;
    report("IPC_SET qbytes", msgctl(q, IPC_SET, &set));
    static char big[128 + sizeof(long)];
    struct message *bm = (struct message *)big;
    bm->type = 1;
    report("fill", msgsnd(q, bm, 100, 0));
    report("full IPC_NOWAIT", msgsnd(q, bm, 100, IPC_NOWAIT));
    fflush(stdout);
    if (fork() == 0) {
        _exit(msgsnd(q, bm, 100, 0) == 0 ? 3 : 1);
    }
    usleep(50 * 1000);
    msgrcv(q, &m, sizeof m.text, 0, MSG_NOERROR);
    printf("blocked sender: %d\n", child_status());
    msgctl(q, IPC_STAT, &ds);
    printf("qnum %lu\n", (unsigned long)ds.msg_qnum);

    /* Removal wakes a blocked receiver with EIDRM (EINVAL if the child
     * only gets to msgrcv after the removal: nothing tells the parent
     * that it blocks; the semaphore case above checks EIDRM exactly). */
    msgrcv(q, &m, sizeof m.text, 0, MSG_NOERROR);
    fflush(stdout);
    if (fork() == 0) {
        int r = msgrcv(q, &m, sizeof m.text, 0, 0);
        _exit(r == -1 && (errno == EIDRM || errno == EINVAL) ? 4 : 1);
    }
    usleep(50 * 1000);
    msgctl(q, IPC_RMID, NULL);
    printf("receiver after IPC_RMID: %d\n", child_status());
    report("msgsnd removed", msgsnd(q, &m, 4, 0));
    report("msgget missing key", msgget(ftok("/", 0x7e), 0));
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    shared_memory();
    shm_errors();
    semaphores();
    messages();
    return 0;
}
