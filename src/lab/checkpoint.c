/* Lab-wide checkpoints. Active Directory dictates the order: members are
 * checkpointed first and domain controllers last; on revert, domain
 * controllers come back first. Two mechanisms:
 *  - internal: a libvirt snapshot (with memory when the machine runs), where
 *    QEMU can take one;
 *  - external: nestlab's own overlays (virt/overlay.c), for UEFI machines
 *    on QEMU, which refuses internal snapshots with pflash firmware
 *    (libvirt 9.0), and machines with a raw or shared disk; a running
 *    machine's memory is saved too, and a revert resumes it.
 * Every checkpoint is recorded in the domain's mark (<nestlab:checkpoint>),
 * and every file it makes is listed there as a volume, so `destroy`
 * removes it. */
#include <string.h>

#include <libxml/parser.h>
#include <libxml/xpath.h>

#include "lab-private.h"

static gint
order_checkpoint (gconstpointer a, gconstpointer b)
{
  const NlOwnedDomain *x = *(NlOwnedDomain *const *) a, *y = *(NlOwnedDomain *const *) b;
  gboolean dx = nl_lab_is_domain_controller (x->own), dy = nl_lab_is_domain_controller (y->own);
  if (dx != dy)
    return dx ? 1 : -1;
  if (x->own->wave != y->own->wave)
    return x->own->wave < y->own->wave ? 1 : -1;
  return strcmp (x->name, y->name);
}

static gint
order_revert (gconstpointer a, gconstpointer b)
{
  const NlOwnedDomain *x = *(NlOwnedDomain *const *) a, *y = *(NlOwnedDomain *const *) b;
  gboolean dx = nl_lab_is_domain_controller (x->own), dy = nl_lab_is_domain_controller (y->own);
  if (dx != dy)
    return dx ? -1 : 1;
  if (x->own->wave != y->own->wave)
    return x->own->wave < y->own->wave ? -1 : 1;
  return strcmp (x->name, y->name);
}

static GPtrArray *
owned_in_order (NlVirtConn *conn, const char *lab, gboolean revert, GError **error)
{
  GPtrArray *owned = nl_virt_list_owned_domains (conn, lab, error);
  if (owned == NULL)
    return NULL;
  if (owned->len == 0)
    {
      g_ptr_array_unref (owned);
      g_set_error (error, NL_ERROR, NL_ERROR_NOT_FOUND, "no lab '%s' here: no domain carries its mark", lab);
      return NULL;
    }
  g_ptr_array_sort (owned, revert ? order_revert : order_checkpoint);
  return owned;
}

GPtrArray *
nl_lab_checkpoint_order (NlVirtConn *conn, const char *lab, gboolean revert, GError **error)
{
  g_autoptr (GPtrArray) owned = owned_in_order (conn, lab, revert, error);
  GPtrArray *names;
  if (owned == NULL)
    return NULL;
  names = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < owned->len; i++)
    g_ptr_array_add (names, g_strdup (((NlOwnedDomain *) owned->pdata[i])->name));
  return names;
}

/* ---- the domain's XML ---- */

/* Adds files to DOM's mark as volumes of POOL, and REC, in one write. */
static gboolean
record_checkpoint (NlVirtDomain *dom, const char *pool, GPtrArray *files, const NlCheckpointRecord *rec,
                   GError **error)
{
  g_autoptr (NlOwnership) own = NULL;

  if (!nl_virt_domain_ownership (dom, &own, error))
    return FALSE;
  if (own == NULL)
    {
      g_set_error (error, NL_ERROR, NL_ERROR_CONFLICT, "'%s' lost its nestlab mark", nl_virt_domain_name (dom));
      return FALSE;
    }
  nl_ownership_add_files (own, pool, files);
  if (rec != NULL)
    nl_ownership_put_checkpoint (own, rec);
  return nl_virt_domain_set_ownership (dom, own, error);
}

static const char *
owned_pool (const NlOwnership *own)
{
  return own->volumes->len > 0 ? ((NlOwnedVolume *) own->volumes->pdata[0])->pool : "default";
}

static char *
now_iso (void)
{
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  return g_date_time_format (now, "%Y-%m-%dT%H:%M:%SZ");
}

/* Domain NAME and its mark (*OWN), when it still carries LAB's mark. */
static NlVirtDomain *
lab_domain (NlVirtConn *conn, const char *name, const char *lab, NlOwnership **own, GError **error)
{
  g_autoptr (NlVirtDomain) dom = nl_virt_domain_lookup (conn, name, error);

  if (dom == NULL || !nl_virt_domain_ownership (dom, own, error))
    return NULL;
  if (!nl_ownership_is_lab (*own, lab))
    {
      g_set_error (error, NL_ERROR, NL_ERROR_CONFLICT, "no longer carries the mark of lab '%s'", lab);
      return NULL;
    }
  return g_steal_pointer (&dom);
}

/* ---- taking one ---- */

typedef struct {
  const char *lab;
  const char *name;
} CkState;

static gboolean
take_internal (NlVirtDomain *dom, const NlOwnership *own, const char *name, GError **error)
{
  g_autoptr (NlCheckpointRecord) rec = g_new0 (NlCheckpointRecord, 1);
  gboolean exists = FALSE;

  /* A snapshot made by an earlier, interrupted run is this checkpoint. */
  if (!nl_virt_snapshot_exists (dom, name, &exists, error)
      || (!exists && !nl_virt_snapshot_take (dom, name, "lab checkpoint", error)))
    return FALSE;
  rec->name = g_strdup (name);
  rec->mode = NL_CHECKPOINT_INTERNAL;
  rec->created = now_iso ();
  rec->running = nl_virt_domain_is_active (dom);
  return record_checkpoint (dom, owned_pool (own), NULL, rec, error);
}

static gboolean
take_external (NlVirtConn *conn, NlVirtDomain *dom, const NlOwnership *own, const char *name,
               NlTask *task, GError **error)
{
  g_autoptr (GPtrArray) files = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) planned = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (NlCheckpointRecord) rec = NULL;
  g_autoptr (GString) what = g_string_new ("checkpointed (external overlay");
  g_autofree char *pool = NULL;

  /* The mark lists the files before they exist: a checkpoint interrupted
   * halfway leaves nothing `destroy` cannot find. */
  if (!nl_virt_overlay_files (conn, dom, name, planned, &pool, error)
      || !record_checkpoint (dom, pool ? pool : owned_pool (own), planned, NULL, error))
    return FALSE;
  rec = nl_virt_overlay_take (conn, dom, name, files, error);
  if (rec == NULL)
    return FALSE;
  if (rec->nvram_copy)
    g_string_append (what, rec->tpm_copy ? ", NVRAM and TPM copies" : ", NVRAM copy");
  else if (rec->tpm_copy)
    g_string_append (what, ", TPM copy");
  if (rec->memory)
    g_string_append (what, ", memory");
  else if (rec->running)
    g_string_append (what, ", no memory: a disk stays out");
  g_string_append_c (what, ')');
  /* Progress words live as long as the process: interned. */
  task->done_what = g_intern_string (what->str);
  return record_checkpoint (dom, pool ? pool : owned_pool (own), files, rec, error);
}

static gboolean
checkpoint_one (NlVirtConn *conn, NlTask *task, gpointer data, GError **error)
{
  CkState *st = data;
  g_autoptr (NlOwnership) own = NULL;
  g_autoptr (NlVirtDomain) dom = lab_domain (conn, task->name, st->lab, &own, error);
  gboolean external = FALSE;
  gboolean ok;

  if (dom == NULL)
    return FALSE;
  if (nl_ownership_find_checkpoint (own, st->name))
    return TRUE; /* taken by an earlier, interrupted run */
  if (!nl_virt_overlay_needed (conn, dom, &external, error))
    return FALSE;
  if (external)
    ok = take_external (conn, dom, own, st->name, task, error);
  else
    {
      task->done_what = nl_virt_domain_is_active (dom) ? "checkpointed (with memory)" : "checkpointed";
      ok = take_internal (dom, own, st->name, error);
    }
  task->changed = ok;
  return ok;
}

/* ---- reverting ---- */

static gboolean
revert_external (NlVirtConn *conn, NlVirtDomain *dom, const NlOwnership *own, const NlCheckpointRecord *rec,
                 NlTask *task, GError **error)
{
  g_autoptr (NlOwnership) cur = nl_ownership_copy (own);
  g_autoptr (GString) what = g_string_new ("reverted (overlay recreated");
  gboolean after = FALSE;
  gboolean with_memory = FALSE;

  if (!nl_virt_overlay_rewind (conn, dom, rec, error))
    return FALSE;
  /* History is linear: checkpoints taken after this one sat on the overlay
   * just recreated, so they are gone (their files stay listed until destroy). */
  for (guint i = 0; i < own->checkpoints->len; i++)
    {
      NlCheckpointRecord *r = own->checkpoints->pdata[i];
      if (after)
        nl_ownership_drop_checkpoint (cur, r->name);
      if (r == rec)
        after = TRUE;
    }
  if (!nl_virt_domain_set_ownership (dom, cur, error))
    return FALSE;
  if (rec->nvram_copy)
    g_string_append (what, rec->tpm_copy ? ", NVRAM and TPM restored" : ", NVRAM restored");
  else if (rec->tpm_copy)
    g_string_append (what, ", TPM restored");
  if (rec->running)
    {
      if (!nl_virt_overlay_resume (conn, dom, rec, &with_memory, error))
        return FALSE;
      g_string_append (what, with_memory ? ", running, memory restored" : ", started without its memory");
    }
  g_string_append_c (what, ')');
  task->done_what = g_intern_string (what->str);
  /* A restored machine runs on the definition saved with its memory, whose
   * mark predates this checkpoint: write the current one again. */
  return !with_memory || nl_virt_domain_set_ownership (dom, cur, error);
}

static gboolean
revert_one (NlVirtConn *conn, NlTask *task, gpointer data, GError **error)
{
  CkState *st = data;
  g_autoptr (NlOwnership) own = NULL;
  g_autoptr (NlVirtDomain) dom = lab_domain (conn, task->name, st->lab, &own, error);
  const NlCheckpointRecord *rec;

  if (dom == NULL)
    return FALSE;
  rec = nl_ownership_find_checkpoint (own, st->name);
  if (rec == NULL)
    {
      g_set_error (error, NL_ERROR, NL_ERROR_NOT_FOUND, "has no checkpoint '%s'", st->name);
      return FALSE;
    }
  task->changed = TRUE;
  if (rec->mode == NL_CHECKPOINT_EXTERNAL)
    return revert_external (conn, dom, own, rec, task, error);
  task->done_what = rec->running ? "reverted (running, memory restored)" : "reverted";
  return nl_virt_snapshot_revert (dom, st->name, "checkpoint", own, error);
}

static gboolean
delete_one (NlVirtConn *conn, NlTask *task, gpointer data, GError **error)
{
  CkState *st = data;
  g_autoptr (NlOwnership) own = NULL;
  g_autoptr (NlVirtDomain) dom = lab_domain (conn, task->name, st->lab, &own, error);
  const NlCheckpointRecord *rec;

  if (dom == NULL)
    return FALSE;
  rec = nl_ownership_find_checkpoint (own, st->name);
  if (rec == NULL)
    return TRUE;
  if (rec->mode == NL_CHECKPOINT_INTERNAL)
    {
      if (!nl_virt_snapshot_delete (dom, st->name, "checkpoint", error))
        return FALSE;
      task->done_what = "deleted";
    }
  else if (rec == own->checkpoints->pdata[own->checkpoints->len - 1])
    {
      /* The newest checkpoint's overlays are the disks the machine runs
       * on: fold them back into the frozen bases and free their files. An
       * older one's overlays carry newer checkpoints, so they stay in the
       * chain until destroy or rebuild. */
      if (!nl_virt_overlay_merge (conn, dom, rec, error))
        return FALSE;
      task->done_what = "deleted (overlay folded back into the disks)";
    }
  else
    task->done_what = "forgotten (older external checkpoint: its files stay until destroy)";
  nl_ownership_drop_checkpoint (own, st->name);
  if (!nl_virt_domain_set_ownership (dom, own, error))
    return FALSE;
  task->changed = TRUE;
  return TRUE;
}

/* Runs FN on the lab's machines one at a time in ORDER, stopping at the
 * first failure: a half-taken checkpoint is completed by running it again. */
static gboolean
run_in_order (NlVirtConn *conn, const char *lab, const char *name, gboolean revert, NlTaskFunc fn,
              const char *op, const NlLabOptions *options, NlReport *report, GError **error)
{
  g_autoptr (GTimer) timer = g_timer_new ();
  g_autoptr (GPtrArray) owned = NULL;
  CkState st = { lab, name };
  gboolean ok;

  if (!nl_name_is_safe (name))
    {
      g_set_error (error, NL_ERROR, NL_ERROR_USAGE,
                   "checkpoint name '%s' is not allowed: use [A-Za-z0-9][A-Za-z0-9._-]*", name);
      return FALSE;
    }
  owned = owned_in_order (conn, lab, revert, error);
  if (owned == NULL)
    return FALSE;
  if (fn == revert_one)
    {
      /* Refuse before touching anything when a machine lacks the checkpoint. */
      g_autoptr (GString) missing = g_string_new (NULL);
      for (guint i = 0; i < owned->len; i++)
        {
          NlOwnedDomain *od = owned->pdata[i];
          if (!nl_ownership_find_checkpoint (od->own, name))
            g_string_append_printf (missing, "%s%s", missing->len ? ", " : "", od->name);
        }
      if (missing->len)
        {
          g_set_error (error, NL_ERROR, NL_ERROR_NOT_FOUND,
                       "lab '%s' has no checkpoint '%s' on %s; nothing was reverted", lab, name, missing->str);
          return FALSE;
        }
    }
  for (guint i = 0; i < owned->len && !nl_lab_cancelled (options); i++)
    {
      NlOwnedDomain *od = owned->pdata[i];
      g_autoptr (NlTask) task = nl_task_new (NL_OBJECT_DOMAIN, od->name, NULL, op);
      if (fn (conn, task, &st, &task->error))
        {
          if (task->changed)
            report->done++;
          else
            report->unchanged++;
          nl_lab_emit (options, NL_OBJECT_DOMAIN, od->name, task->changed ? task->done_what : "unchanged",
                       NULL, i + 1, owned->len);
        }
      else
        {
          g_ptr_array_add (report->failures, g_strdup_printf ("domain %s: %s", od->name, task->error->message));
          nl_lab_emit (options, NL_OBJECT_DOMAIN, od->name, "failed", task->error, i + 1, owned->len);
          break;
        }
    }
  ok = nl_lab_finish (conn, options, report, op, error);
  report->seconds = g_timer_elapsed (timer, NULL);
  return ok;
}

gboolean
nl_lab_checkpoint (NlVirtConn *conn, const char *lab, const char *name, const NlLabOptions *options,
                   NlReport *report, GError **error)
{
  return run_in_order (conn, lab, name, FALSE, checkpoint_one, "checkpoint", options, report, error);
}

gboolean
nl_lab_revert (NlVirtConn *conn, const char *lab, const char *name, const NlLabOptions *options,
               NlReport *report, GError **error)
{
  return run_in_order (conn, lab, name, TRUE, revert_one, "revert", options, report, error);
}

gboolean
nl_lab_checkpoint_delete (NlVirtConn *conn, const char *lab, const char *name, const NlLabOptions *options,
                          NlReport *report, GError **error)
{
  return run_in_order (conn, lab, name, FALSE, delete_one, "delete", options, report, error);
}

void
nl_checkpoint_summary_free (NlCheckpointSummary *summary)
{
  if (summary == NULL)
    return;
  g_free (summary->name);
  g_free (summary->created);
  g_free (summary);
}

GPtrArray *
nl_lab_checkpoint_list (NlVirtConn *conn, const char *lab, GError **error)
{
  g_autoptr (GPtrArray) owned = owned_in_order (conn, lab, FALSE, error);
  g_autoptr (GPtrArray) out = NULL;
  g_autoptr (GHashTable) by_name = g_hash_table_new (g_str_hash, g_str_equal);

  if (owned == NULL)
    return NULL;
  out = g_ptr_array_new_with_free_func ((GDestroyNotify) nl_checkpoint_summary_free);
  for (guint i = 0; i < owned->len; i++)
    {
      NlOwnership *own = ((NlOwnedDomain *) owned->pdata[i])->own;
      for (guint k = 0; k < own->checkpoints->len; k++)
        {
          NlCheckpointRecord *r = own->checkpoints->pdata[k];
          NlCheckpointSummary *sum = g_hash_table_lookup (by_name, r->name);
          if (sum == NULL)
            {
              sum = g_new0 (NlCheckpointSummary, 1);
              sum->name = g_strdup (r->name);
              sum->machines = owned->len;
              sum->mode = r->mode;
              sum->created = g_strdup (r->created);
              g_ptr_array_add (out, sum);
              g_hash_table_insert (by_name, sum->name, sum);
            }
          else if (sum->mode != r->mode)
            sum->mixed = TRUE;
          sum->held++;
          /* Internal snapshots of running machines hold their memory. */
          if (r->mode == NL_CHECKPOINT_INTERNAL ? r->running : r->memory != NULL)
            sum->with_memory++;
        }
    }
  return g_steal_pointer (&out);
}
