/* Restore points of rollout targets: an internal snapshot where QEMU can
 * take one, else nestlab's own overlays (overlay.c: UEFI firmware, raw or
 * shared disks), recorded in the domain's metadata as the restore point
 * document of nestlab/doc.h, so plain libvirt domains (no lab mark) can
 * have one too. */
#include <string.h>

#include <nestlab/error.h>
#include <nestlab/restore.h>
#include "virt-private.h"

/* DOM's overlay restore point, or NULL (*ERROR unset) when it has none. */
static NlCheckpointRecord *
overlay_point (virDomainPtr dom, GError **error)
{
  g_autofree char *xml = virDomainGetMetadata (dom, VIR_DOMAIN_METADATA_ELEMENT, NL_DOC_RESTORE_NS,
                                               virDomainIsPersistent (dom) == 1
                                                 ? VIR_DOMAIN_AFFECT_CONFIG : VIR_DOMAIN_AFFECT_LIVE);
  if (xml == NULL)
    {
      if (nl_virt_last_error_is_not_found ())
        {
          virResetLastError ();
          return NULL;
        }
      nl_virt_set_error (error, "reading the restore point of '%s'", virDomainGetName (dom));
      return NULL;
    }
  return nl_restore_point_parse (xml);
}

/* Sets *REC to DOM's overlay restore point when it is named NAME, else
 * NULL; FALSE only when the metadata cannot be read. */
static gboolean
overlay_point_named (virDomainPtr dom, const char *name, NlCheckpointRecord **rec, GError **error)
{
  GError *local = NULL;
  *rec = overlay_point (dom, &local);
  if (local != NULL)
    {
      g_propagate_error (error, local);
      return FALSE;
    }
  if (*rec != NULL && g_strcmp0 ((*rec)->name, name) != 0)
    g_clear_pointer (rec, nl_checkpoint_record_free);
  return TRUE;
}

/* Records REC as DOM's overlay restore point, or forgets it (REC NULL). */
static gboolean
set_overlay_point (virDomainPtr dom, const NlCheckpointRecord *rec, GError **error)
{
  g_autofree char *xml = rec ? nl_restore_point_format (rec) : NULL;
  if (virDomainSetMetadata (dom, VIR_DOMAIN_METADATA_ELEMENT, xml, rec ? NL_DOC_RESTORE_PREFIX : NULL,
                            NL_DOC_RESTORE_NS, nl_virt_metadata_flags (dom)) < 0)
    {
      nl_virt_set_error (error, "recording the restore point of '%s'", virDomainGetName (dom));
      return FALSE;
    }
  return TRUE;
}

/* A domain of a lab lists FILES (in storage pool POOL) as its volumes,
 * before they exist, so `destroy` finds them even when a run stops halfway
 * or before it folds them back. */
static gboolean
own_files (virDomainPtr dom, const char *pool, GPtrArray *files, GError **error)
{
  g_autoptr (NlOwnership) own = NULL;

  if (!nl_virt_domain_ownership (dom, &own, error))
    return FALSE;
  if (own == NULL || pool == NULL)
    return TRUE;
  nl_ownership_add_files (own, pool, files);
  return nl_virt_domain_set_ownership (dom, own, error);
}

gboolean
nl_virt_restore_point_drop (virDomainPtr dom, const char *name, GError **error)
{
  g_autoptr (NlCheckpointRecord) rec = NULL;

  if (!overlay_point_named (dom, name, &rec, error))
    return FALSE;
  if (rec != NULL)
    {
      /* Keep what happened since: fold the overlays back into the disks. */
      if (!nl_virt_overlay_merge (virDomainGetConnect (dom), dom, rec, error))
        {
          g_prefix_error (error, "dropping restore point '%s' of '%s': ", name, virDomainGetName (dom));
          return FALSE;
        }
      return set_overlay_point (dom, NULL, error);
    }
  return nl_virt_snapshot_delete (dom, name, "restore point", error);
}

static gboolean
take_overlay_point (virDomainPtr dom, const char *name, GError **error)
{
  virConnectPtr conn = virDomainGetConnect (dom);
  g_autoptr (GPtrArray) files = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) planned = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *pool = NULL;
  g_autoptr (NlCheckpointRecord) old = NULL;
  g_autoptr (NlCheckpointRecord) rec = NULL;
  GError *local = NULL;

  /* One overlay restore point at a time: an older one (a run that stopped
   * before dropping it) is folded back first. */
  old = overlay_point (dom, &local);
  if (local != NULL)
    {
      g_propagate_error (error, local);
      return FALSE;
    }
  if (old != NULL && !nl_virt_restore_point_drop (dom, old->name, error))
    return FALSE;
  if (!nl_virt_overlay_files (conn, dom, name, planned, &pool, error) || !own_files (dom, pool, planned, error))
    return FALSE;
  rec = nl_virt_overlay_take (conn, dom, name, files, error);
  if (rec == NULL)
    {
      g_prefix_error (error, "taking restore point '%s' of '%s': ", name, virDomainGetName (dom));
      return FALSE;
    }
  return set_overlay_point (dom, rec, error);
}

gboolean
nl_virt_restore_point_take (virDomainPtr dom, const char *name, GError **error)
{
  gboolean external = FALSE;

  if (!nl_virt_overlay_needed (virDomainGetConnect (dom), dom, &external, error))
    return FALSE;
  if (external)
    return take_overlay_point (dom, name, error);
  return nl_virt_restore_point_drop (dom, name, error)
         && nl_virt_snapshot_take (dom, name, "restore point", error);
}

gboolean
nl_virt_restore_point_revert (virDomainPtr dom, const char *name, GError **error)
{
  g_autoptr (NlCheckpointRecord) rec = NULL;

  if (!overlay_point_named (dom, name, &rec, error))
    return FALSE;
  if (rec != NULL)
    {
      virConnectPtr conn = virDomainGetConnect (dom);
      gboolean with_memory = FALSE;
      if (!nl_virt_overlay_rewind (conn, dom, rec, error)
          || (rec->running && !nl_virt_overlay_resume (conn, dom, rec, &with_memory, error)))
        {
          g_prefix_error (error, "reverting '%s' to restore point '%s': ", virDomainGetName (dom), name);
          return FALSE;
        }
      /* Restored from memory, the running definition is the one saved with
       * it, from before the record: write the record there again. */
      return !with_memory || set_overlay_point (dom, rec, error);
    }
  return nl_virt_snapshot_revert (dom, name, "restore point", NULL, error);
}
