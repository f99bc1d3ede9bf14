/* Domains: lookup, define, start, stop and complete removal, with libvirt
 * failures reported as GError naming the domain; and the mark a snapshot
 * brings back. */
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>

#include <nestlab/error.h>
#include "virt-private.h"

virDomainPtr
nl_virt_domain_lookup (virConnectPtr conn, const char *name, GError **error)
{
  virDomainPtr dom = virDomainLookupByName (conn, name);
  if (dom == NULL)
    nl_virt_set_error (error, "domain '%s'", name);
  return dom;
}

virDomainPtr
nl_virt_domain_define (virConnectPtr conn, const char *xml, GError **error)
{
  virDomainPtr dom = virDomainDefineXMLFlags (conn, xml, VIR_DOMAIN_DEFINE_VALIDATE);
  if (dom == NULL)
    {
      virErrorPtr err = virGetLastError ();
      /* Drivers without schema validation (test) refuse the flag. */
      if (err && (err->code == VIR_ERR_INVALID_ARG || err->code == VIR_ERR_NO_SUPPORT))
        {
          virResetLastError ();
          dom = virDomainDefineXML (conn, xml);
        }
    }
  if (dom == NULL)
    nl_virt_set_error (error, "defining domain");
  return dom;
}

gboolean
nl_virt_domain_is_active (virDomainPtr dom)
{
  return virDomainIsActive (dom) == 1;
}

gboolean
nl_virt_domain_remove (virDomainPtr dom, GError **error)
{
  static const unsigned int optional[] = { VIR_DOMAIN_UNDEFINE_TPM, VIR_DOMAIN_UNDEFINE_NVRAM,
                                           VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA };
  unsigned int flags = VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
                       | VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA | VIR_DOMAIN_UNDEFINE_NVRAM
                       | VIR_DOMAIN_UNDEFINE_TPM;
  const char *name = virDomainGetName (dom);

  /* Gone meanwhile counts as removed: libvirt finishes the removal a
   * killed nestlab asked for, possibly just before the rerun's. */
  if (virDomainIsActive (dom) == 1 && virDomainDestroy (dom) < 0)
    {
      if (nl_virt_last_error_is_not_found ())
        {
          virResetLastError ();
          return TRUE;
        }
      nl_virt_set_error (error, "stopping domain '%s'", name);
      return FALSE;
    }
  for (guint i = 0; i <= G_N_ELEMENTS (optional); i++)
    {
      virErrorPtr err;
      if (virDomainUndefineFlags (dom, flags) == 0)
        return TRUE;
      if (nl_virt_last_error_is_not_found ())
        {
          virResetLastError ();
          return TRUE;
        }
      err = virGetLastError ();
      if (i == G_N_ELEMENTS (optional) || err == NULL
          || (err->code != VIR_ERR_INVALID_ARG && err->code != VIR_ERR_NO_SUPPORT
              && err->code != VIR_ERR_ARGUMENT_UNSUPPORTED))
        break;
      g_debug ("undefine of %s refused flags 0x%x, retrying without 0x%x", name, flags, optional[i]);
      virResetLastError ();
      flags &= ~optional[i];
    }
  nl_virt_set_error (error, "undefining domain '%s'", name);
  return FALSE;
}

/* Waits (up to 5 minutes) while libvirt is still starting DOM: a start or
 * restore that libvirt carries on after the nestlab that asked for it was
 * killed. Such a machine is active but not yet running, and may still fail
 * to start. */
static void
wait_while_starting (virDomainPtr dom)
{
  for (guint i = 0; i < 3000; i++)
    {
      int state = 0, reason = 0;
      if (virDomainGetState (dom, &state, &reason, 0) < 0)
        {
          virResetLastError ();
          return;
        }
      if (state != VIR_DOMAIN_PAUSED || reason != VIR_DOMAIN_PAUSED_STARTING_UP)
        return;
      g_usleep (G_USEC_PER_SEC / 10);
    }
}

gboolean
nl_virt_domain_start (virDomainPtr dom, GError **error)
{
  const char *objname = virDomainGetName (dom);

  wait_while_starting (dom);
  if (virDomainIsActive (dom) == 1)
    return TRUE;
  if (virDomainCreate (dom) < 0)
    {
      nl_virt_set_error (error, "starting domain '%s'", objname);
      return FALSE;
    }
  return TRUE;
}

gboolean
nl_virt_domain_poweroff (virDomainPtr dom, GError **error)
{
  const char *objname = virDomainGetName (dom);
  if (virDomainIsActive (dom) != 1)
    return TRUE;
  if (virDomainDestroy (dom) < 0)
    {
      if (virDomainIsActive (dom) == 0)
        {
          virResetLastError ();
          return TRUE;
        }
      nl_virt_set_error (error, "powering off domain '%s'", objname);
      return FALSE;
    }
  return TRUE;
}

gboolean
nl_virt_domain_shutdown (virDomainPtr dom, gboolean agent, GError **error)
{
  const char *objname = virDomainGetName (dom);
  unsigned int flags = agent ? VIR_DOMAIN_SHUTDOWN_GUEST_AGENT : VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN;
  if (virDomainShutdownFlags (dom, flags) < 0)
    {
      nl_virt_set_error (error, "shutting down domain '%s' (%s)", objname,
                         agent ? "guest agent" : "ACPI");
      return FALSE;
    }
  return TRUE;
}

const char *
nl_virt_domain_state_name (virDomainPtr dom)
{
  int state = 0, reason = 0;
  if (virDomainGetState (dom, &state, &reason, 0) < 0)
    {
      virResetLastError ();
      return "unknown";
    }
  switch (state)
    {
    case VIR_DOMAIN_RUNNING: return "running";
    case VIR_DOMAIN_BLOCKED: return "blocked";
    case VIR_DOMAIN_PAUSED: return "paused";
    case VIR_DOMAIN_SHUTDOWN: return "shutting down";
    case VIR_DOMAIN_SHUTOFF: return virDomainHasManagedSaveImage (dom, 0) == 1 ? "saved" : "shut off";
    case VIR_DOMAIN_CRASHED: return "crashed";
    case VIR_DOMAIN_PMSUSPENDED: return "suspended";
    default: return "unknown";
    }
}

char *
nl_virt_domain_xml (virDomainPtr dom, gboolean inactive, GError **error)
{
  const char *objname = virDomainGetName (dom);
  char *xml = virDomainGetXMLDesc (dom, inactive ? VIR_DOMAIN_XML_INACTIVE : 0);
  if (xml == NULL)
    nl_virt_set_error (error, "reading domain '%s'", objname);
  return xml;
}

gboolean
nl_virt_snapshot_set_ownership (virDomainPtr dom, virDomainSnapshotPtr snap, const NlOwnership *own,
                                GError **error)
{
  const char *objname = virDomainGetName (dom);
  const char *snapname = virDomainSnapshotGetName (snap);
  g_autofree char *xml = virDomainSnapshotGetXMLDesc (snap, VIR_DOMAIN_SNAPSHOT_XML_SECURE);
  g_autoptr (xmlDoc) doc = NULL;
  g_autoptr (virDomainSnapshot) redefined = NULL;
  xmlNodePtr root;
  guint defs = 0;
  xmlChar *text = NULL;
  int len = 0;

  if (xml == NULL)
    {
      nl_virt_set_error (error, "reading snapshot '%s' of '%s'", snapname, objname);
      return FALSE;
    }
  doc = xmlReadMemory (xml, strlen (xml), "snapshot.xml", NULL, XML_PARSE_NONET);
  if (doc == NULL || (root = xmlDocGetRootElement (doc)) == NULL)
    {
      g_set_error (error, NL_ERROR, NL_ERROR_LIBVIRT, "snapshot '%s' of '%s': its XML does not parse",
                   snapname, objname);
      return FALSE;
    }
  /* The definition a revert makes live and, when the snapshot has one, the
   * persistent definition it restores beside it (<inactiveDomain>). */
  for (xmlNodePtr c = root->children; c; c = c->next)
    if (c->type == XML_ELEMENT_NODE && (strcmp ((const char *) c->name, "domain") == 0
                                        || strcmp ((const char *) c->name, "inactiveDomain") == 0))
      {
        nl_ownership_put (c, own);
        defs++;
      }
  if (defs == 0)
    {
      g_set_error (error, NL_ERROR, NL_ERROR_LIBVIRT, "snapshot '%s' of '%s' holds no definition", snapname,
                   objname);
      return FALSE;
    }
  xmlDocDumpMemory (doc, &text, &len);
  redefined = virDomainSnapshotCreateXML (dom, (const char *) text, VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE);
  xmlFree (text);
  if (redefined == NULL)
    {
      nl_virt_set_error (error, "writing the lab mark into snapshot '%s' of '%s'", snapname, objname);
      return FALSE;
    }
  return TRUE;
}

const char *
nl_virt_domain_name (virDomainPtr dom)
{
  return virDomainGetName (dom);
}

GPtrArray *
nl_virt_domain_macs (virDomainPtr dom)
{
  GPtrArray *macs = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *xml = virDomainGetXMLDesc (dom, 0);
  g_autoptr (xmlDoc) doc = xml ? nl_xml_parse (xml, NULL) : NULL;
  xmlXPathContextPtr ctx;
  xmlXPathObjectPtr obj;

  virResetLastError ();
  if (doc == NULL)
    return macs;
  ctx = xmlXPathNewContext (doc);
  obj = xmlXPathEvalExpression ((const xmlChar *) "/domain/devices/interface/mac/@address", ctx);
  for (int i = 0; obj && obj->nodesetval && i < obj->nodesetval->nodeNr; i++)
    {
      xmlChar *v = xmlNodeGetContent (obj->nodesetval->nodeTab[i]);
      g_ptr_array_add (macs, g_ascii_strdown ((const char *) v, -1));
      xmlFree (v);
    }
  xmlXPathFreeObject (obj);
  xmlXPathFreeContext (ctx);
  return macs;
}

void
nl_virt_domain_agent_ipv4 (virDomainPtr dom, GPtrArray *out)
{
  virDomainInterfacePtr *ifaces = NULL;
  int n = virDomainInterfaceAddresses (dom, &ifaces, VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_AGENT, 0);

  virResetLastError ();
  for (int i = 0; i < n; i++)
    {
      for (guint a = 0; a < ifaces[i]->naddrs; a++)
        if (ifaces[i]->addrs[a].type == VIR_IP_ADDR_TYPE_IPV4 && ifaces[i]->addrs[a].addr
            && !g_str_has_prefix (ifaces[i]->addrs[a].addr, "127."))
          g_ptr_array_add (out, g_strdup (ifaces[i]->addrs[a].addr));
      virDomainInterfaceFree (ifaces[i]);
    }
  free (ifaces);
}

gboolean
nl_virt_domain_eject (virDomainPtr dom, const char *pool, const char *volume, GError **error)
{
  g_autofree char *xml = NULL;
  g_autoptr (xmlDoc) doc = NULL;
  xmlNodePtr devices;

  if (virDomainIsActive (dom) != 1)
    {
      virResetLastError ();
      return TRUE;
    }
  xml = virDomainGetXMLDesc (dom, 0);
  if (xml == NULL || (doc = nl_xml_parse (xml, NULL)) == NULL)
    {
      nl_virt_set_error (error, "reading domain '%s'", virDomainGetName (dom));
      return FALSE;
    }
  devices = nl_xml_child (xmlDocGetRootElement (doc), "devices");
  for (xmlNodePtr d = devices ? devices->children : NULL; d; d = d->next)
    {
      xmlNodePtr source = nl_xml_child (d, "source");
      g_autofree char *device = nl_xml_prop (d, "device");
      g_autofree char *spool = nl_xml_prop (source, "pool");
      g_autofree char *svol = nl_xml_prop (source, "volume");
      g_autofree char *text = NULL;
      if (!nl_xml_is (d, "disk") || g_strcmp0 (device, "cdrom") != 0 || g_strcmp0 (spool, pool) != 0
          || g_strcmp0 (svol, volume) != 0)
        continue;
      /* The same drive without its medium, for the running machine only:
       * its definition keeps the disk for the next boot. Forced: a guest
       * that keeps the disk mounted (the tiny test guest does) locks the
       * tray. */
      xmlUnlinkNode (source);
      xmlFreeNode (source);
      text = nl_xml_node_to_string (d, FALSE);
      if (virDomainUpdateDeviceFlags (dom, text, VIR_DOMAIN_AFFECT_LIVE | VIR_DOMAIN_DEVICE_MODIFY_FORCE) < 0)
        {
          nl_virt_set_error (error, "ejecting %s from '%s'", volume, virDomainGetName (dom));
          return FALSE;
        }
      return TRUE;
    }
  return TRUE;
}
