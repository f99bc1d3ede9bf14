/* Storage pools and volumes, and what the hypervisor offers (capabilities). */
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>

#include <nestlab/error.h>
#include <nestlab/render.h>
#include "virt-private.h"

virStoragePoolPtr
nl_virt_pool_lookup (virConnectPtr conn, const char *name, GError **error)
{
  virStoragePoolPtr pool = virStoragePoolLookupByName (conn, name);
  if (pool == NULL)
    nl_virt_set_error (error, "storage pool '%s'", name);
  return pool;
}

virStoragePoolPtr
nl_virt_pool_ensure (virConnectPtr conn, const char *name, const char *target, GError **error)
{
  g_autoptr (virStoragePool) pool = virStoragePoolLookupByName (conn, name);

  if (pool == NULL)
    {
      xmlDocPtr doc;
      xmlNodePtr root, t;
      xmlChar *text = NULL;
      int len = 0;

      virResetLastError ();
      doc = xmlNewDoc ((const xmlChar *) "1.0");
      root = xmlNewNode (NULL, (const xmlChar *) "pool");
      xmlDocSetRootElement (doc, root);
      xmlNewProp (root, (const xmlChar *) "type", (const xmlChar *) "dir");
      xmlNewTextChild (root, NULL, (const xmlChar *) "name", (const xmlChar *) name);
      t = xmlNewChild (root, NULL, (const xmlChar *) "target", NULL);
      xmlNewTextChild (t, NULL, (const xmlChar *) "path", (const xmlChar *) target);
      xmlDocDumpMemory (doc, &text, &len);
      xmlFreeDoc (doc);
      pool = virStoragePoolDefineXML (conn, (const char *) text, 0);
      xmlFree (text);
      if (pool == NULL)
        {
          nl_virt_set_error (error, "defining storage pool '%s'", name);
          return NULL;
        }
      if (virStoragePoolBuild (pool, 0) < 0)
        virResetLastError (); /* the directory may exist already */
      virStoragePoolSetAutostart (pool, 1);
      virResetLastError ();
    }
  if (virStoragePoolIsActive (pool) != 1 && virStoragePoolCreate (pool, 0) < 0)
    {
      nl_virt_set_error (error, "starting storage pool '%s'", name);
      return NULL;
    }
  return g_steal_pointer (&pool);
}

static xmlDocPtr
parse (const char *xml)
{
  return xmlReadMemory (xml, strlen (xml), "libvirt.xml", NULL, XML_PARSE_NONET);
}

static char *
xpath_string (xmlDocPtr doc, const char *expr)
{
  xmlXPathContextPtr ctx = xmlXPathNewContext (doc);
  xmlXPathObjectPtr obj = xmlXPathEvalExpression ((const xmlChar *) expr, ctx);
  char *r = NULL;
  if (obj && obj->type == XPATH_STRING && obj->stringval && obj->stringval[0])
    r = g_strdup ((const char *) obj->stringval);
  xmlXPathFreeObject (obj);
  xmlXPathFreeContext (ctx);
  return r;
}

char *
nl_virt_pool_target (virStoragePoolPtr pool, GError **error)
{
  const char *objname = virStoragePoolGetName (pool);
  g_autofree char *xml = virStoragePoolGetXMLDesc (pool, 0);
  xmlDocPtr doc;
  char *path;

  if (xml == NULL)
    {
      nl_virt_set_error (error, "reading storage pool '%s'", objname);
      return NULL;
    }
  doc = parse (xml);
  path = doc ? xpath_string (doc, "string(/pool/target/path)") : NULL;
  if (doc)
    xmlFreeDoc (doc);
  if (path == NULL)
    g_set_error (error, NL_ERROR, NL_ERROR_UNSUPPORTED, "storage pool '%s' has no target directory",
                 objname);
  return path;
}

virStorageVolPtr
nl_virt_volume_lookup (virStoragePoolPtr pool, const char *name, GError **error)
{
  const char *objname = virStoragePoolGetName (pool);
  virStorageVolPtr vol = virStorageVolLookupByName (pool, name);
  if (vol == NULL)
    nl_virt_set_error (error, "volume '%s' in pool '%s'", name, objname);
  return vol;
}

virStorageVolPtr
nl_virt_volume_create (virStoragePoolPtr pool, const char *xml, GError **error)
{
  const char *objname = virStoragePoolGetName (pool);
  virStorageVolPtr vol = virStorageVolCreateXML (pool, xml, 0);
  if (vol == NULL)
    nl_virt_set_error (error, "creating a volume in pool '%s'", objname);
  return vol;
}

gboolean
nl_virt_volume_delete (virStorageVolPtr vol, GError **error)
{
  const char *objname = virStorageVolGetName (vol);
  if (virStorageVolDelete (vol, 0) < 0)
    {
      nl_virt_set_error (error, "deleting volume '%s'", objname);
      return FALSE;
    }
  return TRUE;
}

gboolean
nl_virt_volumes_delete_listed (virConnectPtr conn, const NlOwnership *own, GError **error)
{
  for (guint v = 0; own != NULL && v < own->volumes->len; v++)
    {
      NlOwnedVolume *vol = own->volumes->pdata[v];
      g_autoptr (virStoragePool) pool = virStoragePoolLookupByName (conn, vol->pool);
      g_autoptr (virStorageVol) sv = NULL;
      if (pool != NULL)
        {
          sv = virStorageVolLookupByName (pool, vol->name);
          /* Files libvirt has not seen yet (made before a libvirtd restart,
           * or by a killed run) show up after a refresh. */
          if (sv == NULL && virStoragePoolRefresh (pool, 0) == 0)
            sv = virStorageVolLookupByName (pool, vol->name);
        }
      virResetLastError ();
      if (sv == NULL)
        continue;
      if (!nl_virt_volume_delete (sv, error))
        {
          /* A shared disk another worker removed first. */
          if (g_error_matches (*error, NL_ERROR, NL_ERROR_NOT_FOUND))
            {
              g_clear_error (error);
              continue;
            }
          return FALSE;
        }
      g_debug ("deleted volume %s/%s", vol->pool, vol->name);
    }
  return TRUE;
}

gboolean
nl_virt_volume_paths (virStorageVolPtr vol, char **path, char **backing, GError **error)
{
  const char *objname = virStorageVolGetName (vol);
  g_autofree char *xml = virStorageVolGetXMLDesc (vol, 0);
  xmlDocPtr doc;

  if (xml == NULL)
    {
      nl_virt_set_error (error, "reading volume '%s'", objname);
      return FALSE;
    }
  doc = parse (xml);
  if (doc == NULL)
    {
      g_set_error (error, NL_ERROR, NL_ERROR_LIBVIRT, "volume XML does not parse");
      return FALSE;
    }
  if (path)
    *path = xpath_string (doc, "string(/volume/target/path)");
  if (backing)
    *backing = xpath_string (doc, "string(/volume/backingStore/path)");
  xmlFreeDoc (doc);
  return TRUE;
}

gboolean
nl_virt_host_info (virConnectPtr conn, gboolean *kvm, gboolean *hw_virt, NlCpuVendor *vendor,
                   GError **error)
{
  g_autofree char *caps = virConnectGetCapabilities (conn);
  g_autofree char *kvm_text = NULL;
  xmlDocPtr doc;

  if (caps == NULL)
    {
      nl_virt_set_error (error, "reading the hypervisor's capabilities");
      return FALSE;
    }
  doc = parse (caps);
  if (doc == NULL)
    {
      g_set_error (error, NL_ERROR, NL_ERROR_LIBVIRT, "capabilities XML does not parse");
      return FALSE;
    }
  kvm_text = xpath_string (doc, "string(/capabilities/guest[arch/@name='x86_64']/arch/domain[@type='kvm']/@type)");
  if (kvm)
    *kvm = kvm_text != NULL;
  if (hw_virt)
    {
      g_autofree char *ext = xpath_string (
        doc, "string(/capabilities/host/cpu/feature[@name='vmx' or @name='svm']/@name)");
      *hw_virt = ext != NULL;
    }
  if (vendor)
    {
      g_autofree char *id = xpath_string (doc, "string(/capabilities/host/cpu/vendor)");
      *vendor = nl_cpu_vendor_from_id (id);
    }
  xmlFreeDoc (doc);
  return TRUE;
}

gboolean
nl_virt_pool_is_active (virStoragePoolPtr pool)
{
  gboolean active = virStoragePoolIsActive (pool) == 1;
  virResetLastError ();
  return active;
}

virStorageVolPtr
nl_virt_volume_lookup_path (virConnectPtr conn, const char *path, GError **error)
{
  virStorageVolPtr vol = virStorageVolLookupByPath (conn, path);
  if (vol == NULL)
    nl_virt_set_error (error, "volume '%s'", path);
  return vol;
}

char *
nl_virt_volume_xml (const char *name, const char *backing, guint64 capacity, GError **error)
{
  NlVolumeSpec spec = { .name = (char *) name, .capacity = capacity, .format = (char *) "qcow2",
                        .backing_path = (char *) backing, .backing_format = (char *) "qcow2" };
  g_autoptr (xmlDoc) doc = nl_render_volume (&spec, error);
  return doc ? nl_render_to_string (doc) : NULL;
}

gboolean
nl_virt_volume_upload (virStorageVolPtr vol, GBytes *data, GError **error)
{
  virStreamPtr stream;
  const char *name = virStorageVolGetName (vol);
  gsize left = 0;
  const char *p = g_bytes_get_data (data, &left);

  /* The test driver keeps no volume contents and cannot upload: the
   * volume's size is all there is. */
  if (nl_virt_is_test_driver (virStorageVolGetConnect (vol)))
    return TRUE;
  stream = virStreamNew (virStorageVolGetConnect (vol), 0);
  if (stream == NULL)
    {
      nl_virt_set_error (error, "uploading into volume '%s'", name);
      return FALSE;
    }
  if (virStorageVolUpload (vol, stream, 0, left, 0) < 0)
    {
      nl_virt_set_error (error, "uploading into volume '%s'", name);
      virStreamFree (stream);
      return FALSE;
    }
  while (left > 0)
    {
      int n = virStreamSend (stream, p, MIN (left, (gsize) 256 * 1024));
      if (n < 0)
        {
          nl_virt_set_error (error, "uploading into volume '%s'", name);
          virStreamAbort (stream);
          virStreamFree (stream);
          return FALSE;
        }
      p += n;
      left -= (gsize) n;
    }
  if (virStreamFinish (stream) < 0)
    {
      nl_virt_set_error (error, "finishing the upload into volume '%s'", name);
      virStreamFree (stream);
      return FALSE;
    }
  virStreamFree (stream);
  return TRUE;
}

gboolean
nl_virt_pool_refresh (virStoragePoolPtr pool, GError **error)
{
  if (virStoragePoolRefresh (pool, 0) < 0)
    {
      nl_virt_set_error (error, "refreshing storage pool '%s'", virStoragePoolGetName (pool));
      return FALSE;
    }
  return TRUE;
}
