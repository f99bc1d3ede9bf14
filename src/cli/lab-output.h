/* What the lab commands (up, status, down, destroy, rebuild, checkpoint,
 * revert) share: connection, Ctrl-C handling, progress lines, reports,
 * plans and the status table. */
#pragma once

#include <nestlab/lab.h>
#include <nestlab/template.h>
#include "cli.h"

/* Opens the connection of CLI (-c URI). */
NlVirtConn *nl_cli_lab_connect (NlCli *cli, GError **error);

/* A cancellable that the first SIGINT/SIGTERM cancels (in-flight calls
 * finish, nothing new starts); a second one exits at once. */
GCancellable *nl_cli_interrupt_cancellable (void);

/* Progress callback: a line per finished object, a live line on a TTY. */
void nl_cli_lab_progress (const NlProgress *progress, gpointer data);
/* Clears the live line. */
void nl_cli_lab_progress_end (void);

/* "OP of lab 'LAB': N done, M unchanged, K failed (1.2 s)", the failures
 * and the notes. */
void nl_cli_print_report (const char *op, const char *lab, const NlReport *report);

void nl_cli_print_plan (const NlPlan *plan);
void nl_cli_print_status (GPtrArray *statuses);

/* Loads TEMPLATE with --set arguments SETS. */
NlLab *nl_cli_load_template (const char *file, char **sets, GError **error);
/* For commands that take one template FILE (ARGV[1] after option
 * parsing): loads it with SETS, then connects. FALSE with ERROR set on bad
 * usage, an invalid template or no connection. */
gboolean nl_cli_open_template (NlCli *cli, int argc, char **argv, char **sets, NlLab **lab,
                               NlVirtConn **conn, GError **error);

/* Options shared by up and rebuild. */
typedef struct {
  char **sets;
  gboolean dry_run;
  gboolean emulate;
  gboolean kvm;
  gboolean create_missing_images;
  gboolean define_only;
  gboolean no_delays;
  gboolean no_status;
  gint workers;
} NlCliUpOptions;

/* GOptionEntry lines of NlCliUpOptions O. */
#define UP_OPTION_ENTRIES(o) \
    { "set", 0, 0, G_OPTION_ARG_STRING_ARRAY, &(o).sets, "Set a template parameter", "NAME=VALUE" }, \
    { "dry-run", 'n', 0, G_OPTION_ARG_NONE, &(o).dry_run, "Print the plan and change nothing", NULL }, \
    { "emulate", 0, 0, G_OPTION_ARG_NONE, &(o).emulate, \
      "Run machines under QEMU's software emulation whatever the host offers", NULL }, \
    { "kvm", 0, 0, G_OPTION_ARG_NONE, &(o).kvm, \
      "Run machines under KVM even where the host check advises emulation (refused when KVM cannot work)", NULL }, \
    { "create-missing-images", 0, 0, G_OPTION_ARG_NONE, &(o).create_missing_images, \
      "test:///default only: create empty placeholder golden images", NULL }, \
    { "define-only", 0, 0, G_OPTION_ARG_NONE, &(o).define_only, "Define everything, start nothing", NULL }, \
    { "no-delays", 0, 0, G_OPTION_ARG_NONE, &(o).no_delays, "Ignore the template's start delays", NULL }, \
    { "workers", 'j', 0, G_OPTION_ARG_INT, &(o).workers, "Parallel libvirt connections (default 4)", "N" }, \
    { "no-status", 0, 0, G_OPTION_ARG_NONE, &(o).no_status, "Do not print the lab's status at the end", NULL }

/* Plans and applies `up` for LAB, printing plan, progress, report and
 * the status table. Returns the exit status, or -1 with ERROR. */
int nl_cli_run_up (NlVirtConn *conn, NlLab *lab, const NlCliUpOptions *opts, GError **error);
