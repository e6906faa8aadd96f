/*
 * ruleset_image.c: a loaded ruleset's binary image (CLIPS 6.30 bsave), so
 * that every engine after the first is built by EnvBload instead of
 * parsing the rule text again.
 *
 * Parsing the bundled rules costs about 97 million instructions (7 ms)
 * per environment, and every serving thread builds one per reload, on its
 * own thread; a bload of the same constructs costs a few percent of that
 * (BENCHMARKS.md 9.5).  CLIPS 6.30 saves and loads images by file name
 * only (EnvBsave/EnvBload fopen the name), so the image lives in an
 * anonymous memory file (memfd_create) that the ruleset holds, named by
 * /proc/self/fd/N: no file on disk, nothing another process can swap, and
 * each reader's fopen gets its own offset, so engines may bload at the
 * same time on different threads.  The file is sealed once written: no
 * one can change the bytes engines are built from.
 *
 * Any failure (no memfd, no /proc, a short write, a bload CLIPS refuses)
 * leaves the ruleset without an image, or the engine without it, and the
 * caller parses the text as before: the image only ever saves time.
 *
 * What the image does not carry: the constructs' pretty-print forms
 * (EnvGetDefrulePPForm is NULL in a bloaded environment; the case
 * runner's coverage, which reads them, parses instead), and a bloaded
 * environment takes no new constructs (the engine never builds any).
 * Functions are found by name at bload time in the new environment's own
 * table, so the engine's `assert` replacement (engine_output.c), installed
 * after the bload, is what the rules' actions call, as after a parse.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <clips/clips.h>

#include "engine_internal.h"

static void image_path(int fd, char *buf, size_t n)
{
    snprintf(buf, n, "/proc/self/fd/%d", fd);
}

int eng_image_save(void *env, int *fd_out, size_t *len_out)
{
    *fd_out = -1;
    *len_out = 0;
    int fd = memfd_create("suitd-ruleset-image", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0)
        return -1;
    char path[64];
    image_path(fd, path, sizeof path);
    struct stat st;
    if (!EnvBsave(env, path) || fstat(fd, &st) < 0 || st.st_size <= 0 ||
        fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0) {
        close(fd);
        return -1;
    }
    *fd_out = fd;
    *len_out = (size_t)st.st_size;
    return 0;
}

int eng_image_load(void *env, int fd)
{
    if (fd < 0)
        return -1;
    char path[64];
    image_path(fd, path, sizeof path);
    return EnvBload(env, path) ? 0 : -1;
}

void eng_image_close(int fd)
{
    if (fd >= 0)
        close(fd);
}
