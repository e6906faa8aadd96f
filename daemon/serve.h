/*
 * serve.h: `suitd serve`, the daemon's entry point (serve.c).
 */
#ifndef SUITD_SERVE_H
#define SUITD_SERVE_H

/* Takes the argv after "serve"; returns the process's exit status. */
int serve_main(int argc, char **argv);

#endif
