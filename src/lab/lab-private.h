/* Shared by the lab module's files: the parallel runner (one libvirt
 * connection per worker) and progress reporting. */
#pragma once

#include <libxml/tree.h>

#include <nestlab/error.h>
#include <nestlab/lab.h>
#include <nestlab/virt.h>

/* One unit of parallel work. */
typedef struct {
  NlObjectKind kind;
  char *name;           /* for progress and failures */
  gpointer data;        /* the task's own, borrowed */
  const char *done_what; /* progress word on success: "started" */
  GError *error;        /* set when it failed or was skipped */
  gboolean ran;
  gboolean changed;     /* the task did something (else: already so) */
} NlTask;

typedef gboolean (*NlTaskFunc) (NlVirtConn *conn, NlTask *task, gpointer data, GError **error);

NlTask *nl_task_new (NlObjectKind kind, const char *name, gpointer data, const char *done_what);
void nl_task_free (NlTask *task);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NlTask, nl_task_free)

/* Emits one progress event; serialised across threads. */
void nl_lab_emit (const NlLabOptions *options, NlObjectKind kind, const char *name,
                  const char *what, const GError *error, guint done, guint total);

/* Runs FN for every task of TASKS on up to options->workers threads, each
 * with its own connection to CONN's URI. Stops scheduling when
 * options->cancellable is cancelled (tasks not run get NL_ERROR_CANCELLED).
 * Failures go to REPORT (may be NULL) and progress is emitted per task.
 * Returns FALSE only when no worker connection could be opened. */
gboolean nl_lab_run_parallel (NlVirtConn *conn, GPtrArray *tasks, NlTaskFunc fn, gpointer data,
                              const NlLabOptions *options, NlReport *report, GError **error);

/* TRUE when the user asked to stop. */
gboolean nl_lab_cancelled (const NlLabOptions *options);

/* Sets ERROR for a report with failures: lost connection, interruption or
 * failed objects, and returns FALSE; TRUE when there were none. */
gboolean nl_lab_finish (NlVirtConn *conn, const NlLabOptions *options, NlReport *report,
                        const char *operation, GError **error);

/* The mark of a domain as a sortable machine: wave, role. */
gboolean nl_lab_is_domain_controller (const NlOwnership *own);

/* Directory of a pool nestlab creates: /var/lib/libvirt/images for
 * "default", else a folder of that name inside it. */
char *nl_lab_pool_dir_for (const char *pool);
