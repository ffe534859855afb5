/* A real database workload: SQLite (statically linked) creates a database
 * at argv[1], fills a table in a transaction, updates and queries it, and
 * prints what it finds. The host's sqlite3 then opens the same file. */
#include <sqlite3.h>
#include <stdio.h>

static int print_row(void *unused, int columns, char **values, char **names) {
    (void)unused;
    (void)names;
    for (int i = 0; i < columns; i++)
        printf("%s%s", i ? "|" : "", values[i] ? values[i] : "NULL");
    printf("\n");
    return 0;
}

static int run(sqlite3 *db, const char *sql) {
    char *error = NULL;
    if (sqlite3_exec(db, sql, print_row, NULL, &error) != SQLITE_OK) {
        fprintf(stderr, "sqlite: %s: %s\n", sql, error);
        sqlite3_free(error);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: sqlite DB\n");
        return 2;
    }
    sqlite3 *db;
    if (sqlite3_open(argv[1], &db) != SQLITE_OK) {
        fprintf(stderr, "sqlite: cannot open %s: %s\n", argv[1], sqlite3_errmsg(db));
        return 1;
    }
    int failed = run(db, "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, v INTEGER)")
        || run(db, "BEGIN")
        || run(db, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000) "
                   "INSERT INTO t (name, v) SELECT 'row-' || i, i * 7 % 1000 FROM n")
        || run(db, "COMMIT")
        || run(db, "UPDATE t SET v = v + 1 WHERE id % 3 = 0")
        || run(db, "DELETE FROM t WHERE id % 10 = 0")
        || run(db, "CREATE INDEX t_v ON t (v)")
        || run(db, "SELECT count(*), sum(v), min(name), max(name) FROM t")
        || run(db, "PRAGMA integrity_check");
    sqlite3_close(db);
    return failed;
}
