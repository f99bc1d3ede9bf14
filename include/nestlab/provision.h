/* Provisioning: the steps of a lab's machines (nestlab/model.h NlStep,
 * from the template and the role recipes) run inside the guests through
 * the QEMU guest agent, each machine in its own thread, a step waiting for
 * the steps of other machines it names. Every step's outcome is recorded
 * in its machine's lab mark before and after it acts, so a run killed at
 * any moment is resumed by the next without repeating a done step. */
#pragma once

#include <gio/gio.h>
#include <glib.h>
#include <nestlab/model.h>
#include <nestlab/virt.h>

G_BEGIN_DECLS

/* A line of progress: MACHINE's STEP, and what happened ("running",
 * "done (2.1 s)", "failed: ...", "skipped: done before"). */
typedef void (*NlProvisionProgress) (const char *machine, const char *step, const char *what, gpointer data);

typedef struct {
  const char *machine;        /* only this machine (NULL: every machine) */
  const char *from;           /* run again from this step on (NULL: resume) */
  guint boot_timeout;         /* seconds to wait for a guest agent (0: 300) */
  gboolean keep_config_disk;  /* leave config disks in the running machines */
  NlProvisionProgress progress;
  gpointer progress_data;
  GCancellable *cancellable;
} NlProvisionOptions;

typedef struct {
  guint done;                 /* steps run and done */
  guint skipped;              /* steps done before, unchanged */
  guint failed;
  guint blocked;              /* steps not run: what they wait for failed */
  GPtrArray *failures;        /* of char*: "MACHINE: step STEP: why" */
  double seconds;
} NlProvisionReport;

NlProvisionReport *nl_provision_report_new (void);
void nl_provision_report_free (NlProvisionReport *report);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NlProvisionReport, nl_provision_report_free)

/* Runs what is not done yet of LAB's steps on CONN's host. FALSE with
 * ERROR when a step failed or was blocked (REPORT says which), or when
 * provisioning could not start. The test driver runs no guest: there
 * nothing is run and TRUE returned. */
gboolean nl_provision (NlVirtConn *conn, const NlLab *lab, const NlProvisionOptions *options,
                       NlProvisionReport *report, GError **error);

/* The file of MACHINE's full step output: logs/LAB/MACHINE.log in
 * nestlab's state folder. Newly allocated. */
char *nl_provision_log_path (const char *lab, const char *machine);

G_END_DECLS
