/* Replicas for rollouts: a linked clone of a fresh backup of each
 * production machine, renamed, with a new UUID and MACs, on an isolated
 * network of its own, and marked as its own lab so teardown finds exactly
 * its objects. The backups are kept as restore points until the replica is
 * discarded. */
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>
#include <libxml/xpath.h>

#include <nestlab/error.h>
#include <nestlab/nested.h>
#include <nestlab/replica.h>
#include "virt-private.h"

#define BACKUP_TIMEOUT_S 1800

static char *
short_hash (const char *text)
{
  g_autofree char *sum = g_compute_checksum_for_string (G_CHECKSUM_SHA256, text, -1);
  return g_strndup (sum, 8);
}

char *
nl_virt_replica_lab (const char *run_id)
{
  g_autofree char *h = short_hash (run_id);
  return g_strdup_printf ("replica-%s", h);
}

static char *
doc_to_string (xmlDocPtr doc)
{
  return nl_xml_node_to_string (xmlDocGetRootElement (doc), TRUE);
}

typedef struct {
  char *dev;      /* vda */
  char *source;   /* production disk file */
  char *backup;   /* path of the backup (restore point) */
  char *overlay;  /* path of the replica's linked clone */
  char *backup_vol, *overlay_vol;
} DiskCopy;

static void
disk_copy_free (DiskCopy *d)
{
  g_free (d->dev);
  g_free (d->source);
  g_free (d->backup);
  g_free (d->overlay);
  g_free (d->backup_vol);
  g_free (d->overlay_vol);
  g_free (d);
}

/* One production machine to copy: what replica_plan learnt of it. */
typedef struct {
  char *source;          /* production domain */
  char *name;            /* its replica */
  gboolean running;
  xmlDocPtr livedoc;
  xmlDocPtr doc;         /* inactive definition */
  GPtrArray *disks;      /* of DiskCopy* */
} ReplicaSource;

static void
replica_source_free (ReplicaSource *r)
{
  g_free (r->source);
  g_free (r->name);
  if (r->livedoc)
    xmlFreeDoc (r->livedoc);
  if (r->doc)
    xmlFreeDoc (r->doc);
  if (r->disks)
    g_ptr_array_unref (r->disks);
  g_free (r);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ReplicaSource, replica_source_free)

/* The path of a disk's <source>: file='...', or pool='...' volume='...'. */
static char *
source_path (virConnectPtr conn, xmlNodePtr disk, xmlNodePtr source)
{
  g_autofree char *type = nl_xml_prop (disk, "type");
  g_autofree char *pool = NULL;
  g_autofree char *volume = NULL;
  g_autoptr (virStoragePool) p = NULL;
  g_autoptr (virStorageVol) v = NULL;
  char *path;

  if (g_strcmp0 (type, "file") == 0)
    return nl_xml_prop (source, "file");
  if (g_strcmp0 (type, "volume") != 0)
    return NULL;
  pool = nl_xml_prop (source, "pool");
  volume = nl_xml_prop (source, "volume");
  if (pool == NULL || volume == NULL)
    return NULL;
  p = virStoragePoolLookupByName (conn, pool);
  v = p ? virStorageVolLookupByName (p, volume) : NULL;
  path = v ? virStorageVolGetPath (v) : NULL;
  virResetLastError ();
  if (path == NULL)
    return NULL;
  {
    char *copy = g_strdup (path);
    free (path);
    return copy;
  }
}

/* The writable file- or volume-backed disks of DOC: what a replica copies. */
static GPtrArray *
disks_to_copy (virConnectPtr conn, xmlDocPtr doc)
{
  GPtrArray *disks = g_ptr_array_new_with_free_func ((GDestroyNotify) disk_copy_free);
  xmlNodePtr devices = nl_xml_child (xmlDocGetRootElement (doc), "devices");

  for (xmlNodePtr c = devices ? devices->children : NULL; c; c = c->next)
    {
      g_autofree char *device = NULL;
      xmlNodePtr source, target;
      DiskCopy *d;

      if (c->type != XML_ELEMENT_NODE || strcmp ((const char *) c->name, "disk") != 0)
        continue;
      device = nl_xml_prop (c, "device");
      source = nl_xml_child (c, "source");
      target = nl_xml_child (c, "target");
      if (g_strcmp0 (device, "disk") != 0 || source == NULL || target == NULL || nl_xml_child (c, "readonly")
          || nl_xml_child (c, "shareable"))
        continue;
      d = g_new0 (DiskCopy, 1);
      d->dev = nl_xml_prop (target, "dev");
      d->source = source_path (conn, c, source);
      if (d->dev == NULL || d->source == NULL)
        {
          disk_copy_free (d);
          continue;
        }
      g_ptr_array_add (disks, d);
    }
  return disks;
}

/* Waits for DOM's backup job to end; FALSE when it failed. */
static gboolean
wait_backup (virDomainPtr dom, GError **error)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) BACKUP_TIMEOUT_S * G_USEC_PER_SEC;

  while (g_get_monotonic_time () < deadline)
    {
      virDomainJobInfo info;
      if (virDomainGetJobInfo (dom, &info) < 0)
        {
          nl_virt_set_error (error, "watching the backup of '%s'", virDomainGetName (dom));
          return FALSE;
        }
      if (info.type == VIR_DOMAIN_JOB_NONE)
        {
          int type = 0;
          virTypedParameterPtr params = NULL;
          int n = 0;
          if (virDomainGetJobStats (dom, &type, &params, &n, VIR_DOMAIN_JOB_STATS_COMPLETED) < 0)
            {
              /* No record of the finished job: trust that it ended. */
              virResetLastError ();
              return TRUE;
            }
          if (type == VIR_DOMAIN_JOB_FAILED || type == VIR_DOMAIN_JOB_CANCELLED)
            {
              const char *why = NULL;
              /* libvirt's reason, such as QEMU's "No space left on device". */
              if (virTypedParamsGetString (params, n, VIR_DOMAIN_JOB_ERRMSG, &why) < 1)
                why = type == VIR_DOMAIN_JOB_CANCELLED ? "cancelled" : "libvirt gave no reason";
              g_set_error (error, NL_ERROR, NL_ERROR_LIBVIRT, "the backup of '%s' failed: %s",
                           virDomainGetName (dom), why);
              virTypedParamsFree (params, n);
              return FALSE;
            }
          virTypedParamsFree (params, n);
          return TRUE;
        }
      g_usleep (200 * 1000);
    }
  virDomainAbortJob (dom);
  g_set_error (error, NL_ERROR, NL_ERROR_FAILED, "the backup of '%s' took longer than %ds",
               virDomainGetName (dom), BACKUP_TIMEOUT_S);
  return FALSE;
}

/* Push-mode backup of DISKS of running DOM into their ->backup files. */
static gboolean
backup_running (virDomainPtr dom, xmlDocPtr domdoc, GPtrArray *disks, GError **error)
{
  g_autoptr (xmlDoc) doc = xmlNewDoc ((const xmlChar *) "1.0");
  xmlNodePtr root = xmlNewNode (NULL, (const xmlChar *) "domainbackup");
  xmlNodePtr list;
  xmlNodePtr devices = nl_xml_child (xmlDocGetRootElement (domdoc), "devices");
  g_autofree char *xml = NULL;

  xmlDocSetRootElement (doc, root);
  xmlNewProp (root, (const xmlChar *) "mode", (const xmlChar *) "push");
  list = xmlNewChild (root, NULL, (const xmlChar *) "disks", NULL);
  /* Every disk must be named: the copied ones, and the rest left out. */
  for (xmlNodePtr c = devices ? devices->children : NULL; c; c = c->next)
    {
      g_autofree char *device = NULL;
      g_autofree char *dev = NULL;
      DiskCopy *copy = NULL;
      xmlNodePtr d;

      if (c->type != XML_ELEMENT_NODE || strcmp ((const char *) c->name, "disk") != 0)
        continue;
      device = nl_xml_prop (c, "device");
      dev = nl_xml_prop (nl_xml_child (c, "target"), "dev");
      if (dev == NULL || g_strcmp0 (device, "disk") != 0)
        continue;
      for (guint i = 0; i < disks->len; i++)
        if (g_str_equal (((DiskCopy *) disks->pdata[i])->dev, dev))
          copy = disks->pdata[i];
      d = xmlNewChild (list, NULL, (const xmlChar *) "disk", NULL);
      xmlNewProp (d, (const xmlChar *) "name", (const xmlChar *) dev);
      xmlNewProp (d, (const xmlChar *) "backup", (const xmlChar *) (copy ? "yes" : "no"));
      if (copy)
        {
          xmlNodePtr t;
          xmlNewProp (d, (const xmlChar *) "type", (const xmlChar *) "file");
          t = xmlNewChild (d, NULL, (const xmlChar *) "target", NULL);
          xmlNewProp (t, (const xmlChar *) "file", (const xmlChar *) copy->backup);
          t = xmlNewChild (d, NULL, (const xmlChar *) "driver", NULL);
          xmlNewProp (t, (const xmlChar *) "type", (const xmlChar *) "qcow2");
        }
    }
  xml = doc_to_string (doc);
  g_debug ("backup of %s: %s", virDomainGetName (dom), xml);
  if (virDomainBackupBegin (dom, xml, NULL, 0) < 0)
    {
      nl_virt_set_error (error, "starting the backup of '%s'", virDomainGetName (dom));
      return FALSE;
    }
  return wait_backup (dom, error);
}

/* Copies the disks of shut-off DOM into their ->backup volumes. */
static gboolean
backup_stopped (virConnectPtr conn, virStoragePoolPtr pool, GPtrArray *disks, GError **error)
{
  for (guint i = 0; i < disks->len; i++)
    {
      DiskCopy *d = disks->pdata[i];
      g_autoptr (virStorageVol) src = virStorageVolLookupByPath (conn, d->source);
      g_autoptr (virStorageVol) copy = NULL;
      g_autofree char *xml = NULL;
      virStorageVolInfo info;

      if (src == NULL || virStorageVolGetInfo (src, &info) < 0)
        {
          nl_virt_set_error (error, "disk '%s' is not a storage volume libvirt knows", d->source);
          return FALSE;
        }
      xml = nl_virt_volume_xml (d->backup_vol, NULL, info.capacity, error);
      if (xml == NULL)
        return FALSE;
      copy = virStorageVolCreateXMLFrom (pool, xml, src, 0);
      if (copy == NULL)
        {
          nl_virt_set_error (error, "copying '%s'", d->source);
          return FALSE;
        }
    }
  return TRUE;
}

/* The mark of a replica domain (FROM: production's mark, or NULL) or of
 * the replica network (FROM NULL, MACHINE NULL): lab LAB, listing the
 * files of DISKS (DiskCopy*) as volumes of POOL. */
static NlOwnership *
replica_mark (const char *lab, const NlOwnership *from, const char *machine, const char *pool,
              GPtrArray *disks)
{
  NlOwnership *own = nl_ownership_new (lab);

  own->machine = g_strdup (from && from->machine ? from->machine : machine);
  own->role = g_strdup (from ? from->role : machine ? NULL : "replica");
  if (from != NULL)
    {
      own->nested = from->nested;
      own->wave = from->wave;
      own->os = g_strdup (from->os);
    }
  for (guint i = 0; disks && i < disks->len; i++)
    {
      DiskCopy *d = disks->pdata[i];
      nl_ownership_add_volume (own, pool, d->overlay_vol, FALSE);
      nl_ownership_add_volume (own, pool, d->backup_vol, FALSE);
    }
  return own;
}

static gboolean
define_network (virConnectPtr conn, const char *lab, const char *name, const char *bridge,
                const char *pool, GPtrArray *sources, GError **error)
{
  g_autoptr (xmlDoc) doc = xmlNewDoc ((const xmlChar *) "1.0");
  xmlNodePtr root = xmlNewNode (NULL, (const xmlChar *) "network");
  xmlNodePtr n;
  g_autofree char *xml = NULL;
  g_autoptr (virNetwork) net = NULL;

  xmlDocSetRootElement (doc, root);
  xmlNewTextChild (root, NULL, (const xmlChar *) "name", (const xmlChar *) name);
  {
    /* Every file of every replica, listed before any exists. */
    g_autoptr (GPtrArray) all = g_ptr_array_new ();
    for (guint i = 0; i < sources->len; i++)
      {
        GPtrArray *disks = ((ReplicaSource *) sources->pdata[i])->disks;
        for (guint k = 0; k < disks->len; k++)
          g_ptr_array_add (all, disks->pdata[k]);
      }
    g_autoptr (NlOwnership) own = replica_mark (lab, NULL, NULL, pool, all);
    nl_ownership_append (own, xmlNewChild (root, NULL, (const xmlChar *) "metadata", NULL));
  }
  n = xmlNewChild (root, NULL, (const xmlChar *) "bridge", NULL);
  xmlNewProp (n, (const xmlChar *) "name", (const xmlChar *) bridge);
  /* No <forward> and no <ip>: the host has no address on it and routes
   * nothing, so replicas reach only each other. */
  xml = doc_to_string (doc);
  /* A network left by an earlier attempt was discarded before this one, so
   * the name is free; one that is still there is not this run's to reuse. */
  net = nl_virt_network_define (conn, xml, error);
  if (net == NULL)
    return FALSE;
  if (virNetworkIsActive (net) != 1 && virNetworkCreate (net) < 0)
    {
      nl_virt_set_error (error, "starting network '%s'", name);
      return FALSE;
    }
  return TRUE;
}

/* The replica's definition: DOC (production's inactive XML) renamed, its
 * UUID and MACs left to libvirt, its NICs on NETWORK, its disks on the
 * overlays, and the replica lab's mark instead of production's. */
static char *
replica_xml (xmlDocPtr doc, const char *name, const char *network, const char *lab,
             const char *pool, GPtrArray *disks)
{
  xmlNodePtr root = xmlDocGetRootElement (doc);
  xmlNodePtr devices = nl_xml_child (root, "devices");
  xmlNodePtr metadata, os, n;
  g_autoptr (NlOwnership) prod = NULL;
  g_autoptr (NlOwnership) own = NULL;

  n = nl_xml_child (root, "name");
  xmlNodeSetContent (n, (const xmlChar *) name);
  nl_xml_remove_children (root, "uuid");
  /* Keep the production machine's name, role and wave for ring selection. */
  metadata = nl_xml_child (root, "metadata");
  if (metadata == NULL)
    metadata = xmlNewChild (root, NULL, (const xmlChar *) "metadata", NULL);
  prod = nl_ownership_read (root);
  own = replica_mark (lab, prod, name, pool, disks);
  /* Other tools' metadata and production's patch history stay out. */
  while (metadata->children)
    {
      xmlNodePtr c = metadata->children;
      xmlUnlinkNode (c);
      xmlFreeNode (c);
    }
  nl_ownership_append (own, metadata);
  /* UEFI variables are per machine: libvirt makes a fresh copy. */
  os = nl_xml_child (root, "os");
  nl_xml_remove_children (os, "nvram");

  for (xmlNodePtr c = devices ? devices->children : NULL, next; c; c = next)
    {
      next = c->next;
      if (c->type != XML_ELEMENT_NODE)
        continue;
      if (strcmp ((const char *) c->name, "interface") == 0)
        {
          xmlNodePtr src;
          xmlSetProp (c, (const xmlChar *) "type", (const xmlChar *) "network");
          nl_xml_remove_children (c, "mac");
          nl_xml_remove_children (c, "source");
          nl_xml_remove_children (c, "target");
          nl_xml_remove_children (c, "filterref");
          src = xmlNewChild (c, NULL, (const xmlChar *) "source", NULL);
          xmlNewProp (src, (const xmlChar *) "network", (const xmlChar *) network);
        }
      else if (strcmp ((const char *) c->name, "disk") == 0)
        {
          g_autofree char *dev = nl_xml_prop (nl_xml_child (c, "target"), "dev");
          g_autofree char *device = nl_xml_prop (c, "device");
          DiskCopy *copy = NULL;
          for (guint i = 0; dev && i < disks->len; i++)
            if (g_str_equal (((DiskCopy *) disks->pdata[i])->dev, dev))
              copy = disks->pdata[i];
          if (copy != NULL)
            {
              xmlNodePtr drv = nl_xml_child (c, "driver");
              xmlNodePtr src = xmlNewNode (NULL, (const xmlChar *) "source");
              xmlSetProp (c, (const xmlChar *) "type", (const xmlChar *) "file");
              nl_xml_remove_children (c, "source");
              xmlSetProp (src, (const xmlChar *) "file", (const xmlChar *) copy->overlay);
              xmlAddChild (c, src);
              if (drv)
                xmlSetProp (drv, (const xmlChar *) "type", (const xmlChar *) "qcow2");
              nl_xml_remove_children (c, "backingStore");
            }
          else if (g_strcmp0 (device, "cdrom") != 0 && !nl_xml_child (c, "readonly"))
            {
              /* A writable disk we did not copy (shared, block, network):
               * the replica must never write to production's. */
              xmlUnlinkNode (c);
              xmlFreeNode (c);
            }
        }
      else if (strcmp ((const char *) c->name, "graphics") == 0)
        xmlUnsetProp (c, (const xmlChar *) "port");
    }
  return doc_to_string (doc);
}


/* Reads SOURCE and names every file its replica will make; creates nothing. */
static ReplicaSource *
replica_plan (virConnectPtr conn, const char *pool_dir, const char *source, const char *name,
              GError **error)
{
  g_autoptr (ReplicaSource) r = g_new0 (ReplicaSource, 1);
  g_autoptr (virDomain) dom = NULL;
  g_autofree char *live = NULL;
  g_autofree char *inactive = NULL;

  r->source = g_strdup (source);
  r->name = g_strdup (name);
  dom = nl_virt_domain_lookup (conn, source, error);
  if (dom == NULL)
    return NULL;
  r->running = nl_virt_domain_is_active (dom);
  live = nl_virt_domain_xml (dom, FALSE, error);
  inactive = live ? nl_virt_domain_xml (dom, TRUE, error) : NULL;
  if (inactive == NULL || (r->livedoc = nl_xml_parse (live, error)) == NULL
      || (r->doc = nl_xml_parse (inactive, error)) == NULL)
    return NULL;
  r->disks = disks_to_copy (conn, r->livedoc);
  if (r->disks->len == 0)
    {
      g_set_error (error, NL_ERROR, NL_ERROR_UNSUPPORTED,
                   "'%s' has no file or volume disk a replica could copy", source);
      return NULL;
    }
  for (guint i = 0; i < r->disks->len; i++)
    {
      DiskCopy *d = r->disks->pdata[i];
      d->backup_vol = g_strdup_printf ("%s-%s.backup.qcow2", name, d->dev);
      d->overlay_vol = g_strdup_printf ("%s-%s.qcow2", name, d->dev);
      d->backup = g_build_filename (pool_dir, d->backup_vol, NULL);
      d->overlay = g_build_filename (pool_dir, d->overlay_vol, NULL);
    }
  return g_steal_pointer (&r);
}

/* Backs R up, clones the backups and defines and starts the replica. Every
 * file it makes is already listed in the replica network's mark. */
static gboolean
replica_build (virConnectPtr conn, virStoragePoolPtr pool, const char *pool_name,
               const char *lab, const char *network, ReplicaSource *r, gboolean emulate,
               GError **error)
{
  g_autoptr (virDomain) dom = NULL;
  g_autoptr (virDomain) copy = NULL;
  g_autofree char *xml = NULL;

  dom = nl_virt_domain_lookup (conn, r->source, error);
  if (dom == NULL)
    return FALSE;
  g_debug ("replica %s of %s: %u disks, %s", r->name, r->source, r->disks->len,
           r->running ? "backup" : "copy");
  if (r->running ? !backup_running (dom, r->livedoc, r->disks, error)
                 : !backup_stopped (conn, pool, r->disks, error))
    {
      g_prefix_error (error, "backing up '%s' into pool '%s': ", r->source, pool_name);
      return FALSE;
    }
  if (virStoragePoolRefresh (pool, 0) < 0)
    {
      nl_virt_set_error (error, "refreshing pool '%s'", pool_name);
      return FALSE;
    }
  for (guint i = 0; i < r->disks->len; i++)
    {
      DiskCopy *d = r->disks->pdata[i];
      g_autoptr (virStorageVol) bvol = virStorageVolLookupByPath (conn, d->backup);
      g_autoptr (virStorageVol) ovl = NULL;
      g_autofree char *vxml = NULL;
      virStorageVolInfo info;
      if (bvol == NULL || virStorageVolGetInfo (bvol, &info) < 0)
        {
          nl_virt_set_error (error, "backup '%s'", d->backup);
          return FALSE;
        }
      vxml = nl_virt_volume_xml (d->overlay_vol, d->backup, info.capacity, error);
      if (vxml == NULL)
        return FALSE;
      ovl = virStorageVolCreateXML (pool, vxml, 0);
      if (ovl == NULL)
        {
          nl_virt_set_error (error, "creating the linked clone '%s' in pool '%s'", d->overlay_vol,
                             pool_name);
          return FALSE;
        }
    }
  /* Production may be KVM where the replica's host decides emulation. */
  if (emulate && !nl_nested_emulate (r->doc, NULL, error))
    return FALSE;
  xml = replica_xml (r->doc, r->name, network, lab, pool_name, r->disks);
  copy = nl_virt_domain_define (conn, xml, error);
  if (copy == NULL)
    return FALSE;
  return nl_virt_domain_start (copy, error);
}

gboolean
nl_virt_replica_create (virConnectPtr conn, const char *run_id, const char *pool_name,
                        const GPtrArray *domains, GPtrArray **replicas, GError **error)
{
  g_autofree char *lab = nl_virt_replica_lab (run_id);
  g_autofree char *h = short_hash (run_id);
  g_autofree char *bridge = g_strdup_printf ("nlr%s", h);
  g_autoptr (virStoragePool) pool = NULL;
  g_autofree char *pool_dir = NULL;
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) sources = g_ptr_array_new_with_free_func ((GDestroyNotify) replica_source_free);
  g_autoptr (NlAccel) accel = NULL;

  *replicas = NULL;
  accel = nl_virt_accel_decide (conn, NL_ACCEL_AUTO, NULL, error);
  if (accel == NULL)
    return FALSE;
  g_debug ("replicas of run %s: %s", run_id, accel->reason);
  pool = nl_virt_pool_lookup (conn, pool_name, error);
  if (pool == NULL || (pool_dir = nl_virt_pool_target (pool, error)) == NULL)
    return FALSE;
  for (guint i = 0; i < domains->len; i++)
    {
      const char *source = domains->pdata[i];
      g_autofree char *name = g_strdup_printf ("%s-%s", lab, source);
      ReplicaSource *r = replica_plan (conn, pool_dir, source, name, error);
      if (r == NULL)
        {
          g_prefix_error (error, "replica of '%s': ", source);
          return FALSE;
        }
      g_ptr_array_add (sources, r);
    }
  /* The network's mark lists every file before the first one exists, so a
   * run killed anywhere below leaves nothing that discard cannot find. */
  if (!define_network (conn, lab, lab, bridge, pool_name, sources, error))
    return FALSE;
  for (guint i = 0; i < sources->len; i++)
    {
      ReplicaSource *r = sources->pdata[i];
      if (!replica_build (conn, pool, pool_name, lab, lab, r, !accel->kvm, error))
        {
          g_prefix_error (error, "replica of '%s': ", r->source);
          return FALSE;
        }
      g_ptr_array_add (names, g_strdup (r->name));
    }
  *replicas = g_steal_pointer (&names);
  return TRUE;
}

/* libvirt keeps a push backup running after the client that began it died:
 * ends every one that writes into PATHS (a set of file paths) and waits
 * until it has ended. */
static gboolean
end_orphan_backups (virConnectPtr conn, GHashTable *paths, GError **error)
{
  virDomainPtr *doms = NULL;
  int n = virConnectListAllDomains (conn, &doms, VIR_CONNECT_LIST_DOMAINS_ACTIVE);
  gboolean ok = TRUE;

  if (n < 0)
    {
      nl_virt_set_error (error, "listing running domains");
      return FALSE;
    }
  for (int i = 0; i < n; i++)
    {
      g_autofree char *xml = virDomainBackupGetXMLDesc (doms[i], 0);
      g_autoptr (xmlDoc) doc = NULL;
      xmlXPathContextPtr xp;
      xmlXPathObjectPtr obj;
      gboolean ours = FALSE;

      virResetLastError ();   /* no backup job: nothing to end */
      if (xml != NULL && (doc = nl_xml_parse (xml, NULL)) != NULL)
        {
          xp = xmlXPathNewContext (doc);
          obj = xmlXPathEvalExpression ((const xmlChar *) "//disk/target/@file", xp);
          for (int k = 0; obj && obj->nodesetval && k < obj->nodesetval->nodeNr; k++)
            {
              g_autofree char *file = (char *) xmlNodeGetContent (obj->nodesetval->nodeTab[k]);
              ours = ours || (file && g_hash_table_contains (paths, file));
            }
          xmlXPathFreeObject (obj);
          xmlXPathFreeContext (xp);
        }
      if (ours && ok)
        {
          const char *name = virDomainGetName (doms[i]);
          gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
          virDomainJobInfo info = { 0 };

          g_debug ("ending the backup of %s a killed run left running", name);
          if (virDomainAbortJob (doms[i]) < 0)
            virResetLastError ();   /* ended meanwhile: checked below */
          do
            {
              if (virDomainGetJobInfo (doms[i], &info) < 0)
                {
                  virResetLastError ();
                  break;
                }
              if (info.type != VIR_DOMAIN_JOB_NONE)
                g_usleep (100 * 1000);
            }
          while (info.type != VIR_DOMAIN_JOB_NONE && g_get_monotonic_time () < deadline);
          if (info.type != VIR_DOMAIN_JOB_NONE)
            {
              g_set_error (error, NL_ERROR, NL_ERROR_FAILED,
                           "the backup of '%s' a killed run left running did not end", name);
              ok = FALSE;
            }
        }
      virDomainFree (doms[i]);
    }
  free (doms);
  return ok;
}

gboolean
nl_virt_replica_discard (virConnectPtr conn, const char *run_id, GError **error)
{
  g_autofree char *lab = nl_virt_replica_lab (run_id);
  g_autoptr (GPtrArray) doms = nl_virt_list_owned_domains (conn, lab, error);
  g_autoptr (GPtrArray) nets = NULL;
  g_autoptr (GHashTable) paths = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  if (doms == NULL)
    return FALSE;
  nets = nl_virt_list_owned_networks (conn, lab, error);
  if (nets == NULL)
    return FALSE;
  /* The files the network's mark lists: a backup may still be writing one. */
  for (guint i = 0; i < nets->len; i++)
    {
      NlOwnership *own = ((NlOwnedNetwork *) nets->pdata[i])->own;
      for (guint k = 0; own && k < own->volumes->len; k++)
        {
          NlOwnedVolume *v = own->volumes->pdata[k];
          g_autoptr (virStoragePool) pool = nl_virt_pool_lookup (conn, v->pool, NULL);
          g_autofree char *dir = pool ? nl_virt_pool_target (pool, NULL) : NULL;
          if (dir != NULL)
            g_hash_table_add (paths, g_build_filename (dir, v->name, NULL));
        }
    }
  if (g_hash_table_size (paths) > 0 && !end_orphan_backups (conn, paths, error))
    return FALSE;
  for (guint i = 0; i < doms->len; i++)
    {
      NlOwnedDomain *od = doms->pdata[i];
      /* Overlays first: they sit on the backups. */
      if (!nl_virt_domain_remove (od->dom, error)
          || !nl_virt_volumes_delete_listed (conn, od->own, error))
        return FALSE;
    }
  /* What the network lists: files of replicas that were never defined. The
   * network goes last, so a discard killed before here can be run again. */
  for (guint i = 0; i < nets->len; i++)
    {
      NlOwnedNetwork *on = nets->pdata[i];
      if (!nl_virt_volumes_delete_listed (conn, on->own, error)
          || !nl_virt_network_remove (on->net, error))
        return FALSE;
    }
  return TRUE;
}
