/* The nestlab command line: the command table and what commands share.
 * Only this folder prints to stdout. */
#pragma once

#include <glib.h>
#include <nestlab/host.h>

typedef struct {
  char *uri;          /* -c/--connect, else LIBVIRT_DEFAULT_URI, else NULL */
  gboolean debug;
  const char *prog;   /* "nestlab" */
} NlCli;

typedef struct NlCommand NlCommand;
struct NlCommand {
  const char *name;     /* "validate", or two words: "host check" */
  const char *params;   /* "FILE..." for help */
  const char *summary;  /* one line */
  /* Runs with argv[0] = the command name. Returns the exit status, or -1
   * with ERROR set (the caller turns the error's code into the status). */
  int (*run) (NlCli *cli, int argc, char **argv, GError **error);
};

/* Parses ARGV against ENTRIES (the command's options) with help generated
 * from CMD; leaves the positional arguments in ARGC/ARGV. */
gboolean nl_cli_parse_options (const NlCommand *cmd, const GOptionEntry *entries,
                               int *argc, char ***argv, GError **error);

/* The table entry named NAME ("host check"); aborts if there is none, as
 * that is a programming error. */
const NlCommand *nl_cli_command (const char *name);

/* Asks "QUESTION [y/N]" on a TTY; FALSE when stdin is not a TTY. */
gboolean nl_cli_confirm (const char *question);

/* The accel mode of --kvm and --emulate; FALSE with ERROR when both. */
gboolean nl_cli_accel_mode (gboolean kvm, gboolean emulate, NlAccelMode *mode, GError **error);

/* Prints how machines run and why ("machines: ..."), and a warning on
 * stderr when ACCEL has one. */
void nl_cli_print_accel (const NlAccel *accel);

/* The command table, ending with a zeroed entry. */
extern const NlCommand nl_commands[];

/* One entry point per command: cmd-<verb>.c. */
int nl_cmd_validate (NlCli *cli, int argc, char **argv, GError **error);
int nl_cmd_render (NlCli *cli, int argc, char **argv, GError **error);
int nl_cmd_up (NlCli *cli, int argc, char **argv, GError **error);
int nl_cmd_status (NlCli *cli, int argc, char **argv, GError **error);
int nl_cmd_down (NlCli *cli, int argc, char **argv, GError **error);
int nl_cmd_destroy (NlCli *cli, int argc, char **argv, GError **error);
int nl_cmd_rebuild (NlCli *cli, int argc, char **argv, GError **error);
int nl_cmd_checkpoint (NlCli *cli, int argc, char **argv, GError **error);
int nl_cmd_revert (NlCli *cli, int argc, char **argv, GError **error);
int nl_cmd_host_check (NlCli *cli, int argc, char **argv, GError **error);
int nl_cmd_nested_enable (NlCli *cli, int argc, char **argv, GError **error);
int nl_cmd_nested_disable (NlCli *cli, int argc, char **argv, GError **error);
int nl_cmd_nested_status (NlCli *cli, int argc, char **argv, GError **error);
int nl_cmd_rollout_plan (NlCli *cli, int argc, char **argv, GError **error);
int nl_cmd_rollout_run (NlCli *cli, int argc, char **argv, GError **error);
int nl_cmd_rollout_status (NlCli *cli, int argc, char **argv, GError **error);
int nl_cmd_rollout_resume (NlCli *cli, int argc, char **argv, GError **error);
int nl_cmd_rollout_abort (NlCli *cli, int argc, char **argv, GError **error);
