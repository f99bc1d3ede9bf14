/* What the lab commands (up, status, down, destroy, rebuild, checkpoint,
 * revert) share: connection, Ctrl-C handling, progress lines, reports,
 * plans and the status table. */
#pragma once

#include <nestlab/lab.h>
#include <nestlab/template.h>
#include "cli.h"

/* Opens the connection of CLI (-c URI). */
NlVirtConn *nl_cli_lab_connect (NlCli *cli, GError **error);

/* "no lab 'LAB' here: ..." (NL_ERROR_NOT_FOUND), for commands that name a
 * lab nothing carries the mark of. */
void nl_cli_no_lab_error (GError **error, const char *lab);

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
/* For commands that take one template FILE: loads it with SETS, then
 * connects. FALSE with ERROR set on an invalid template or no connection. */
gboolean nl_cli_open_template (NlCli *cli, const char *file, char **sets, NlLab **lab,
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
  gboolean no_provision;
  gboolean keep_config_disk;
  gint workers;
} NlCliUpOptions;

/* The NlCliOption lines of the NlCliUpOptions that is field UP of T. */
#define NL_CLI_UP_OPTIONS(T, up) \
  NL_CLI_STRINGS (T, up.sets, "set", 0, "Set a template parameter", "NAME=VALUE"), \
  NL_CLI_FLAG (T, up.dry_run, "dry-run", 'n', "Print the plan and change nothing"), \
  NL_CLI_FLAG (T, up.emulate, "emulate", 0, \
               "Run machines under QEMU's software emulation whatever the host offers"), \
  NL_CLI_FLAG (T, up.kvm, "kvm", 0, \
               "Run machines under KVM even where the host check advises emulation (refused when KVM cannot work)"), \
  NL_CLI_FLAG (T, up.create_missing_images, "create-missing-images", 0, \
               "test:///default only: create empty placeholder golden images"), \
  NL_CLI_FLAG (T, up.define_only, "define-only", 0, "Define everything, start nothing"), \
  NL_CLI_FLAG (T, up.no_delays, "no-delays", 0, "Ignore the template's start delays"), \
  NL_CLI_INT (T, up.workers, "workers", 'j', "Parallel libvirt connections (default 4)", "N"), \
  NL_CLI_FLAG (T, up.no_status, "no-status", 0, "Do not print the lab's status at the end"), \
  NL_CLI_FLAG (T, up.no_provision, "no-provision", 0, "Start the machines, run none of their steps"), \
  NL_CLI_FLAG (T, up.keep_config_disk, "keep-config-disk", 0, \
               "Leave the config disks in the machines after provisioning")

/* Runs LAB's provisioning steps (all not done, or MACHINE's from FROM),
 * printing a line per step and what failed. Returns 0, or -1 with ERROR. */
int nl_cli_run_provision (NlVirtConn *conn, NlLab *lab, const char *machine, const char *from,
                          gboolean keep_config_disk, GError **error);

/* Plans and applies `up` for LAB, printing plan, progress, report and
 * the status table. Returns the exit status, or -1 with ERROR. */
int nl_cli_run_up (NlVirtConn *conn, NlLab *lab, const NlCliUpOptions *opts, GError **error);
