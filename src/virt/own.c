/* Ownership marks in libvirt: the lab mark (nestlab/doc.h) read from and
 * written to domains and networks, and the lists of a lab's objects. */
#include <string.h>

#include <nestlab/error.h>
#include "virt-private.h"

#define NS NL_DOC_LAB_NS

gboolean
nl_virt_domain_ownership (virDomainPtr dom, NlOwnership **out, GError **error)
{
  const char *objname = virDomainGetName (dom);
  g_autofree char *xml = NULL;

  *out = NULL;
  xml = virDomainGetMetadata (dom, VIR_DOMAIN_METADATA_ELEMENT, NS, VIR_DOMAIN_AFFECT_CONFIG);
  if (xml == NULL)
    {
      if (nl_virt_last_error_is_not_found ())
        {
          virResetLastError ();
          return TRUE;
        }
      /* A transient domain has no persistent config: ask for the live one. */
      virResetLastError ();
      xml = virDomainGetMetadata (dom, VIR_DOMAIN_METADATA_ELEMENT, NS, VIR_DOMAIN_AFFECT_CURRENT);
      if (xml == NULL)
        {
          if (nl_virt_last_error_is_not_found ())
            {
              virResetLastError ();
              return TRUE;
            }
          nl_virt_set_error (error, "reading the metadata of domain '%s'", objname);
          return FALSE;
        }
    }
  return nl_ownership_parse (xml, out, error);
}

gboolean
nl_virt_domain_set_ownership (virDomainPtr dom, const NlOwnership *own, GError **error)
{
  const char *objname = virDomainGetName (dom);
  g_autofree char *element = nl_ownership_format (own);
  unsigned int flags = VIR_DOMAIN_AFFECT_CONFIG;
  if (virDomainIsActive (dom) == 1)
    flags |= VIR_DOMAIN_AFFECT_LIVE;
  if (virDomainSetMetadata (dom, VIR_DOMAIN_METADATA_ELEMENT, element,
                            NL_DOC_LAB_PREFIX, NS, flags) < 0)
    {
      nl_virt_set_error (error, "writing the metadata of domain '%s'", objname);
      return FALSE;
    }
  return TRUE;
}

gboolean
nl_virt_network_ownership (virNetworkPtr net, NlOwnership **out, GError **error)
{
  const char *objname = virNetworkGetName (net);
  g_autofree char *xml = virNetworkGetXMLDesc (net, VIR_NETWORK_XML_INACTIVE);

  *out = NULL;
  if (xml == NULL)
    {
      /* The test driver knows no flags here. */
      virResetLastError ();
      xml = virNetworkGetXMLDesc (net, 0);
    }
  if (xml == NULL)
    {
      nl_virt_set_error (error, "reading network '%s'", objname);
      return FALSE;
    }
  return nl_ownership_parse (xml, out, error);
}

void
nl_owned_domain_free (NlOwnedDomain *od)
{
  if (od == NULL)
    return;
  g_clear_pointer (&od->dom, virDomainFree);
  g_free (od->name);
  nl_ownership_free (od->own);
  g_free (od);
}

void
nl_owned_network_free (NlOwnedNetwork *on)
{
  if (on == NULL)
    return;
  g_clear_pointer (&on->net, virNetworkFree);
  g_free (on->name);
  nl_ownership_free (on->own);
  g_free (on);
}

GPtrArray *
nl_virt_list_owned_domains (virConnectPtr conn, const char *lab, GError **error)
{
  g_autoptr (GPtrArray) result = g_ptr_array_new_with_free_func ((GDestroyNotify) nl_owned_domain_free);
  virDomainPtr *doms = NULL;
  int n = virConnectListAllDomains (conn, &doms, 0);

  if (n < 0)
    {
      nl_virt_set_error (error, "listing domains");
      return NULL;
    }
  for (int i = 0; i < n; i++)
    {
      NlOwnership *own = NULL;
      g_autoptr (GError) local = NULL;
      if (!nl_virt_domain_ownership (doms[i], &own, &local))
        {
          /* A domain that vanished meanwhile is simply not listed. */
          if (!g_error_matches (local, NL_ERROR, NL_ERROR_NOT_FOUND) && result != NULL)
            {
              g_propagate_error (error, g_steal_pointer (&local));
              g_clear_pointer (&result, g_ptr_array_unref);
            }
        }
      if (result != NULL && nl_ownership_is_lab (own, lab))
        {
          NlOwnedDomain *od = g_new0 (NlOwnedDomain, 1);
          od->name = g_strdup (virDomainGetName (doms[i]));
          od->dom = g_steal_pointer (&doms[i]);
          od->own = g_steal_pointer (&own);
          g_ptr_array_add (result, od);
        }
      nl_ownership_free (own);
      if (doms[i])
        virDomainFree (doms[i]);
    }
  free (doms);
  return g_steal_pointer (&result);
}

GPtrArray *
nl_virt_list_owned_networks (virConnectPtr conn, const char *lab, GError **error)
{
  g_autoptr (GPtrArray) result = g_ptr_array_new_with_free_func ((GDestroyNotify) nl_owned_network_free);
  virNetworkPtr *nets = NULL;
  int n = virConnectListAllNetworks (conn, &nets, 0);

  if (n < 0)
    {
      nl_virt_set_error (error, "listing networks");
      return NULL;
    }
  for (int i = 0; i < n; i++)
    {
      NlOwnership *own = NULL;
      g_autoptr (GError) local = NULL;
      if (!nl_virt_network_ownership (nets[i], &own, &local)
          && !g_error_matches (local, NL_ERROR, NL_ERROR_NOT_FOUND) && result != NULL)
        {
          g_propagate_error (error, g_steal_pointer (&local));
          g_clear_pointer (&result, g_ptr_array_unref);
        }
      if (result != NULL && nl_ownership_is_lab (own, lab))
        {
          NlOwnedNetwork *on = g_new0 (NlOwnedNetwork, 1);
          on->name = g_strdup (virNetworkGetName (nets[i]));
          on->net = g_steal_pointer (&nets[i]);
          on->own = g_steal_pointer (&own);
          g_ptr_array_add (result, on);
        }
      nl_ownership_free (own);
      if (nets[i])
        virNetworkFree (nets[i]);
    }
  free (nets);
  return g_steal_pointer (&result);
}
