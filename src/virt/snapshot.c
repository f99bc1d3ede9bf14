/* Internal snapshots: one implementation for lab checkpoints and rollout
 * restore points alike. Machines libvirt 9.0 cannot snapshot internally
 * (UEFI in pflash, raw or shared disks) use nestlab's overlays instead
 * (overlay.c). */
#include <libxml/tree.h>

#include <nestlab/error.h>
#include "virt-private.h"

/* Looks up snapshot NAME of DOM: NULL with *ERROR unset when it does not
 * exist, NULL with *ERROR set when libvirt fails otherwise. */
static virDomainSnapshotPtr
find (virDomainPtr dom, const char *name, const char *what, GError **error)
{
  virDomainSnapshotPtr snap = virDomainSnapshotLookupByName (dom, name, 0);

  if (snap == NULL)
    {
      if (nl_virt_last_error_is_not_found ())
        virResetLastError ();
      else
        nl_virt_set_error (error, "looking up %s '%s' of '%s'", what, name, virDomainGetName (dom));
    }
  return snap;
}

gboolean
nl_virt_snapshot_exists (virDomainPtr dom, const char *name, gboolean *exists, GError **error)
{
  GError *local = NULL;
  g_autoptr (virDomainSnapshot) snap = find (dom, name, "snapshot", &local);

  if (local != NULL)
    {
      g_propagate_error (error, local);
      return FALSE;
    }
  *exists = snap != NULL;
  return TRUE;
}

gboolean
nl_virt_snapshot_take (virDomainPtr dom, const char *name, const char *what, GError **error)
{
  g_autoptr (xmlDoc) doc = xmlNewDoc ((const xmlChar *) "1.0");
  xmlNodePtr root = xmlNewNode (NULL, (const xmlChar *) "domainsnapshot");
  g_autofree char *description = g_strdup_printf ("nestlab %s", what);
  g_autofree char *xml = NULL;
  g_autoptr (virDomainSnapshot) snap = NULL;

  xmlDocSetRootElement (doc, root);
  xmlNewTextChild (root, NULL, (const xmlChar *) "name", (const xmlChar *) name);
  xmlNewTextChild (root, NULL, (const xmlChar *) "description", (const xmlChar *) description);
  xml = nl_xml_node_to_string (root, FALSE);
  /* Disks and, for a running guest, its memory: a revert returns to the
   * very moment it was taken. */
  snap = virDomainSnapshotCreateXML (dom, xml, 0);
  if (snap == NULL)
    {
      nl_virt_set_error (error, "taking %s '%s' of '%s'", what, name, virDomainGetName (dom));
      return FALSE;
    }
  return TRUE;
}

gboolean
nl_virt_snapshot_revert (virDomainPtr dom, const char *name, const char *what, const NlOwnership *mark,
                         GError **error)
{
  const char *objname = virDomainGetName (dom);
  GError *local = NULL;
  g_autoptr (virDomainSnapshot) snap = find (dom, name, what, &local);

  if (snap == NULL)
    {
      if (local == NULL)
        g_set_error (&local, NL_ERROR, NL_ERROR_NOT_FOUND, "%s '%s' of '%s' does not exist", what, name,
                     objname);
      g_propagate_error (error, local);
      return FALSE;
    }
  /* A revert brings back the definition saved with the snapshot, mark
   * included: one from before later records were made. Giving the snapshot
   * the current mark first means a revert that libvirt finishes after
   * nestlab was killed still leaves every record in place. */
  if (mark != NULL && !nl_virt_snapshot_set_ownership (dom, snap, mark, error))
    return FALSE;
  if (virDomainRevertToSnapshot (snap, 0) < 0)
    {
      /* Some reverts (a running guest to a snapshot of a shut-off one, say)
       * need force. */
      virResetLastError ();
      if (virDomainRevertToSnapshot (snap, VIR_DOMAIN_SNAPSHOT_REVERT_FORCE) < 0)
        {
          nl_virt_set_error (error, "reverting '%s' to %s '%s'", objname, what, name);
          return FALSE;
        }
    }
  return TRUE;
}

gboolean
nl_virt_snapshot_delete (virDomainPtr dom, const char *name, const char *what, GError **error)
{
  GError *local = NULL;
  g_autoptr (virDomainSnapshot) snap = find (dom, name, what, &local);

  if (local != NULL)
    {
      g_propagate_error (error, local);
      return FALSE;
    }
  if (snap != NULL && virDomainSnapshotDelete (snap, 0) < 0)
    {
      nl_virt_set_error (error, "deleting %s '%s' of '%s'", what, name, virDomainGetName (dom));
      return FALSE;
    }
  return TRUE;
}
