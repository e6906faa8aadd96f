/*
 * tools.h: the rule-author subcommands of the suitd binary (check, test,
 * assess, diff), in-process, no server: the engine and the protocol library
 * only.  Each takes the argv after the subcommand name and returns an
 * exit status.
 */
#ifndef TOOLS_H
#define TOOLS_H

int tools_check_main(int argc, char **argv);
int tools_test_main(int argc, char **argv);
int tools_assess_main(int argc, char **argv);
/* `suitd diff OLD NEW`: every decision that would change (diff.c). */
int tools_diff_main(int argc, char **argv);

#endif
