/*
 * tools.h: subcommands of the suitd binary.
 *   serve  (serve.c)  the daemon
 *   check, test, assess (tools.c)  rule-author tools, in-process, no server
 * Each takes the argv after the subcommand name and returns an exit status.
 */
#ifndef TOOLS_H
#define TOOLS_H

int serve_main(int argc, char **argv);
int tools_check_main(int argc, char **argv);
int tools_test_main(int argc, char **argv);
int tools_assess_main(int argc, char **argv);

/* Rules directory used when none is given: $SUITD_RULES, else the
 * compiled-in SUITD_DEFAULT_RULES_DIR. */
const char *tools_default_rules_dir(void);

#endif
