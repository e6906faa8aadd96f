/*
 * ruleset_read.c: reads a ruleset folder into memory once, safely.
 *
 * Everything a load needs (manifest.ini, the .clp files it lists, the
 * policy file, the case files) is read through one eng_reader, so that:
 *
 *  - the folder is opened once (a directory descriptor) and every file
 *    inside it is opened relative to that descriptor: a deployment that
 *    swaps a symlink to a new folder in the middle of a load cannot give
 *    us half of each version;
 *  - each file is opened with O_NONBLOCK | O_CLOEXEC and must be a regular
 *    file: a FIFO (whose open would wait for a writer for ever), a device
 *    or a directory is refused at once, and no descriptor leaks into a
 *    child;
 *  - each file is read exactly once (the bytes read are the bytes hashed,
 *    linted, loaded and served), and the reader counts the reads, which
 *    the servable-ruleset check reports;
 *  - a file that changed while it was read (its size, mtime or ctime
 *    differ between the fstat before and after the read) is refused, and
 *    once everything is read every file is looked up again by name: a file
 *    rewritten or replaced after we read it, while we were reading the
 *    others, refuses the load too (a torn ruleset: some files old, some
 *    new).  The error says to deploy atomically (rules/README.md).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine_internal.h"

/* Bytes asked for per read(2) call. */
#define READ_CHUNK 65536

static bool same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

static bool same_content(const struct stat *a, const struct stat *b)
{
    return a->st_size == b->st_size && a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
           a->st_mtim.tv_nsec == b->st_mtim.tv_nsec && a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
           a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

static const char *kind_of(mode_t m)
{
    if (S_ISDIR(m))
        return "a directory";
    if (S_ISFIFO(m))
        return "a FIFO";
    if (S_ISSOCK(m))
        return "a socket";
    if (S_ISCHR(m) || S_ISBLK(m))
        return "a device";
    return "not a regular file";
}

int eng_reader_open(struct eng_reader *r, const char *dir, const struct ruleset_source *src,
                    struct proto_error *err)
{
    memset(r, 0, sizeof *r);
    r->dirfd = -1;
    r->tests.fd = r->policies.fd = -1;
    r->dir = dir;
    if (src) {
        r->after_read = src->after_read;
        r->after_read_arg = src->after_read_arg;
    }
    r->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_NONBLOCK | O_CLOEXEC);
    if (r->dirfd < 0) {
        int e = errno;
        proto_error_set(err, PROTO_E_RULESET, "cannot read ruleset: %s: %s", dir, strerror(e));
        proto_error_add_detail(err, "%s: %s", dir, strerror(e));
        return PROTO_E_RULESET;
    }
    return 0;
}

void eng_reader_close(struct eng_reader *r)
{
    if (r->dirfd >= 0)
        close(r->dirfd);
    if (r->tests.fd >= 0)
        close(r->tests.fd);
    if (r->policies.fd >= 0)
        close(r->policies.fd);
    for (size_t i = 0; i < r->n; i++)
        free(r->seen[i].name);
    free(r->seen);
    memset(r, 0, sizeof *r);
    r->dirfd = r->tests.fd = r->policies.fd = -1;
}

static int remember(struct eng_reader *r, int at, const char *name, const struct stat *st)
{
    if (r->n == r->cap) {
        size_t nc = r->cap ? r->cap * 2 : 32;
        struct eng_read_seen *nv = realloc(r->seen, nc * sizeof *nv);
        if (!nv)
            return -1;
        r->seen = nv;
        r->cap = nc;
    }
    r->seen[r->n].at = at;
    r->seen[r->n].st = *st;
    r->seen[r->n].name = eng_strdup(name);
    if (!r->seen[r->n].name)
        return -1;
    r->n++;
    return 0;
}

/* Sets err for a file that cannot be used; `shown` is how messages name
 * it (relative to the ruleset folder, or the policy file's path). */
static int refuse(struct proto_error *err, const char *shown, const char *fmt, const char *what)
{
    char why[400];
    snprintf(why, sizeof why, fmt, what);
    proto_error_set(err, PROTO_E_RULESET, "%s: %s", shown, why);
    proto_error_add_detail(err, "%s:1: %s", shown, why);
    return PROTO_E_RULESET;
}

int eng_reader_read(struct eng_reader *r, int at, const char *name, const char *shown,
                    size_t max, char **text, size_t *len, struct proto_error *err)
{
    *text = NULL;
    *len = 0;
    if (at == ENG_AT_DIR)
        at = r->dirfd;
    else if (at == ENG_AT_TESTS)
        at = r->tests.fd;
    else if (at == ENG_AT_POLICIES)
        at = r->policies.fd;
    /* O_NONBLOCK: opening a FIFO would otherwise wait for a writer, for
     * ever; it has no effect on reading a regular file. */
    int fd = openat(at, name, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        int e = errno;
        proto_error_set(err, PROTO_E_RULESET, "cannot read %s: %s", shown, strerror(e));
        proto_error_add_detail(err, "%s:1: cannot open: %s", shown, strerror(e));
        return PROTO_E_RULESET;
    }
    struct stat before, after;
    if (fstat(fd, &before) < 0) {
        close(fd);
        return refuse(err, shown, "cannot stat: %s", strerror(errno));
    }
    if (!S_ISREG(before.st_mode)) {
        close(fd);
        return refuse(err, shown, "%s: only regular files are read", kind_of(before.st_mode));
    }
    if ((uintmax_t)before.st_size > max) {
        close(fd);
        char lim[64];
        snprintf(lim, sizeof lim, "%zu", max);
        return refuse(err, shown, "larger than %s bytes", lim);
    }
    /* Read exactly the size fstat gave, then one byte more: a file that
     * grew while we read it is a file that changed. */
    size_t size = (size_t)before.st_size, n = 0;
    char *buf = malloc(size + 1);
    if (!buf) {
        close(fd);
        return proto_error_set(err, PROTO_E_INTERNAL, "out of memory");
    }
    int rc = 0;
    bool grew = false;
    while (!rc) {
        char extra;
        size_t want = n < size ? size - n : 1;
        if (want > READ_CHUNK)
            want = READ_CHUNK;
        ssize_t got = read(fd, n < size ? buf + n : &extra, want);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            rc = refuse(err, shown, "read error: %s", strerror(errno));
        else if (got == 0)
            break;
        else if (n >= size)
            grew = true;
        else
            n += (size_t)got;
        if (grew)
            break;
    }
    if (!rc && r->after_read)
        r->after_read(r->after_read_arg, shown);
    if (!rc && fstat(fd, &after) < 0)
        rc = refuse(err, shown, "cannot stat: %s", strerror(errno));
    close(fd);
    if (!rc && (grew || n != size || !same_content(&before, &after)))
        rc = refuse(err, shown, "%s", "changed while it was read (deploy a ruleset atomically: "
                    "write a new folder, then rename a symlink to it; see rules/README.md)");
    if (!rc && memchr(buf, '\0', n))
        rc = refuse(err, shown, "%s", "contains a NUL byte");
    if (!rc && remember(r, at, name, &before) < 0)
        rc = proto_error_set(err, PROTO_E_INTERNAL, "out of memory");
    if (rc) {
        free(buf);
        return rc;
    }
    buf[n] = '\0';
    r->files_read++;
    *text = buf;
    *len = n;
    return 0;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names ending in `suffix` (not hidden) in the folder `name`, relative
 * to `at`, sorted, with the folder opened into fo.  A folder that does not
 * exist is none (and 0) when missing_ok. */
static int list_folder(struct eng_read_folder *fo, int at, const char *name, const char *what,
                       const char *suffix, bool missing_ok, size_t max_files, char ***names,
                       size_t *n, struct proto_error *err)
{
    *names = NULL;
    *n = 0;
    fo->shown = name;
    fo->fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NONBLOCK | O_CLOEXEC);
    if (fo->fd < 0) {
        if (errno == ENOENT && missing_ok)
            return 0;
        int e = errno;
        proto_error_set(err, PROTO_E_RULESET, "cannot read the %s %s: %s", what, name,
                        strerror(e));
        proto_error_add_detail(err, "%s: %s", name, strerror(e));
        return PROTO_E_RULESET;
    }
    fo->exists = true;
    if (fstat(fo->fd, &fo->st) < 0)
        return proto_error_set(err, PROTO_E_RULESET, "cannot stat the %s %s", what, name);
    /* readdir on a duplicate: closedir closes the descriptor it was given,
     * and the reader keeps its own for the files. */
    int dup_fd = fcntl(fo->fd, F_DUPFD_CLOEXEC, 0);
    DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
    if (!d) {
        if (dup_fd >= 0)
            close(dup_fd);
        return proto_error_set(err, PROTO_E_RULESET, "cannot list the %s %s", what, name);
    }
    int rc = 0;
    size_t cap = 0, sl = strlen(suffix);
    for (struct dirent *e; (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        if (e->d_name[0] == '.' || len <= sl || strcmp(e->d_name + len - sl, suffix) != 0)
            continue;
        if (*n >= max_files) {
            rc = proto_error_set(err, PROTO_E_RULESET, "%s: more than %zu %s files", name,
                                 max_files, suffix);
            break;
        }
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            char **nn = realloc(*names, cap * sizeof *nn);
            if (!nn) {
                rc = proto_error_set(err, PROTO_E_INTERNAL, "out of memory");
                break;
            }
            *names = nn;
        }
        if (!((*names)[*n] = eng_strdup(e->d_name))) {
            rc = proto_error_set(err, PROTO_E_INTERNAL, "out of memory");
            break;
        }
        (*n)++;
    }
    closedir(d);
    if (*n > 1)
        qsort(*names, *n, sizeof **names, name_cmp);
    return rc;
}

/* Reads the listed files of a folder (relative to `at`) into files. */
static int read_listed(struct eng_reader *r, int at, const char *folder, char **names, size_t k,
                       struct rs_file **files, size_t *n, struct proto_error *err)
{
    *files = NULL;
    *n = 0;
    int rc = 0;
    if (k && !(*files = calloc(k, sizeof **files)))
        rc = proto_error_set(err, PROTO_E_INTERNAL, "out of memory");
    for (size_t i = 0; !rc && i < k; i++) {
        /* messages name a file as the folder's name shows it */
        char shown[4200];
        if (strcmp(folder, "."))
            snprintf(shown, sizeof shown, "%s/%s", folder, names[i]);
        else
            snprintf(shown, sizeof shown, "%s", names[i]);
        struct rs_file *f = &(*files)[*n];
        rc = eng_reader_read(r, at, names[i], shown, ENG_MAX_FILE_BYTES, &f->text, &f->len, err);
        if (!rc) {
            f->name = names[i];
            names[i] = NULL;
            (*n)++;
        }
    }
    if (rc) {
        eng_files_free(*files, *n);
        *files = NULL;
        *n = 0;
    }
    return rc;
}

static void names_free(char **names, size_t k)
{
    for (size_t i = 0; i < k; i++)
        free(names[i]);
    free(names);
}

void eng_files_free(struct rs_file *f, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(f[i].name);
        free(f[i].text);
    }
    free(f);
}

int eng_reader_read_cases(struct eng_reader *r, const char *tests, size_t max_files,
                          struct rs_file **files, size_t *n, struct proto_error *err)
{
    *files = NULL;
    *n = 0;
    char **names = NULL;
    size_t k = 0;
    int rc = list_folder(&r->tests, r->dirfd, tests, "case folder", ".json", true, max_files,
                         &names, &k, err);
    r->has_tests = r->tests.exists;
    if (!rc)
        rc = read_listed(r, ENG_AT_TESTS, tests, names, k, files, n, err);
    names_free(names, k);
    return rc;
}

int eng_reader_read_policies(struct eng_reader *r, const char *dir, size_t max_files,
                             struct rs_file **files, size_t *n, struct proto_error *err)
{
    *files = NULL;
    *n = 0;
    char **names = NULL;
    size_t k = 0;
    int rc = list_folder(&r->policies, AT_FDCWD, dir, "policy folder", ".ini", false, max_files,
                         &names, &k, err);
    /* A bad name refuses the load before anything is read. */
    int bad = 0;
    for (size_t i = 0; !rc && i < k; i++) {
        size_t len = strlen(names[i]) - 4;
        if (!suit_policy_name_valid(names[i], len)) {
            proto_error_add_detail(err, "%s/%s:1: '%.*s' is not a policy name: use 1 to %d "
                                   "lowercase letters, digits and hyphens, starting and ending "
                                   "with a letter or a digit", dir, names[i], (int)len,
                                   names[i], SUIT_MAX_POLICY_NAME);
            bad++;
        }
    }
    if (!rc && bad)
        rc = proto_error_set(err, PROTO_E_RULESET, "policy folder %s refused: %d bad file "
                             "name%s", dir, bad, bad == 1 ? "" : "s");
    if (!rc)
        rc = read_listed(r, ENG_AT_POLICIES, dir, names, k, files, n, err);
    names_free(names, k);
    return rc;
}

int eng_reader_verify(struct eng_reader *r, struct proto_error *err)
{
    int changed = 0;
    for (size_t i = 0; i < r->n; i++) {
        const struct eng_read_seen *s = &r->seen[i];
        struct stat now;
        const char *why = NULL;
        if (fstatat(s->at, s->name, &now, 0) < 0)
            why = "removed";
        else if (!same_file(&s->st, &now))
            why = "replaced by another file";
        else if (!same_content(&s->st, &now))
            why = "rewritten";
        if (!why)
            continue;
        if (!changed++)
            proto_error_set(err, PROTO_E_RULESET, "ruleset refused: %s changed while the "
                            "ruleset was read (deploy a ruleset atomically: write a new folder, "
                            "then rename a symlink to it; see rules/README.md)", s->name);
        proto_error_add_detail(err, "%s:1: %s while the ruleset was read", s->name, why);
    }
    /* A case or policy file added or removed while the folder was read. */
    const struct eng_read_folder *folders[] = {&r->tests, &r->policies};
    for (size_t i = 0; i < 2; i++) {
        const struct eng_read_folder *fo = folders[i];
        struct stat now;
        if (!fo->exists)
            continue;
        if (fstat(fo->fd, &now) < 0 || !same_content(&fo->st, &now)) {
            if (!changed++)
                proto_error_set(err, PROTO_E_RULESET, "ruleset refused: the folder %s "
                                "changed while the ruleset was read (deploy a ruleset "
                                "atomically; see rules/README.md)", fo->shown);
            proto_error_add_detail(err, "%s: changed while the ruleset was read", fo->shown);
        }
    }
    return changed ? PROTO_E_RULESET : 0;
}
