/* External checkpoints: nestlab's own overlays, for machines whose state
 * libvirt 9.0 cannot snapshot internally (UEFI firmware in pflash, or a raw
 * or shared disk). Taking one pauses the machine, copies its NVRAM and TPM
 * state beside its disks, and takes an external snapshot that moves its
 * qcow2 disks onto new overlays and, for a running machine without a disk
 * left out, saves its memory; the files the disks sat on are frozen as the
 * checkpoint. Rewinding powers off, recreates the overlays empty on their
 * frozen bases and puts NVRAM and TPM state back; resuming restores the
 * memory (or boots). Merging folds the overlays back into their bases, for
 * restore points that are no longer needed. Lab checkpoints (lab/) and
 * rollout restore points (backup.c) both use this. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <nestlab/error.h>
#include "virt-private.h"

#define SWTPM_DIR "/var/lib/libvirt/swtpm"
/* Where libvirt's QEMU driver keeps the NVRAM of firmware it picked itself
 * (<os firmware='efi'>): DOMAIN_VARS.fd. */
#define NVRAM_DIR "/var/lib/libvirt/qemu/nvram"

typedef struct {
  gboolean pflash;
  char *nvram;
  GPtrArray *targets;   /* char*: qcow2 disks that get overlays */
  GPtrArray *sources;   /* char*: their current files */
  GPtrArray *excluded;  /* char*: writable disks no checkpoint can cover
                         * (raw, or shared by a cluster's nodes) */
} DomainInfo;

static void
domain_info_clear (DomainInfo *info)
{
  g_free (info->nvram);
  g_clear_pointer (&info->targets, g_ptr_array_unref);
  g_clear_pointer (&info->sources, g_ptr_array_unref);
  g_clear_pointer (&info->excluded, g_ptr_array_unref);
}

static char *
xstr (xmlXPathContextPtr ctx, xmlNodePtr node, const char *expr)
{
  xmlXPathObjectPtr obj;
  char *r = NULL;
  ctx->node = node;
  obj = xmlXPathEvalExpression ((const xmlChar *) expr, ctx);
  if (obj && obj->type == XPATH_STRING && obj->stringval && obj->stringval[0])
    r = g_strdup ((const char *) obj->stringval);
  xmlXPathFreeObject (obj);
  return r;
}

/* Whether NODE has a child element NAME. */
static gboolean
xstr_exists (xmlXPathContextPtr ctx, xmlNodePtr node, const char *name)
{
  g_autofree char *expr = g_strdup_printf ("boolean(%s)", name);
  xmlXPathObjectPtr obj;
  gboolean r;
  ctx->node = node;
  obj = xmlXPathEvalExpression ((const xmlChar *) expr, ctx);
  r = obj && obj->type == XPATH_BOOLEAN && obj->boolval;
  xmlXPathFreeObject (obj);
  return r;
}

static gboolean
read_domain (virConnectPtr conn, virDomainPtr dom, DomainInfo *info, GError **error)
{
  g_autofree char *xml = nl_virt_domain_xml (dom, !nl_virt_domain_is_active (dom), error);
  g_autoptr (xmlDoc) doc = NULL;
  xmlXPathContextPtr ctx;
  xmlXPathObjectPtr disks;
  g_autofree char *firmware = NULL, *loader = NULL;

  if (xml == NULL)
    return FALSE;
  doc = xmlReadMemory (xml, strlen (xml), "domain.xml", NULL, XML_PARSE_NONET);
  if (doc == NULL)
    {
      g_set_error (error, NL_ERROR, NL_ERROR_LIBVIRT, "domain XML does not parse");
      return FALSE;
    }
  ctx = xmlXPathNewContext (doc);
  firmware = xstr (ctx, NULL, "string(/domain/os/@firmware)");
  loader = xstr (ctx, NULL, "string(/domain/os/loader/@type)");
  info->nvram = xstr (ctx, NULL, "string(/domain/os/nvram)");
  info->pflash = g_strcmp0 (firmware, "efi") == 0 || g_strcmp0 (loader, "pflash") == 0 || info->nvram != NULL;
  if (info->pflash && info->nvram == NULL)
    {
      /* libvirt 9.0 names the NVRAM of firmware it selected only in the
       * live definition: a machine that is off has it at libvirt's default
       * path, once it has run. Without it, a checkpoint of a machine that
       * is off copied no NVRAM, and a revert that boots the machine fresh
       * did not write it back. */
      g_autofree char *file = g_strdup_printf ("%s_VARS.fd", virDomainGetName (dom));
      g_autofree char *path = g_build_filename (NVRAM_DIR, file, NULL);
      if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
        info->nvram = g_steal_pointer (&path);
    }
  info->targets = g_ptr_array_new_with_free_func (g_free);
  info->sources = g_ptr_array_new_with_free_func (g_free);
  info->excluded = g_ptr_array_new_with_free_func (g_free);
  disks = xmlXPathEvalExpression ((const xmlChar *) "/domain/devices/disk[@device='disk']", ctx);
  for (int i = 0; disks && disks->nodesetval && i < disks->nodesetval->nodeNr; i++)
    {
      xmlNodePtr d = disks->nodesetval->nodeTab[i];
      g_autofree char *dev = xstr (ctx, d, "string(target/@dev)");
      g_autofree char *fmt = xstr (ctx, d, "string(driver/@type)");
      g_autofree char *file = xstr (ctx, d, "string(source/@file)");
      g_autofree char *pool = xstr (ctx, d, "string(source/@pool)");
      g_autofree char *vol = xstr (ctx, d, "string(source/@volume)");

      if (dev == NULL)
        continue;
      if (g_strcmp0 (fmt, "qcow2") != 0 || xstr_exists (ctx, d, "shareable"))
        {
          if (!xstr_exists (ctx, d, "readonly"))
            g_ptr_array_add (info->excluded, g_steal_pointer (&dev));
          continue;
        }
      if (file == NULL && pool && vol)
        {
          g_autoptr (virStoragePool) p = virStoragePoolLookupByName (conn, pool);
          g_autoptr (virStorageVol) v = p ? virStorageVolLookupByName (p, vol) : NULL;
          virResetLastError ();
          if (v)
            nl_virt_volume_paths (v, &file, NULL, NULL);
        }
      if (file == NULL)
        continue;
      g_ptr_array_add (info->targets, g_steal_pointer (&dev));
      g_ptr_array_add (info->sources, g_steal_pointer (&file));
    }
  xmlXPathFreeObject (disks);
  xmlXPathFreeContext (ctx);
  return TRUE;
}

/* Copies SRC over DST; an existing DST keeps its owner and mode (swtpm and
 * QEMU run as other users). */
static gboolean
copy_file (const char *src, const char *dst, GError **error)
{
  g_autofree char *data = NULL;
  gsize len = 0;
  int fd;

  if (!g_file_get_contents (src, &data, &len, error))
    return FALSE;
  fd = open (dst, O_WRONLY | O_TRUNC | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0 || write (fd, data, len) != (ssize_t) len || fsync (fd) < 0)
    {
      int e = errno;
      if (fd >= 0)
        close (fd);
      g_set_error (error, NL_ERROR, NL_ERROR_FAILED, "copying %s to %s: %s", src, dst, g_strerror (e));
      return FALSE;
    }
  close (fd);
  return TRUE;
}

static char *
tpm_state_path (virDomainPtr dom)
{
  char uuid[VIR_UUID_STRING_BUFLEN];
  g_autofree char *path = NULL;
  if (virDomainGetUUIDString (dom, uuid) < 0)
    return NULL;
  path = g_build_filename (SWTPM_DIR, uuid, "tpm2", "tpm2-00.permall", NULL);
  return g_file_test (path, G_FILE_TEST_IS_REGULAR) ? g_steal_pointer (&path) : NULL;
}

static char *
now_iso (void)
{
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  return g_date_time_format (now, "%Y-%m-%dT%H:%M:%SZ");
}

/* QEMU's internal snapshots need every writable disk in qcow2, and libvirt
 * takes them of all disks or none: a machine with a raw or shared disk (a
 * cluster node's witness and CSVs) gets external overlays of its qcow2
 * disks, the others left out. UEFI firmware in pflash rules out internal
 * snapshots altogether on libvirt 9.0. The test driver takes internal ones
 * of anything. */
static gboolean
use_external (virConnectPtr conn, const DomainInfo *info)
{
  return (info->pflash || info->excluded->len > 0) && !nl_virt_is_test_driver (conn);
}

/* Where checkpoint NAME of domain DNAME keeps its files: overlay I of
 * disk target I beside that disk, the other files (EXT: mem, nvram, tpm)
 * beside the first disk. */
static char *
overlay_path (const DomainInfo *info, guint i, const char *dname, const char *name)
{
  g_autofree char *dir = g_path_get_dirname (info->sources->pdata[i]);
  g_autofree char *file = g_strdup_printf ("%s-%s@%s.qcow2", dname, (char *) info->targets->pdata[i], name);
  return g_build_filename (dir, file, NULL);
}

static char *
side_path (const DomainInfo *info, const char *dname, const char *name, const char *ext)
{
  g_autofree char *dir = g_path_get_dirname (info->sources->pdata[0]);
  g_autofree char *file = g_strdup_printf ("%s@%s.%s", dname, name, ext);
  return g_build_filename (dir, file, NULL);
}

/* The file overlay OVERLAY sits on, as its storage pool reads it from the
 * qcow2 header (refreshed first: libvirt made the file outside the pool). */
static char *
backing_of (virConnectPtr conn, const char *overlay, GError **error)
{
  g_autofree char *dir = g_path_get_dirname (overlay);
  g_autoptr (virStoragePool) pool = virStoragePoolLookupByTargetPath (conn, dir);
  g_autoptr (virStorageVol) vol = NULL;
  char *backing = NULL;

  if (pool != NULL)
    virStoragePoolRefresh (pool, 0);
  virResetLastError ();
  vol = virStorageVolLookupByPath (conn, overlay);
  if (vol == NULL)
    {
      nl_virt_set_error (error, "the checkpoint overlay %s", overlay);
      return NULL;
    }
  if (!nl_virt_volume_paths (vol, NULL, &backing, error))
    return NULL;
  if (backing == NULL)
    g_set_error (error, NL_ERROR, NL_ERROR_FAILED, "the checkpoint overlay %s has no backing file", overlay);
  return backing;
}

/* How many of DOM's disks already sit on checkpoint NAME's overlays. */
static guint
on_overlays (const DomainInfo *info, const char *dname, const char *name)
{
  guint n = 0;
  for (guint i = 0; i < info->targets->len; i++)
    {
      g_autofree char *overlay = overlay_path (info, i, dname, name);
      n += strcmp (overlay, info->sources->pdata[i]) == 0;
    }
  return n;
}

/* Completes checkpoint NAME when libvirt took its snapshot but nestlab never
 * recorded it: libvirt finishes a call whose client was killed, leaving the
 * disks on the new overlays, the copies and memory beside them, and the
 * machine perhaps still paused. The record is read back from those files;
 * taking the snapshot again would fail on the overlays that now exist. */
static NlCheckpointRecord *
adopt (virConnectPtr conn, virDomainPtr dom, DomainInfo *info, const char *name, GPtrArray *out_files,
       GError **error)
{
  const char *dname = virDomainGetName (dom);
  g_autoptr (NlCheckpointRecord) rec = g_new0 (NlCheckpointRecord, 1);
  g_autoptr (GPtrArray) bases = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) files = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *memory = side_path (info, dname, name, "mem");
  g_autofree char *nvram = side_path (info, dname, name, "nvram");
  g_autofree char *tpm = side_path (info, dname, name, "tpm");
  int state = 0, reason = 0;

  for (guint i = 0; i < info->sources->len; i++)
    {
      char *base = backing_of (conn, info->sources->pdata[i], error);
      if (base == NULL)
        {
          g_prefix_error (error, "completing checkpoint '%s' of '%s': ", name, dname);
          return NULL;
        }
      g_ptr_array_add (bases, base);
      g_ptr_array_add (files, g_strdup (info->sources->pdata[i]));
    }
  rec->name = g_strdup (name);
  rec->mode = NL_CHECKPOINT_EXTERNAL;
  rec->created = now_iso ();
  rec->running = nl_virt_domain_is_active (dom);
  if (rec->running && info->excluded->len == 0 && g_file_test (memory, G_FILE_TEST_IS_REGULAR))
    rec->memory = g_steal_pointer (&memory);
  if (info->nvram && g_file_test (nvram, G_FILE_TEST_IS_REGULAR))
    rec->nvram_copy = g_steal_pointer (&nvram);
  if (g_file_test (tpm, G_FILE_TEST_IS_REGULAR))
    rec->tpm_copy = g_steal_pointer (&tpm);
  if (rec->memory)
    g_ptr_array_add (files, g_strdup (rec->memory));
  if (rec->nvram_copy)
    g_ptr_array_add (files, g_strdup (rec->nvram_copy));
  if (rec->tpm_copy)
    g_ptr_array_add (files, g_strdup (rec->tpm_copy));
  g_ptr_array_add (info->sources, NULL);
  rec->disks = g_strdupv ((char **) info->sources->pdata);
  g_ptr_array_remove_index (info->sources, info->sources->len - 1);
  g_ptr_array_add (bases, NULL);
  rec->bases = g_strdupv ((char **) bases->pdata);
  g_ptr_array_add (info->targets, NULL);
  rec->targets = g_strdupv ((char **) info->targets->pdata);
  g_ptr_array_remove_index (info->targets, info->targets->len - 1);
  /* The run that was killed paused the machine for the snapshot. */
  if (virDomainGetState (dom, &state, &reason, 0) == 0 && state == VIR_DOMAIN_PAUSED
      && virDomainResume (dom) < 0)
    {
      nl_virt_set_error (error, "resuming '%s'", dname);
      return NULL;
    }
  virResetLastError ();
  for (guint i = 0; i < files->len; i++)
    g_ptr_array_add (out_files, g_strdup (files->pdata[i]));
  return g_steal_pointer (&rec);
}

static NlCheckpointRecord *
take (virConnectPtr conn, virDomainPtr dom, DomainInfo *info, const char *name, GPtrArray *out_files,
      GError **error)
{
  guint done;

  const char *dname = virDomainGetName (dom);
  gboolean running = nl_virt_domain_is_active (dom);
  g_autoptr (GString) xml = g_string_new (NULL);
  g_autoptr (GPtrArray) overlays = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) files = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (NlCheckpointRecord) rec = g_new0 (NlCheckpointRecord, 1);
  g_autoptr (virStorageVol) base = NULL;
  g_autofree char *tpm = tpm_state_path (dom);
  g_autoptr (virDomainSnapshot) snap = NULL;
  g_autoptr (virStoragePool) pool = NULL;
  unsigned int flags = VIR_DOMAIN_SNAPSHOT_CREATE_NO_METADATA;
  gboolean ok = FALSE;

  if (info->targets->len == 0)
    {
      g_set_error (error, NL_ERROR, NL_ERROR_UNSUPPORTED, "'%s' has no qcow2 disk to checkpoint", dname);
      return NULL;
    }
  done = on_overlays (info, dname, name);
  if (done == info->targets->len)
    return adopt (conn, dom, info, name, out_files, error);
  if (done > 0)
    {
      /* libvirt takes external snapshots of all disks atomically. */
      g_set_error (error, NL_ERROR, NL_ERROR_FAILED, "'%s' has only %u of its %u disks on the overlays of "
                   "checkpoint '%s'", dname, done, info->targets->len, name);
      return NULL;
    }
  g_string_append_printf (xml, "<domainsnapshot><name>nestlab-%s-%" G_GINT64_FORMAT "</name>",
                          name, g_get_real_time ());
  /* A running machine's memory goes to a file beside its disks, saved at
   * the same paused moment as the disks, NVRAM and TPM state; not when a
   * disk stays out of the checkpoint (a cluster's shared disk): restored
   * memory would hold caches of that disk's old contents, so such a machine
   * boots fresh on revert. */
  if (running && info->excluded->len == 0)
    {
      g_autofree char *esc = NULL;
      rec->memory = side_path (info, dname, name, "mem");
      esc = g_markup_escape_text (rec->memory, -1);
      g_string_append_printf (xml, "<memory snapshot='external' file='%s'/>", esc);
      g_ptr_array_add (files, g_strdup (rec->memory));
    }
  else
    {
      flags |= VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY;
      g_string_append (xml, "<memory snapshot='no'/>");
    }
  g_string_append (xml, "<disks>");
  for (guint i = 0; i < info->targets->len; i++)
    {
      char *overlay = overlay_path (info, i, dname, name);
      g_autofree char *esc = g_markup_escape_text (overlay, -1);
      g_string_append_printf (xml, "<disk name='%s' snapshot='external' type='file'>"
                              "<driver type='qcow2'/><source file='%s'/></disk>",
                              (char *) info->targets->pdata[i], esc);
      g_ptr_array_add (overlays, overlay);
      g_ptr_array_add (files, g_strdup (overlay));
    }
  for (guint i = 0; i < info->excluded->len; i++)
    g_string_append_printf (xml, "<disk name='%s' snapshot='no'/>", (char *) info->excluded->pdata[i]);
  g_string_append (xml, "</disks></domainsnapshot>");

  if (running)
    {
      flags |= VIR_DOMAIN_SNAPSHOT_CREATE_ATOMIC;
      /* Paused, the disks, NVRAM and TPM state are one consistent moment. */
      if (virDomainSuspend (dom) < 0)
        {
          nl_virt_set_error (error, "pausing '%s'", dname);
          return NULL;
        }
    }
  rec->name = g_strdup (name);
  rec->mode = NL_CHECKPOINT_EXTERNAL;
  rec->created = now_iso ();
  rec->running = running;
  if (info->nvram)
    {
      rec->nvram_copy = side_path (info, dname, name, "nvram");
      if (!copy_file (info->nvram, rec->nvram_copy, error))
        goto out;
      g_ptr_array_add (files, g_strdup (rec->nvram_copy));
    }
  if (tpm)
    {
      rec->tpm_copy = side_path (info, dname, name, "tpm");
      if (!copy_file (tpm, rec->tpm_copy, error))
        goto out;
      g_ptr_array_add (files, g_strdup (rec->tpm_copy));
    }
  snap = virDomainSnapshotCreateXML (dom, xml->str, flags);
  if (snap == NULL)
    {
      nl_virt_set_error (error, running ? "taking the disk and memory snapshot of '%s'"
                                        : "taking the disk-only snapshot of '%s'", dname);
      goto out;
    }
  g_ptr_array_add (overlays, NULL);
  rec->disks = g_strdupv ((char **) overlays->pdata);
  g_ptr_array_add (info->sources, NULL);
  rec->bases = g_strdupv ((char **) info->sources->pdata);
  g_ptr_array_remove_index (info->sources, info->sources->len - 1);
  g_ptr_array_add (info->targets, NULL);
  rec->targets = g_strdupv ((char **) info->targets->pdata);
  g_ptr_array_remove_index (info->targets, info->targets->len - 1);
  /* The new files show up as volumes once their pool is refreshed. */
  base = virStorageVolLookupByPath (conn, info->sources->pdata[0]);
  pool = base ? virStoragePoolLookupByVolume (base) : NULL;
  if (pool)
    virStoragePoolRefresh (pool, 0);
  virResetLastError ();
  ok = TRUE;

out:
  if (running && virDomainResume (dom) < 0 && ok)
    {
      nl_virt_set_error (error, "resuming '%s'", dname);
      ok = FALSE;
    }
  if (!ok)
    return NULL;
  for (guint i = 0; i < files->len; i++)
    g_ptr_array_add (out_files, g_strdup (files->pdata[i]));
  return g_steal_pointer (&rec);
}

/* Points the disks TARGETS of domain document DOC at FILES; whether
 * anything changed. */
static gboolean
point_disks (xmlDocPtr doc, char **targets, char **files)
{
  xmlXPathContextPtr ctx = xmlXPathNewContext (doc);
  gboolean changed = FALSE;

  for (guint i = 0; targets[i] && files[i]; i++)
    {
      g_autofree char *expr = g_strdup_printf ("/domain/devices/disk[target/@dev='%s']", targets[i]);
      xmlXPathObjectPtr obj = xmlXPathEvalExpression ((const xmlChar *) expr, ctx);
      if (obj && obj->nodesetval && obj->nodesetval->nodeNr == 1)
        {
          xmlNodePtr disk = obj->nodesetval->nodeTab[0];
          g_autofree char *cur = xstr (ctx, disk, "string(source/@file)");
          if (g_strcmp0 (cur, files[i]) != 0)
            {
              for (xmlNodePtr c = disk->children, next; c; c = next)
                {
                  next = c->next;
                  if (c->type == XML_ELEMENT_NODE && (strcmp ((const char *) c->name, "source") == 0
                                                      || strcmp ((const char *) c->name, "backingStore") == 0))
                    {
                      xmlUnlinkNode (c);
                      xmlFreeNode (c);
                    }
                }
              xmlSetProp (disk, (const xmlChar *) "type", (const xmlChar *) "file");
              xmlNewProp (xmlNewChild (disk, NULL, (const xmlChar *) "source", NULL),
                          (const xmlChar *) "file", (const xmlChar *) files[i]);
              changed = TRUE;
            }
        }
      xmlXPathFreeObject (obj);
    }
  xmlXPathFreeContext (ctx);
  return changed;
}

/* Points disk TARGET of DOM's persistent definition at FILE. */
static gboolean
set_disk_sources (virConnectPtr conn, virDomainPtr dom, char **targets, char **files, GError **error)
{
  const char *objname = virDomainGetName (dom);
  g_autofree char *xml = nl_virt_domain_xml (dom, TRUE, error);
  g_autoptr (xmlDoc) doc = NULL;
  xmlChar *text = NULL;
  int len = 0;
  g_autoptr (virDomain) redefined = NULL;

  if (xml == NULL)
    return FALSE;
  doc = xmlReadMemory (xml, strlen (xml), "domain.xml", NULL, XML_PARSE_NONET);
  if (doc == NULL || !point_disks (doc, targets, files))
    return doc != NULL;
  xmlDocDumpMemory (doc, &text, &len);
  redefined = virDomainDefineXML (conn, (const char *) text);
  xmlFree (text);
  if (redefined == NULL)
    {
      nl_virt_set_error (error, "pointing '%s' back at its checkpoint overlays", objname);
      return FALSE;
    }
  return TRUE;
}

/* Starts DOM from REC's saved memory, its disks on the overlays just
 * recreated (the saved definition names the files they had before the
 * checkpoint, which are now its frozen bases). */
static gboolean
restore_memory (virConnectPtr conn, virDomainPtr dom, const NlCheckpointRecord *rec, GError **error)
{
  const char *dname = virDomainGetName (dom);
  g_autofree char *saved = virDomainSaveImageGetXMLDesc (conn, rec->memory, 0);
  g_autoptr (xmlDoc) doc = NULL;
  xmlChar *text = NULL;
  int len = 0;
  int rc;

  if (saved == NULL)
    {
      nl_virt_set_error (error, "reading the saved memory %s of '%s'", rec->memory, dname);
      return FALSE;
    }
  doc = xmlReadMemory (saved, strlen (saved), "saved.xml", NULL, XML_PARSE_NONET);
  if (doc == NULL)
    {
      g_set_error (error, NL_ERROR, NL_ERROR_LIBVIRT, "the definition in %s does not parse", rec->memory);
      return FALSE;
    }
  point_disks (doc, rec->targets, rec->disks);
  xmlDocDumpMemory (doc, &text, &len);
  rc = virDomainRestoreFlags (conn, rec->memory, (const char *) text, VIR_DOMAIN_SAVE_RUNNING);
  xmlFree (text);
  if (rc < 0)
    {
      nl_virt_set_error (error, "restoring the memory of '%s' from %s", dname, rec->memory);
      return FALSE;
    }
  return TRUE;
}

gboolean
nl_virt_overlay_needed (virConnectPtr conn, virDomainPtr dom, gboolean *needed, GError **error)
{
  DomainInfo info = { 0 };
  if (!read_domain (conn, dom, &info, error))
    return FALSE;
  *needed = use_external (conn, &info);
  domain_info_clear (&info);
  return TRUE;
}

gboolean
nl_virt_overlay_files (virConnectPtr conn, virDomainPtr dom, const char *name, GPtrArray *files,
                       char **pool, GError **error)
{
  const char *dname = virDomainGetName (dom);
  static const char *const ext[] = { "mem", "nvram", "tpm" };
  DomainInfo info = { 0 };

  *pool = NULL;
  if (!read_domain (conn, dom, &info, error))
    return FALSE;
  if (info.targets->len > 0)
    {
      g_autoptr (virStorageVol) vol = virStorageVolLookupByPath (conn, info.sources->pdata[0]);
      g_autoptr (virStoragePool) p = vol ? virStoragePoolLookupByVolume (vol) : NULL;
      virResetLastError ();
      if (p != NULL)
        *pool = g_strdup (virStoragePoolGetName (p));
      g_autofree char *tpm = tpm_state_path (dom);
      /* The same conditions as take(). */
      gboolean made[] = { nl_virt_domain_is_active (dom) && info.excluded->len == 0,
                          info.nvram != NULL, tpm != NULL };
      for (guint i = 0; i < info.targets->len; i++)
        g_ptr_array_add (files, overlay_path (&info, i, dname, name));
      for (guint i = 0; i < G_N_ELEMENTS (ext); i++)
        if (made[i])
          g_ptr_array_add (files, side_path (&info, dname, name, ext[i]));
    }
  domain_info_clear (&info);
  return TRUE;
}

NlCheckpointRecord *
nl_virt_overlay_take (virConnectPtr conn, virDomainPtr dom, const char *name, GPtrArray *files,
                      GError **error)
{
  DomainInfo info = { 0 };
  NlCheckpointRecord *rec;
  if (!read_domain (conn, dom, &info, error))
    return NULL;
  rec = take (conn, dom, &info, name, files, error);
  domain_info_clear (&info);
  return rec;
}

gboolean
nl_virt_overlay_rewind (virConnectPtr conn, virDomainPtr dom, const NlCheckpointRecord *rec, GError **error)
{
  const char *dname = virDomainGetName (dom);
  DomainInfo info = { 0 };
  g_autofree char *tpm = NULL;

  if (!nl_virt_domain_poweroff (dom, error))
    return FALSE;
  for (guint i = 0; rec->disks[i] && rec->bases[i]; i++)
    {
      g_autoptr (virStorageVol) vol = virStorageVolLookupByPath (conn, rec->disks[i]);
      g_autoptr (virStoragePool) pool = NULL;
      g_autoptr (virStorageVol) fresh = NULL;
      g_autoptr (virStorageVol) base = virStorageVolLookupByPath (conn, rec->bases[i]);
      g_autofree char *name = g_path_get_basename (rec->disks[i]);
      g_autofree char *xml = NULL;

      virResetLastError ();
      if (base == NULL || (pool = virStoragePoolLookupByVolume (base)) == NULL)
        {
          nl_virt_set_error (error, "the frozen base %s of checkpoint '%s' of '%s'", rec->bases[i], rec->name, dname);
          return FALSE;
        }
      if (vol != NULL && !nl_virt_volume_delete (vol, error))
        return FALSE;
      virResetLastError ();
      xml = nl_virt_volume_xml (name, rec->bases[i], 0, error);
      fresh = xml ? nl_virt_volume_create (pool, xml, error) : NULL;
      if (fresh == NULL)
        return FALSE;
    }
  if (!set_disk_sources (conn, dom, rec->targets, rec->disks, error))
    return FALSE;
  if (!read_domain (conn, dom, &info, error))
    return FALSE;
  if (rec->nvram_copy && info.nvram && !copy_file (rec->nvram_copy, info.nvram, error))
    {
      domain_info_clear (&info);
      return FALSE;
    }
  domain_info_clear (&info);
  tpm = tpm_state_path (dom);
  if (rec->tpm_copy && tpm && !copy_file (rec->tpm_copy, tpm, error))
    return FALSE;
  return TRUE;
}

gboolean
nl_virt_overlay_resume (virConnectPtr conn, virDomainPtr dom, const NlCheckpointRecord *rec,
                        gboolean *with_memory, GError **error)
{
  *with_memory = rec->memory != NULL && g_file_test (rec->memory, G_FILE_TEST_IS_REGULAR);
  if (!*with_memory)
    return nl_virt_domain_start (dom, error); /* a fresh boot */
  return restore_memory (conn, dom, rec, error);
}

/* Deletes FILE: through its storage pool when it is a volume, else
 * directly. Gone already is fine. */
static gboolean
remove_file (virConnectPtr conn, const char *file, GError **error)
{
  g_autoptr (virStorageVol) vol = virStorageVolLookupByPath (conn, file);
  virResetLastError ();
  if (vol != NULL)
    return nl_virt_volume_delete (vol, error);
  if (g_unlink (file) < 0 && errno != ENOENT)
    {
      int e = errno;
      g_set_error (error, NL_ERROR, NL_ERROR_FAILED, "removing %s: %s", file, g_strerror (e));
      return FALSE;
    }
  return TRUE;
}

/* Waits for DOM's block job on DISK to reach its end (READY for an active
 * commit), up to TIMEOUT seconds. */
static gboolean
wait_block_job (virDomainPtr dom, const char *disk, int timeout, GError **error)
{
  for (int i = 0; i < timeout * 10; i++)
    {
      virDomainBlockJobInfo info = { 0 };
      int rc = virDomainGetBlockJobInfo (dom, disk, &info, 0);
      if (rc < 0)
        {
          nl_virt_set_error (error, "watching the commit of '%s' disk %s", virDomainGetName (dom), disk);
          return FALSE;
        }
      if (rc == 0)
        {
          g_set_error (error, NL_ERROR, NL_ERROR_FAILED, "the commit of '%s' disk %s ended early",
                       virDomainGetName (dom), disk);
          return FALSE;
        }
      if (info.end > 0 && info.cur == info.end)
        return TRUE;
      g_usleep (G_USEC_PER_SEC / 10);
    }
  g_set_error (error, NL_ERROR, NL_ERROR_FAILED, "the commit of '%s' disk %s did not finish in %d s",
               virDomainGetName (dom), disk, timeout);
  return FALSE;
}

/* The file disk TARGET of INFO sits on, or NULL. */
static const char *
source_of (const DomainInfo *info, const char *target)
{
  for (guint i = 0; i < info->targets->len; i++)
    if (strcmp (info->targets->pdata[i], target) == 0)
      return info->sources->pdata[i];
  return NULL;
}

/* Folds the overlay of disk I of REC into its base while DOM runs: an
 * active commit, then a pivot. */
static gboolean
commit_running (virDomainPtr dom, const NlCheckpointRecord *rec, guint i, GError **error)
{
  const char *dname = virDomainGetName (dom);
  const char *target = rec->targets[i];
  virDomainBlockJobInfo job = { 0 };
  int rc = virDomainGetBlockJobInfo (dom, target, &job, 0);

  if (rc < 0)
    {
      nl_virt_set_error (error, "reading the block jobs of '%s' disk %s", dname, target);
      return FALSE;
    }
  /* A delete killed during the commit left it running: it reaches its end
   * and waits for the pivot, which this one does. */
  if ((rc == 0 || job.type != VIR_DOMAIN_BLOCK_JOB_TYPE_ACTIVE_COMMIT)
      && virDomainBlockCommit (dom, target, NULL, NULL, 0,
                               VIR_DOMAIN_BLOCK_COMMIT_ACTIVE | VIR_DOMAIN_BLOCK_COMMIT_SHALLOW) < 0)
    {
      nl_virt_set_error (error, "committing '%s' disk %s into %s", dname, target, rec->bases[i]);
      return FALSE;
    }
  if (!wait_block_job (dom, target, 600, error))
    {
      virDomainBlockJobAbort (dom, target, 0);
      return FALSE;
    }
  if (virDomainBlockJobAbort (dom, target, VIR_DOMAIN_BLOCK_JOB_ABORT_PIVOT) < 0)
    {
      nl_virt_set_error (error, "pivoting '%s' disk %s to %s", dname, target, rec->bases[i]);
      return FALSE;
    }
  return TRUE;
}

/* Folds the overlay of disk I of REC into its base with qemu-img: libvirt
 * has no commit for a machine that is off. */
static gboolean
commit_offline (const NlCheckpointRecord *rec, guint i, GError **error)
{
  const char *argv[] = { "qemu-img", "commit", "-q", rec->disks[i], NULL };
  g_autofree char *err = NULL;
  int status = 0;

  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL,
                     NULL, NULL, NULL, &err, &status, error)
      || !g_spawn_check_wait_status (status, error))
    {
      g_prefix_error (error, "committing %s into %s: %s", rec->disks[i], rec->bases[i], err ? err : "");
      return FALSE;
    }
  return TRUE;
}

gboolean
nl_virt_overlay_merge (virConnectPtr conn, virDomainPtr dom, const NlCheckpointRecord *rec, GError **error)
{
  const char *dname = virDomainGetName (dom);
  gboolean running = nl_virt_domain_is_active (dom);
  DomainInfo info = { 0 };

  if (!read_domain (conn, dom, &info, error))
    return FALSE;
  for (guint i = 0; rec->targets[i] && rec->disks[i] && rec->bases[i]; i++)
    {
      const char *now = source_of (&info, rec->targets[i]);
      gboolean ok;

      /* Folded back already, by a delete that was killed before it
       * forgot the checkpoint: committing again would fold the base into
       * the file under it (an older checkpoint, or the golden image). */
      if (g_strcmp0 (now, rec->bases[i]) == 0)
        continue;
      if (g_strcmp0 (now, rec->disks[i]) != 0)
        {
          g_set_error (error, NL_ERROR, NL_ERROR_CONFLICT, "'%s' disk %s sits on %s, not on the overlay %s "
                       "of checkpoint '%s'", dname, rec->targets[i], now ? now : "no file", rec->disks[i],
                       rec->name);
          domain_info_clear (&info);
          return FALSE;
        }
      ok = running ? commit_running (dom, rec, i, error) : commit_offline (rec, i, error);
      if (!ok)
        {
          domain_info_clear (&info);
          return FALSE;
        }
    }
  domain_info_clear (&info);
  /* The persistent definition points at the bases again, whatever the
   * pivot did to it. */
  if (!set_disk_sources (conn, dom, rec->targets, rec->bases, error))
    return FALSE;
  for (guint i = 0; rec->disks[i]; i++)
    if (!remove_file (conn, rec->disks[i], error))
      return FALSE;
  if ((rec->memory && !remove_file (conn, rec->memory, error))
      || (rec->nvram_copy && !remove_file (conn, rec->nvram_copy, error))
      || (rec->tpm_copy && !remove_file (conn, rec->tpm_copy, error)))
    return FALSE;
  return TRUE;
}
