/*
 * proto_text.c: see proto_text.h.
 */
#include "proto_text.h"

#include <string.h>

void proto_text_wrap(FILE *out, const char *text, int col, int indent, int width)
{
    const char *p = text;
    while (*p) {
        size_t w = strcspn(p, " ");
        if (col > indent && col + 1 + (int)w > width) {
            fprintf(out, "\n%*s", indent, "");
            col = indent;
        } else if (col > indent) {
            fputc(' ', out);
            col++;
        }
        fwrite(p, 1, w, out);
        col += (int)w;
        p += w;
        while (*p == ' ')
            p++;
    }
    fputc('\n', out);
}

void proto_text_vline(FILE *out, const char *prefix, const char *fmt, va_list ap)
{
    char line[PROTO_TEXT_LINE_MAX];
    int n = snprintf(line, sizeof line, "%s", prefix);
    if (n < 0 || (size_t)n >= sizeof line)
        return;
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof line - 2)
        len = sizeof line - 2;   /* truncated: still one line */
    line[len] = '\n';
    line[len + 1] = '\0';
    fputs(line, out);
}
