/*
 * httpd_ui.c: see httpd_ui.h.
 */
#include "httpd_ui.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <nettle/sha2.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "httpd_server.h"

/* The types the page is made of, by the name's ending.  A file of any
 * other type is not served: nosniff makes a browser refuse a script or a
 * style sheet under a wrong type, so a guess would only hide the mistake. */
static const struct {
    const char *ext, *type;
} httpd_ui_types[] = {
    {".html", "text/html; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".json", "application/json"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".txt", "text/plain; charset=utf-8"},
};

static const char *httpd_ui_type_of(const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < sizeof httpd_ui_types / sizeof httpd_ui_types[0]; i++) {
        size_t e = strlen(httpd_ui_types[i].ext);
        if (n > e && !strcmp(name + n - e, httpd_ui_types[i].ext))
            return httpd_ui_types[i].type;
    }
    return NULL;
}

/* A name the table may hold: no path separators, no dot files. */
static bool httpd_ui_name_ok(const char *name)
{
    if (!*name || *name == '.' || strlen(name) > 128)
        return false;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '.' || *p == '-' || *p == '_'))
            return false;
    return true;
}

static void httpd_ui_etag(struct httpd_ui_file *f)
{
    struct sha256_ctx ctx;
    uint8_t d[SHA256_DIGEST_SIZE];
    sha256_init(&ctx);
    sha256_update(&ctx, f->len, (const uint8_t *)f->body);
    sha256_digest(&ctx, sizeof d, d);
    char *p = f->etag;
    *p++ = '"';
    for (size_t i = 0; i < sizeof d; i++, p += 2)
        snprintf(p, 3, "%02x", d[i]);
    *p++ = '"';
    *p = '\0';
}

/* Reads one file into f (opened beside dirfd, never through a symlink).
 * Returns 0; 1 when it is not a regular file (skipped, said in why);
 * -1 with the reason in why. */
static int httpd_ui_read(int dirfd, const char *name, struct httpd_ui_file *f, char *why,
                         size_t whylen)
{
    int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        if (errno == ELOOP) {
            snprintf(why, whylen, "a symlink (the page's folder serves only its own files)");
            return 1;
        }
        snprintf(why, whylen, "%s", strerror(errno));
        return -1;
    }
    struct stat st;
    int rc = -1;
    if (fstat(fd, &st) < 0) {
        snprintf(why, whylen, "%s", strerror(errno));
    } else if (!S_ISREG(st.st_mode)) {
        snprintf(why, whylen, "not a regular file");
        rc = 1;
    } else if ((uint64_t)st.st_size > HTTPD_UI_MAX_FILE_SIZE) {
        snprintf(why, whylen, "%lld bytes, over the limit of %u", (long long)st.st_size,
                 HTTPD_UI_MAX_FILE_SIZE);
    } else if (!(f->body = malloc((size_t)st.st_size + 1))) {
        snprintf(why, whylen, "out of memory");
    } else {
        size_t got = 0;
        while (got < (size_t)st.st_size) {
            ssize_t n = read(fd, f->body + got, (size_t)st.st_size - got);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                break;
            got += (size_t)n;
        }
        if (got == (size_t)st.st_size) {
            f->len = got;
            rc = 0;
        } else {
            snprintf(why, whylen, "short read (%zu of %lld bytes)", got, (long long)st.st_size);
        }
    }
    close(fd);
    return rc;
}

int httpd_ui_load(struct httpd_ui *ui, const char *dir, const struct httpd_log *lg, char *err,
                  size_t errlen)
{
    memset(ui, 0, sizeof *ui);
    int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0) {
        snprintf(err, errlen, "%s: %s", dir, strerror(errno));
        return -1;
    }
    DIR *d = fdopendir(dirfd);
    if (!d) {
        snprintf(err, errlen, "%s: %s", dir, strerror(errno));
        close(dirfd);
        return -1;
    }
    int rc = 0;
    for (;;) {
        errno = 0;      /* readdir tells the end from an error only by it */
        struct dirent *e = readdir(d);
        if (!e) {
            if (errno) {
                snprintf(err, errlen, "%s: %s", dir, strerror(errno));
                rc = -1;
            }
            break;
        }
        const char *name = e->d_name;
        if (!strcmp(name, ".") || !strcmp(name, ".."))
            continue;
        const char *type = httpd_ui_type_of(name);
        if (!httpd_ui_name_ok(name) || !type) {
            httpd_warn(lg, "ui_dir %s: %.128s is not served (%s)", dir, name,
                       !httpd_ui_name_ok(name) ? "a name of letters, digits, '.', '-' and '_' "
                                                 "is needed, not starting with '.'"
                                               : "not a type the page is made of");
            continue;
        }
        if (ui->n_files == HTTPD_UI_MAX_FILES) {
            snprintf(err, errlen, "%s: more than %d files", dir, HTTPD_UI_MAX_FILES);
            rc = -1;
            break;
        }
        struct httpd_ui_file *f = &ui->files[ui->n_files];
        char why[256];
        int r = httpd_ui_read(dirfd, name, f, why, sizeof why);
        if (r == 1) {
            httpd_warn(lg, "ui_dir %s: %s is not served (%s)", dir, name, why);
            continue;
        }
        if (r < 0 || !(f->name = strdup(name))) {
            snprintf(err, errlen, "%s/%s: %s", dir, name, r < 0 ? why : "out of memory");
            free(f->body);
            f->body = NULL;
            rc = -1;
            break;
        }
        f->content_type = type;
        httpd_ui_etag(f);
        ui->n_files++;
        ui->total += f->len;
        if (ui->total > HTTPD_UI_MAX_TOTAL_SIZE) {
            snprintf(err, errlen, "%s: the files add up to more than %u bytes", dir,
                     HTTPD_UI_MAX_TOTAL_SIZE);
            rc = -1;
            break;
        }
    }
    closedir(d);
    if (rc == 0 && !httpd_ui_find(ui, HTTPD_UI_INDEX)) {
        snprintf(err, errlen, "%s holds no %s", dir, HTTPD_UI_INDEX);
        rc = -1;
    }
    return rc;
}

void httpd_ui_close(struct httpd_ui *ui)
{
    for (size_t i = 0; i < ui->n_files; i++) {
        free(ui->files[i].name);
        free(ui->files[i].body);
    }
    memset(ui, 0, sizeof *ui);
}

const struct httpd_ui_file *httpd_ui_find(const struct httpd_ui *ui, const char *name)
{
    for (size_t i = 0; i < ui->n_files; i++)
        if (!strcmp(ui->files[i].name, name))
            return &ui->files[i];
    return NULL;
}

/* ---- answers ------------------------------------------------------------ */

/* Whether an If-None-Match value (a list of entity tags, weak or strong,
 * or "*") names etag.  The weak comparison of RFC 9110 13.1.2. */
static bool httpd_ui_etag_matches(const char *inm, const char *etag)
{
    size_t n = strlen(etag);
    for (const char *p = inm; *p;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (*p == '*')
            return true;
        if (!strncmp(p, "W/", 2))
            p += 2;
        if (!strncmp(p, etag, n) && (p[n] == '\0' || p[n] == ',' || p[n] == ' ' || p[n] == '\t'))
            return true;
        while (*p && *p != ',')
            p++;
    }
    return false;
}

static void httpd_ui_not_found(const struct httpd_request *rq, struct httpd_reply *out)
{
    httpd_reply_errorf(out, 404, PROTO_E_METHOD_NOT_FOUND, "no such endpoint: %.200s", rq->path);
}

static void httpd_ui_send(const struct httpd_request *rq, const struct httpd_ui_file *f,
                          struct httpd_reply *out)
{
    const char *inm = httpd_request_header(rq, "If-None-Match");
    if (inm && httpd_ui_etag_matches(inm, f->etag))
        out->status = 304;
    else if (httpd_reply_text(out, 200, f->content_type, f->body, f->len) < 0)
        return;
    /* The page holds no patient data, but what it shows does: it must not
     * be framed by another site, send a Referer, or share a browsing
     * context group with other origins. */
    httpd_reply_header(out, "Content-Security-Policy", "%s", HTTPD_UI_CSP);
    httpd_reply_header(out, "Referrer-Policy", "no-referrer");
    httpd_reply_header(out, "X-Frame-Options", "DENY");
    httpd_reply_header(out, "Cross-Origin-Opener-Policy", "same-origin");
    httpd_reply_header(out, "Cross-Origin-Resource-Policy", "same-origin");
    httpd_reply_header(out, "ETag", "%s", f->etag);
    /* Revalidate every load (a 304 while the file is the same), so an
     * upgraded package's page is never mixed with a cached old script. */
    httpd_reply_header(out, "Cache-Control", "no-cache");
}

void httpd_ui_index(const struct httpd_request *rq, struct httpd_reply *out)
{
    const struct httpd_ui_file *f = httpd_ui_find(&rq->srv->ui, HTTPD_UI_INDEX);
    if (f)
        httpd_ui_send(rq, f, out);
    else
        httpd_ui_not_found(rq, out);
}

void httpd_ui_asset(const struct httpd_request *rq, struct httpd_reply *out)
{
    /* The route is the prefix "/ui/"; what follows is looked up as a
     * name, so "a/b", ".." or "%2e%2e%2f..." (already decoded by
     * libmicrohttpd) can only miss. */
    const char *name = rq->path + strlen("/ui/");
    const struct httpd_ui_file *f = strcmp(name, HTTPD_UI_INDEX) ? httpd_ui_find(&rq->srv->ui, name)
                                                                 : NULL;
    if (f)
        httpd_ui_send(rq, f, out);
    else
        httpd_ui_not_found(rq, out);
}
