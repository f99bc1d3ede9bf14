/* Networks: lookup, define, start with autostart, removal. */
#include <stdlib.h>

#include <nestlab/error.h>
#include "virt-private.h"

virNetworkPtr
nl_virt_network_lookup (virConnectPtr conn, const char *name, GError **error)
{
  virNetworkPtr net = virNetworkLookupByName (conn, name);
  if (net == NULL)
    nl_virt_set_error (error, "network '%s'", name);
  return net;
}

virNetworkPtr
nl_virt_network_define (virConnectPtr conn, const char *xml, GError **error)
{
  virNetworkPtr net = virNetworkDefineXML (conn, xml);
  if (net == NULL)
    nl_virt_set_error (error, "defining network");
  return net;
}

gboolean
nl_virt_network_start (virNetworkPtr net, GError **error)
{
  const char *objname = virNetworkGetName (net);
  int autostart = 0;
  if (virNetworkIsActive (net) != 1 && virNetworkCreate (net) < 0)
    {
      nl_virt_set_error (error, "starting network '%s'", objname);
      return FALSE;
    }
  if (virNetworkGetAutostart (net, &autostart) == 0 && autostart)
    return TRUE;
  virResetLastError ();
  if (virNetworkSetAutostart (net, 1) < 0)
    {
      nl_virt_set_error (error, "setting autostart of network '%s'", objname);
      return FALSE;
    }
  return TRUE;
}

gboolean
nl_virt_network_remove (virNetworkPtr net, GError **error)
{
  const char *name = virNetworkGetName (net);
  if (virNetworkIsActive (net) == 1 && virNetworkDestroy (net) < 0)
    {
      nl_virt_set_error (error, "stopping network '%s'", name);
      return FALSE;
    }
  if (virNetworkIsPersistent (net) == 1 && virNetworkUndefine (net) < 0)
    {
      nl_virt_set_error (error, "undefining network '%s'", name);
      return FALSE;
    }
  return TRUE;
}

gboolean
nl_virt_network_is_active (virNetworkPtr net)
{
  gboolean active = virNetworkIsActive (net) == 1;
  virResetLastError ();
  return active;
}

void
nl_virt_network_leases (virNetworkPtr net, GHashTable *mac_to_ip)
{
  virNetworkDHCPLeasePtr *l = NULL;
  int n = virNetworkGetDHCPLeases (net, NULL, &l, 0);

  virResetLastError ();
  for (int k = 0; k < n; k++)
    {
      if (l[k]->mac && l[k]->ipaddr)
        g_hash_table_insert (mac_to_ip, g_ascii_strdown (l[k]->mac, -1), g_strdup (l[k]->ipaddr));
      virNetworkDHCPLeaseFree (l[k]);
    }
  free (l);
}
