/* Applying an `up` plan: pool, golden placeholders, networks, domains (with
 * their marks), volumes, then machines started wave by wave, each wave in
 * parallel. Domains are defined before their volumes are created, so every
 * volume nestlab makes is listed by a marked domain from the moment it
 * exists (see docs/lifecycle.md, "Which volumes are the lab's"). */
#include <string.h>

#include "lab-private.h"

typedef struct {
  NlPlan *plan;
  GHashTable *failed;        /* machine names whose domain failed */
  GMutex lock;
} UpState;

static void
mark_failed (UpState *st, const NlMachine *machine)
{
  if (machine == NULL)
    return;
  g_mutex_lock (&st->lock);
  g_hash_table_add (st->failed, machine->name);
  g_mutex_unlock (&st->lock);
}

static gboolean
has_failed (UpState *st, const char *machine)
{
  gboolean r;
  g_mutex_lock (&st->lock);
  r = g_hash_table_contains (st->failed, machine);
  g_mutex_unlock (&st->lock);
  return r;
}

/* The new XML of an existing domain keeps what its old mark recorded beyond
 * the template: checkpoint records, the files they listed, and anything
 * other modules added. */
static char *
merge_mark (const char *xml, const NlOwnership *old)
{
  g_autoptr (xmlDoc) doc = nl_xml_parse (xml, NULL);
  xmlNodePtr root = doc ? xmlDocGetRootElement (doc) : NULL;
  g_autoptr (NlOwnership) own = root ? nl_ownership_read (root) : NULL;

  if (own == NULL || old == NULL)
    return g_strdup (xml);
  for (guint i = 0; i < old->volumes->len; i++)
    {
      NlOwnedVolume *v = old->volumes->pdata[i];
      nl_ownership_add_volume (own, v->pool, v->name, v->shared);
    }
  for (guint i = 0; i < old->checkpoints->len; i++)
    nl_ownership_put_checkpoint (own, old->checkpoints->pdata[i]);
  for (guint i = 0; i < old->steps->len; i++)
    nl_ownership_put_step (own, old->steps->pdata[i]);
  for (guint i = 0; i < old->extra->len; i++)
    g_ptr_array_add (own->extra, g_strdup (old->extra->pdata[i]));
  own->media = g_strdup (old->media);
  nl_ownership_put (root, own);
  return nl_xml_node_to_string (root, TRUE);
}

static gboolean
define_domain (NlVirtConn *conn, NlTask *task, gpointer data, GError **error)
{
  UpState *st = data;
  NlPlanItem *item = task->data;
  g_autofree char *xml = NULL;
  g_autoptr (NlVirtDomain) dom = NULL;

  if (item->action == NL_PLAN_UPDATE)
    {
      g_autoptr (NlVirtDomain) old = nl_virt_domain_lookup (conn, item->name, error);
      g_autoptr (NlOwnership) own = NULL;
      if (old == NULL || !nl_virt_domain_ownership (old, &own, error))
        goto failed;
      /* Never redefine what is not ours, even if it changed since planning. */
      if (!nl_ownership_is_lab (own, st->plan->lab->name))
        {
          g_set_error (error, NL_ERROR, NL_ERROR_CONFLICT, "domain '%s' lost its nestlab mark "
                       "since the plan was made; not touching it", item->name);
          goto failed;
        }
      xml = merge_mark (item->xml, own);
    }
  else
    xml = g_strdup (item->xml);
  dom = nl_virt_domain_define (conn, xml, error);
  if (dom == NULL)
    {
      g_prefix_error (error, "%s: ", item->name);
      goto failed;
    }
  task->changed = TRUE;
  return TRUE;

failed:
  mark_failed (st, item->machine);
  return FALSE;
}

/* Writes a config disk's image, then records its digest in the machine's
 * mark: a disk whose upload was cut short is made again by the next run. */
static gboolean
fill_config_disk (NlVirtConn *conn, UpState *st, NlPlanItem *item, NlVirtVolume *vol, GError **error)
{
  g_autofree char *name = nl_lab_domain_name (st->plan->lab, item->machine);
  g_autoptr (NlVirtDomain) dom = NULL;
  g_autoptr (NlOwnership) own = NULL;

  if (!nl_virt_volume_upload (vol, item->data, error))
    return FALSE;
  dom = nl_virt_domain_lookup (conn, name, error);
  if (dom == NULL || !nl_virt_domain_ownership (dom, &own, error))
    return FALSE;
  if (!nl_ownership_is_lab (own, st->plan->lab->name))
    {
      g_set_error (error, NL_ERROR, NL_ERROR_CONFLICT, "domain '%s' lost its nestlab mark", name);
      return FALSE;
    }
  g_free (own->media);
  own->media = g_strdup (item->digest);
  return nl_virt_domain_set_ownership (dom, own, error);
}

static gboolean
create_volume (NlVirtConn *conn, NlTask *task, gpointer data, GError **error)
{
  UpState *st = data;
  NlPlanItem *item = task->data;
  g_autoptr (NlVirtPool) pool = NULL;
  g_autoptr (NlVirtVolume) vol = NULL;

  if (item->machine && has_failed (st, item->machine->name))
    {
      g_set_error (error, NL_ERROR, NL_ERROR_FAILED, "skipped: machine '%s' failed",
                   item->machine->name);
      return FALSE;
    }
  pool = nl_virt_pool_lookup (conn, item->pool, error);
  if (pool == NULL)
    return FALSE;
  if (item->action == NL_PLAN_UPDATE)
    {
      /* A config disk whose contents changed: made again. The plan checked
       * that the lab's domain lists it. */
      g_autoptr (NlVirtVolume) old = nl_virt_volume_lookup (pool, item->name, NULL);
      if (old != NULL && !nl_virt_volume_delete (old, error))
        goto failed;
    }
  vol = nl_virt_volume_create (pool, item->xml, error);
  if (vol == NULL || (item->data != NULL && !fill_config_disk (conn, st, item, vol, error)))
    goto failed;
  task->changed = TRUE;
  return TRUE;

failed:
  if (item->machine)
    mark_failed (st, item->machine);
  return FALSE;
}

static gboolean
start_domain (NlVirtConn *conn, NlTask *task, gpointer data, GError **error)
{
  UpState *st = data;
  const NlMachine *machine = task->data;
  g_autoptr (NlVirtDomain) dom = NULL;

  for (char **a = machine->after; a && *a; a++)
    if (has_failed (st, *a))
      {
        g_set_error (error, NL_ERROR, NL_ERROR_FAILED, "not started: it starts after '%s', which failed", *a);
        mark_failed (st, machine);
        return FALSE;
      }
  dom = nl_virt_domain_lookup (conn, task->name, error);
  if (dom != NULL)
    {
      task->changed = !nl_virt_domain_is_active (dom);
      if (nl_virt_domain_start (dom, error))
        return TRUE;
    }
  mark_failed (st, machine);
  return FALSE;
}

static void
collect_failures (GPtrArray *tasks, UpState *st)
{
  for (guint i = 0; i < tasks->len; i++)
    {
      NlTask *t = tasks->pdata[i];
      NlPlanItem *item = t->data;
      if (t->error && item && item->machine)
        mark_failed (st, item->machine);
    }
}

/* Sleeps SECONDS unless cancelled. */
static void
wait_delay (guint seconds, const NlLabOptions *options)
{
  for (guint i = 0; i < seconds * 10 && !nl_lab_cancelled (options); i++)
    g_usleep (G_USEC_PER_SEC / 10);
}

/* Refuses the plan when any name is taken by what is not the lab's, and
 * notes what only rebuild applies. */
static gboolean
check_conflicts (const NlPlan *plan, NlReport *report, GError **error)
{
  g_autoptr (GString) conflicts = g_string_new (NULL);
  guint n_conflicts = 0;

  for (guint i = 0; i < plan->items->len; i++)
    {
      NlPlanItem *item = plan->items->pdata[i];
      if (item->action == NL_PLAN_CONFLICT)
        {
          g_string_append_printf (conflicts, "\n  %s", item->detail);
          n_conflicts++;
        }
      else if (item->action == NL_PLAN_REBUILD || item->action == NL_PLAN_STALE)
        g_ptr_array_add (report->notes, g_strdup_printf ("%s %s: %s", nl_object_kind_to_string (item->kind),
                                                         item->name, item->detail));
    }
  if (n_conflicts == 0)
    return TRUE;
  g_set_error (error, NL_ERROR, NL_ERROR_CONFLICT,
               "lab '%s' cannot be brought up: %u object name%s taken by objects that are not the lab's "
               "(nothing was changed):%s", plan->lab->name, n_conflicts, n_conflicts == 1 ? " is" : "s are",
               conflicts->str);
  return FALSE;
}

typedef enum {
  SHARED_OK,
  SHARED_FAILED,   /* a network failed: reported; machines cannot start */
  SHARED_ERROR,    /* ERROR set */
} SharedResult;

/* Defines (when needed) and starts network ITEM. FALSE when it failed,
 * reported in REPORT. */
static gboolean
apply_network (NlVirtConn *conn, NlPlanItem *item, const NlLabOptions *options, NlReport *report)
{
  g_autoptr (GError) local = NULL;
  g_autoptr (NlVirtNetwork) net = NULL;
  gboolean changed = FALSE;

  if (item->action == NL_PLAN_CREATE || item->action == NL_PLAN_UPDATE)
    {
      net = nl_virt_network_define (conn, item->xml, &local);
      changed = TRUE;
    }
  else
    net = nl_virt_network_lookup (conn, item->name, &local);
  if (net != NULL)
    {
      changed |= !nl_virt_network_is_active (net);
      nl_virt_network_start (net, &local);
    }
  if (local != NULL)
    {
      g_ptr_array_add (report->failures, g_strdup_printf ("network %s: %s", item->name, local->message));
      nl_lab_emit (options, item->kind, item->name, "failed", local, 1, 1);
      return FALSE;
    }
  if (changed)
    report->done++;
  else
    report->unchanged++;
  nl_lab_emit (options, item->kind, item->name,
               item->action == NL_PLAN_CREATE ? "created" : item->action == NL_PLAN_UPDATE ? "updated"
               : changed ? "started" : "unchanged", NULL, 1, 1);
  return TRUE;
}

/* Pool, placeholder images and networks: few, done one by one. */
static SharedResult
apply_shared (NlVirtConn *conn, const NlPlan *plan, const NlLabOptions *options, NlReport *report,
              GError **error)
{
  for (guint i = 0; i < plan->items->len && !nl_lab_cancelled (options); i++)
    {
      NlPlanItem *item = plan->items->pdata[i];

      if (item->kind == NL_OBJECT_POOL && item->action != NL_PLAN_UNCHANGED)
        {
          g_autofree char *dir = nl_lab_pool_dir_for (item->name);
          g_autoptr (NlVirtPool) pool = nl_virt_pool_ensure (conn, item->name, dir, error);
          if (pool == NULL)
            return SHARED_ERROR;
          report->done++;
          nl_lab_emit (options, item->kind, item->name, item->action == NL_PLAN_CREATE ? "created" : "started",
                       NULL, 1, 1);
        }
      else if (item->kind == NL_OBJECT_IMAGE && item->action == NL_PLAN_CREATE)
        {
          g_autoptr (NlVirtPool) pool = nl_virt_pool_lookup (conn, item->pool, error);
          g_autoptr (NlVirtVolume) vol = pool ? nl_virt_volume_create (pool, item->xml, error) : NULL;
          if (vol == NULL)
            return SHARED_ERROR;
          report->done++;
          nl_lab_emit (options, item->kind, item->name, "created (empty placeholder)", NULL, 1, 1);
        }
      /* Machines cannot start without their network: stop at the first. */
      else if (item->kind == NL_OBJECT_NETWORK && item->action != NL_PLAN_STALE
               && !apply_network (conn, item, options, report))
        return SHARED_FAILED;
    }
  return SHARED_OK;
}

/* Defines the domains, then creates the volumes they list. */
static gboolean
define_machines (NlVirtConn *conn, UpState *st, const NlLabOptions *options, NlReport *report, GError **error)
{
  g_autoptr (GPtrArray) domain_tasks = g_ptr_array_new_with_free_func ((GDestroyNotify) nl_task_free);
  g_autoptr (GPtrArray) volume_tasks = g_ptr_array_new_with_free_func ((GDestroyNotify) nl_task_free);

  for (guint i = 0; i < st->plan->items->len; i++)
    {
      NlPlanItem *item = st->plan->items->pdata[i];
      if (item->kind == NL_OBJECT_DOMAIN && (item->action == NL_PLAN_CREATE || item->action == NL_PLAN_UPDATE))
        g_ptr_array_add (domain_tasks, nl_task_new (NL_OBJECT_DOMAIN, item->name, item,
                                                    item->action == NL_PLAN_CREATE ? "defined" : "updated"));
      else if (item->kind == NL_OBJECT_DOMAIN && item->action == NL_PLAN_UNCHANGED)
        report->unchanged++;
      else if (item->kind == NL_OBJECT_VOLUME && item->action == NL_PLAN_CREATE)
        g_ptr_array_add (volume_tasks, nl_task_new (NL_OBJECT_VOLUME, item->name, item, "created"));
      else if (item->kind == NL_OBJECT_VOLUME && item->action == NL_PLAN_UPDATE)
        g_ptr_array_add (volume_tasks, nl_task_new (NL_OBJECT_VOLUME, item->name, item, "made again"));
      else if (item->kind == NL_OBJECT_VOLUME && item->action == NL_PLAN_UNCHANGED)
        report->unchanged++;
    }
  if (!nl_lab_run_parallel (conn, domain_tasks, define_domain, st, options, report, error))
    return FALSE;
  collect_failures (domain_tasks, st);
  if (!nl_lab_run_parallel (conn, volume_tasks, create_volume, st, options, report, error))
    return FALSE;
  collect_failures (volume_tasks, st);
  return TRUE;
}

/* Starts machines wave by wave, each wave in parallel, waiting the longest
 * delay of what started before the next. */
static gboolean
start_waves (NlVirtConn *conn, UpState *st, const NlLabOptions *options, NlReport *report, GError **error)
{
  const NlLab *lab = st->plan->lab;

  for (guint wave = 0; wave < MAX (lab->n_waves, 1) && !nl_lab_cancelled (options); wave++)
    {
      g_autoptr (GPtrArray) tasks = g_ptr_array_new_with_free_func ((GDestroyNotify) nl_task_free);
      guint delay = 0;
      gboolean started = FALSE;

      for (guint m = 0; m < lab->machines->len; m++)
        {
          NlMachine *machine = lab->machines->pdata[m];
          g_autofree char *name = NULL;
          if (machine->wave != wave || has_failed (st, machine->name))
            continue;
          name = nl_lab_domain_name (lab, machine);
          if (options && options->hold_waiting && nl_machine_waits_to_start (machine))
            {
              g_autoptr (NlVirtDomain) dom = nl_virt_domain_lookup (conn, name, NULL);
              if (dom == NULL || !nl_virt_domain_is_active (dom))
                nl_lab_emit (options, NL_OBJECT_DOMAIN, name,
                             "held: provisioning starts it when its first step can run", NULL, 0, 0);
              continue;
            }
          g_ptr_array_add (tasks, nl_task_new (NL_OBJECT_DOMAIN, name, machine, "started"));
        }
      if (!nl_lab_run_parallel (conn, tasks, start_domain, st, options, report, error))
        return FALSE;
      for (guint t = 0; t < tasks->len; t++)
        {
          NlTask *task = tasks->pdata[t];
          const NlMachine *machine = task->data;
          if (task->error)
            mark_failed (st, machine);
          else if (task->changed)
            {
              started = TRUE;
              delay = MAX (delay, machine->delay);
            }
        }
      /* Delays only matter after something started; the test driver
       * boots nothing, so it never waits. */
      if (started && delay > 0 && wave + 1 < lab->n_waves && !st->plan->test_driver
          && !(options && options->no_delays))
        {
          g_autofree char *what = g_strdup_printf ("waiting %u s before wave %u", delay, wave + 1);
          nl_lab_emit (options, NL_OBJECT_DOMAIN, what, "delay", NULL, 0, 0);
          wait_delay (delay, options);
        }
    }
  return TRUE;
}

gboolean
nl_lab_up (NlVirtConn *conn, NlPlan *plan, const NlLabOptions *options, NlReport *report,
           GError **error)
{
  g_autoptr (GTimer) timer = g_timer_new ();
  UpState st = { plan, g_hash_table_new (g_str_hash, g_str_equal), { 0 } };
  gboolean ok = FALSE;

  g_mutex_init (&st.lock);
  if (check_conflicts (plan, report, error))
    switch (apply_shared (conn, plan, options, report, error))
      {
      case SHARED_ERROR:
        break;
      case SHARED_FAILED:
        ok = nl_lab_finish (conn, options, report, "up", error);
        break;
      case SHARED_OK:
        if (define_machines (conn, &st, options, report, error)
            && ((options && options->define_only) || start_waves (conn, &st, options, report, error)))
          ok = nl_lab_finish (conn, options, report, "up", error);
        break;
      }
  report->seconds = g_timer_elapsed (timer, NULL);
  g_hash_table_unref (st.failed);
  g_mutex_clear (&st.lock);
  return ok;
}
