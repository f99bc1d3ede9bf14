/* What the option parser shares with help and completion (main.c,
 * cmd-complete.c): a command's GOption context built from its table. */
#pragma once

#include "cli.h"

/* A GOption context for CMD's options aimed at OPTS (NULL: for --help
 * text only); STATE is the parser's, passed to its callbacks. */
GOptionContext *nl_cli_option_context (const NlCommand *cmd, gpointer opts, gpointer state);

/* The command ARGV names: two words ("host check") before one; WORDS is
 * set to how many it took. NULL when there is none. */
const NlCommand *nl_cli_find_command (int argc, char **argv, int *words);
