/* Host windows: a hypervisor host patched in one window with its guests.
 *
 * For each patched <host> of the plan, in order: ask the host for its
 * guests and what each needs (preparing), install the patches of the
 * guests that will be shut down with their reboot held back, save, shut
 * down or migrate every running guest (draining), run the host's update
 * command (updating), reboot it and wait for libvirt to answer with a new
 * boot id (rebooting), check it is the same host and healthy (verifying),
 * then start, resume or migrate back every guest and verify it (restoring).
 *
 * Every step is journalled before it acts, the host's state and each
 * guest's, so a run killed anywhere resumes: a stop or start that was
 * asked for is settled by asking libvirt where the guest is and how, a
 * reboot by the host's boot id, and nothing is left saved, off or on the
 * peer that was running at home before the window. */
#include <string.h>

#include <nestlab/error.h>
#include <nestlab/rollout.h>

#include "executor-private.h"
#include "hosts-private.h"

#define HOPS(d) ((d)->ops)

gint64
hosts_now_s (void)
{
  return g_get_real_time () / G_USEC_PER_SEC;
}

gboolean
hosts_save (Host *h, GError **error)
{
  return nl_journal_save (h->run->journal, error);
}

gboolean
hosts_host_state (Host *h, NlHostState state, GError **error)
{
  h->rec->state = state;
  return hosts_save (h, error);
}

gboolean
hosts_guest_state (Host *h, NlHostGuestRecord *g, NlHostGuestState state, const char *message,
             GError **error)
{
  g->state = state;
  if (message != NULL)
    {
      g_free (g->message);
      g->message = g_strdup (message);
    }
  return hosts_save (h, error);
}

NlHostGuestRecord *
hosts_guest_record_new (Host *h, const NlGuestPlan *gp)
{
  NlHostGuestRecord *g = g_new0 (NlHostGuestRecord, 1);
  g->name = g_strdup (gp->name);
  g->action = gp->action;
  g->asked = gp->asked;
  g->reason = g_strdup (gp->reason);
  g->migrate_back = gp->migrate_back;
  g->before = g_strdupv (gp->before);
  g->after = g_strdupv (gp->after);
  g->held = gp->held;
  g->planned_reboots = gp->reboots;
  g->state = gp->action == NL_GUEST_LEAVE_OFF ? NL_HGUEST_LEFT : NL_HGUEST_FOUND;
  g->location = g_strdup (h->host->name);
  g->installed = g_new0 (char *, 1);
  return g;
}

char *
hosts_lab_domain (Host *h, GError **error)
{
  NlTargetSelector sel = { .kind = NL_TARGET_LAB, .lab = h->host->lab, .machines = h->host->machine,
                           .src = h->host->src };
  g_autoptr (GPtrArray) sels = g_ptr_array_new ();
  g_autoptr (GPtrArray) domains = NULL;
  g_autoptr (GPtrArray) machines = NULL;

  g_ptr_array_add (sels, &sel);
  if (!h->run->driver->ops->resolve (h->run->driver->data, sels, &domains, &machines, error))
    return NULL;
  return g_strdup (domains->pdata[0]);
}

/* The first failure is the host's. */
void
hosts_fail (Host *h, const char *format, ...)
{
  va_list ap;
  g_autofree char *why = NULL;

  va_start (ap, format);
  why = g_strdup_vprintf (format, ap);
  va_end (ap);
  run_progress (h->run, "host %s: %s", h->host->name, why);
  if (h->failure == NULL)
    {
      /* Journalled with the next step, so a resumed window still ends failed. */
      g_free (h->rec->message);
      h->rec->message = g_strdup (why);
      h->failure = g_steal_pointer (&why);
    }
}

/* ------------------------------------------------------------------ */
/* A guest through its agent                                            */


void
hosts_agent_close (Agent *a)
{
  if (a->handle)
    a->drv->ops->close (a->handle);
  a->handle = NULL;
}

/* Opens NAME on DRV and waits up to TIMEOUT seconds for its agent. */
gboolean
hosts_agent_open (Agent *a, NlRolloutDriver *drv, const char *name, guint timeout, GError **error)
{
  memset (a, 0, sizeof *a);
  a->drv = drv;
  a->handle = drv->ops->open (drv->data, name, error);
  if (a->handle == NULL)
    return FALSE;
  if (!drv->ops->ping (a->handle, timeout, error) || !drv->ops->os_family (a->handle, &a->os, error))
    {
      hosts_agent_close (a);
      return FALSE;
    }
  return TRUE;
}

gboolean
hosts_agent_run (Agent *a, const char *const *argv, guint timeout, int *status, char **output,
                 GError **error)
{
  return rollout_guest_run (a->drv->ops, a->handle, argv, timeout, status, output, error);
}

/* The guest's boot id (Linux guests; NULL for others or when unreadable). */
static char *
agent_boot_id (Agent *a)
{
  const char *argv[] = { "/bin/cat", "/proc/sys/kernel/random/boot_id", NULL };
  g_autofree char *out = NULL;
  int status = -1;

  if (a->os != NL_OS_FAMILY_LINUX || !hosts_agent_run (a, argv, 30, &status, &out, NULL) || status != 0 || out == NULL)
    return NULL;
  return g_strdup (g_strstrip (out));
}

/* Whether PATCH is present by its check command (FALSE without one). */
static gboolean
patch_present (Agent *a, const NlPatch *patch, gboolean *has_check, GError **error)
{
  return rollout_patch_present (a->drv->ops, a->handle, a->os, patch, has_check, error);
}

/* Notes a new boot of guest G (its boot id changed). */
static void
count_boot (NlHostGuestRecord *g, Agent *a)
{
  g_autofree char *id = agent_boot_id (a);
  if (id == NULL)
    return;
  if (g->boot_id != NULL && !g_str_equal (g->boot_id, id))
    g->reboots++;
  g_free (g->boot_id);
  g->boot_id = g_steal_pointer (&id);
}

/* Installs IDS into guest G, skipping what it has already (recorded, or
 * present by the patch's check), journalling each. */
static gboolean
install (Host *h, NlHostGuestRecord *g, Agent *a, char **ids, GError **error)
{
  for (guint i = 0; ids && ids[i]; i++)
    {
      const NlPatch *patch = rollout_find_patch (h->patches, ids[i]);
      const NlGuestCommand *cmd = patch ? nl_rollout_command_for (patch->install, a->os) : NULL;
      g_autofree char *output = NULL;
      gboolean has_check = FALSE;
      int status = -1;

      if (patch == NULL || (g->installed && g_strv_contains ((const char *const *) g->installed, ids[i])))
        continue;
      if (patch_present (a, patch, &has_check, error))
        {
          rollout_add_id (&g->installed, patch->id);
          continue;
        }
      if (error && *error)
        return FALSE;
      if (cmd == NULL)
        {
          g_set_error (error, NL_ERROR, NL_ERROR_FAILED, "%s has no install command for %s guests",
                       patch->id, nl_os_family_to_string (a->os));
          return FALSE;
        }
      run_progress (h->run, "host %s: %s: installing %s", h->host->name, g->name, patch->id);
      if (!hosts_agent_run (a, (const char *const *) cmd->argv, patch->timeout, &status, &output, error))
        return FALSE;
      if (status != 0)
        {
          g_set_error (error, NL_ERROR, NL_ERROR_FAILED, "installing %s failed (exit %d)%s%s",
                       patch->id, status, output && *output ? ": " : "",
                       output ? g_strchomp (output) : "");
          return FALSE;
        }
      rollout_add_id (&g->installed, patch->id);
      if (!hosts_save (h, error))
        return FALSE;
    }
  return TRUE;
}

/* ------------------------------------------------------------------ */
/* Preparing: what the host carries, the plan for each guest            */

/* ------------------------------------------------------------------ */
/* The survey: what a host carries and what each guest needs           */

void
nl_host_survey_free (NlHostSurvey *survey)
{
  if (survey == NULL)
    return;
  for (guint i = 0; i < survey->n; i++)
    {
      g_free (survey->guests[i].name);
      g_free (survey->guests[i].boot_id);
      g_free (survey->guests[i].agent_error);
      g_free (survey->guests[i].pending);
    }
  g_free (survey->guests);
  g_free (survey->uuid);
  g_free (survey);
}

/* What guest INFO still needs of PATCHES, through its agent. */
static void
survey_guest (NlRolloutDriver *drv, NlHostGuestSurvey *g, const GPtrArray *patches, guint timeout)
{
  Agent a;
  g_autoptr (GError) local = NULL;
  g_autoptr (GArray) pending = g_array_new (FALSE, TRUE, sizeof (NlPendingPatch));

  if (!hosts_agent_open (&a, drv, g->name, timeout, &local))
    {
      g->agent_error = g_strdup (local->message);
      return;
    }
  g->agent = TRUE;
  g->boot_id = agent_boot_id (&a);
  for (guint i = 0; i < patches->len; i++)
    {
      const NlPatch *p = patches->pdata[i];
      NlPendingPatch e = { p->id, p->reboot };
      gboolean has_check;
      if (nl_rollout_command_for (p->install, a.os) == NULL)
        continue;
      if (patch_present (&a, p, &has_check, NULL))
        continue;
      g_array_append_val (pending, e);
    }
  hosts_agent_close (&a);
  g->n_pending = pending->len;
  g->pending = (NlPendingPatch *) g_array_free (g_steal_pointer (&pending), FALSE);
}

NlHostSurvey *
nl_rollout_host_survey (NlRolloutDriver *host_driver, const GPtrArray *patches, guint agent_timeout,
                        GError **error)
{
  g_autoptr (NlHostSurvey) survey = g_new0 (NlHostSurvey, 1);
  g_autoptr (GPtrArray) guests = NULL;

  survey->uuid = HOPS (host_driver)->host_uuid (host_driver->data, error);
  if (survey->uuid == NULL)
    return NULL;
  guests = HOPS (host_driver)->host_guests (host_driver->data, error);
  if (guests == NULL)
    return NULL;
  survey->n = guests->len;
  survey->guests = g_new0 (NlHostGuestSurvey, guests->len + 1);
  for (guint i = 0; i < guests->len; i++)
    {
      const NlHostGuestInfo *info = guests->pdata[i];
      NlHostGuestSurvey *g = &survey->guests[i];
      g->name = g_strdup (info->name);
      g->running = info->active;
      g->nested = info->nested;
      if (g->running)
        survey_guest (host_driver, g, patches, agent_timeout);
    }
  return g_steal_pointer (&survey);
}

NlHostPlan *
nl_rollout_host_survey_plan (const NlRolloutPlan *plan, const NlHostTarget *host,
                             const NlHostSurvey *survey)
{
  g_autofree NlGuestFacts *facts = g_new0 (NlGuestFacts, survey->n + 1);
  NlHostPlan *out;

  for (guint i = 0; i < survey->n; i++)
    {
      const NlHostGuestSurvey *g = &survey->guests[i];
      facts[i].name = g->name;
      facts[i].running = g->running;
      facts[i].nested = g->nested;
      facts[i].stop = nl_rollout_guest_stop (plan, host, g->name);
      facts[i].patches = g->pending;
      facts[i].n_patches = g->n_pending;
    }
  out = nl_rollout_host_plan (host, &plan->host_policy, facts, survey->n);
  /* A stop action asked of a guest the host does not carry is a mistake
   * in the plan worth saying, not a reason to stop; so is an agent that
   * does not answer (nothing is installed there). */
  for (guint i = 0; i < host->guests->len; i++)
    {
      const NlHostGuest *named = host->guests->pdata[i];
      gboolean found = FALSE;
      for (guint k = 0; k < survey->n && !found; k++)
        found = g_str_equal (survey->guests[k].name, named->name);
      if (!found)
        g_ptr_array_add (out->warnings, g_strdup_printf ("guest '%s' (line %d) is not on this host",
                                                         named->name, named->src.line));
    }
  for (guint i = 0; i < survey->n; i++)
    if (survey->guests[i].agent_error != NULL)
      g_ptr_array_add (out->warnings,
                       g_strdup_printf ("guest '%s': its agent does not answer (%s): nothing is "
                                        "installed there in this window", survey->guests[i].name,
                                        survey->guests[i].agent_error));
  return out;
}

static gboolean
prepare (Host *h, GError **error)
{
  NlHostRecord *rec = h->rec;
  g_autoptr (NlHostSurvey) survey = NULL;
  g_autoptr (NlHostPlan) plan = NULL;
  g_autoptr (GError) local = NULL;

  rec->started = hosts_now_s ();
  survey = nl_rollout_host_survey (h->drv, h->patches, MIN (h->run->plan->agent_timeout, 15), &local);
  if (survey == NULL)
    {
      hosts_fail (h, "libvirt at %s does not answer: %s", h->host->uri, local->message);
      return TRUE;
    }
  g_free (rec->uuid);
  rec->uuid = g_strdup (survey->uuid);
  plan = nl_rollout_host_survey_plan (h->run->plan, h->host, survey);
  for (guint i = 0; i < plan->warnings->len; i++)
    g_ptr_array_add (rec->warnings, g_strdup (plan->warnings->pdata[i]));
  g_ptr_array_set_size (rec->guests, 0);
  for (guint i = 0; i < plan->guests->len; i++)
    {
      const NlGuestPlan *gp = plan->guests->pdata[i];
      NlHostGuestRecord *g = hosts_guest_record_new (h, gp);
      g->boot_id = g_strdup (survey->guests[i].boot_id);
      g->agent = survey->guests[i].agent;
      g->nested = survey->guests[i].nested;
      g_ptr_array_add (rec->guests, g);
      run_progress (h->run, "host %s: %s: %s%s%s", h->host->name, g->name,
                    nl_guest_action_to_string (g->action), g->reason ? " (" : "",
                    g->reason ? g->reason : "");
    }
  for (guint i = 0; i < rec->warnings->len; i++)
    run_progress (h->run, "host %s: warning: %s", h->host->name, (const char *) rec->warnings->pdata[i]);
  if (!hosts_host_state (h, NL_HOST_PREPARING, error))
    return FALSE;
  return TRUE;
}

/* ------------------------------------------------------------------ */
/* Restore points: a guest's patches, as a ring target's, can be undone  */

/* Takes G's restore point before its patches go in (journalled first, so
 * a resume knows it may exist). A nested hypervisor gets none: KVM does
 * not support saving the memory of one that runs guests of its own. */
static gboolean
take_restore_point (Host *h, NlHostGuestRecord *g, Agent *a, GError **error)
{
  if (g->nested || g->checkpoint != NULL)
    return TRUE;
  g->checkpoint = g_strdup_printf ("nl-%s", h->run->journal->id);
  if (!hosts_save (h, error))
    return FALSE;
  run_progress (h->run, "host %s: %s: restore point %s", h->host->name, g->name, g->checkpoint);
  return a->drv->ops->checkpoint (a->handle, g->checkpoint, error);
}

/* Back to the restore point after WHY: TRUE when G is as it was. */
static gboolean
roll_back (Host *h, NlHostGuestRecord *g, Agent *a, const char *why)
{
  g_autoptr (GError) local = NULL;
  if (g->checkpoint == NULL)
    return FALSE;
  run_progress (h->run, "host %s: %s: %s: rolling back to %s", h->host->name, g->name, why,
                g->checkpoint);
  if (!a->drv->ops->revert (a->handle, g->checkpoint, &local)
      || !a->drv->ops->ping (a->handle, h->run->plan->agent_timeout, &local))
    {
      run_progress (h->run, "host %s: %s: rollback failed: %s", h->host->name, g->name, local->message);
      return FALSE;
    }
  /* The revert undid this run's installs; the restore point served. */
  g_strfreev (g->installed);
  g->installed = g_new0 (char *, 1);
  a->drv->ops->drop_checkpoint (a->handle, g->checkpoint, NULL);
  g_clear_pointer (&g->checkpoint, g_free);
  return TRUE;
}

/* Drops G's restore point: it is patched and healthy, or rolled back. */
static void
drop_restore_point (Host *h, NlHostGuestRecord *g, NlRolloutDriver *drv)
{
  gpointer handle;
  if (g->checkpoint == NULL)
    return;
  handle = drv->ops->open (drv->data, g->name, NULL);
  if (handle != NULL)
    {
      drv->ops->drop_checkpoint (handle, g->checkpoint, NULL);
      drv->ops->close (handle);
    }
  g_clear_pointer (&g->checkpoint, g_free);
}

/* The patches of guests that will be shut down go in now, their reboot
 * held back: the cold boot after the host's reboot is theirs. A guest
 * whose install fails is still stopped and brought back; it is reported
 * failed. */
static gboolean
install_before (Host *h, GError **error)
{
  for (guint i = 0; i < h->rec->guests->len; i++)
    {
      NlHostGuestRecord *g = h->rec->guests->pdata[i];
      g_autoptr (GError) local = NULL;
      Agent a;

      if (g->state != NL_HGUEST_FOUND || g->before == NULL || g->before[0] == NULL)
        continue;
      if (!hosts_agent_open (&a, h->drv, g->name, h->run->plan->agent_timeout, &local)
          || !take_restore_point (h, g, &a, &local) || !install (h, g, &a, g->before, &local))
        {
          gboolean undone;
          g_prefix_error (&local, "before the window: ");
          run_progress (h->run, "host %s: %s: %s", h->host->name, g->name, local->message);
          undone = a.handle != NULL && roll_back (h, g, &a, "its install failed");
          hosts_agent_close (&a);
          if (undone)
            g_prefix_error (&local, "rolled back: ");
          if (!hosts_guest_state (h, g, NL_HGUEST_FOUND, local->message, error))
            return FALSE;
          continue;
        }
      hosts_agent_close (&a);
      if (!hosts_guest_state (h, g, NL_HGUEST_PATCHED, g->held ? "installed; reboot held for the host's" : "installed",
                        error))
        return FALSE;
    }
  return TRUE;
}

/* ------------------------------------------------------------------ */
/* Draining                                                             */

/* Where guest NAME is now: on the host, the peer, or nowhere; and how. */
typedef enum { WHERE_NOWHERE, WHERE_HOME, WHERE_PEER } Where;

static Where
locate (Host *h, const char *name, gboolean *active, gboolean *saved, GError **error)
{
  NlRolloutDriver *drivers[] = { h->drv, h->peer_drv };
  for (guint d = 0; d < G_N_ELEMENTS (drivers); d++)
    {
      g_autoptr (GPtrArray) guests = NULL;
      if (drivers[d] == NULL)
        continue;
      guests = HOPS (drivers[d])->host_guests (drivers[d]->data, error);
      if (guests == NULL)
        return WHERE_NOWHERE;
      for (guint i = 0; i < guests->len; i++)
        {
          NlHostGuestInfo *info = guests->pdata[i];
          if (!g_str_equal (info->name, name))
            continue;
          *active = info->active;
          *saved = info->saved;
          return d == 0 ? WHERE_HOME : WHERE_PEER;
        }
    }
  return WHERE_NOWHERE;
}

static gboolean
stop_guest (Host *h, NlHostGuestRecord *g, GError **error)
{
  const NlRolloutPlan *plan = h->run->plan;

  switch (g->action)
    {
    case NL_GUEST_SAVE:
      return HOPS (h->drv)->guest_save (h->drv->data, g->name, error);
    case NL_GUEST_SHUTDOWN:
      return HOPS (h->drv)->guest_shutdown (h->drv->data, g->name, plan->host_policy.shutdown_timeout, error);
    case NL_GUEST_MIGRATE:
      return HOPS (h->drv)->guest_migrate (h->drv->data, g->name, h->peer_drv, h->peer->migrate_uri,
                                          h->host->shared_storage, error);
    default:
      return TRUE;
    }
}

/* Whether guest G is where and as its stop action leaves it. */
static gboolean
stopped_already (Host *h, NlHostGuestRecord *g, GError **error)
{
  gboolean active = FALSE, saved = FALSE;
  Where where = locate (h, g->name, &active, &saved, error);

  if (error && *error)
    return FALSE;
  if (g->action == NL_GUEST_MIGRATE)
    return where == WHERE_PEER;
  return where == WHERE_HOME && !active;
}

/* ------------------------------------------------------------------ */
/* Up to the policy's "parallel" guests at once                         */

/* One guest's libvirt action in a worker thread. Workers only call the
 * driver (each call opens its own connection); every journal change is
 * made by the window's own thread, before the workers start and after they
 * all ended. */
typedef struct {
  Host *h;
  NlHostGuestRecord *g;
  gboolean (*act) (Host *h, NlHostGuestRecord *g, GError **error);
  gboolean ok;
  GError *error;
} Job;

static void
job_run (gpointer data, gpointer user_data)
{
  Job *job = data;
  job->ok = job->act (job->h, job->g, &job->error);
}

static void
job_free (Job *job)
{
  g_clear_error (&job->error);
  g_free (job);
}

/* Runs ACT for every guest of GUESTS, PARALLEL at once; the jobs, in the
 * order of GUESTS, with their results. */
static GPtrArray *
run_jobs (Host *h, GPtrArray *guests, gboolean (*act) (Host *, NlHostGuestRecord *, GError **))
{
  GPtrArray *jobs = g_ptr_array_new_with_free_func ((GDestroyNotify) job_free);
  GThreadPool *pool;

  if (guests->len == 0)
    return jobs;
  /* Threads of its own that end with it: nothing lingers in GLib's shared
   * pool once the window goes on. */
  pool = g_thread_pool_new (job_run, NULL, CLAMP (h->run->plan->host_policy.parallel, 1, guests->len),
                            TRUE, NULL);
  for (guint i = 0; i < guests->len; i++)
    {
      Job *job = g_new0 (Job, 1);
      job->h = h;
      job->g = guests->pdata[i];
      job->act = act;
      g_ptr_array_add (jobs, job);
      g_thread_pool_push (pool, job, NULL);
    }
  g_thread_pool_free (pool, FALSE, TRUE);
  return jobs;
}

static gboolean
stop_job (Host *h, NlHostGuestRecord *g, GError **error)
{
  run_progress (h->run, "host %s: %s: %s", h->host->name, g->name,
                g->action == NL_GUEST_SAVE ? "saving"
                : g->action == NL_GUEST_SHUTDOWN ? "shutting down" : "migrating");
  return stop_guest (h, g, error) || stopped_already (h, g, NULL);
}

static gboolean
drain (Host *h, GError **error)
{
  g_autoptr (GPtrArray) todo = g_ptr_array_new ();
  g_autoptr (GPtrArray) jobs = NULL;

  if (h->rec->state < NL_HOST_DRAINING && !hosts_host_state (h, NL_HOST_DRAINING, error))
    return FALSE;
  for (guint i = 0; i < h->rec->guests->len; i++)
    {
      NlHostGuestRecord *g = h->rec->guests->pdata[i];
      g_autoptr (GError) local = NULL;

      if (g->state != NL_HGUEST_FOUND && g->state != NL_HGUEST_PATCHED && g->state != NL_HGUEST_STOPPING)
        continue;
      /* Resumed after the stop was asked for: settle it from libvirt. */
      if (g->state == NL_HGUEST_STOPPING && stopped_already (h, g, &local))
        {
          if (g->action == NL_GUEST_MIGRATE)
            {
              g_free (g->location);
              g->location = g_strdup (h->peer->name);
            }
          g->state = NL_HGUEST_STOPPED;
          continue;
        }
      if (local != NULL)
        {
          hosts_fail (h, "draining: %s: %s", g->name, local->message);
          return hosts_save (h, error);
        }
      if (g->state != NL_HGUEST_STOPPING)
        {
          g->down_at = g->action == NL_GUEST_MIGRATE ? 0 : hosts_now_s ();
          g->state = NL_HGUEST_STOPPING;
        }
      g_ptr_array_add (todo, g);
    }
  /* Every stop is journalled as asked for before any starts. */
  if (!hosts_save (h, error))
    return FALSE;
  jobs = run_jobs (h, todo, stop_job);
  for (guint i = 0; i < jobs->len; i++)
    {
      Job *job = jobs->pdata[i];
      NlHostGuestRecord *g = job->g;
      if (!job->ok)
        {
          /* It kept running: no downtime to report; the host is not
           * patched, and the guests stopped come back. */
          g->down_at = 0;
          hosts_fail (h, "draining: %s: %s", g->name, job->error ? job->error->message : "failed");
          continue;
        }
      if (g->action == NL_GUEST_MIGRATE)
        {
          g_free (g->location);
          g->location = g_strdup (h->peer->name);
        }
      g->state = NL_HGUEST_STOPPED;
    }
  return hosts_save (h, error);
}

/* ------------------------------------------------------------------ */
/* Updating and rebooting the host                                      */

static gboolean
host_command (Host *h, char **argv, const char *const *fallback, guint timeout, int *status,
              char **output, GError **error)
{
  return nl_host_command_run (h->host, argv ? (const char *const *) argv : fallback, timeout, status,
                              output, error);
}

static const char *const default_boot_id[] = { "/bin/cat", "/proc/sys/kernel/random/boot_id", NULL };
static const char *const default_reboot[] = { "/sbin/reboot", NULL };

/* The host's boot id, or NULL when it cannot be read (it is down). */
static char *
host_boot_id (Host *h)
{
  g_autofree char *out = NULL;
  int status = -1;

  if (!host_command (h, h->host->boot_id, default_boot_id, 60, &status, &out, NULL) || status != 0
      || out == NULL)
    return NULL;
  g_strstrip (out);
  return *out ? g_steal_pointer (&out) : NULL;
}

static gboolean
update (Host *h, GError **error)
{
  g_autofree char *output = NULL;
  g_autoptr (GError) local = NULL;
  int status = -1;

  if (h->host->update == NULL)
    return TRUE;
  if (!hosts_host_state (h, NL_HOST_UPDATING, error))
    return FALSE;
  run_progress (h->run, "host %s: updating", h->host->name);
  if (!host_command (h, h->host->update, NULL, h->host->update_timeout, &status, &output, &local))
    hosts_fail (h, "updating: %s", local->message);
  else if (status != 0)
    {
      g_autofree char *tail = output ? g_strdup (g_strchomp (output)) : NULL;
      hosts_fail (h, "its update command failed (exit %d)%s%s", status, tail && *tail ? ": " : "",
                  tail ? tail : "");
    }
  return TRUE;
}

/* Waits for libvirt to answer again and the host's boot id to differ from
 * the one journalled before the reboot. FALSE when the deadline passes
 * (*CAME_BACK tells whether libvirt answers and the boot id is the old
 * one; without both the host counts as still down). */
static gboolean
wait_back (Host *h, gboolean *came_back)
{
  gint64 end = g_get_monotonic_time () + (gint64) h->host->boot_timeout * G_USEC_PER_SEC;

  *came_back = FALSE;
  for (;;)
    {
      g_autofree char *uuid = HOPS (h->drv)->host_uuid (h->drv->data, NULL);
      if (uuid != NULL)
        {
          /* Back only with a boot id to tell which boot this is. */
          g_autofree char *id = host_boot_id (h);
          *came_back = id != NULL;
          if (id != NULL && g_strcmp0 (id, h->rec->boot_id) != 0)
            return TRUE;
        }
      if (g_get_monotonic_time () >= end || run_stopping (h->run))
        return FALSE;
      g_usleep (2 * G_USEC_PER_SEC);
    }
}

static gboolean
reboot (Host *h, GError **error)
{
  NlHostRecord *rec = h->rec;
  gboolean came_back = FALSE;

  if (rec->state != NL_HOST_REBOOTING)
    {
      g_autofree char *output = NULL;
      g_autoptr (GError) local = NULL;
      int status = -1;

      g_free (rec->boot_id);
      rec->boot_id = host_boot_id (h);
      if (rec->boot_id == NULL)
        {
          hosts_fail (h, "cannot read its boot id, so its reboot could not be proven; not rebooted");
          return TRUE;
        }
      rec->down_at = hosts_now_s ();
      if (!hosts_host_state (h, NL_HOST_REBOOTING, error))
        return FALSE;
      run_progress (h->run, "host %s: rebooting", h->host->name);
      /* A reboot may end the command's own connection (ssh): its exit
       * status proves nothing; the new boot id does. */
      if (!host_command (h, h->host->reboot, default_reboot, 120, &status, &output, &local))
        run_progress (h->run, "host %s: reboot command: %s", h->host->name, local->message);
    }
  else
    {
      g_autofree char *uuid = HOPS (h->drv)->host_uuid (h->drv->data, NULL);
      g_autofree char *id = uuid ? host_boot_id (h) : NULL;
      run_progress (h->run, "host %s: its reboot was under way when the run stopped", h->host->name);
      /* Up with the boot id of before: the reboot command may never have
       * run. The host is drained, so asking again is safe. */
      if (id != NULL && g_strcmp0 (id, rec->boot_id) == 0)
        {
          g_autofree char *output = NULL;
          int status = -1;
          run_progress (h->run, "host %s: not rebooted yet: rebooting", h->host->name);
          host_command (h, h->host->reboot, default_reboot, 120, &status, &output, NULL);
        }
    }
  if (wait_back (h, &came_back))
    {
      rec->up_at = hosts_now_s ();
      run_progress (h->run, "host %s: back after %" G_GINT64_FORMAT "s", h->host->name,
                    rec->up_at - rec->down_at);
      return hosts_host_state (h, NL_HOST_VERIFYING, error);
    }
  if (run_stopping (h->run))
    return TRUE;
  if (came_back)
    {
      /* libvirt answers but the host never rebooted. It is drained, so a
       * later resume may safely ask again; this run says why it stops. */
      hosts_fail (h, "libvirt answers, but its boot id did not change within %us: the reboot "
                  "did not happen", h->host->boot_timeout);
      return TRUE;
    }
  /* Still down: as if killed, `rollout resume` goes on waiting. */
  h->run->lost_why = g_strdup_printf ("host %s is not back within %us of its reboot; `nestlab "
                                      "rollout resume %s` goes on waiting", h->host->name,
                                      h->host->boot_timeout, h->run->journal->id);
  run_progress (h->run, "%s", h->run->lost_why);
  g_atomic_int_set (&h->run->lost, 1);
  g_atomic_int_set (&h->run->halt, 1);
  return TRUE;
}

static gboolean
verify_host (Host *h, GError **error)
{
  g_autoptr (GError) local = NULL;
  g_autofree char *uuid = HOPS (h->drv)->host_uuid (h->drv->data, &local);

  if (uuid == NULL)
    hosts_fail (h, "after its reboot: %s", local->message);
  else if (h->rec->uuid != NULL && !g_str_equal (uuid, h->rec->uuid))
    hosts_fail (h, "after its reboot, %s answers as another host (UUID %s, was %s)", h->host->uri,
                uuid, h->rec->uuid);
  else if (h->host->check != NULL)
    {
      g_autofree char *output = NULL;
      int status = -1;
      if (!host_command (h, h->host->check, NULL, 600, &status, &output, &local))
        hosts_fail (h, "its check: %s", local->message);
      else if (status != 0)
        hosts_fail (h, "its check failed (exit %d)%s%s", status, output && *output ? ": " : "",
                    output ? g_strchomp (output) : "");
    }
  return TRUE;
}

/* ------------------------------------------------------------------ */
/* Restoring                                                            */

/* After it is back: the patches that waited for a boot of its own (with
 * that reboot), every patch confirmed by its check, the health checks. */
static gboolean
all_installed (NlHostGuestRecord *g, char **ids)
{
  for (guint i = 0; ids && ids[i]; i++)
    if (!g->installed || !g_strv_contains ((const char *const *) g->installed, ids[i]))
      return FALSE;
  return TRUE;
}

static gboolean
verify_guest (Host *h, NlHostGuestRecord *g, NlRolloutDriver *drv, GError **error)
{
  const NlRolloutPlan *plan = h->run->plan;
  Agent a;
  gboolean need_reboot = FALSE;

  if (!g->agent)
    {
      /* Nothing was installed without an agent: running again is all
       * there is to verify, and a cold boot is a boot. */
      gboolean active = FALSE, saved = FALSE;
      Where where = locate (h, g->name, &active, &saved, error);
      if (error && *error)
        return FALSE;
      if (where == WHERE_NOWHERE || !active)
        {
          g_set_error (error, NL_ERROR, NL_ERROR_FAILED, "it is not running after its start");
          return FALSE;
        }
      if (g->up_at == 0 && g->action != NL_GUEST_MIGRATE)
        g->up_at = hosts_now_s ();
      if (g->action == NL_GUEST_SHUTDOWN && g->reboots == 0)
        g->reboots = 1;
      return TRUE;
    }
  if (!hosts_agent_open (&a, drv, g->name, plan->agent_timeout, error))
    return FALSE;
  count_boot (g, &a);
  /* Without a boot id to compare (not Linux), a cold boot is still a boot. */
  if (g->boot_id == NULL && g->action == NL_GUEST_SHUTDOWN && g->reboots == 0)
    g->reboots = 1;
  if (g->action != NL_GUEST_MIGRATE && g->up_at == 0)
    g->up_at = hosts_now_s ();
  if (g->after != NULL && g->after[0] != NULL && !all_installed (g, g->after)
      && !take_restore_point (h, g, &a, error))
    goto fail;
  if (!install (h, g, &a, g->after, error))
    goto fail;
  for (guint i = 0; g->after && g->after[i]; i++)
    {
      const NlPatch *p = rollout_find_patch (h->patches, g->after[i]);
      need_reboot |= p && p->reboot != NL_REBOOT_NONE;
    }
  if (need_reboot && g->reboots < g->planned_reboots)
    {
      gint64 t0 = hosts_now_s ();
      gboolean known = g->boot_id != NULL;
      run_progress (h->run, "host %s: %s: rebooting for its own patches", h->host->name, g->name);
      if (!drv->ops->reboot (a.handle, plan->agent_timeout, error))
        goto fail;
      if (known)
        count_boot (g, &a);
      else
        g->reboots++;
      /* A migrated guest's own reboot is its downtime in this window. */
      if (g->action == NL_GUEST_MIGRATE)
        {
          g->down_at = t0;
          g->up_at = hosts_now_s ();
        }
      if (!hosts_save (h, error))
        goto fail;
    }
  for (guint i = 0; g->installed && g->installed[i]; i++)
    {
      const NlPatch *p = rollout_find_patch (h->patches, g->installed[i]);
      gboolean has_check;
      if (p == NULL)
        continue;
      if (!patch_present (&a, p, &has_check, error) && has_check)
        {
          if (error && *error == NULL)
            g_set_error (error, NL_ERROR, NL_ERROR_FAILED,
                         "%s installed, but its check command says it is not present", p->id);
          goto fail;
        }
      if (error && *error)
        goto fail;
    }
  if (!rollout_health (plan, a.drv->ops, a.handle, a.os, error))
    goto fail;
  hosts_agent_close (&a);
  return TRUE;
fail:
  /* Like a ring's machine: back to how it was before its patches. */
  if (error && *error && roll_back (h, g, &a, (*error)->message))
    g_prefix_error (error, "rolled back: ");
  hosts_agent_close (&a);
  return FALSE;
}

/* Whether every patch meant to go in before the window did: a guest whose
 * held-back install failed comes back, but is reported failed. */
static gboolean
all_before_installed (Host *h, NlHostGuestRecord *g)
{
  return all_installed (g, g->before);
}

static gboolean
start_guest (Host *h, NlHostGuestRecord *g, GError **error)
{
  gboolean active = FALSE, saved = FALSE;
  Where where;

  if (g->action != NL_GUEST_MIGRATE)
    return HOPS (h->drv)->guest_start (h->drv->data, g->name, error);
  if (!g->migrate_back)
    return TRUE;
  /* Already home (the migration back finished before a crash)? */
  where = locate (h, g->name, &active, &saved, error);
  if (error && *error)
    return FALSE;
  if (where == WHERE_HOME)
    return TRUE;
  return HOPS (h->peer_drv)->guest_migrate (h->peer_drv->data, g->name, h->drv, h->host->migrate_uri,
                                           h->host->shared_storage, error);
}

static gboolean
start_job (Host *h, NlHostGuestRecord *g, GError **error)
{
  gboolean ok;

  run_progress (h->run, "host %s: %s: %s", h->host->name, g->name,
                g->action == NL_GUEST_MIGRATE ? (g->migrate_back ? "migrating back" : "staying on the peer")
                : g->action == NL_GUEST_SAVE ? "resuming" : "starting");
  ok = start_guest (h, g, error);
  if (!ok)
    {
      g_prefix_error (error, "bringing it back: ");
      return FALSE;
    }
  /* Its downtime ends when its agent answers: waited for here, side by
   * side with the others, not when its turn to be verified comes. Only
   * this worker touches G until all have ended. */
  if (g->agent && g->action != NL_GUEST_MIGRATE && g->up_at == 0)
    {
      Agent a;
      if (hosts_agent_open (&a, h->drv, g->name, h->run->plan->agent_timeout, NULL))
        {
          g->up_at = hosts_now_s ();
          hosts_agent_close (&a);
        }
    }
  return TRUE;
}

static gboolean
restore (Host *h, GError **error)
{
  g_autoptr (GPtrArray) todo = g_ptr_array_new ();
  g_autoptr (GPtrArray) jobs = NULL;

  if (h->rec->state != NL_HOST_RESTORING && !hosts_host_state (h, NL_HOST_RESTORING, error))
    return FALSE;
  /* Every guest down starts at once (up to "parallel"), journalled as
   * asked for first; then each is verified in turn, by which time their
   * boots have run side by side. */
  for (guint i = 0; i < h->rec->guests->len; i++)
    {
      NlHostGuestRecord *g = h->rec->guests->pdata[i];
      if (g->state != NL_HGUEST_STOPPING && g->state != NL_HGUEST_STOPPED && g->state != NL_HGUEST_STARTING)
        continue;
      g->state = NL_HGUEST_STARTING;
      g_ptr_array_add (todo, g);
    }
  if (!hosts_save (h, error))
    return FALSE;
  jobs = run_jobs (h, todo, start_job);
  for (guint i = 0; i < jobs->len; i++)
    {
      Job *job = jobs->pdata[i];
      NlHostGuestRecord *g = job->g;
      if (!job->ok)
        {
          g->state = NL_HGUEST_FAILED;
          g_free (g->message);
          g->message = g_strdup (job->error ? job->error->message : "could not be brought back");
          run_progress (h->run, "host %s: %s: failed: %s", h->host->name, g->name, g->message);
          continue;
        }
      if (g->action == NL_GUEST_MIGRATE && g->migrate_back)
        {
          g_free (g->location);
          g->location = g_strdup (h->host->name);
        }
      g->state = NL_HGUEST_VERIFYING;
    }
  if (!hosts_save (h, error))
    return FALSE;
  for (guint i = 0; i < h->rec->guests->len; i++)
    {
      NlHostGuestRecord *g = h->rec->guests->pdata[i];
      g_autoptr (GError) local = NULL;
      NlRolloutDriver *where = h->drv;

      if (g->state != NL_HGUEST_VERIFYING)
        continue;
      if (g_strcmp0 (g->location, h->host->name) != 0)
        where = h->peer_drv;
      if (!verify_guest (h, g, where, &local))
        {
          if (!hosts_guest_state (h, g, NL_HGUEST_FAILED, local->message, error))
            return FALSE;
          run_progress (h->run, "host %s: %s: failed: %s", h->host->name, g->name, local->message);
          continue;
        }
      if (!all_before_installed (h, g))
        {
          g_autofree char *msg = g_strdup_printf ("back, but not patched: %s", g->message ? g->message
                                                  : "its patches before the window did not install");
          if (!hosts_guest_state (h, g, NL_HGUEST_FAILED, msg, error))
            return FALSE;
          run_progress (h->run, "host %s: %s: %s", h->host->name, g->name, msg);
          continue;
        }
      drop_restore_point (h, g, where);
      if (!hosts_guest_state (h, g, NL_HGUEST_DONE, "back", error))
        return FALSE;
      run_progress (h->run, "host %s: %s: back (%u reboot%s)", h->host->name, g->name, g->reboots,
                    g->reboots == 1 ? "" : "s");
    }
  return TRUE;
}

/* ------------------------------------------------------------------ */
/* One host, then all                                                   */

static gboolean
run_host (Host *h, GError **error)
{
  NlHostRecord *rec = h->rec;

  if (rec->state == NL_HOST_PENDING)
    {
      run_progress (h->run, "host %s: preparing its window", h->host->name);
      if (!prepare (h, error))
        return FALSE;
      if (h->failure)
        goto out;
    }
  if (rec->state == NL_HOST_PREPARING && !install_before (h, error))
    return FALSE;
  if (rec->state <= NL_HOST_DRAINING && !drain (h, error))
    return FALSE;
  if (h->failure == NULL && rec->state <= NL_HOST_UPDATING)
    {
      /* A resumed update runs again: update commands are made to. */
      if (!update (h, error))
        return FALSE;
    }
  if (h->failure == NULL && rec->state <= NL_HOST_REBOOTING)
    {
      if (!reboot (h, error))
        return FALSE;
      if (g_atomic_int_get (&h->run->lost))
        return TRUE;
    }
  if (h->failure == NULL && rec->state == NL_HOST_VERIFYING && !verify_host (h, error))
    return FALSE;
  if (!restore (h, error))
    return FALSE;
out:
  rec->finished = hosts_now_s ();
  if (!hosts_host_state (h, h->failure ? NL_HOST_FAILED : NL_HOST_DONE, error))
    return FALSE;
  run_progress (h->run, "host %s: %s", h->host->name, h->failure ? "failed" : "done");
  return TRUE;
}

gboolean
nl_rollout_hosts_rehearsed (const NlJournal *journal)
{
  for (guint i = 0; i < journal->hosts->len; i++)
    if (((NlHostRecord *) journal->hosts->pdata[i])->replica)
      return TRUE;
  return FALSE;
}

char *
nl_rollout_hosts_replica_id (const char *id)
{
  return g_strdup_printf ("%s-hosts", id);
}

/* The rehearsal of a lab host's window on a replica of the machine (made
 * like the guests' replicas: backups, linked clones, an isolated network),
 * discarded afterwards unless the plan keeps replicas. */
static gboolean
rehearse (Host *h, GError **error)
{
  Run *run = h->run;
  g_autofree char *id = nl_rollout_hosts_replica_id (run->journal->id);
  g_autoptr (GError) local = NULL;
  gboolean ok;

  if (h->rec->domain == NULL)
    {
      g_autoptr (GPtrArray) domains = g_ptr_array_new_with_free_func (g_free);
      g_autoptr (GPtrArray) replicas = NULL;
      char *domain;

      run_progress (run, "host %s: rehearsing its window on a replica", h->host->name);
      /* A replica stage that did not finish starts over. */
      if ((domain = hosts_lab_domain (h, &local)) != NULL)
        g_ptr_array_add (domains, domain);
      if (domain == NULL
          || !run->driver->ops->replica_discard (run->driver->data, id, &local)
          || !run->driver->ops->replica_create (run->driver->data, id, domains, run->plan->replica.pool,
                                               run->plan->replica.boot_timeout, &replicas, &local))
        {
          hosts_fail (h, "its replica could not be made: %s", local->message);
          h->rec->finished = hosts_now_s ();
          if (!hosts_host_state (h, NL_HOST_FAILED, error))
            return FALSE;
          return TRUE;
        }
      h->rec->domain = g_strdup (replicas->pdata[0]);
      if (!hosts_save (h, error))
        return FALSE;
    }
  ok = hosts_run_windows (h, error);
  if (ok && h->rec->state != NL_HOST_DONE && h->rec->state != NL_HOST_FAILED)
    return ok;  /* stopped halfway (resumable): the replica stays for the resume */
  if (ok && h->rec->state == NL_HOST_FAILED)
    run_progress (run, "host %s: its rehearsal failed: production is not touched", h->host->name);
  if (!run->plan->replica.keep && !run->driver->ops->replica_discard (run->driver->data, id, &local))
    run_progress (run, "host %s: discarding its replica failed: %s", h->host->name, local->message);
  return ok;
}

gboolean
run_hosts (Run *run, const GPtrArray *patches, GError **error)
{
  NlJournal *j = run->journal;

  for (guint i = 0; i < j->hosts->len; i++)
    {
      NlHostRecord *rec = j->hosts->pdata[i];
      const NlHostTarget *target = nl_rollout_plan_find_host (run->plan, rec->name);
      Host h = { .run = run, .host = target, .rec = rec, .patches = patches,
                 .failure = g_strdup (rec->message) };
      gboolean ok;

      if (rec->state == NL_HOST_DONE || rec->state == NL_HOST_FAILED)
        continue;
      if (rec->window_start == 0 && run->plan->windows->len > 0 && !run->journal->ignore_windows)
        {
          /* The window it runs in (ensure_window waited for it). */
          g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
          g_autoptr (GDateTime) ws = NULL;
          g_autoptr (GDateTime) we = NULL;
          if (nl_rollout_windows_next (run->plan->windows, now, &ws, &we, NULL))
            {
              rec->window_start = g_date_time_to_unix (ws);
              rec->window_end = g_date_time_to_unix (we);
            }
        }
      if (run_stopping (run))
        return FALSE;
      if (target == NULL)
        {
          g_set_error (error, NL_ERROR, NL_ERROR_INVALID, "host '%s' of the journal is not in the plan",
                       rec->name);
          return FALSE;
        }
      if (target->lab != NULL)
        {
          /* A lab's Windows Hyper-V host: through the main connection. */
          h.drv = run->driver;
          if (target->peer)
            h.peer = nl_rollout_plan_find_host (run->plan, target->peer);
          if (rec->replica)
            ok = rehearse (&h, error);
          else
            ok = hosts_run_windows (&h, error);
          goto done;
        }
      h.drv = run->driver->ops->for_host (run->driver->data, target->uri, error);
      if (h.drv == NULL)
        return FALSE;
      if (target->peer)
        {
          h.peer = nl_rollout_plan_find_host (run->plan, target->peer);
          h.peer_drv = run->driver->ops->for_host (run->driver->data, h.peer->uri, error);
          if (h.peer_drv == NULL)
            {
              nl_rollout_driver_free (h.drv);
              return FALSE;
            }
        }
      ok = run_host (&h, error);
      nl_rollout_driver_free (h.drv);
      nl_rollout_driver_free (h.peer_drv);
    done:
      if (!ok || g_atomic_int_get (&run->lost))
        {
          g_free (h.failure);
          return FALSE;
        }
      if (h.failure)
        {
          g_free (h.failure);
          g_atomic_int_set (&run->halt, 1);
          return FALSE;
        }
    }
  return TRUE;
}
