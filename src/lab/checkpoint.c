/* Lab-wide checkpoints. Active Directory dictates the order: members are
 * checkpointed first and domain controllers last; on revert, domain
 * controllers come back first. Two mechanisms:
 *  - internal: a libvirt snapshot (with memory when the machine runs), where
 *    QEMU can take one;
 *  - external: for UEFI machines on QEMU, which refuses internal snapshots
 *    with pflash firmware (libvirt 9.0): a disk-only external snapshot onto
 *    nestlab's own overlay files plus copies of the NVRAM and TPM state;
 *    revert powers off, recreates the overlay empty on its frozen base,
 *    puts the NVRAM and TPM state back and starts the machine if it ran.
 * Every checkpoint is recorded in the domain's mark (<nestlab:checkpoint>),
 * and every file it makes is listed there as a volume, so `destroy`
 * removes it. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/xpath.h>

#include "lab-private.h"

#define SWTPM_DIR "/var/lib/libvirt/swtpm"

static gint
order_checkpoint (gconstpointer a, gconstpointer b)
{
  const NlOwnedDomain *x = *(NlOwnedDomain *const *) a, *y = *(NlOwnedDomain *const *) b;
  gboolean dx = nl_lab_is_domain_controller (x->own), dy = nl_lab_is_domain_controller (y->own);
  if (dx != dy)
    return dx ? 1 : -1;
  if (x->own->wave != y->own->wave)
    return x->own->wave < y->own->wave ? 1 : -1;
  return strcmp (x->name, y->name);
}

static gint
order_revert (gconstpointer a, gconstpointer b)
{
  const NlOwnedDomain *x = *(NlOwnedDomain *const *) a, *y = *(NlOwnedDomain *const *) b;
  gboolean dx = nl_lab_is_domain_controller (x->own), dy = nl_lab_is_domain_controller (y->own);
  if (dx != dy)
    return dx ? -1 : 1;
  if (x->own->wave != y->own->wave)
    return x->own->wave < y->own->wave ? -1 : 1;
  return strcmp (x->name, y->name);
}

static GPtrArray *
owned_in_order (virConnectPtr conn, const char *lab, gboolean revert, GError **error)
{
  GPtrArray *owned = nl_virt_list_owned_domains (conn, lab, error);
  if (owned == NULL)
    return NULL;
  if (owned->len == 0)
    {
      g_ptr_array_unref (owned);
      g_set_error (error, NL_ERROR, NL_ERROR_NOT_FOUND, "no lab '%s' here: no domain carries its mark", lab);
      return NULL;
    }
  g_ptr_array_sort (owned, revert ? order_revert : order_checkpoint);
  return owned;
}

GPtrArray *
nl_lab_checkpoint_order (virConnectPtr conn, const char *lab, gboolean revert, GError **error)
{
  g_autoptr (GPtrArray) owned = owned_in_order (conn, lab, revert, error);
  GPtrArray *names;
  if (owned == NULL)
    return NULL;
  names = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < owned->len; i++)
    g_ptr_array_add (names, g_strdup (((NlOwnedDomain *) owned->pdata[i])->name));
  return names;
}

/* ---- the domain's XML ---- */

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

/* Adds files to DOM's mark as volumes of POOL, and REC, in one write. */
static gboolean
record_checkpoint (virDomainPtr dom, const char *pool, GPtrArray *files, const NlCheckpointRecord *rec,
                   GError **error)
{
  g_autoptr (NlOwnership) own = NULL;
  g_autofree char *text = NULL;

  if (!nl_virt_domain_ownership (dom, &own, error))
    return FALSE;
  for (guint i = 0; files && i < files->len; i++)
    {
      g_autofree char *base = g_path_get_basename (files->pdata[i]);
      g_autofree char *next = nl_ownership_with_volume (own, pool, base, error);
      g_autoptr (NlOwnership) reparsed = NULL;
      if (next == NULL || !nl_ownership_parse (next, &reparsed, error))
        return FALSE;
      nl_ownership_free (g_steal_pointer (&own));
      own = g_steal_pointer (&reparsed);
    }
  text = rec ? nl_ownership_with_checkpoint (own, rec, error) : g_strdup (own->xml);
  return text != NULL && nl_virt_domain_set_ownership (dom, text, error);
}

static const char *
owned_pool (const NlOwnership *own)
{
  return own->volumes->len > 0 ? ((NlOwnedVolume *) own->volumes->pdata[0])->pool : "default";
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
 * disks, the others left out. */
static gboolean
use_external (virConnectPtr conn, const DomainInfo *info)
{
  return (info->pflash || info->excluded->len > 0) && !nl_virt_is_test_driver (conn);
}

/* ---- taking one ---- */

typedef struct {
  const char *lab;
  const char *name;
} CkState;

static gboolean
take_internal (virDomainPtr dom, const NlOwnership *own, const char *name, GError **error)
{
  const char *objname = virDomainGetName (dom);
  g_autofree char *xml = g_strdup_printf ("<domainsnapshot><name>%s</name>"
                                          "<description>nestlab lab checkpoint</description></domainsnapshot>", name);
  g_autoptr (virDomainSnapshot) snap = NULL;
  g_autoptr (NlCheckpointRecord) rec = g_new0 (NlCheckpointRecord, 1);

  snap = virDomainSnapshotLookupByName (dom, name, 0);
  virResetLastError ();
  if (snap == NULL)
    snap = virDomainSnapshotCreateXML (dom, xml, 0);
  if (snap == NULL)
    {
      nl_virt_set_error (error, "taking snapshot '%s' of '%s'", name, objname);
      return FALSE;
    }
  rec->name = g_strdup (name);
  rec->mode = g_strdup ("internal");
  rec->created = now_iso ();
  rec->running = nl_virt_domain_is_active (dom);
  return record_checkpoint (dom, owned_pool (own), NULL, rec, error);
}

static gboolean
take_external (virConnectPtr conn, virDomainPtr dom, const NlOwnership *own, DomainInfo *info,
               const char *name, GError **error)
{
  const char *dname = virDomainGetName (dom);
  gboolean running = nl_virt_domain_is_active (dom);
  g_autoptr (GString) xml = g_string_new (NULL);
  g_autoptr (GPtrArray) overlays = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) files = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (NlCheckpointRecord) rec = g_new0 (NlCheckpointRecord, 1);
  g_autofree char *tpm = tpm_state_path (dom);
  g_autoptr (virDomainSnapshot) snap = NULL;
  g_autoptr (virStoragePool) pool = NULL;
  unsigned int flags = VIR_DOMAIN_SNAPSHOT_CREATE_NO_METADATA;
  gboolean ok = FALSE;

  if (info->targets->len == 0)
    {
      g_set_error (error, NL_ERROR, NL_ERROR_UNSUPPORTED, "'%s' has no qcow2 disk to checkpoint", dname);
      return FALSE;
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
      g_autofree char *dir = g_path_get_dirname (info->sources->pdata[0]);
      g_autofree char *file = g_strdup_printf ("%s@%s.mem", dname, name);
      g_autofree char *esc = NULL;
      rec->memory = g_build_filename (dir, file, NULL);
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
      g_autofree char *dir = g_path_get_dirname (info->sources->pdata[i]);
      g_autofree char *file = g_strdup_printf ("%s-%s@%s.qcow2", dname, (char *) info->targets->pdata[i], name);
      char *overlay = g_build_filename (dir, file, NULL);
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
          return FALSE;
        }
    }
  rec->name = g_strdup (name);
  rec->mode = g_strdup ("external");
  rec->created = now_iso ();
  rec->running = running;
  if (info->nvram)
    {
      g_autofree char *dir = g_path_get_dirname (info->sources->pdata[0]);
      g_autofree char *file = g_strdup_printf ("%s@%s.nvram", dname, name);
      rec->nvram_copy = g_build_filename (dir, file, NULL);
      if (!copy_file (info->nvram, rec->nvram_copy, error))
        goto out;
      g_ptr_array_add (files, g_strdup (rec->nvram_copy));
    }
  if (tpm)
    {
      g_autofree char *dir = g_path_get_dirname (info->sources->pdata[0]);
      g_autofree char *file = g_strdup_printf ("%s@%s.tpm", dname, name);
      rec->tpm_copy = g_build_filename (dir, file, NULL);
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
  pool = virStoragePoolLookupByName (conn, owned_pool (own));
  if (pool)
    virStoragePoolRefresh (pool, 0);
  virResetLastError ();
  ok = record_checkpoint (dom, owned_pool (own), files, rec, error);

out:
  if (running && virDomainResume (dom) < 0 && ok)
    {
      nl_virt_set_error (error, "resuming '%s'", dname);
      ok = FALSE;
    }
  return ok;
}

static gboolean
checkpoint_one (virConnectPtr conn, NlTask *task, gpointer data, GError **error)
{
  CkState *st = data;
  g_autoptr (virDomain) dom = nl_virt_domain_lookup (conn, task->name, error);
  g_autoptr (NlOwnership) own = NULL;
  DomainInfo info = { 0 };
  gboolean ok;

  if (dom == NULL || !nl_virt_domain_ownership (dom, &own, error))
    return FALSE;
  if (!nl_ownership_is_lab (own, st->lab))
    {
      g_set_error (error, NL_ERROR, NL_ERROR_CONFLICT, "no longer carries the mark of lab '%s'", st->lab);
      return FALSE;
    }
  if (nl_ownership_find_checkpoint (own, st->name))
    return TRUE; /* taken by an earlier, interrupted run */
  if (!read_domain (conn, dom, &info, error))
    return FALSE;
  if (use_external (conn, &info))
    {
      g_autofree char *tpm = tpm_state_path (dom);
      g_autoptr (GString) what = g_string_new ("checkpointed (external overlay");
      if (info.nvram)
        g_string_append (what, tpm ? ", NVRAM and TPM copies" : ", NVRAM copy");
      else if (tpm)
        g_string_append (what, ", TPM copy");
      if (nl_virt_domain_is_active (dom))
        g_string_append (what, info.excluded->len ? ", no memory: a disk stays out" : ", memory");
      g_string_append_c (what, ')');
      task->done_what = g_intern_string (what->str);
      ok = take_external (conn, dom, own, &info, st->name, error);
    }
  else
    {
      task->done_what = nl_virt_domain_is_active (dom) ? "checkpointed (with memory)" : "checkpointed";
      ok = take_internal (dom, own, st->name, error);
    }
  domain_info_clear (&info);
  task->changed = ok;
  return ok;
}

/* ---- reverting ---- */

static gboolean
revert_internal (virDomainPtr dom, const NlOwnership *own, const char *name, GError **error)
{
  const char *objname = virDomainGetName (dom);
  g_autoptr (virDomainSnapshot) snap = virDomainSnapshotLookupByName (dom, name, 0);

  if (snap == NULL)
    {
      nl_virt_set_error (error, "snapshot '%s' of '%s'", name, objname);
      return FALSE;
    }
  if (virDomainRevertToSnapshot (snap, 0) < 0)
    {
      virResetLastError ();
      if (virDomainRevertToSnapshot (snap, VIR_DOMAIN_SNAPSHOT_REVERT_FORCE) < 0)
        {
          nl_virt_set_error (error, "reverting '%s' to '%s'", objname, name);
          return FALSE;
        }
    }
  /* The snapshot brought back the mark as it was when taken: put back the
   * current one, which records this and later checkpoints. */
  return nl_virt_domain_set_ownership (dom, own->xml, error);
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

static gboolean
revert_external (virConnectPtr conn, virDomainPtr dom, const NlOwnership *own, const NlCheckpointRecord *rec,
                 GError **error)
{
  const char *dname = virDomainGetName (dom);
  DomainInfo info = { 0 };
  g_autofree char *tpm = NULL;
  g_autofree char *text = NULL;
  gboolean after = FALSE;

  if (!nl_virt_domain_poweroff (dom, error))
    return FALSE;
  for (guint i = 0; rec->disks[i] && rec->bases[i]; i++)
    {
      g_autoptr (virStorageVol) vol = virStorageVolLookupByPath (conn, rec->disks[i]);
      g_autoptr (virStoragePool) pool = NULL;
      g_autoptr (virStorageVol) fresh = NULL;
      g_autoptr (virStorageVol) base = virStorageVolLookupByPath (conn, rec->bases[i]);
      g_autofree char *name = g_path_get_basename (rec->disks[i]);
      g_autofree char *ename = g_markup_escape_text (name, -1);
      g_autofree char *ebase = g_markup_escape_text (rec->bases[i], -1);
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
      xml = g_strdup_printf ("<volume><name>%s</name><capacity unit='bytes'>0</capacity>"
                             "<target><format type='qcow2'/></target><backingStore><path>%s</path>"
                             "<format type='qcow2'/></backingStore></volume>", ename, ebase);
      fresh = nl_virt_volume_create (pool, xml, error);
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

  /* History is linear: checkpoints taken after this one sat on the overlay
   * just recreated, so they are gone (their files stay listed until destroy). */
  {
    g_autoptr (NlOwnership) cur = NULL;
    if (!nl_ownership_parse (own->xml, &cur, error))
      return FALSE;
    for (guint i = 0; i < own->checkpoints->len; i++)
      {
        NlCheckpointRecord *r = own->checkpoints->pdata[i];
        if (after)
          {
            g_autofree char *next = nl_ownership_without_checkpoint (cur, r->name, error);
            g_autoptr (NlOwnership) reparsed = NULL;
            if (next == NULL || !nl_ownership_parse (next, &reparsed, error))
              return FALSE;
            nl_ownership_free (g_steal_pointer (&cur));
            cur = g_steal_pointer (&reparsed);
          }
        if (r == rec)
          after = TRUE;
      }
    text = g_strdup (cur->xml);
  }
  if (!nl_virt_domain_set_ownership (dom, text, error))
    return FALSE;
  if (!rec->running)
    return TRUE;
  if (rec->memory == NULL || !g_file_test (rec->memory, G_FILE_TEST_IS_REGULAR))
    return nl_virt_domain_start (dom, error); /* a fresh boot */
  if (!restore_memory (conn, dom, rec, error))
    return FALSE;
  /* The running definition came from the saved image, with the mark as it
   * was before this checkpoint: write the current one again. */
  return nl_virt_domain_set_ownership (dom, text, error);
}

static gboolean
revert_one (virConnectPtr conn, NlTask *task, gpointer data, GError **error)
{
  CkState *st = data;
  g_autoptr (virDomain) dom = nl_virt_domain_lookup (conn, task->name, error);
  g_autoptr (NlOwnership) own = NULL;
  const NlCheckpointRecord *rec;

  if (dom == NULL || !nl_virt_domain_ownership (dom, &own, error))
    return FALSE;
  if (!nl_ownership_is_lab (own, st->lab))
    {
      g_set_error (error, NL_ERROR, NL_ERROR_CONFLICT, "no longer carries the mark of lab '%s'", st->lab);
      return FALSE;
    }
  rec = nl_ownership_find_checkpoint (own, st->name);
  if (rec == NULL)
    {
      g_set_error (error, NL_ERROR, NL_ERROR_NOT_FOUND, "has no checkpoint '%s'", st->name);
      return FALSE;
    }
  task->changed = TRUE;
  if (g_strcmp0 (rec->mode, "external") == 0)
    {
      g_autoptr (GString) what = g_string_new ("reverted (overlay recreated");
      if (rec->nvram_copy)
        g_string_append (what, rec->tpm_copy ? ", NVRAM and TPM restored" : ", NVRAM restored");
      else if (rec->tpm_copy)
        g_string_append (what, ", TPM restored");
      if (rec->running)
        g_string_append (what, rec->memory && g_file_test (rec->memory, G_FILE_TEST_IS_REGULAR)
                                 ? ", running, memory restored" : ", started without its memory");
      g_string_append_c (what, ')');
      /* Progress words live as long as the process: interned. */
      task->done_what = g_intern_string (what->str);
      return revert_external (conn, dom, own, rec, error);
    }
  task->done_what = rec->running ? "reverted (running, memory restored)" : "reverted";
  return revert_internal (dom, own, st->name, error);
}

static gboolean
delete_one (virConnectPtr conn, NlTask *task, gpointer data, GError **error)
{
  CkState *st = data;
  g_autoptr (virDomain) dom = nl_virt_domain_lookup (conn, task->name, error);
  g_autoptr (NlOwnership) own = NULL;
  const NlCheckpointRecord *rec;
  g_autofree char *text = NULL;

  if (dom == NULL || !nl_virt_domain_ownership (dom, &own, error))
    return FALSE;
  if (!nl_ownership_is_lab (own, st->lab))
    {
      g_set_error (error, NL_ERROR, NL_ERROR_CONFLICT, "no longer carries the mark of lab '%s'", st->lab);
      return FALSE;
    }
  rec = nl_ownership_find_checkpoint (own, st->name);
  if (rec == NULL)
    return TRUE;
  if (g_strcmp0 (rec->mode, "internal") == 0)
    {
      g_autoptr (virDomainSnapshot) snap = virDomainSnapshotLookupByName (dom, st->name, 0);
      virResetLastError ();
      if (snap && virDomainSnapshotDelete (snap, 0) < 0)
        {
          nl_virt_set_error (error, "deleting snapshot '%s' of '%s'", st->name, task->name);
          return FALSE;
        }
    }
  /* External overlays stay in the chain (merging them back needs the
   * machine's disks rewritten); destroy removes them with the lab. */
  text = nl_ownership_without_checkpoint (own, st->name, error);
  if (text == NULL || !nl_virt_domain_set_ownership (dom, text, error))
    return FALSE;
  task->changed = TRUE;
  return TRUE;
}

/* Runs FN on the lab's machines one at a time in ORDER, stopping at the
 * first failure: a half-taken checkpoint is completed by running it again. */
static gboolean
run_in_order (virConnectPtr conn, const char *lab, const char *name, gboolean revert, NlTaskFunc fn,
              const char *op, const NlLabOptions *options, NlReport *report, GError **error)
{
  g_autoptr (GTimer) timer = g_timer_new ();
  g_autoptr (GPtrArray) owned = NULL;
  CkState st = { lab, name };
  gboolean ok;

  if (!nl_name_is_safe (name))
    {
      g_set_error (error, NL_ERROR, NL_ERROR_USAGE,
                   "checkpoint name '%s' is not allowed: use [A-Za-z0-9][A-Za-z0-9._-]*", name);
      return FALSE;
    }
  owned = owned_in_order (conn, lab, revert, error);
  if (owned == NULL)
    return FALSE;
  if (fn == revert_one)
    {
      /* Refuse before touching anything when a machine lacks the checkpoint. */
      g_autoptr (GString) missing = g_string_new (NULL);
      for (guint i = 0; i < owned->len; i++)
        {
          NlOwnedDomain *od = owned->pdata[i];
          if (!nl_ownership_find_checkpoint (od->own, name))
            g_string_append_printf (missing, "%s%s", missing->len ? ", " : "", od->name);
        }
      if (missing->len)
        {
          g_set_error (error, NL_ERROR, NL_ERROR_NOT_FOUND,
                       "lab '%s' has no checkpoint '%s' on %s; nothing was reverted", lab, name, missing->str);
          return FALSE;
        }
    }
  for (guint i = 0; i < owned->len && !nl_lab_cancelled (options); i++)
    {
      NlOwnedDomain *od = owned->pdata[i];
      g_autoptr (NlTask) task = nl_task_new (NL_OBJECT_DOMAIN, od->name, NULL, op);
      if (fn (conn, task, &st, &task->error))
        {
          if (task->changed)
            report->done++;
          else
            report->unchanged++;
          nl_lab_emit (options, NL_OBJECT_DOMAIN, od->name, task->changed ? task->done_what : "unchanged",
                       NULL, i + 1, owned->len);
        }
      else
        {
          g_ptr_array_add (report->failures, g_strdup_printf ("domain %s: %s", od->name, task->error->message));
          nl_lab_emit (options, NL_OBJECT_DOMAIN, od->name, "failed", task->error, i + 1, owned->len);
          break;
        }
    }
  ok = nl_lab_finish (conn, options, report, op, error);
  report->seconds = g_timer_elapsed (timer, NULL);
  return ok;
}

gboolean
nl_lab_checkpoint (virConnectPtr conn, const char *lab, const char *name, const NlLabOptions *options,
                   NlReport *report, GError **error)
{
  return run_in_order (conn, lab, name, FALSE, checkpoint_one, "checkpoint", options, report, error);
}

gboolean
nl_lab_revert (virConnectPtr conn, const char *lab, const char *name, const NlLabOptions *options,
               NlReport *report, GError **error)
{
  return run_in_order (conn, lab, name, TRUE, revert_one, "revert", options, report, error);
}

gboolean
nl_lab_checkpoint_delete (virConnectPtr conn, const char *lab, const char *name, const NlLabOptions *options,
                          NlReport *report, GError **error)
{
  return run_in_order (conn, lab, name, FALSE, delete_one, "delete", options, report, error);
}

GPtrArray *
nl_lab_checkpoint_list (virConnectPtr conn, const char *lab, GError **error)
{
  g_autoptr (GPtrArray) owned = owned_in_order (conn, lab, FALSE, error);
  g_autoptr (GPtrArray) names = g_ptr_array_new ();
  g_autoptr (GHashTable) count = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr (GHashTable) first = g_hash_table_new (g_str_hash, g_str_equal);
  GPtrArray *out;

  if (owned == NULL)
    return NULL;
  for (guint i = 0; i < owned->len; i++)
    {
      NlOwnership *own = ((NlOwnedDomain *) owned->pdata[i])->own;
      for (guint k = 0; k < own->checkpoints->len; k++)
        {
          NlCheckpointRecord *r = own->checkpoints->pdata[k];
          guint n = GPOINTER_TO_UINT (g_hash_table_lookup (count, r->name));
          if (n == 0)
            {
              g_ptr_array_add (names, r->name);
              g_hash_table_insert (first, r->name, r);
            }
          g_hash_table_insert (count, r->name, GUINT_TO_POINTER (n + 1));
        }
    }
  out = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < names->len; i++)
    {
      NlCheckpointRecord *r = g_hash_table_lookup (first, names->pdata[i]);
      g_ptr_array_add (out, g_strdup_printf ("%s\t%u/%u\t%s\t%s", r->name,
                                             GPOINTER_TO_UINT (g_hash_table_lookup (count, r->name)),
                                             owned->len, r->mode ? r->mode : "?", r->created ? r->created : ""));
    }
  return out;
}
