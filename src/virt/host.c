/* A libvirt host as a rollout target: who it is (its UUID), the guests it
 * carries and what each is (running, saved, a nested hypervisor), and the
 * stop actions that drain it: managed save and live migration. Shutdown
 * and start are domain.c's. */
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>

#include <nestlab/error.h>
#include "virt-private.h"

void
nl_virt_guest_info_free (NlVirtGuestInfo *info)
{
  if (info == NULL)
    return;
  g_free (info->name);
  g_free (info);
}

char *
nl_virt_host_uuid (virConnectPtr conn, GError **error)
{
  g_autofree char *caps = virConnectGetCapabilities (conn);
  g_autoptr (xmlDoc) doc = NULL;
  xmlNodePtr host, uuid;

  if (caps == NULL)
    {
      nl_virt_set_error (error, "reading the host's capabilities");
      return NULL;
    }
  doc = nl_xml_parse (caps, error);
  if (doc == NULL)
    return NULL;
  host = nl_xml_child (xmlDocGetRootElement (doc), "host");
  uuid = host ? nl_xml_child (host, "uuid") : NULL;
  if (uuid == NULL)
    {
      /* Drivers without one (the test driver): the host name stands in. */
      g_autofree char *name = virConnectGetHostname (conn);
      if (name == NULL)
        {
          nl_virt_set_error (error, "the host's capabilities name no UUID, and its host name");
          return NULL;
        }
      return g_strdup_printf ("host name %s", name);
    }
  {
    xmlChar *text = xmlNodeGetContent (uuid);
    char *out = g_strstrip (g_strdup ((const char *) text));
    xmlFree (text);
    return out;
  }
}

/* Whether the domain XML exposes the CPU's virtualization extensions: a
 * vmx or svm feature it requires or forces, or the host CPU passed through
 * on KVM. Nobody outside can tell whether it runs guests right now, so a
 * guest that may is taken for one that does. */
static gboolean
xml_is_nested (const char *xml)
{
  g_autoptr (xmlDoc) doc = nl_xml_parse (xml, NULL);
  xmlNodePtr root = doc ? xmlDocGetRootElement (doc) : NULL;
  xmlNodePtr cpu = root ? nl_xml_child (root, "cpu") : NULL;
  g_autofree char *type = root ? nl_xml_prop (root, "type") : NULL;
  g_autofree char *mode = cpu ? nl_xml_prop (cpu, "mode") : NULL;

  if (cpu == NULL)
    return FALSE;
  if (g_strcmp0 (mode, "host-passthrough") == 0 && g_strcmp0 (type, "kvm") == 0)
    return TRUE;
  for (xmlNodePtr f = cpu->children; f; f = f->next)
    {
      g_autofree char *name = NULL, *policy = NULL;
      if (!nl_xml_is (f, "feature"))
        continue;
      name = nl_xml_prop (f, "name");
      policy = nl_xml_prop (f, "policy");
      if ((g_strcmp0 (name, "vmx") == 0 || g_strcmp0 (name, "svm") == 0)
          && (policy == NULL || g_str_equal (policy, "require") || g_str_equal (policy, "force")))
        return TRUE;
    }
  return FALSE;
}

static gint
info_cmp (gconstpointer a, gconstpointer b)
{
  const NlVirtGuestInfo *x = *(NlVirtGuestInfo *const *) a, *y = *(NlVirtGuestInfo *const *) b;
  return strcmp (x->name, y->name);
}

GPtrArray *
nl_virt_host_guests (virConnectPtr conn, GError **error)
{
  virDomainPtr *doms = NULL;
  int n = virConnectListAllDomains (conn, &doms, 0);
  GPtrArray *out;

  if (n < 0)
    {
      nl_virt_set_error (error, "listing the host's domains");
      return NULL;
    }
  out = g_ptr_array_new_with_free_func ((GDestroyNotify) nl_virt_guest_info_free);
  for (int i = 0; i < n; i++)
    {
      NlVirtGuestInfo *info = g_new0 (NlVirtGuestInfo, 1);
      g_autofree char *xml = virDomainGetXMLDesc (doms[i], 0);
      info->name = g_strdup (virDomainGetName (doms[i]));
      info->active = virDomainIsActive (doms[i]) == 1;
      info->persistent = virDomainIsPersistent (doms[i]) == 1;
      info->managed_save = virDomainHasManagedSaveImage (doms[i], 0) == 1;
      info->nested = xml != NULL && xml_is_nested (xml);
      virResetLastError ();
      g_ptr_array_add (out, info);
      virDomainFree (doms[i]);
    }
  free (doms);
  g_ptr_array_sort (out, info_cmp);
  return out;
}

gboolean
nl_virt_domain_has_managed_save (virDomainPtr dom)
{
  int r = virDomainHasManagedSaveImage (dom, 0);
  virResetLastError ();
  return r == 1;
}

gboolean
nl_virt_domain_managed_save (virDomainPtr dom, GError **error)
{
  const char *objname = virDomainGetName (dom);

  if (virDomainIsActive (dom) != 1 && nl_virt_domain_has_managed_save (dom))
    return TRUE;
  if (virDomainManagedSave (dom, 0) < 0)
    {
      nl_virt_set_error (error, "saving domain '%s'", objname);
      return FALSE;
    }
  return TRUE;
}

gboolean
nl_virt_domain_migrate (virDomainPtr dom, virConnectPtr dest, const char *migrate_uri,
                        gboolean unsafe, GError **error)
{
  const char *objname = virDomainGetName (dom);
  virTypedParameterPtr params = NULL;
  int nparams = 0, maxparams = 0;
  unsigned int flags = VIR_MIGRATE_LIVE | VIR_MIGRATE_PERSIST_DEST | VIR_MIGRATE_UNDEFINE_SOURCE;
  virDomainPtr moved;

  if (unsafe)
    flags |= VIR_MIGRATE_UNSAFE;
  if (migrate_uri != NULL
      && virTypedParamsAddString (&params, &nparams, &maxparams, VIR_MIGRATE_PARAM_URI, migrate_uri) < 0)
    {
      nl_virt_set_error (error, "migrating domain '%s'", objname);
      return FALSE;
    }
  moved = virDomainMigrate3 (dom, dest, params, nparams, flags);
  virTypedParamsFree (params, nparams);
  if (moved == NULL)
    {
      nl_virt_set_error (error, "migrating domain '%s'", objname);
      return FALSE;
    }
  virDomainFree (moved);
  return TRUE;
}
