/* Private to the executor and its host windows (hosts.c): the run being
 * executed and what both halves share. */
#pragma once

#include <nestlab/rollout.h>

G_BEGIN_DECLS

typedef struct {
  const NlRolloutPlan *plan;
  NlJournal *journal;
  NlRolloutDriver *driver;
  NlRolloutOptions opts;
  char *root;
  GMutex progress_lock;
  gint halt;      /* atomic: start no more targets */
  gint lost;      /* atomic: the libvirt connection was lost; resume goes on */
  char *lost_why; /* set before LOST when it is not the connection (a host still down) */
} Run;

/* A progress line (stderr in the CLI), serialised across threads. */
void run_progress (Run *run, const char *format, ...) G_GNUC_PRINTF (2, 3);
/* TRUE once the run must start nothing new (halt, or abort requested). */
gboolean run_stopping (Run *run);
/* Sleeps SECONDS, waking early when the run is stopping. */
void sleep_unless_stopping (Run *run, gint64 seconds);

/* Guest work shared by ring targets and host windows' guests, through a
 * driver's OPS on a guest HANDLE whose OS is OS. */
const NlPatch *rollout_find_patch (const GPtrArray *patches, const char *id);
/* Runs ARGV in the guest: TRUE with *STATUS when it ran to its end. */
gboolean rollout_guest_run (const NlRolloutDriverOps *ops, gpointer handle, const char *const *argv,
                            guint timeout, int *status, char **output, GError **error);
/* Whether PATCH is present by its check command; FALSE with *HAS_CHECK
 * FALSE when it has none for OS. */
gboolean rollout_patch_present (const NlRolloutDriverOps *ops, gpointer handle, NlOsFamily os,
                                const NlPatch *patch, gboolean *has_check, GError **error);
/* The plan's health checks, each as often as it says. */
gboolean rollout_health (const NlRolloutPlan *plan, const NlRolloutDriverOps *ops, gpointer handle,
                         NlOsFamily os, GError **error);
/* Appends ID to the NULL-terminated *IDS unless it is there. */
void rollout_add_id (char ***ids, const char *id);

/* The host windows of the run (hosts.c), each patched host in plan order,
 * with PATCHES (NlPatch*, borrowed) for their guests. FALSE when the run
 * must stop: a host failed (halt) or could not be finished now (run->lost:
 * resume goes on); ERROR only for a journal that cannot be written. */
gboolean run_hosts (Run *run, const GPtrArray *patches, GError **error);

G_END_DECLS
