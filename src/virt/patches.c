/* Patch history in libvirt: the patch history document of nestlab/doc.h
 * in each domain's metadata, beside the lab mark. */
#include <nestlab/error.h>
#include <nestlab/patches.h>
#include "virt-private.h"

unsigned int
nl_virt_metadata_flags (virDomainPtr dom)
{
  unsigned int flags = 0;
  if (virDomainIsPersistent (dom) == 1)
    flags |= VIR_DOMAIN_AFFECT_CONFIG;
  if (virDomainIsActive (dom) == 1)
    flags |= VIR_DOMAIN_AFFECT_LIVE;
  return flags;
}

GPtrArray *
nl_virt_patches_list (virDomainPtr dom, GError **error)
{
  g_autofree char *xml = virDomainGetMetadata (dom, VIR_DOMAIN_METADATA_ELEMENT, NL_DOC_PATCHES_NS,
                                               virDomainIsPersistent (dom) == 1
                                                 ? VIR_DOMAIN_AFFECT_CONFIG : VIR_DOMAIN_AFFECT_LIVE);
  if (xml == NULL)
    {
      if (!nl_virt_last_error_is_not_found ())
        {
          nl_virt_set_error (error, "reading the patch history of '%s'", virDomainGetName (dom));
          return NULL;
        }
      virResetLastError ();
    }
  return nl_patch_history_parse (xml, error);
}

gboolean
nl_virt_patches_record (virDomainPtr dom, const char *run_id, const char *const *ids, GError **error)
{
  g_autoptr (GPtrArray) records = nl_virt_patches_list (dom, error);
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *stamp = g_date_time_format_iso8601 (now);
  g_autofree char *xml = NULL;

  if (records == NULL)
    return FALSE;
  for (guint i = 0; ids && ids[i]; i++)
    {
      NlPatchRecord *r = g_new0 (NlPatchRecord, 1);
      r->id = g_strdup (ids[i]);
      r->run = g_strdup (run_id);
      r->installed = g_strdup (stamp);
      g_ptr_array_add (records, r);
    }
  xml = nl_patch_history_format (records);
  if (virDomainSetMetadata (dom, VIR_DOMAIN_METADATA_ELEMENT, xml, NL_DOC_PATCHES_PREFIX, NL_DOC_PATCHES_NS,
                            nl_virt_metadata_flags (dom)) < 0)
    {
      nl_virt_set_error (error, "writing the patch history of '%s'", virDomainGetName (dom));
      return FALSE;
    }
  return TRUE;
}
