/* The rollout executor: runs a plan through a driver (libvirt's, or a
 * test's) — the replica first, then production pass by pass (critical
 * patches now, the rest in the maintenance window), ring by ring, batch by
 * batch, up to max-parallel machines at once — journalling every target's
 * transition before its action, so a resumed run continues where the dead
 * one stopped without patching any machine twice. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include <nestlab/error.h>
#include <nestlab/rollout.h>

#include "executor-private.h"

#define PLAN_COPY "plan.xml"
#define ABORT_FILE "abort"


void
nl_rollout_driver_free (NlRolloutDriver *driver)
{
  if (driver == NULL)
    return;
  if (driver->free_data)
    driver->free_data (driver->data);
  g_free (driver);
}

void
run_progress (Run *run, const char *format, ...)
{
  g_autofree char *line = NULL;
  va_list ap;

  va_start (ap, format);
  line = g_strdup_vprintf (format, ap);
  va_end (ap);
  g_debug ("%s", line);
  if (run->opts.progress)
    {
      g_mutex_lock (&run->progress_lock);
      run->opts.progress (line, run->opts.progress_data);
      g_mutex_unlock (&run->progress_lock);
    }
}

static gboolean
abort_requested (Run *run)
{
  g_autofree char *path = g_build_filename (run->journal->dir, ABORT_FILE, NULL);
  return g_file_test (path, G_FILE_TEST_EXISTS);
}

gboolean
run_stopping (Run *run)
{
  if (g_atomic_int_get (&run->halt))
    return TRUE;
  if (abort_requested (run))
    {
      g_atomic_int_set (&run->halt, 1);
      return TRUE;
    }
  return FALSE;
}

/* ------------------------------------------------------------------ */
/* Patches per pass                                                     */

const NlPatch *
rollout_find_patch (const GPtrArray *patches, const char *id)
{
  for (guint i = 0; i < patches->len; i++)
    {
      const NlPatch *p = patches->pdata[i];
      if (g_str_equal (p->id, id))
        return p;
    }
  return NULL;
}

static const NlPatch *
find_patch (const NlRolloutPlan *plan, const char *id)
{
  return rollout_find_patch (plan->patches, id);
}

static gboolean
windowed (const NlRolloutPlan *plan, const NlJournal *journal)
{
  return plan->windows->len > 0 && !journal->ignore_windows;
}

/* Patches of PASS, in plan order (borrowed). Production passes get only
 * patches that passed on the replica. */
static GPtrArray *
pass_patches (const NlRolloutPlan *plan, const NlJournal *journal, NlRolloutPass pass)
{
  GPtrArray *out = g_ptr_array_new ();
  for (guint i = 0; i < plan->patches->len; i++)
    {
      NlPatch *p = plan->patches->pdata[i];
      gboolean critical = p->severity == NL_SEVERITY_CRITICAL;
      if (pass != NL_PASS_REPLICA
          && (journal->passed == NULL || !g_strv_contains ((const char *const *) journal->passed, p->id)))
        continue;
      if (pass == NL_PASS_REPLICA
          || (pass == NL_PASS_NOW && (!windowed (plan, journal) || critical))
          || (pass == NL_PASS_WINDOW && windowed (plan, journal) && !critical))
        g_ptr_array_add (out, p);
    }
  return out;
}

/* Production passes that have patches, in order (now, window). */
static GArray *
production_passes (const NlRolloutPlan *plan, gboolean ignore_windows)
{
  GArray *passes = g_array_new (FALSE, FALSE, sizeof (NlRolloutPass));
  const NlRolloutPass now = NL_PASS_NOW, window = NL_PASS_WINDOW;
  gboolean any_critical = FALSE, any_other = FALSE;
  for (guint i = 0; i < plan->patches->len; i++)
    {
      if (((NlPatch *) plan->patches->pdata[i])->severity == NL_SEVERITY_CRITICAL)
        any_critical = TRUE;
      else
        any_other = TRUE;
    }
  if (plan->windows->len == 0 || ignore_windows)
    g_array_append_val (passes, now);
  else
    {
      if (any_critical)
        g_array_append_val (passes, now);
      if (any_other)
        g_array_append_val (passes, window);
    }
  return passes;
}

/* ------------------------------------------------------------------ */
/* One target                                                           */

typedef struct {
  Run *run;
  NlTargetRecord *rec;
  gpointer h;
  const GPtrArray *patches;   /* of the pass */
  gboolean replica;
  gboolean defer_reboot;
  NlOsFamily os;
} Target;

#define OPS(t) ((t)->run->driver->ops)

static gboolean
journal (Target *t, NlTargetState state, const char *message, GError **error)
{
  return nl_journal_transition (t->run->journal, t->rec, state, message, error);
}

static gboolean
save (Target *t, GError **error)
{
  return nl_journal_save (t->run->journal, error);
}

gboolean
rollout_guest_run (const NlRolloutDriverOps *ops, gpointer handle, const char *const *argv,
                   guint timeout, int *status, char **output, GError **error)
{
  gint64 pid = 0;
  if (!ops->exec_start (handle, argv, &pid, error))
    return FALSE;
  return ops->exec_wait (handle, pid, timeout, status, output, error);
}

gboolean
rollout_patch_present (const NlRolloutDriverOps *ops, gpointer handle, NlOsFamily os,
                       const NlPatch *patch, gboolean *has_check, GError **error)
{
  const NlGuestCommand *cmd = nl_rollout_command_for (patch->check, os);
  int status = -1;
  *has_check = cmd != NULL;
  if (cmd == NULL)
    return FALSE;
  if (!rollout_guest_run (ops, handle, (const char *const *) cmd->argv, patch->timeout, &status, NULL,
                          error))
    return FALSE;
  return status == 0;
}

gboolean
rollout_health (const NlRolloutPlan *plan, const NlRolloutDriverOps *ops, gpointer handle,
                NlOsFamily os, GError **error)
{
  for (guint i = 0; i < plan->health->len; i++)
    {
      const NlHealthCheck *hc = plan->health->pdata[i];
      for (guint n = 0; n < hc->times; n++)
        {
          if (n > 0 && hc->interval > 0)
            g_usleep ((gulong) hc->interval * G_USEC_PER_SEC);
          if (hc->kind == NL_HEALTH_AGENT)
            {
              if (!ops->ping (handle, hc->timeout, error))
                {
                  g_prefix_error (error, "health check '%s': ", hc->name);
                  return FALSE;
                }
            }
          else
            {
              const NlGuestCommand *cmd = nl_rollout_command_for (hc->commands, os);
              g_autofree char *output = NULL;
              int status = -1;
              if (cmd == NULL)
                continue;  /* not for this OS */
              if (!rollout_guest_run (ops, handle, (const char *const *) cmd->argv, hc->timeout,
                                      &status, &output, error))
                {
                  g_prefix_error (error, "health check '%s': ", hc->name);
                  return FALSE;
                }
              if (status != 0)
                {
                  g_set_error (error, NL_ERROR, NL_ERROR_FAILED,
                               "health check '%s' failed (exit %d, pass %u of %u)%s%s", hc->name,
                               status, n + 1, hc->times, output && *output ? ": " : "",
                               output ? g_strchomp (output) : "");
                  return FALSE;
                }
            }
        }
    }
  return TRUE;
}

void
rollout_add_id (char ***ids, const char *id)
{
  guint n = *ids ? g_strv_length (*ids) : 0;
  if (*ids && g_strv_contains ((const char *const *) *ids, id))
    return;
  *ids = g_renew (char *, *ids, n + 2);
  (*ids)[n] = g_strdup (id);
  (*ids)[n + 1] = NULL;
}

/* Whether PATCH is present according to its check command; FALSE with
 * *HAS_CHECK FALSE when it has none for this guest's OS. */
static gboolean
patch_present (Target *t, const NlPatch *patch, gboolean *has_check, GError **error)
{
  return rollout_patch_present (OPS (t), t->h, t->os, patch, has_check, error);
}

static gboolean
health_checks (Target *t, GError **error)
{
  return rollout_health (t->run->plan, OPS (t), t->h, t->os, error);
}

static void
add_installed (NlTargetRecord *rec, const char *id)
{
  rollout_add_id (&rec->installed, id);
}

/* Records PATCH as installed when its installer exited 0, else fails with
 * its exit status and output. */
static gboolean
installed (NlTargetRecord *rec, const NlPatch *patch, int status, char *output, GError **error)
{
  if (status != 0)
    {
      g_set_error (error, NL_ERROR, NL_ERROR_FAILED, "installing %s failed (exit %d)%s%s", patch->id, status,
                   output && *output ? ": " : "", output ? g_strchomp (output) : "");
      return FALSE;
    }
  add_installed (rec, patch->id);
  return TRUE;
}

static gboolean
todo_needs_reboot (Target *t)
{
  for (guint i = 0; t->rec->todo && t->rec->todo[i]; i++)
    {
      const NlPatch *p = find_patch (t->run->plan, t->rec->todo[i]);
      if (p && p->reboot)
        return TRUE;
    }
  return FALSE;
}

static guint
agent_timeout (Target *t)
{
  return t->replica ? t->run->plan->replica.boot_timeout : t->run->plan->agent_timeout;
}

/* A lost libvirt connection is no verdict on the machine: it keeps its
 * journalled state, as if the run had been killed there, nothing new
 * starts, and `rollout resume` goes on once libvirtd is back. */
static gboolean
lost_connection (Target *t, const GError *error)
{
  if (!g_error_matches (error, NL_ERROR, NL_ERROR_DISCONNECTED))
    return FALSE;
  run_progress (t->run, "%s: %s: stopping", t->rec->name, error->message);
  g_atomic_int_set (&t->run->lost, 1);
  g_atomic_int_set (&t->run->halt, 1);
  return TRUE;
}

/* Failure: production targets go back to their checkpoint (counted as a
 * failure); replicas and targets without one stop as failed. */
static void
fail_target (Target *t, const char *why)
{
  g_autoptr (GError) error = NULL;
  NlTargetRecord *rec = t->rec;
  gboolean can_revert = !t->replica && rec->checkpoint != NULL
                        && (rec->state == NL_TARGET_CHECKPOINTED || rec->state == NL_TARGET_INSTALLING
                            || rec->state == NL_TARGET_REBOOTING || rec->state == NL_TARGET_VERIFYING
                            || rec->state == NL_TARGET_ROLLING_BACK);

  run_progress (t->run, "%s: failed: %s", rec->name, why);
  if (!can_revert)
    {
      if (!journal (t, NL_TARGET_FAILED, why, &error))
        run_progress (t->run, "%s: warning: %s", rec->name, error->message);
      return;
    }
  if (rec->state != NL_TARGET_ROLLING_BACK && !journal (t, NL_TARGET_ROLLING_BACK, why, &error))
    {
      run_progress (t->run, "%s: warning: %s", rec->name, error->message);
      return;
    }
  run_progress (t->run, "%s: rolling back to %s", rec->name, rec->checkpoint);
  if (!OPS (t)->revert (t->h, rec->checkpoint, &error)
      || !OPS (t)->ping (t->h, agent_timeout (t), &error))
    {
      /* Still rolling back: resume finishes it. */
      if (lost_connection (t, error))
        return;
      g_autofree char *msg = g_strdup_printf ("%s; rollback failed: %s", why, error->message);
      g_clear_error (&error);
      journal (t, NL_TARGET_FAILED, msg, NULL);
      return;
    }
  /* The revert undid every install of this run. */
  g_clear_pointer (&rec->installed, g_strfreev);
  rec->installed = g_new0 (char *, 1);
  journal (t, NL_TARGET_ROLLED_BACK, why, NULL);
  run_progress (t->run, "%s: rolled back", rec->name);
}

static gboolean
revert_for_redo (Target *t, GError **error)
{
  run_progress (t->run, "%s: state of the interrupted install unknown: reverting to %s to install again",
            t->rec->name, t->rec->checkpoint);
  if (t->rec->checkpoint == NULL || t->replica)
    {
      g_set_error (error, NL_ERROR, NL_ERROR_FAILED, "no restore point to return to");
      return FALSE;
    }
  if (!OPS (t)->revert (t->h, t->rec->checkpoint, error) || !OPS (t)->ping (t->h, agent_timeout (t), error))
    return FALSE;
  g_clear_pointer (&t->rec->installed, g_strfreev);
  t->rec->installed = g_new0 (char *, 1);
  t->rec->patch = 0;
  t->rec->pid = 0;
  return journal (t, NL_TARGET_CHECKPOINTED, "reverted after an interrupted install", error);
}

/* Installs todo[rec->patch ...]; on resume first settles the patch the
 * dead run was installing. */
static gboolean
install_all (Target *t, gboolean resuming, GError **error)
{
  NlTargetRecord *rec = t->rec;

  if (resuming && rec->state == NL_TARGET_INSTALLING)
    {
      const NlPatch *patch = find_patch (t->run->plan, rec->todo[rec->patch]);
      gboolean knows = FALSE, has_check;
      int status = -1;
      g_autofree char *output = NULL;
      g_autoptr (GError) local = NULL;
      NlResumeAction action;

      if (rec->pid != 0)
        {
          if (OPS (t)->exec_wait (t->h, rec->pid, patch->timeout, &status, &output, &local))
            knows = TRUE;
          else if (!g_error_matches (local, NL_ERROR, NL_ERROR_NOT_FOUND))
            {
              g_propagate_error (error, g_steal_pointer (&local));
              return FALSE;
            }
        }
      has_check = nl_rollout_command_for (patch->check, t->os) != NULL;
      action = nl_rollout_resume_action (rec->state, rec->pid != 0, knows, has_check);
      run_progress (t->run, "%s: resuming %s: %s", rec->name, patch->id, nl_resume_action_to_string (action));
      switch (action)
        {
        case NL_RESUME_WAIT_PID:
          if (!installed (rec, patch, status, output, error))
            return FALSE;
          rec->patch++;
          break;
        case NL_RESUME_CHECK:
          {
            gboolean present = patch_present (t, patch, &has_check, error);
            if (error && *error)
              return FALSE;
            if (present)
              {
                add_installed (rec, patch->id);
                rec->patch++;
              }
            else if (!revert_for_redo (t, error))
              return FALSE;
            break;
          }
        default:
          if (!revert_for_redo (t, error))
            return FALSE;
          break;
        }
    }

  for (; rec->todo[rec->patch] != NULL; rec->patch++)
    {
      const NlPatch *patch = find_patch (t->run->plan, rec->todo[rec->patch]);
      const NlGuestCommand *cmd = nl_rollout_command_for (patch->install, t->os);
      g_autofree char *msg = g_strdup_printf ("installing %s", patch->id);
      g_autofree char *output = NULL;
      gint64 pid = 0;
      int status = -1;

      if (cmd == NULL)
        {
          g_set_error (error, NL_ERROR, NL_ERROR_FAILED, "%s has no install command for %s guests",
                       patch->id, nl_os_family_to_string (t->os));
          return FALSE;
        }
      /* Journalled before the command starts; the pid right after. */
      rec->pid = 0;
      if (!journal (t, NL_TARGET_INSTALLING, msg, error))
        return FALSE;
      run_progress (t->run, "%s: %s", rec->name, msg);
      if (!OPS (t)->exec_start (t->h, (const char *const *) cmd->argv, &pid, error))
        return FALSE;
      rec->pid = pid;
      if (!save (t, error))
        return FALSE;
      if (!OPS (t)->exec_wait (t->h, pid, patch->timeout, &status, &output, error))
        return FALSE;
      if (!installed (rec, patch, status, output, error))
        return FALSE;
      /* reboot="separate" (a servicing stack update): its reboot comes
       * before the next patch installs. Journalled as past it first, so a
       * resume does not install it again. */
      if (patch->reboot == NL_REBOOT_OWN && rec->todo[rec->patch + 1] != NULL)
        {
          rec->patch++;
          rec->pid = 0;
          if (!save (t, error))
            return FALSE;
          run_progress (t->run, "%s: rebooting after %s, before the next patch", rec->name, patch->id);
          if (!OPS (t)->reboot (t->h, agent_timeout (t), error))
            return FALSE;
          rec->patch--;  /* the loop moves on */
        }
    }
  return TRUE;
}

static gboolean
verify (Target *t, GError **error)
{
  NlTargetRecord *rec = t->rec;
  if (!OPS (t)->ping (t->h, agent_timeout (t), error))
    return FALSE;
  for (guint i = 0; rec->todo[i]; i++)
    {
      const NlPatch *patch = find_patch (t->run->plan, rec->todo[i]);
      gboolean has_check;
      gboolean present = patch_present (t, patch, &has_check, error);
      if (error && *error)
        return FALSE;
      if (has_check && !present)
        {
          g_set_error (error, NL_ERROR, NL_ERROR_FAILED,
                       "%s installed, but its check command says it is not present", patch->id);
          return FALSE;
        }
    }
  return health_checks (t, error);
}

/* A step of T failed with ERROR (PREFIX: what it was, or NULL): the
 * machine fails (FAIL_ONLY: as failed, without a rollback, since nothing
 * was changed yet), unless the connection was lost. */
static void
step_failed (Target *t, const GError *error, const char *prefix, gboolean fail_only)
{
  g_autofree char *msg = prefix ? g_strdup_printf ("%s: %s", prefix, error->message)
                                : g_strdup (error->message);
  if (lost_connection (t, error))
    return;
  if (fail_only)
    journal (t, NL_TARGET_FAILED, msg, NULL);
  else
    fail_target (t, msg);
}

/* What a step of one target leads to. */
typedef enum {
  STEP_GO_ON,
  STEP_STOP,            /* the target reached a final state, or failed */
  STEP_JOURNAL_FAILED,  /* ERROR set: the journal cannot be written */
} StepResult;

/* Which patches the target lacks, then the restore point before the first
 * change. */
static StepResult
precheck_and_checkpoint (Target *t, gboolean *resuming, GError **error)
{
  NlTargetRecord *rec = t->rec;
  g_autoptr (GPtrArray) todo = g_ptr_array_new ();
  GError *local = NULL;

  for (guint i = 0; i < t->patches->len; i++)
    {
      const NlPatch *patch = t->patches->pdata[i];
      gboolean has_check;
      gboolean present = patch_present (t, patch, &has_check, &local);
      if (local != NULL)
        {
          g_autofree char *what = g_strdup_printf ("pre-check of %s", patch->id);
          step_failed (t, local, what, TRUE);
          g_error_free (local);
          return STEP_STOP;
        }
      if (!present)
        g_ptr_array_add (todo, (gpointer) patch->id);
    }
  g_ptr_array_add (todo, NULL);
  g_strfreev (rec->todo);
  rec->todo = g_strdupv ((char **) todo->pdata);
  if (!t->replica && rec->checkpoint == NULL)
    rec->checkpoint = g_strdup_printf ("nl-%s", t->run->journal->id);
  if (!journal (t, NL_TARGET_PRECHECKED, NULL, error))
    return STEP_JOURNAL_FAILED;
  if (rec->todo[0] == NULL)
    {
      journal (t, NL_TARGET_NOT_APPLICABLE, "every patch is already present", NULL);
      run_progress (t->run, "%s: not applicable (every patch already present)", rec->name);
      return STEP_STOP;
    }
  if (!t->replica)
    {
      run_progress (t->run, "%s: checkpoint %s", rec->name, rec->checkpoint);
      if (!OPS (t)->checkpoint (t->h, rec->checkpoint, &local))
        {
          step_failed (t, local, "checkpoint", TRUE);
          g_error_free (local);
          return STEP_STOP;
        }
    }
  rec->patch = 0;
  rec->pid = 0;
  if (!journal (t, NL_TARGET_CHECKPOINTED, NULL, error))
    return STEP_JOURNAL_FAILED;
  *resuming = FALSE;
  return STEP_GO_ON;
}

/* Installs what is to do and reboots when a patch needs it (unless the
 * reboot is deferred); on resume after an asked reboot, waits for it. */
static StepResult
install_and_reboot (Target *t, gboolean resuming, GError **error)
{
  NlTargetRecord *rec = t->rec;
  g_autoptr (GError) local = NULL;

  if (rec->state == NL_TARGET_REBOOTING)
    {
      /* Resume: the reboot was asked for; wait for the agent. */
      if (!OPS (t)->ping (t->h, agent_timeout (t), &local))
        {
          step_failed (t, local, NULL, FALSE);
          return STEP_STOP;
        }
      return STEP_GO_ON;
    }
  if (!install_all (t, resuming, &local))
    {
      step_failed (t, local, NULL, FALSE);
      return STEP_STOP;
    }
  if (!todo_needs_reboot (t))
    return STEP_GO_ON;
  if (!t->replica && t->defer_reboot)
    {
      rec->pending_reboot = TRUE;
      return STEP_GO_ON;
    }
  if (!journal (t, NL_TARGET_REBOOTING, "rebooting", error))
    return STEP_JOURNAL_FAILED;
  run_progress (t->run, "%s: rebooting", rec->name);
  if (!OPS (t)->reboot (t->h, agent_timeout (t), &local))
    {
      step_failed (t, local, NULL, FALSE);
      return STEP_STOP;
    }
  return STEP_GO_ON;
}

/* Health checks, then the patch history of a production machine. */
static StepResult
verify_and_finish (Target *t, GError **error)
{
  NlTargetRecord *rec = t->rec;
  g_autoptr (GError) local = NULL;

  if (!journal (t, NL_TARGET_VERIFYING, "verifying", error))
    return STEP_JOURNAL_FAILED;
  run_progress (t->run, "%s: verifying", rec->name);
  if (!verify (t, &local))
    {
      step_failed (t, local, NULL, FALSE);
      return STEP_STOP;
    }
  if (!t->replica && OPS (t)->record_patches != NULL
      && !OPS (t)->record_patches (t->h, t->run->journal->id, (const char *const *) rec->todo, &local))
    {
      /* The patches are in and healthy; only the history is missing. */
      run_progress (t->run, "%s: warning: %s", rec->name, local->message);
      g_clear_error (&local);
    }
  journal (t, NL_TARGET_DONE, rec->pending_reboot ? "installed; reboot pending" : "installed", NULL);
  run_progress (t->run, "%s: done", rec->name);
  return STEP_STOP;
}

/* Steps a target from its journalled state to a final one. */
static void
process_target (Target *t)
{
  NlTargetRecord *rec = t->rec;
  g_autoptr (GError) error = NULL;
  gboolean resuming = rec->state != NL_TARGET_PENDING;
  gboolean before_change = rec->state == NL_TARGET_PENDING || rec->state == NL_TARGET_PRECHECKED;
  StepResult r = STEP_GO_ON;

  t->h = OPS (t)->open (t->run->driver->data, rec->name, &error);
  if (t->h == NULL)
    {
      step_failed (t, error, NULL, before_change);
      return;
    }
  if (rec->state == NL_TARGET_ROLLING_BACK)
    {
      fail_target (t, rec->message ? rec->message : "interrupted rollback");
      r = STEP_STOP;
    }
  /* Pre-check: the agent answers (even when resuming: the guest may have
   * been restarted meanwhile). */
  else if (!OPS (t)->ping (t->h, agent_timeout (t), &error) || !OPS (t)->os_family (t->h, &t->os, &error))
    {
      step_failed (t, error, "pre-check", before_change);
      r = STEP_STOP;
    }
  if (r == STEP_GO_ON && before_change)
    r = precheck_and_checkpoint (t, &resuming, &error);
  if (r == STEP_GO_ON && (rec->state == NL_TARGET_CHECKPOINTED || rec->state == NL_TARGET_INSTALLING
                          || rec->state == NL_TARGET_REBOOTING))
    r = install_and_reboot (t, resuming, &error);
  if (r == STEP_GO_ON)
    r = verify_and_finish (t, &error);
  if (r == STEP_JOURNAL_FAILED)
    {
      /* Without a durable journal nothing may go on: stop the whole run. */
      run_progress (t->run, "%s: cannot write the journal: %s", rec->name, error->message);
      g_atomic_int_set (&t->run->halt, 1);
    }
  OPS (t)->close (t->h);
}

/* ------------------------------------------------------------------ */
/* Rings and batches                                                    */

static gboolean
is_failure (const NlTargetRecord *r)
{
  return r->state == NL_TARGET_FAILED || r->state == NL_TARGET_ROLLED_BACK;
}

typedef struct {
  Run *run;
  GPtrArray *records;       /* of the batch */
  guint next;
  GMutex lock;
  const GPtrArray *patches;
  gboolean replica;
  gboolean defer_reboot;
  const NlAmount *budget;
  guint ring_size;
  guint *failures;
} Batch;

static gpointer
batch_worker (gpointer data)
{
  Batch *b = data;
  for (;;)
    {
      NlTargetRecord *rec;
      Target t = { 0 };

      g_mutex_lock (&b->lock);
      if (b->next >= b->records->len || run_stopping (b->run))
        {
          g_mutex_unlock (&b->lock);
          break;
        }
      rec = b->records->pdata[b->next++];
      g_mutex_unlock (&b->lock);

      t.run = b->run;
      t.rec = rec;
      t.patches = b->patches;
      t.replica = b->replica;
      t.defer_reboot = b->defer_reboot;
      process_target (&t);

      g_mutex_lock (&b->lock);
      if (is_failure (rec))
        {
          (*b->failures)++;
          if (b->budget && nl_rollout_budget_exceeded (b->budget, b->ring_size, *b->failures))
            g_atomic_int_set (&b->run->halt, 1);
        }
      g_mutex_unlock (&b->lock);
    }
  return NULL;
}

static void
run_batch (Batch *b, guint parallel)
{
  guint n = MIN (parallel, b->records->len);
  g_autoptr (GPtrArray) threads = g_ptr_array_new ();

  g_mutex_init (&b->lock);
  if (n <= 1)
    batch_worker (b);
  else
    {
      for (guint i = 0; i < n; i++)
        g_ptr_array_add (threads, g_thread_new ("nl-rollout", batch_worker, b));
      for (guint i = 0; i < threads->len; i++)
        g_thread_join (threads->pdata[i]);
    }
  g_mutex_clear (&b->lock);
}

static GPtrArray *
ring_targets (NlJournal *journal, NlRolloutPass pass, const char *ring)
{
  GPtrArray *out = g_ptr_array_new ();
  for (guint i = 0; i < journal->targets->len; i++)
    {
      NlTargetRecord *r = journal->targets->pdata[i];
      if (r->pass == pass && g_str_equal (r->ring, ring))
        g_ptr_array_add (out, r);
    }
  return out;
}

void
sleep_unless_stopping (Run *run, gint64 seconds)
{
  gint64 end = g_get_monotonic_time () + seconds * G_USEC_PER_SEC;
  while (g_get_monotonic_time () < end && !run_stopping (run))
    g_usleep (MIN (end - g_get_monotonic_time (), G_USEC_PER_SEC / 2));
}

/* In a window pass: TRUE when inside a maintenance window (after waiting
 * for one, unless no_wait). */
static gboolean
ensure_window (Run *run, GError **error)
{
  for (;;)
    {
      g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
      g_autoptr (GDateTime) start = NULL;
      g_autoptr (GDateTime) end = NULL;
      g_autofree char *s = NULL;
      g_autofree char *e = NULL;

      if (!nl_rollout_windows_next (run->plan->windows, now, &start, &end, error))
        return FALSE;
      if (g_date_time_compare (start, now) <= 0)
        {
          if (run->journal->state == NL_RUN_WAITING)
            {
              run->journal->state = NL_RUN_RUNNING;
              run->journal->wait_until = 0;
              if (!nl_journal_save (run->journal, error))
                return FALSE;
            }
          return TRUE;
        }
      s = g_date_time_format (start, "%Y-%m-%d %H:%M %Z");
      e = g_date_time_format (end, "%H:%M %Z");
      run->journal->state = NL_RUN_WAITING;
      run->journal->wait_until = g_date_time_to_unix (start);
      if (!nl_journal_save (run->journal, error))
        return FALSE;
      run_progress (run, "waiting for the maintenance window %s - %s", s, e);
      if (run->opts.no_wait)
        return FALSE;
      sleep_unless_stopping (run, MIN (g_date_time_difference (start, now) / G_USEC_PER_SEC + 1, 60));
      if (run_stopping (run))
        return FALSE;
    }
}

/* Runs one ring of one pass. FALSE when the run must stop (halt, abort,
 * waiting for a window, or a journal error in ERROR). */
static gboolean
run_ring (Run *run, NlRolloutPass pass, const NlRing *ring, const GPtrArray *patches,
          gboolean replica, GError **error)
{
  g_autoptr (GPtrArray) targets = ring_targets (run->journal, pass, ring ? ring->name : "replica");
  NlRingRecord *rr = nl_journal_find_ring (run->journal, pass, ring ? ring->name : "replica");
  g_autoptr (GArray) sizes = NULL;
  NlAmount zero = { FALSE, 0 };
  guint failures = 0, offset = 0;
  gboolean all_final = TRUE;

  for (guint i = 0; i < targets->len; i++)
    {
      NlTargetRecord *r = targets->pdata[i];
      if (is_failure (r))
        failures++;
      if (!nl_rollout_state_is_final (r->state))
        all_final = FALSE;
    }
  if (all_final)
    return !rr->halted;
  if (!rr->started)
    {
      rr->started = TRUE;
      rr->started_at = g_get_real_time () / G_USEC_PER_SEC;
      if (!nl_journal_save (run->journal, error))
        return FALSE;
    }
  run_progress (run, "%s ring '%s': %u machines", nl_rollout_pass_to_string (pass), rr->name, targets->len);
  sizes = ring ? nl_rollout_batches (ring->batches, ring->n_batches, targets->len)
               : nl_rollout_batches (NULL, 0, targets->len);
  for (guint b = 0; b < sizes->len; offset += g_array_index (sizes, guint, b), b++)
    {
      guint size = g_array_index (sizes, guint, b);
      g_autoptr (GPtrArray) batch = g_ptr_array_new ();
      Batch job = { 0 };

      for (guint i = offset; i < offset + size; i++)
        if (!nl_rollout_state_is_final (((NlTargetRecord *) targets->pdata[i])->state))
          g_ptr_array_add (batch, targets->pdata[i]);
      if (batch->len == 0)
        continue;
      if (run_stopping (run))
        return FALSE;
      if (pass == NL_PASS_WINDOW && !ensure_window (run, error))
        return FALSE;
      run_progress (run, "%s ring '%s': batch %u of %u (%u machines)", nl_rollout_pass_to_string (pass), rr->name, b + 1, sizes->len,
                batch->len);
      job.run = run;
      job.records = batch;
      job.patches = patches;
      job.replica = replica;
      job.defer_reboot = ring ? ring->defer_reboot : FALSE;
      job.budget = replica ? &zero : &ring->budget;
      job.ring_size = targets->len;
      job.failures = &failures;
      run_batch (&job, replica ? MAX (batch->len, 1) : ring->max_parallel);
      if ((replica && failures > 0) || nl_rollout_budget_exceeded (job.budget, targets->len, failures))
        {
          rr->halted = TRUE;
          rr->finished_at = g_get_real_time () / G_USEC_PER_SEC;
          g_free (run->journal->reason);
          run->journal->reason = replica
            ? g_strdup_printf ("the replica failed (%u of %u machines); production was not touched",
                               failures, targets->len)
            : g_strdup_printf ("ring '%s' exceeded its failure budget (%u of %u machines failed)",
                               rr->name, failures, targets->len);
          run_progress (run, "halted: %s", run->journal->reason);
          g_atomic_int_set (&run->halt, 1);
          nl_journal_save (run->journal, NULL);
          return FALSE;
        }
      if (run_stopping (run))
        return FALSE;
    }
  rr->finished_at = g_get_real_time () / G_USEC_PER_SEC;
  if (!nl_journal_save (run->journal, error))
    return FALSE;
  return TRUE;
}

/* ------------------------------------------------------------------ */
/* The replica stage                                                    */

static void
drop_replica_records (NlJournal *j)
{
  for (guint i = j->targets->len; i > 0; i--)
    if (((NlTargetRecord *) j->targets->pdata[i - 1])->pass == NL_PASS_REPLICA)
      g_ptr_array_remove_index (j->targets, i - 1);
}

static NlTargetRecord *
record_new (NlRolloutPass pass, const char *ring, const char *name)
{
  NlTargetRecord *r = g_new0 (NlTargetRecord, 1);
  r->pass = pass;
  r->ring = g_strdup (ring);
  r->name = g_strdup (name);
  r->key = g_strdup_printf ("%s/%s/%s", nl_rollout_pass_to_string (pass), ring, name);
  r->installed = g_new0 (char *, 1);
  return r;
}

static GPtrArray *
production_names (NlJournal *j)
{
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < j->targets->len; i++)
    {
      NlTargetRecord *r = j->targets->pdata[i];
      gboolean seen = FALSE;
      if (r->pass == NL_PASS_REPLICA)
        continue;
      for (guint k = 0; k < names->len && !seen; k++)
        seen = g_str_equal (names->pdata[k], r->name);
      if (!seen)
        g_ptr_array_add (names, g_strdup (r->name));
    }
  /* A host is locked as a whole under a name no domain can clash with. */
  for (guint i = 0; i < j->hosts->len; i++)
    if (!((NlHostRecord *) j->hosts->pdata[i])->replica)
      g_ptr_array_add (names, g_strdup_printf ("host@%s", ((NlHostRecord *) j->hosts->pdata[i])->name));
  return names;
}

static gboolean
run_replica (Run *run, GError **error)
{
  NlJournal *j = run->journal;
  const NlRolloutDriverOps *ops = run->driver->ops;
  g_autoptr (GPtrArray) prod = production_names (j);
  g_autoptr (GPtrArray) replicas = NULL;
  g_autoptr (GPtrArray) patches = pass_patches (run->plan, j, NL_PASS_REPLICA);
  g_autoptr (GError) local = NULL;
  NlRingRecord *rr = nl_journal_find_ring (j, NL_PASS_REPLICA, "replica");
  gboolean ok;

  /* A replica stage that did not finish starts over: it never touched
   * production, and a fresh replica is the honest rehearsal. */
  drop_replica_records (j);
  rr->started = TRUE;
  rr->halted = FALSE;
  rr->started_at = g_get_real_time () / G_USEC_PER_SEC;
  rr->finished_at = 0;
  if (!nl_journal_save (j, error))
    return FALSE;
  if (!ops->replica_discard (run->driver->data, j->id, error))
    return FALSE;
  run_progress (run, "replica: backing up and cloning %u machines", prod->len);
  if (!ops->replica_create (run->driver->data, j->id, prod, run->plan->replica.pool,
                            run->plan->replica.boot_timeout, &replicas, &local))
    {
      if (g_error_matches (local, NL_ERROR, NL_ERROR_DISCONNECTED))
        {
          /* Not the replica's fault: resume builds it again. */
          run_progress (run, "replica: %s: stopping", local->message);
          g_atomic_int_set (&run->lost, 1);
          g_atomic_int_set (&run->halt, 1);
          return FALSE;
        }
      rr->halted = TRUE;
      rr->finished_at = g_get_real_time () / G_USEC_PER_SEC;
      j->reason = g_strdup_printf ("building the replica failed: %s", local->message);
      run_progress (run, "halted: %s", j->reason);
      ops->replica_discard (run->driver->data, j->id, NULL);
      nl_journal_save (j, NULL);
      return FALSE;
    }
  for (guint i = 0; i < replicas->len; i++)
    {
      NlTargetRecord *r = record_new (NL_PASS_REPLICA, "replica", replicas->pdata[i]);
      r->production = g_strdup (prod->pdata[i]);
      /* Replica records go first: the report reads in execution order. */
      g_ptr_array_insert (j->targets, i, r);
    }
  if (!nl_journal_save (j, error))
    return FALSE;
  ok = run_ring (run, NL_PASS_REPLICA, NULL, patches, TRUE, error);
  if (ok)
    {
      g_autoptr (GPtrArray) ids = g_ptr_array_new ();
      for (guint i = 0; i < patches->len; i++)
        g_ptr_array_add (ids, ((NlPatch *) patches->pdata[i])->id);
      g_ptr_array_add (ids, NULL);
      j->passed = g_strdupv ((char **) ids->pdata);
      run_progress (run, "replica passed: production gets exactly the patches that passed");
      if (!nl_journal_save (j, error))
        return FALSE;
    }
  if (!run->plan->replica.keep && !g_atomic_int_get (&run->lost))
    {
      run_progress (run, "replica: discarding");
      if (!ops->replica_discard (run->driver->data, j->id, &local))
        run_progress (run, "replica: discarding failed: %s", local->message);
    }
  return ok;
}

/* ------------------------------------------------------------------ */
/* The run                                                              */

static void
skip_pending (NlJournal *j)
{
  for (guint i = 0; i < j->targets->len; i++)
    {
      NlTargetRecord *r = j->targets->pdata[i];
      if (r->state == NL_TARGET_PENDING)
        {
          r->state = NL_TARGET_SKIPPED;
          g_free (r->message);
          r->message = g_strdup (j->state == NL_RUN_ABORTED ? "aborted" : "the rollout halted");
        }
    }
}

static void
drop_checkpoints (Run *run)
{
  for (guint i = 0; i < run->journal->targets->len; i++)
    {
      NlTargetRecord *r = run->journal->targets->pdata[i];
      gpointer h;
      /* Done or rolled back, a machine needs its restore point no more. */
      if ((r->state != NL_TARGET_DONE && r->state != NL_TARGET_ROLLED_BACK) || r->checkpoint == NULL
          || r->pass == NL_PASS_REPLICA)
        continue;
      h = run->driver->ops->open (run->driver->data, r->name, NULL);
      if (h == NULL)
        continue;
      run->driver->ops->drop_checkpoint (h, r->checkpoint, NULL);
      run->driver->ops->close (h);
    }
}

/* What an ended run (done, halted, aborted) leaves: the replica only when
 * the plan keeps it, restore points only of machines neither done nor
 * rolled back (their state is not known to be good). Run again, it finds
 * nothing more to do. */
static void
end_cleanup (Run *run)
{
  g_autoptr (GError) local = NULL;

  if (run->plan->replica.enabled && !run->plan->replica.keep
      && !run->driver->ops->replica_discard (run->driver->data, run->journal->id, &local))
    run_progress (run, "replica: discarding failed: %s", local->message);
  g_clear_error (&local);
  if (nl_rollout_hosts_rehearsed (run->journal) && !run->plan->replica.keep)
    {
      g_autofree char *id = nl_rollout_hosts_replica_id (run->journal->id);
      if (!run->driver->ops->replica_discard (run->driver->data, id, &local))
        run_progress (run, "host replica: discarding failed: %s", local->message);
    }
  drop_checkpoints (run);
}

/* Every patch that passed, in plan order (borrowed): a host window takes
 * critical and other patches alike. */
static GPtrArray *
host_patches (const NlRolloutPlan *plan, const NlJournal *journal)
{
  GPtrArray *out = g_ptr_array_new ();
  for (guint i = 0; i < plan->patches->len; i++)
    {
      NlPatch *p = plan->patches->pdata[i];
      if (journal->passed && g_strv_contains ((const char *const *) journal->passed, p->id))
        g_ptr_array_add (out, p);
    }
  return out;
}

static void
execute (Run *run)
{
  NlJournal *j = run->journal;
  g_autoptr (GError) error = NULL;
  g_autoptr (GArray) passes = production_passes (run->plan, j->ignore_windows);
  gboolean ok = TRUE;

  j->state = NL_RUN_RUNNING;
  j->pid = getpid ();
  g_clear_pointer (&j->reason, g_free);
  if (!nl_journal_save (j, &error))
    goto out;

  if (j->passed == NULL)
    {
      /* Host windows alone have nothing the replica could copy: their
         guests are found when the window starts. */
      if (run->plan->replica.enabled && j->targets->len > 0)
        ok = run_replica (run, &error);
      else
        {
          g_autoptr (GPtrArray) ids = g_ptr_array_new ();
          for (guint i = 0; i < run->plan->patches->len; i++)
            g_ptr_array_add (ids, ((NlPatch *) run->plan->patches->pdata[i])->id);
          g_ptr_array_add (ids, NULL);
          j->passed = g_strdupv ((char **) ids->pdata);
          ok = nl_journal_save (j, &error);
        }
    }
  for (guint p = 0; ok && p < passes->len; p++)
    {
      NlRolloutPass pass = g_array_index (passes, NlRolloutPass, p);
      g_autoptr (GPtrArray) patches = pass_patches (run->plan, j, pass);
      for (guint r = 0; ok && r < run->plan->rings->len; r++)
        {
          const NlRing *ring = run->plan->rings->pdata[r];
          NlRingRecord *rr = nl_journal_find_ring (j, pass, ring->name);
          gboolean ran = rr && rr->finished_at == 0;
          ok = run_ring (run, pass, ring, patches, FALSE, &error);
          /* Soak between rings (not after the last): time for problems to
           * show before the next ring starts. */
          if (ok && ran && ring->soak > 0 && r + 1 < run->plan->rings->len)
            {
              run_progress (run, "%s ring '%s': soaking %us", nl_rollout_pass_to_string (pass), ring->name, ring->soak);
              sleep_unless_stopping (run, ring->soak);
              ok = !run_stopping (run);
            }
        }
    }

  /* Host windows come last: in the maintenance window (or now with
   * --now), with every patch that passed for their guests. */
  if (ok && j->hosts->len > 0)
    {
      g_autoptr (GPtrArray) patches = host_patches (run->plan, j);
      if (windowed (run->plan, j) && !ensure_window (run, &error))
        ok = FALSE;
      else
        ok = run_hosts (run, patches, &error);
    }

out:
  if (g_atomic_int_get (&run->lost))
    {
      /* As if killed: nothing is judged, resume goes on. */
      g_free (j->reason);
      j->reason = run->lost_why ? g_strdup (run->lost_why)
                  : g_strdup_printf ("lost the connection to libvirt; `nestlab rollout resume %s` "
                                     "goes on once libvirtd is back", j->id);
    }
  else if (error != NULL)
    {
      g_free (j->reason);
      j->reason = g_strdup (error->message);
      j->state = NL_RUN_HALTED;
    }
  else if (abort_requested (run))
    {
      j->state = NL_RUN_ABORTED;
      g_free (j->reason);
      j->reason = g_strdup ("aborted by request");
    }
  else if (j->state == NL_RUN_WAITING)
    ; /* resume continues in the window */
  else if (!ok || g_atomic_int_get (&run->halt))
    j->state = NL_RUN_HALTED;
  else
    j->state = NL_RUN_DONE;
  if (j->state != NL_RUN_WAITING && j->state != NL_RUN_RUNNING)
    {
      skip_pending (j);
      end_cleanup (run);
    }
  j->pid = 0;
  if (!nl_journal_save (j, &error) && error)
    run_progress (run, "rollout %s: warning: %s", j->id, error->message);
  run_progress (run, "rollout %s: %s%s%s", j->id,
            nl_run_state_to_string (g_atomic_int_get (&run->lost) ? NL_RUN_INTERRUPTED : j->state),
            j->reason ? ": " : "", j->reason ? j->reason : "");
}

static void
run_init (Run *run, const NlRolloutPlan *plan, NlRolloutDriver *driver, const NlRolloutOptions *options)
{
  memset (run, 0, sizeof *run);
  run->plan = plan;
  run->driver = driver;
  if (options)
    run->opts = *options;
  run->root = run->opts.root ? g_strdup (run->opts.root) : nl_rollout_state_root ();
  if (run->opts.poll_ms == 0)
    run->opts.poll_ms = 500;
  g_mutex_init (&run->progress_lock);
}

static void
run_clear (Run *run)
{
  g_free (run->root);
  g_free (run->lost_why);
  g_mutex_clear (&run->progress_lock);
}

/* The first ring whose select matches the domain or machine name. */
static const NlRing *
ring_for (const NlRolloutPlan *plan, const char *domain, const char *machine)
{
  for (guint i = 0; i < plan->rings->len; i++)
    {
      const NlRing *ring = plan->rings->pdata[i];
      for (guint k = 0; ring->select[k]; k++)
        if (g_pattern_match_simple (ring->select[k], domain)
            || (machine && g_pattern_match_simple (ring->select[k], machine)))
          return ring;
    }
  return NULL;
}

static gboolean
has_patched_hosts (const NlRolloutPlan *plan)
{
  for (guint i = 0; i < plan->hosts->len; i++)
    if (((NlHostTarget *) plan->hosts->pdata[i])->patch)
      return TRUE;
  return FALSE;
}

static NlHostRecord *
host_record_new (const NlHostTarget *host)
{
  NlHostRecord *h = g_new0 (NlHostRecord, 1);
  h->name = g_strdup (host->name);
  h->uri = nl_host_target_where (host);
  h->guests = g_ptr_array_new_with_free_func ((GDestroyNotify) nl_host_guest_record_free);
  h->warnings = g_ptr_array_new_with_free_func (g_free);
  return h;
}

NlJournal *
nl_rollout_run (const NlRolloutPlan *plan, NlRolloutDriver *driver,
                const NlRolloutOptions *options, GError **error)
{
  Run run;
  g_autoptr (GPtrArray) domains = NULL;
  g_autoptr (GPtrArray) machines = NULL;
  g_autoptr (GArray) passes = NULL;
  g_autoptr (NlJournal) j = NULL;
  g_autoptr (NlRolloutLock) lock = NULL;
  g_autofree char *id = NULL;
  g_autofree char *contents = NULL;
  g_autofree char *copy = NULL;
  gsize len = 0;

  run_init (&run, plan, driver, options);
  if (!driver->ops->resolve (driver->data, plan->targets, &domains, &machines, error))
    goto fail;
  if (domains->len == 0 && !has_patched_hosts (plan))
    {
      g_set_error (error, NL_ERROR, NL_ERROR_NOT_FOUND, "the plan's targets match no machine");
      goto fail;
    }
  /* Every target must have its ring before anything is touched. */
  for (guint i = 0; i < domains->len; i++)
    if (ring_for (plan, domains->pdata[i], machines->pdata[i]) == NULL)
      {
        g_set_error (error, NL_ERROR, NL_ERROR_INVALID, "%s: target '%s' matches no ring's select",
                     plan->file, (const char *) domains->pdata[i]);
        goto fail;
      }
  if (!g_file_get_contents (plan->file, &contents, &len, NULL))
    {
      g_set_error (error, NL_ERROR, NL_ERROR_FAILED, "cannot read %s again", plan->file);
      goto fail;
    }

  if (run.opts.id)
    id = g_strdup (run.opts.id);
  else
    {
      g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
      g_autofree char *stamp = g_date_time_format (now, "%Y%m%dT%H%M%SZ");
      id = g_strdup_printf ("%s-%s", plan->id, stamp);
    }
  j = nl_journal_create (run.root, id, error);
  if (j == NULL)
    goto fail;
  for (guint i = 0; i < plan->hosts->len; i++)
    {
      const NlHostTarget *host = plan->hosts->pdata[i];
      if (!host->patch)
        continue;
      /* A lab's Hyper-V host is a machine: its window is rehearsed on its
       * replica first, like every other patch. */
      if (host->lab != NULL && plan->replica.enabled)
        {
          NlHostRecord *rehearsal = host_record_new (host);
          rehearsal->replica = TRUE;
          g_ptr_array_add (j->hosts, rehearsal);
        }
      g_ptr_array_add (j->hosts, host_record_new (host));
    }
  {
    g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
    for (guint i = 0; i < domains->len; i++)
      g_ptr_array_add (names, g_strdup (domains->pdata[i]));
    for (guint i = 0; i < j->hosts->len; i++)
      if (!((NlHostRecord *) j->hosts->pdata[i])->replica)
        g_ptr_array_add (names, g_strdup_printf ("host@%s", ((NlHostRecord *) j->hosts->pdata[i])->name));
    g_ptr_array_add (names, NULL);
    lock = nl_rollout_lock_acquire (run.root, id, (const char *const *) names->pdata, error);
  }
  if (lock == NULL)
    {
      /* Leave no trace of a run that never started. */
      g_autofree char *runlock = g_build_filename (j->dir, "run.lock", NULL);
      g_unlink (runlock);
      g_rmdir (j->dir);
      goto fail;
    }
  copy = g_build_filename (j->dir, PLAN_COPY, NULL);
  if (!g_file_set_contents (copy, contents, len, error))
    goto fail;

  j->ignore_windows = run.opts.now;
  j->plan_id = g_strdup (plan->id);
  passes = production_passes (plan, j->ignore_windows);
  if (plan->replica.enabled)
    {
      NlRingRecord *rr = g_new0 (NlRingRecord, 1);
      rr->pass = NL_PASS_REPLICA;
      rr->name = g_strdup ("replica");
      g_ptr_array_add (j->rings, rr);
    }
  for (guint p = 0; p < passes->len; p++)
    for (guint r = 0; r < plan->rings->len; r++)
      {
        const NlRing *ring = plan->rings->pdata[r];
        NlRingRecord *rr = g_new0 (NlRingRecord, 1);
        rr->pass = g_array_index (passes, NlRolloutPass, p);
        rr->name = g_strdup (ring->name);
        g_ptr_array_add (j->rings, rr);
        for (guint i = 0; i < domains->len; i++)
          if (ring_for (plan, domains->pdata[i], machines->pdata[i]) == ring)
            g_ptr_array_add (j->targets, record_new (g_array_index (passes, NlRolloutPass, p), ring->name, domains->pdata[i]));
      }
  if (!nl_journal_save (j, error))
    goto fail;
  run_progress (&run, "rollout %s: %u machines, %u hosts, %u patches", id, domains->len,
                j->hosts->len, plan->patches->len);
  run.journal = j;
  execute (&run);
  run_clear (&run);
  return g_steal_pointer (&j);

fail:
  run_clear (&run);
  return NULL;
}

NlJournal *
nl_rollout_resume (const char *id, NlRolloutDriver *driver, const NlRolloutOptions *options,
                   GError **error)
{
  Run run;
  g_autoptr (NlJournal) j = NULL;
  g_autoptr (NlRolloutPlan) plan = NULL;
  g_autoptr (NlRolloutLock) lock = NULL;
  g_autoptr (GPtrArray) names = NULL;
  g_autofree char *copy = NULL;

  run_init (&run, NULL, driver, options);
  j = nl_journal_load (run.root, id, error);
  if (j == NULL)
    goto fail;
  if (j->state == NL_RUN_DONE || j->state == NL_RUN_HALTED || j->state == NL_RUN_ABORTED)
    {
      g_set_error (error, NL_ERROR, NL_ERROR_CONFLICT, "rollout '%s' has ended (%s); nothing to resume",
                   id, nl_run_state_to_string (j->state));
      goto fail;
    }
  copy = g_build_filename (j->dir, PLAN_COPY, NULL);
  plan = nl_rollout_plan_load (copy, error);
  if (plan == NULL)
    {
      g_prefix_error (error, "the run's copy of its plan: ");
      goto fail;
    }
  names = production_names (j);
  g_ptr_array_add (names, NULL);
  lock = nl_rollout_lock_acquire (run.root, id, (const char *const *) names->pdata, error);
  if (lock == NULL)
    goto fail;
  run.plan = plan;
  run.journal = j;
  run_progress (&run, "rollout %s: resuming", id);
  execute (&run);
  run_clear (&run);
  return g_steal_pointer (&j);

fail:
  run_clear (&run);
  return NULL;
}

gboolean
nl_rollout_abort (const char *root, const char *id, NlRolloutDriver *driver, GError **error)
{
  g_autoptr (NlJournal) j = nl_journal_load (root, id, error);
  g_autofree char *flag = NULL;
  g_autoptr (NlRolloutLock) lock = NULL;

  if (j == NULL)
    return FALSE;
  if (j->state == NL_RUN_DONE || j->state == NL_RUN_HALTED || j->state == NL_RUN_ABORTED)
    {
      g_set_error (error, NL_ERROR, NL_ERROR_CONFLICT, "rollout '%s' has ended (%s)", id,
                   nl_run_state_to_string (j->state));
      return FALSE;
    }
  /* A dead run that stopped inside a host window has guests down (saved,
   * off, on the peer): aborting it would leave them so. Resume finishes
   * the window; a live run finishes a window under way by itself. */
  if (!nl_rollout_run_is_active (root, id))
    for (guint i = 0; i < j->hosts->len; i++)
      {
        const NlHostRecord *h = j->hosts->pdata[i];
        if (h->state >= NL_HOST_DRAINING && h->state <= NL_HOST_RESTORING)
          {
            g_set_error (error, NL_ERROR, NL_ERROR_CONFLICT,
                         "rollout '%s' stopped inside the window of host %s (%s), whose guests are "
                         "down: `nestlab rollout resume %s` finishes the window and brings them "
                         "back; abort after that", id, h->name, nl_host_state_to_string (h->state), id);
            return FALSE;
          }
      }
  flag = g_build_filename (j->dir, ABORT_FILE, NULL);
  if (!g_file_set_contents (flag, "abort\n", -1, error))
    return FALSE;
  /* A live run sees the flag before its next step; a dead one (or one
   * waiting for its window in no process) is marked here. */
  lock = nl_rollout_lock_acquire (root, id, NULL, NULL);
  if (lock != NULL)
    {
      g_autofree char *copy = g_build_filename (j->dir, PLAN_COPY, NULL);
      g_autoptr (NlRolloutPlan) plan = driver ? nl_rollout_plan_load (copy, NULL) : NULL;

      j->state = NL_RUN_ABORTED;
      g_free (j->reason);
      j->reason = g_strdup ("aborted by request");
      skip_pending (j);
      if (!nl_journal_save (j, error))
        return FALSE;
      /* A dead run's leftovers (its replica, restore points of finished
       * machines) go as an ended run's would. */
      if (plan != NULL)
        {
          NlRolloutOptions o = { .root = root };
          Run run;
          run_init (&run, plan, driver, &o);
          run.journal = j;
          end_cleanup (&run);
          run_clear (&run);
        }
      return TRUE;
    }
  return TRUE;
}
