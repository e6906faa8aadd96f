/*
 * httpd_ui.h: the consultation page (issue 18): GET / and its assets
 * under /ui/, plain files from one folder (ui_dir, packaged as
 * /usr/share/suitd/ui), served when the ui setting is on.
 *
 * The folder is read once, at start, into memory: every file the page
 * may load is a row of a table made then, and a request is answered by
 * looking its name up in that table, never by opening a path.  So no
 * request can reach a file outside the folder (no "..", no symlink, no
 * encoded slash: a name with a '/' is simply not in the table), and a
 * file changed on disk is served only after a restart, as the settings
 * are.
 *
 * Every answer carries a strict Content-Security-Policy (scripts, styles
 * and connections from this origin only; no inline code, no framing, no
 * form posted anywhere), no cookie, and an ETag (SHA-256 of the bytes)
 * with Cache-Control: no-cache, so a browser revalidates each load and
 * gets 304 while the file is the same.
 */
#ifndef HTTPD_UI_H
#define HTTPD_UI_H

#include <stddef.h>

#include "httpd_log.h"
#include "httpd_routes.h"

/* Files in the folder; more are refused at start. */
#define HTTPD_UI_MAX_FILES 64
/* Bytes of one file, and of all of them (the page is a few tens of KB). */
#define HTTPD_UI_MAX_FILE_SIZE (1u << 20)
#define HTTPD_UI_MAX_TOTAL_SIZE (8u << 20)

/* The page itself, served at "/" (and not under /ui/: its relative links
 * resolve from "/"). */
#define HTTPD_UI_INDEX "index.html"

/* The Content-Security-Policy of every page answer. */
#define HTTPD_UI_CSP "default-src 'self'; base-uri 'none'; form-action 'none'; " \
                     "frame-ancestors 'none'; object-src 'none'"

struct httpd_ui_file {
    char *name;
    const char *content_type;
    char *body;
    size_t len;
    char etag[68];          /* "\"<64 hex digits>\"" */
};

struct httpd_ui {
    struct httpd_ui_file files[HTTPD_UI_MAX_FILES];
    size_t n_files;
    size_t total;
};

/* Reads every servable file of dir.  Files whose names start with '.', or
 * hold anything but letters, digits, '.', '-' and '_', or whose type is not
 * known, symlinks, folders and other non-regular files are left out (each
 * with a warning); dir must hold index.html.  Returns 0, or -1 with the
 * reason in err; httpd_ui_close is safe either way. */
int httpd_ui_load(struct httpd_ui *ui, const char *dir, const struct httpd_log *lg, char *err,
                  size_t errlen);
void httpd_ui_close(struct httpd_ui *ui);

/* The loaded file called name, or NULL. */
const struct httpd_ui_file *httpd_ui_find(const struct httpd_ui *ui, const char *name);

/* The handlers of the route table's "/" and "/ui/" rows. */
void httpd_ui_index(const struct httpd_request *rq, struct httpd_reply *out);
void httpd_ui_asset(const struct httpd_request *rq, struct httpd_reply *out);

#endif
