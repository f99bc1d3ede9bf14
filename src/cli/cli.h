/* The nestlab command line: the command table and what commands share.
 * Only this folder prints to stdout.
 *
 * One pattern for every command (cmd-<verb>.c): its options fill a struct
 * of its own, declared by a table of NlCliOption beside it; its handler
 * sets the struct's defaults, calls nl_cli_parse, and reports bad usage
 * with nl_cli_usage_error (exit 2). The command table in main.c names the
 * option table and what the positional arguments are, so help, the
 * argument count check and shell completion all read the same table. */
#pragma once

#include <glib.h>
#include <nestlab/host.h>

typedef struct NlCommand NlCommand;

typedef struct {
  char *uri;          /* -c/--connect, else LIBVIRT_DEFAULT_URI, else NULL */
  gboolean debug;
  const char *prog;   /* "nestlab" */
  const NlCommand *cmd;  /* the command being run */
  GPtrArray *owned;   /* option values nl_cli_parse allocated, freed at exit */
} NlCli;

/* One option of a command: a GOptionEntry whose target is a field of the
 * command's options struct, given by its offset. ARG is one of NONE
 * (gboolean), INT (gint, never negative), STRING, FILENAME (char *) and
 * STRING_ARRAY (char **). ARG_DESCRIPTION also tells shell completion what
 * the value is: FILE (files), DIR (folders), a|b (one of these words);
 * anything else is not completed. */
typedef struct {
  const char *long_name;
  char short_name;
  gint flags;                   /* G_OPTION_FLAG_HIDDEN, ... */
  GOptionArg arg;
  gsize offset;
  const char *description;
  const char *arg_description;
} NlCliOption;

/* The offset of FIELD in T, which must have type CTYPE: the comparison
 * of pointers in sizeof is never evaluated, but a field of another type
 * makes it a warning, and the build turns warnings into errors. */
#define NL_CLI_FIELD(T, field, ctype) \
  ((gsize) G_STRUCT_OFFSET (T, field) + 0 * sizeof (&((T *) NULL)->field == (ctype *) NULL))

#define NL_CLI_FLAG(T, field, lname, sname, desc) \
  { lname, sname, 0, G_OPTION_ARG_NONE, NL_CLI_FIELD (T, field, gboolean), desc, NULL }
#define NL_CLI_INT(T, field, lname, sname, desc, argdesc) \
  { lname, sname, 0, G_OPTION_ARG_INT, NL_CLI_FIELD (T, field, gint), desc, argdesc }
#define NL_CLI_STRING(T, field, lname, sname, desc, argdesc) \
  { lname, sname, 0, G_OPTION_ARG_STRING, NL_CLI_FIELD (T, field, char *), desc, argdesc }
#define NL_CLI_FILENAME(T, field, lname, sname, desc, argdesc) \
  { lname, sname, 0, G_OPTION_ARG_FILENAME, NL_CLI_FIELD (T, field, char *), desc, argdesc }
#define NL_CLI_STRINGS(T, field, lname, sname, desc, argdesc) \
  { lname, sname, 0, G_OPTION_ARG_STRING_ARRAY, NL_CLI_FIELD (T, field, char **), desc, argdesc }
#define NL_CLI_OPTION_END { NULL, 0, 0, 0, 0, NULL, NULL }

/* What a command's positional arguments are: the noun of its usage errors
 * ("expected one LAB") and what shell completion offers. */
typedef enum {
  NL_CLI_ARG_NONE,
  NL_CLI_ARG_TEMPLATE,  /* a lab template file */
  NL_CLI_ARG_PLAN,      /* a rollout plan file */
  NL_CLI_ARG_LAB,       /* a lab's name, from libvirt */
  NL_CLI_ARG_ROLLOUT,   /* a rollout run's id, from the state directory */
  NL_CLI_ARG_DOMAIN,    /* a libvirt domain's name */
  NL_CLI_ARG_COMMAND,   /* a nestlab command */
} NlCliArg;

struct NlCommand {
  const char *name;     /* "validate", or two words: "host check"; "_..." is hidden */
  const char *params;   /* "FILE..." for help */
  const char *summary;  /* one line */
  /* Runs with argv[0] = the command name. Returns the exit status, or -1
   * with ERROR set (the caller turns the error's code into the status). */
  int (*run) (NlCli *cli, int argc, char **argv, GError **error);
  const NlCliOption *options;  /* ending with NL_CLI_OPTION_END; NULL: none */
  NlCliArg args;        /* what the positional arguments are */
  gint8 min_args;       /* how many nl_cli_parse accepts */
  gint8 max_args;       /* -1: no limit */
};

/* Parses the options of CLI's command (its table's NlCliOption list) into
 * OPTS, which holds their defaults (NULL for a command without options),
 * and leaves the positional arguments in ARGC/ARGV, ARGV[0] being the
 * command. Checks their count against the table. FALSE with a usage error
 * (exit 2) on an unknown option, a bad value or a wrong count. Strings it
 * stores in OPTS belong to CLI (freed when nestlab exits). */
gboolean nl_cli_parse (NlCli *cli, gpointer opts, int *argc, char ***argv, GError **error);

/* Sets ERROR to a usage error (exit 2) with the message FORMAT. Every bad
 * command line is reported through here or nl_cli_parse. */
void nl_cli_usage_error (GError **error, const char *format, ...) G_GNUC_PRINTF (2, 3);

/* Asks "QUESTION [y/N]" on a terminal before a change that --yes would
 * allow; WHAT completes "pass --yes to ..." ("remove the 5 objects of lab
 * 'demo'"). TRUE to go ahead. Without a terminal, a usage error (exit 2)
 * says to pass --yes; an answer other than yes is NL_ERROR_CANCELLED
 * (exit 1). Either way nothing has changed yet. */
gboolean nl_cli_confirm (const char *question, const char *what, GError **error);

/* The accel mode of --kvm and --emulate; FALSE with ERROR when both. */
gboolean nl_cli_accel_mode (gboolean kvm, gboolean emulate, NlAccelMode *mode, GError **error);

/* Prints how machines run and why ("machines: ..."), and a warning on
 * stderr when ACCEL has one. */
void nl_cli_print_accel (const NlAccel *accel);

/* The command table, ending with a zeroed entry. */
extern const NlCommand nl_commands[];

/* One entry point and one option table per command: cmd-<verb>.c. */
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
int nl_cmd_secret_show (NlCli *cli, int argc, char **argv, GError **error);
int nl_cmd_provision (NlCli *cli, int argc, char **argv, GError **error);
int nl_cmd_image_import (NlCli *cli, int argc, char **argv, GError **error);
int nl_cmd_image_list (NlCli *cli, int argc, char **argv, GError **error);
int nl_cmd_image_remove (NlCli *cli, int argc, char **argv, GError **error);
int nl_cmd_complete (NlCli *cli, int argc, char **argv, GError **error);
int nl_cmd_image_build (NlCli *cli, int argc, char **argv, GError **error);

extern const NlCliOption nl_validate_options[];
extern const NlCliOption nl_render_options[];
extern const NlCliOption nl_up_options[];
extern const NlCliOption nl_provision_options[];
extern const NlCliOption nl_image_import_options[];
extern const NlCliOption nl_image_list_options[];
extern const NlCliOption nl_status_options[];
extern const NlCliOption nl_down_options[];
extern const NlCliOption nl_destroy_options[];
extern const NlCliOption nl_rebuild_options[];
extern const NlCliOption nl_checkpoint_options[];
extern const NlCliOption nl_host_check_options[];
extern const NlCliOption nl_nested_enable_options[];
extern const NlCliOption nl_nested_disable_options[];
extern const NlCliOption nl_nested_status_options[];
extern const NlCliOption nl_rollout_plan_options[];
extern const NlCliOption nl_rollout_run_options[];
extern const NlCliOption nl_rollout_status_options[];
extern const NlCliOption nl_rollout_resume_options[];
extern const NlCliOption nl_image_build_options[];
