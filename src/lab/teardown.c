/* `down` and `destroy`: act only on objects that carry the lab's mark,
 * re-checking the mark right before each change. */
#include <string.h>

#include "lab-private.h"

static gint
by_wave_desc (gconstpointer a, gconstpointer b)
{
  const NlOwnedDomain *x = *(NlOwnedDomain *const *) a, *y = *(NlOwnedDomain *const *) b;
  if (x->own->wave != y->own->wave)
    return x->own->wave < y->own->wave ? 1 : -1;
  return strcmp (x->name, y->name);
}

static gboolean
not_found_error (GError **error, const char *lab)
{
  g_set_error (error, NL_ERROR, NL_ERROR_NOT_FOUND,
               "no lab '%s' here: no domain or network carries its mark", lab);
  return FALSE;
}

/* Looks DOMAIN up again on CONN and checks it still carries LAB's mark. */
static NlVirtDomain *
lookup_owned (NlVirtConn *conn, const char *name, const char *lab, NlOwnership **own_out, GError **error)
{
  g_autoptr (NlVirtDomain) dom = nl_virt_domain_lookup (conn, name, error);
  g_autoptr (NlOwnership) own = NULL;

  if (dom == NULL || !nl_virt_domain_ownership (dom, &own, error))
    return NULL;
  if (!nl_ownership_is_lab (own, lab))
    {
      g_set_error (error, NL_ERROR, NL_ERROR_CONFLICT,
                   "domain '%s' no longer carries the mark of lab '%s'; not touching it", name, lab);
      return NULL;
    }
  if (own_out)
    *own_out = g_steal_pointer (&own);
  return g_steal_pointer (&dom);
}

typedef struct {
  const char *lab;
  guint timeout;
  const NlLabOptions *options;
  gboolean test_driver;
} DownState;

static gboolean
shutdown_domain (NlVirtConn *conn, NlTask *task, gpointer data, GError **error)
{
  DownState *st = data;
  g_autoptr (NlVirtDomain) dom = lookup_owned (conn, task->name, st->lab, NULL, error);
  g_autoptr (GError) agent_error = NULL;
  gint64 deadline;

  if (dom == NULL)
    return FALSE;
  if (!nl_virt_domain_is_active (dom))
    return TRUE;
  task->changed = TRUE;
  task->done_what = "shut down";
  if (!nl_virt_domain_shutdown (dom, TRUE, &agent_error))
    {
      g_debug ("%s: guest agent shutdown failed (%s); trying ACPI", task->name, agent_error->message);
      task->done_what = "shut down (ACPI)";
      if (!nl_virt_domain_shutdown (dom, FALSE, NULL))
        {
          task->done_what = "powered off (no agent, no ACPI)";
          return nl_virt_domain_poweroff (dom, error);
        }
    }
  deadline = g_get_monotonic_time () + (gint64) st->timeout * G_USEC_PER_SEC;
  while (nl_virt_domain_is_active (dom))
    {
      if (nl_lab_cancelled (st->options))
        {
          g_set_error (error, NL_ERROR, NL_ERROR_CANCELLED, "interrupted while it shut down");
          return FALSE;
        }
      if (g_get_monotonic_time () > deadline)
        {
          task->done_what = "powered off after the timeout";
          return nl_virt_domain_poweroff (dom, error);
        }
      g_usleep (G_USEC_PER_SEC / 4);
    }
  return TRUE;
}

gboolean
nl_lab_down (NlVirtConn *conn, const char *lab, const NlLabOptions *options, NlReport *report,
             GError **error)
{
  g_autoptr (GTimer) timer = g_timer_new ();
  g_autoptr (GPtrArray) owned = nl_virt_list_owned_domains (conn, lab, error);
  DownState st = { lab, options && options->timeout ? options->timeout : 120, options,
                   nl_virt_is_test_driver (conn) };
  gboolean ok;

  if (owned == NULL)
    return FALSE;
  if (owned->len == 0)
    return not_found_error (error, lab);
  g_ptr_array_sort (owned, by_wave_desc);
  /* Reverse start order: the last wave goes down first, each wave in parallel. */
  for (guint i = 0; i < owned->len && !nl_lab_cancelled (options);)
    {
      g_autoptr (GPtrArray) tasks = g_ptr_array_new_with_free_func ((GDestroyNotify) nl_task_free);
      guint wave = ((NlOwnedDomain *) owned->pdata[i])->own->wave;
      for (; i < owned->len && ((NlOwnedDomain *) owned->pdata[i])->own->wave == wave; i++)
        g_ptr_array_add (tasks, nl_task_new (NL_OBJECT_DOMAIN, ((NlOwnedDomain *) owned->pdata[i])->name,
                                             NULL, "shut down"));
      if (!nl_lab_run_parallel (conn, tasks, shutdown_domain, &st, options, report, error))
        return FALSE;
    }
  ok = nl_lab_finish (conn, options, report, "down", error);
  report->seconds = g_timer_elapsed (timer, NULL);
  return ok;
}

/* Appends "volume POOL/NAME" to OUT for each volume OWN lists that exists
 * and SEEN does not hold yet. */
static void
plan_volumes (NlVirtConn *conn, const NlOwnership *own, GHashTable *seen, GPtrArray *out)
{
  for (guint v = 0; own && v < own->volumes->len; v++)
    {
      NlOwnedVolume *vol = own->volumes->pdata[v];
      g_autofree char *key = g_strdup_printf ("%s/%s", vol->pool, vol->name);
      g_autoptr (NlVirtPool) pool = NULL;
      g_autoptr (NlVirtVolume) sv = NULL;
      if (g_hash_table_contains (seen, key))
        continue;
      pool = nl_virt_pool_lookup (conn, vol->pool, NULL);
      sv = pool ? nl_virt_volume_lookup (pool, vol->name, NULL) : NULL;
      if (sv != NULL)
        g_ptr_array_add (out, g_strdup_printf ("volume %s", key));
      g_hash_table_add (seen, g_steal_pointer (&key));
    }
}

GPtrArray *
nl_lab_destroy_plan (NlVirtConn *conn, const char *lab, GError **error)
{
  g_autoptr (GPtrArray) domains = nl_virt_list_owned_domains (conn, lab, error);
  g_autoptr (GPtrArray) networks = NULL;
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  if (domains == NULL)
    return NULL;
  networks = nl_virt_list_owned_networks (conn, lab, error);
  if (networks == NULL)
    return NULL;
  g_ptr_array_sort (domains, by_wave_desc);
  for (guint i = 0; i < domains->len; i++)
    {
      NlOwnedDomain *od = domains->pdata[i];
      g_ptr_array_add (out, g_strdup_printf ("domain %s", od->name));
      plan_volumes (conn, od->own, seen, out);
    }
  for (guint i = 0; i < networks->len; i++)
    {
      NlOwnedNetwork *on = networks->pdata[i];
      plan_volumes (conn, on->own, seen, out);
      g_ptr_array_add (out, g_strdup_printf ("network %s", on->name));
    }
  return g_steal_pointer (&out);
}

typedef struct {
  const char *lab;
} DestroyState;

static gboolean
destroy_domain (NlVirtConn *conn, NlTask *task, gpointer data, GError **error)
{
  DestroyState *st = data;
  g_autoptr (NlOwnership) own = NULL;
  g_autoptr (NlVirtDomain) dom = lookup_owned (conn, task->name, st->lab, &own, error);

  if (dom == NULL)
    {
      /* Removed meanwhile (by a concurrent destroy): nothing left to do. */
      if (g_error_matches (*error, NL_ERROR, NL_ERROR_NOT_FOUND))
        {
          g_clear_error (error);
          return TRUE;
        }
      return FALSE;
    }
  if (!nl_virt_domain_poweroff (dom, error))
    return FALSE;
  /* Volumes first: until the domain is gone, its mark lists them, so an
   * interrupted destroy leaves nothing that a rerun cannot find. */
  if (!nl_virt_volumes_delete_listed (conn, own, error))
    return FALSE;
  if (!nl_virt_domain_remove (dom, error))
    return FALSE;
  task->changed = TRUE;
  return TRUE;
}

gboolean
nl_lab_destroy (NlVirtConn *conn, const char *lab, const NlLabOptions *options, NlReport *report,
                GError **error)
{
  g_autoptr (GTimer) timer = g_timer_new ();
  g_autoptr (GPtrArray) domains = nl_virt_list_owned_domains (conn, lab, error);
  g_autoptr (GPtrArray) networks = NULL;
  g_autoptr (GPtrArray) tasks = g_ptr_array_new_with_free_func ((GDestroyNotify) nl_task_free);
  DestroyState st = { lab };
  gboolean ok;

  if (domains == NULL)
    return FALSE;
  networks = nl_virt_list_owned_networks (conn, lab, error);
  if (networks == NULL)
    return FALSE;
  if (domains->len == 0 && networks->len == 0)
    return not_found_error (error, lab);
  for (guint i = 0; i < domains->len; i++)
    g_ptr_array_add (tasks, nl_task_new (NL_OBJECT_DOMAIN, ((NlOwnedDomain *) domains->pdata[i])->name,
                                         NULL, "removed with its volumes"));
  if (!nl_lab_run_parallel (conn, tasks, destroy_domain, &st, options, report, error))
    return FALSE;
  for (guint i = 0; i < tasks->len; i++)
    if (((NlTask *) tasks->pdata[i])->error)
      {
        /* Machines still attached: the networks stay for the rerun. */
        ok = nl_lab_finish (conn, options, report, "destroy", error);
        report->seconds = g_timer_elapsed (timer, NULL);
        return ok;
      }
  for (guint i = 0; i < networks->len && !nl_lab_cancelled (options); i++)
    {
      NlOwnedNetwork *on = networks->pdata[i];
      g_autoptr (GError) local = NULL;
      g_autoptr (NlVirtNetwork) net = nl_virt_network_lookup (conn, on->name, &local);
      g_autoptr (NlOwnership) own = NULL;

      if (net != NULL && nl_virt_network_ownership (net, &own, &local) && !nl_ownership_is_lab (own, lab))
        g_set_error (&local, NL_ERROR, NL_ERROR_CONFLICT, "no longer carries the mark of lab '%s'", lab);
      /* A replica network lists the files of replicas that were never
       * defined (a rollout killed while it made them). */
      if (local == NULL)
        nl_virt_volumes_delete_listed (conn, own, &local);
      if (local == NULL)
        nl_virt_network_remove (net, &local);
      if (g_error_matches (local, NL_ERROR, NL_ERROR_NOT_FOUND))
        g_clear_error (&local); /* removed meanwhile */
      if (local != NULL)
        g_ptr_array_add (report->failures, g_strdup_printf ("network %s: %s", on->name, local->message));
      else
        report->done++;
      nl_lab_emit (options, NL_OBJECT_NETWORK, on->name, local ? "failed" : "removed", local, i + 1,
                   networks->len);
    }
  ok = nl_lab_finish (conn, options, report, "destroy", error);
  report->seconds = g_timer_elapsed (timer, NULL);
  return ok;
}
