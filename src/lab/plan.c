/* Planning `up`: render every object of the lab and compare it with what
 * libvirt holds, object by object, using the ownership marks. Objects are
 * compared by a digest of their rendered XML (the mark's `config`
 * attribute), so an unchanged object is never redefined. */
#include <string.h>

#include <libxml/tree.h>

#include <nestlab/iso.h>
#include <nestlab/media.h>
#include <nestlab/render.h>
#include <nestlab/secret.h>
#include "lab-private.h"

/* Size of the empty golden images made with --create-missing-images. */
#define PLACEHOLDER_SIZE (G_GUINT64_CONSTANT (1) << 30)
#define DEFAULT_POOL_DIR "/var/lib/libvirt/images"

char *
nl_lab_pool_dir_for (const char *pool)
{
  if (strcmp (pool, "default") == 0)
    return g_strdup (DEFAULT_POOL_DIR);
  return g_build_filename (DEFAULT_POOL_DIR, pool, NULL);
}

static void
plan_item_free (NlPlanItem *item)
{
  g_free (item->name);
  g_free (item->pool);
  g_free (item->detail);
  g_free (item->xml);
  g_clear_pointer (&item->data, g_bytes_unref);
  g_free (item->digest);
  g_free (item);
}

void
nl_plan_free (NlPlan *plan)
{
  if (plan == NULL)
    return;
  g_ptr_array_unref (plan->items);
  nl_accel_free (plan->accel);
  g_free (plan);
}

guint
nl_plan_count (const NlPlan *plan, NlPlanAction action)
{
  guint n = 0;
  for (guint i = 0; i < plan->items->len; i++)
    n += ((NlPlanItem *) plan->items->pdata[i])->action == action;
  return n;
}

static NlPlanItem *
add_item (NlPlan *plan, NlObjectKind kind, NlPlanAction action, const char *name,
          const char *pool, char *detail, char *xml)
{
  NlPlanItem *item = g_new0 (NlPlanItem, 1);
  item->kind = kind;
  item->action = action;
  item->name = g_strdup (name);
  item->pool = g_strdup (pool);
  item->detail = detail;
  item->xml = xml;
  g_ptr_array_add (plan->items, item);
  return item;
}

/* Stamps DOC's mark with the digest of DOC's own content (without the
 * template digest, which changes with any edit of the template) and
 * returns DOC as text. *CONFIG gets the digest. */
static char *
stamp (xmlDocPtr doc, char **config)
{
  xmlNodePtr root = xmlDocGetRootElement (doc);
  g_autoptr (NlOwnership) own = nl_ownership_read (root);
  g_autofree char *digest = NULL;
  g_autofree char *text = NULL;

  if (own == NULL)
    {
      text = nl_render_to_string (doc);
      *config = g_compute_checksum_for_string (G_CHECKSUM_SHA256, text, -1);
      return g_steal_pointer (&text);
    }
  digest = g_steal_pointer (&own->digest);
  nl_ownership_put (root, own);
  text = nl_render_to_string (doc);
  *config = g_compute_checksum_for_string (G_CHECKSUM_SHA256, text, -1);
  own->digest = g_steal_pointer (&digest);
  own->config = g_strdup (*config);
  nl_ownership_put (root, own);
  return nl_render_to_string (doc);
}

/* Volume XML with allocation 0: linked clones and qcow2 disks start empty,
 * and drivers that account space (the test driver) would otherwise count
 * the full capacity. */
static char *
volume_xml (xmlDocPtr doc)
{
  xmlNodePtr root = xmlDocGetRootElement (doc);
  for (xmlNodePtr c = root->children; c; c = c->next)
    if (c->type == XML_ELEMENT_NODE && strcmp ((const char *) c->name, "capacity") == 0)
      {
        xmlNodePtr alloc = xmlNewDocNode (doc, NULL, (const xmlChar *) "allocation", (const xmlChar *) "0");
        xmlSetProp (alloc, (const xmlChar *) "unit", (const xmlChar *) "bytes");
        xmlAddNextSibling (c, alloc);
        break;
      }
  return nl_render_to_string (doc);
}

static char *
foreign_reason (const char *kind, const char *name, const NlOwnership *own, const char *lab)
{
  if (own == NULL)
    return g_strdup_printf ("%s '%s' already exists and is not nestlab's (it has no nestlab mark); "
                            "rename or remove it, nestlab will not adopt it", kind, name);
  return g_strdup_printf ("%s '%s' already exists and belongs to lab '%s', not '%s'",
                          kind, name, own->lab, lab);
}

static gboolean
same_volumes (const NlOwnership *a, const NlOwnership *b)
{
  if (a->volumes->len < b->volumes->len)
    return FALSE;
  /* Volumes a checkpoint added (overlays, copies) are extra in A. */
  for (guint i = 0; i < b->volumes->len; i++)
    {
      NlOwnedVolume *v = b->volumes->pdata[i];
      if (!nl_ownership_lists_volume (a, v->pool, v->name))
        return FALSE;
    }
  return TRUE;
}

static gboolean
has_external_checkpoint (const NlOwnership *own)
{
  for (guint i = 0; i < own->checkpoints->len; i++)
    if (((NlCheckpointRecord *) own->checkpoints->pdata[i])->mode == NL_CHECKPOINT_EXTERNAL)
      return TRUE;
  return FALSE;
}

/* Finds the golden images: fills IMAGE_PATHS, adds placeholder items, and
 * fails naming every image that is missing. */
static gboolean
plan_images (NlVirtConn *conn, NlPlan *plan, const NlLab *lab, const NlLabOptions *options,
             GHashTable *image_paths, GError **error)
{
  g_autoptr (GString) missing = g_string_new (NULL);
  guint n_missing = 0;

  for (guint i = 0; i < lab->images->len; i++)
    {
      NlImage *image = lab->images->pdata[i];
      if (image->volume != NULL)
        {
          const char *pool_name = image->pool ? image->pool : lab->pool;
          g_autoptr (NlVirtPool) pool = nl_virt_pool_lookup (conn, pool_name, NULL);
          g_autoptr (NlVirtVolume) vol = pool ? nl_virt_volume_lookup (pool, image->volume, NULL) : NULL;
          g_autofree char *path = NULL;

          if (vol && nl_virt_volume_paths (vol, &path, NULL, NULL) && path)
            {
              g_hash_table_insert (image_paths, g_strdup (image->name), g_steal_pointer (&path));
              continue;
            }
          if (options && options->create_missing_images && plan->test_driver)
            {
              g_autofree char *dir = NULL;
              g_autoptr (xmlDoc) doc = NULL;
              NlVolumeSpec spec = { .name = image->volume, .pool = (char *) pool_name,
                                    .capacity = PLACEHOLDER_SIZE,
                                    .format = image->format ? image->format : (char *) "qcow2" };
              if (pool)
                dir = nl_virt_pool_target (pool, NULL);
              if (dir == NULL)
                dir = nl_lab_pool_dir_for (pool_name);
              doc = nl_render_volume (&spec, error);
              if (doc == NULL)
                return FALSE;
              add_item (plan, NL_OBJECT_IMAGE, NL_PLAN_CREATE, image->volume, pool_name,
                        g_strdup_printf ("empty placeholder for golden image '%s'", image->name),
                        nl_render_to_string (doc));
              g_hash_table_insert (image_paths, g_strdup (image->name),
                                   g_build_filename (dir, image->volume, NULL));
              continue;
            }
          g_string_append_printf (missing, "\n  golden image '%s' (%s:%d): no volume '%s' in storage pool '%s'%s",
                                  image->name, image->src.file ? image->src.file : "?", image->src.line,
                                  image->volume, pool_name, pool ? "" : " (the pool does not exist)");
          n_missing++;
        }
      else if (image->path != NULL && !plan->test_driver)
        {
          g_autoptr (NlVirtVolume) vol = nl_virt_volume_lookup_path (conn, image->path, NULL);
          if (vol == NULL && !g_file_test (image->path, G_FILE_TEST_IS_REGULAR))
            {
              g_string_append_printf (missing, "\n  golden image '%s' (%s:%d): no file %s",
                                      image->name, image->src.file ? image->src.file : "?",
                                      image->src.line, image->path);
              n_missing++;
            }
        }
    }
  if (n_missing > 0)
    {
      g_set_error (error, NL_ERROR, NL_ERROR_NOT_FOUND, "%u golden image%s missing:%s%s", n_missing,
                   n_missing == 1 ? " is" : "s are", missing->str,
                   plan->test_driver ? "\n(on test:///default, --create-missing-images makes empty ones)"
                   : "\n(nestlab image import FILE --name NAME --os ID makes one from a VHD, VHDX, VMDK or "
                     "qcow2 disk; nestlab image build --iso MEDIA.iso --os ID --name NAME installs one)");
      return FALSE;
    }
  return TRUE;
}

/* How machines are rendered here: the host's CPU vendor, KVM or emulation
 * (the plan's accel decision). */
static gboolean
plan_render_options (NlVirtConn *conn, NlPlan *plan, const NlLabOptions *options, NlRenderOptions *ropts,
                     GError **error)
{
  NlCpuVendor vendor = NL_CPU_VENDOR_UNKNOWN;

  if (!nl_virt_host_info (conn, NULL, NULL, &vendor, error))
    return FALSE;
  plan->accel = nl_virt_accel_decide (conn, options ? options->accel : NL_ACCEL_AUTO, NULL, error);
  if (plan->accel == NULL)
    return FALSE;
  ropts->emulate = !plan->accel->kvm;
  ropts->vendor = vendor;
  return TRUE;
}

static void
plan_pool (NlVirtConn *conn, NlPlan *plan, const NlLab *lab)
{
  g_autoptr (NlVirtPool) pool = nl_virt_pool_lookup (conn, lab->pool, NULL);
  g_autofree char *pool_dir = nl_lab_pool_dir_for (lab->pool);

  if (pool == NULL)
    add_item (plan, NL_OBJECT_POOL, NL_PLAN_CREATE, lab->pool, lab->pool,
              g_strdup_printf ("directory pool in %s", pool_dir), NULL);
  else if (!nl_virt_pool_is_active (pool))
    add_item (plan, NL_OBJECT_POOL, NL_PLAN_UPDATE, lab->pool, lab->pool, g_strdup ("not running: start it"), NULL);
  else
    add_item (plan, NL_OBJECT_POOL, NL_PLAN_UNCHANGED, lab->pool, lab->pool, NULL, NULL);
}

static gboolean
plan_networks (NlVirtConn *conn, NlPlan *plan, const NlLab *lab, const NlRenderOptions *ropts,
               GHashTable *rendered, GError **error)
{
  for (guint i = 0; i < lab->networks->len; i++)
    {
      NlNetwork *network = lab->networks->pdata[i];
      g_autofree char *name = nl_lab_network_name (lab, network);
      g_autoptr (xmlDoc) doc = nl_render_network (lab, network, ropts, error);
      g_autoptr (NlVirtNetwork) net = NULL;
      g_autoptr (NlOwnership) own = NULL;
      g_autofree char *config = NULL;
      g_autofree char *xml = NULL;

      if (doc == NULL)
        return FALSE;
      xml = stamp (doc, &config);
      g_hash_table_add (rendered, g_strdup_printf ("network:%s", name));
      net = nl_virt_network_lookup (conn, name, NULL);
      if (net == NULL)
        add_item (plan, NL_OBJECT_NETWORK, NL_PLAN_CREATE, name, NULL, NULL, g_steal_pointer (&xml));
      else if (!nl_virt_network_ownership (net, &own, error))
        return FALSE;
      else if (!nl_ownership_is_lab (own, lab->name))
        add_item (plan, NL_OBJECT_NETWORK, NL_PLAN_CONFLICT, name, NULL,
                  foreign_reason ("network", name, own, lab->name), NULL);
      else if (g_strcmp0 (own->config, config) == 0)
        add_item (plan, NL_OBJECT_NETWORK, NL_PLAN_UNCHANGED, name, NULL,
                  nl_virt_network_is_active (net) ? NULL : g_strdup ("not running: start it"),
                  g_steal_pointer (&xml));
      else
        add_item (plan, NL_OBJECT_NETWORK, NL_PLAN_UPDATE, name, NULL,
                  g_strdup (nl_virt_network_is_active (net)
                            ? "configuration changed (applies when the network restarts: down, destroy the network's lab or rebuild)"
                            : "configuration changed"), g_steal_pointer (&xml));
    }
  return TRUE;
}

/* The plan item of an existing domain of the lab, OWN its mark, XML its
 * new definition (stolen when the item keeps it). */
static NlPlanItem *
plan_existing_domain (NlPlan *plan, NlVirtDomain *dom, const char *name, const NlOwnership *own,
                      const char *config, char **xml, GError **error)
{
  g_autoptr (NlOwnership) want = NULL;

  if (g_strcmp0 (own->config, config) == 0)
    return add_item (plan, NL_OBJECT_DOMAIN, NL_PLAN_UNCHANGED, name, NULL, NULL, g_steal_pointer (xml));
  if (!nl_ownership_parse (*xml, &want, error))
    return NULL;
  if (want == NULL || !same_volumes (own, want))
    return add_item (plan, NL_OBJECT_DOMAIN, NL_PLAN_REBUILD, name, NULL,
                     g_strdup ("its disks changed: run 'nestlab rebuild' to apply"), NULL);
  if (has_external_checkpoint (own))
    return add_item (plan, NL_OBJECT_DOMAIN, NL_PLAN_REBUILD, name, NULL,
                     g_strdup ("changed, but it has external checkpoints (UEFI): delete them "
                               "or run 'nestlab rebuild' to apply"), NULL);
  return add_item (plan, NL_OBJECT_DOMAIN, NL_PLAN_UPDATE, name, NULL,
                   g_strdup (nl_virt_domain_is_active (dom)
                             ? "configuration changed (takes effect when the machine restarts)"
                             : "configuration changed"), g_steal_pointer (xml));
}

static gboolean
plan_domains (NlVirtConn *conn, NlPlan *plan, const NlLab *lab, const NlRenderOptions *ropts,
              GHashTable *rendered, GError **error)
{
  for (guint i = 0; i < lab->machines->len; i++)
    {
      NlMachine *machine = lab->machines->pdata[i];
      g_autofree char *name = nl_lab_domain_name (lab, machine);
      g_autoptr (xmlDoc) doc = nl_render_domain (lab, machine, ropts, error);
      g_autoptr (NlVirtDomain) dom = NULL;
      g_autoptr (NlOwnership) own = NULL;
      g_autofree char *config = NULL;
      g_autofree char *xml = NULL;
      NlPlanItem *item;

      if (doc == NULL)
        return FALSE;
      xml = stamp (doc, &config);
      g_hash_table_add (rendered, g_strdup_printf ("domain:%s", name));
      dom = nl_virt_domain_lookup (conn, name, NULL);
      if (dom == NULL)
        item = add_item (plan, NL_OBJECT_DOMAIN, NL_PLAN_CREATE, name, NULL, NULL, g_steal_pointer (&xml));
      else if (!nl_virt_domain_ownership (dom, &own, error))
        return FALSE;
      else if (!nl_ownership_is_lab (own, lab->name))
        item = add_item (plan, NL_OBJECT_DOMAIN, NL_PLAN_CONFLICT, name, NULL,
                         foreign_reason ("domain", name, own, lab->name), NULL);
      else if ((item = plan_existing_domain (plan, dom, name, own, config, &xml, error)) == NULL)
        return FALSE;
      item->machine = machine;
    }
  return TRUE;
}

static gboolean
plan_volumes (NlVirtConn *conn, NlPlan *plan, const NlLab *lab, const NlRenderOptions *ropts,
              GPtrArray *owned_domains, GError **error)
{
  g_autoptr (GPtrArray) specs = nl_render_volume_specs (lab, ropts);

  for (guint i = 0; i < specs->len; i++)
    {
      NlVolumeSpec *spec = specs->pdata[i];
      g_autoptr (NlVirtPool) vpool = nl_virt_pool_lookup (conn, spec->pool, NULL);
      g_autoptr (NlVirtVolume) vol = vpool ? nl_virt_volume_lookup (vpool, spec->name, NULL) : NULL;
      gboolean listed = FALSE;
      NlPlanItem *item;

      for (guint d = 0; d < owned_domains->len && !listed; d++)
        listed = nl_ownership_lists_volume (((NlOwnedDomain *) owned_domains->pdata[d])->own,
                                            spec->pool, spec->name);
      if (vol == NULL)
        {
          g_autoptr (xmlDoc) doc = nl_render_volume (spec, error);
          if (doc == NULL)
            return FALSE;
          item = add_item (plan, NL_OBJECT_VOLUME, NL_PLAN_CREATE, spec->name, spec->pool,
                           spec->backing_path ? g_strdup_printf ("linked clone of %s", spec->backing_path) : NULL,
                           volume_xml (doc));
        }
      else if (!listed)
        item = add_item (plan, NL_OBJECT_VOLUME, NL_PLAN_CONFLICT, spec->name, spec->pool,
                         g_strdup_printf ("volume '%s' already exists in storage pool '%s' and no "
                                          "domain of lab '%s' lists it; nestlab will not adopt it",
                                          spec->name, spec->pool, lab->name), NULL);
      else
        {
          g_autofree char *backing = NULL;
          if (!nl_virt_volume_paths (vol, NULL, &backing, error))
            return FALSE;
          if (spec->backing_path && backing && strcmp (backing, spec->backing_path) != 0)
            item = add_item (plan, NL_OBJECT_VOLUME, NL_PLAN_REBUILD, spec->name, spec->pool,
                             g_strdup_printf ("its golden image changed (%s, was %s): run 'nestlab rebuild'",
                                              spec->backing_path, backing), NULL);
          else
            item = add_item (plan, NL_OBJECT_VOLUME, NL_PLAN_UNCHANGED, spec->name, spec->pool, NULL, NULL);
        }
      if (spec->machine)
        item->machine = nl_lab_find_machine (lab, spec->machine);
    }
  return TRUE;
}

/* The config media of every machine that gets a config disk: machine name
 * -> NlMedia*. The lab's secrets are resolved (generated ones made and
 * kept) only when some machine needs them. */
static GHashTable *
build_media (const NlLab *lab, GError **error)
{
  g_autoptr (GHashTable) media = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                                        (GDestroyNotify) nl_media_free);
  g_autoptr (GHashTable) secrets = NULL;
  g_autoptr (GBytes) key = NULL;

  for (guint i = 0; i < lab->machines->len; i++)
    {
      NlMachine *machine = lab->machines->pdata[i];
      NlMedia *m;
      if (!nl_media_kind_of (machine, NULL))
        continue;
      if (secrets == NULL)
        {
          secrets = nl_secret_resolve_all (lab, NULL, error);
          key = secrets ? nl_secret_digest_key (NULL, lab->name, error) : NULL;
          if (key == NULL)
            return NULL;
        }
      m = nl_media_build (lab, machine, &(NlMediaOptions){ .secrets = secrets, .digest_key = key }, error);
      if (m == NULL)
        return NULL;
      g_hash_table_insert (media, machine->name, m);
    }
  return g_steal_pointer (&media);
}

/* The mark of domain NAME among OWNED, or NULL. */
static const NlOwnership *
owned_mark (GPtrArray *owned, const char *name)
{
  for (guint i = 0; i < owned->len; i++)
    if (g_str_equal (((NlOwnedDomain *) owned->pdata[i])->name, name))
      return ((NlOwnedDomain *) owned->pdata[i])->own;
  return NULL;
}

/* One config disk per machine with media: made when missing, made again
 * when what it holds changed or it was never filled (its domain's mark
 * records the digest of what was uploaded, after the upload). */
static gboolean
plan_config_disks (NlVirtConn *conn, NlPlan *plan, const NlLab *lab, GHashTable *media,
                   GPtrArray *owned_domains, GError **error)
{
  g_autoptr (NlVirtPool) pool = nl_virt_pool_lookup (conn, lab->pool, NULL);

  for (guint i = 0; i < lab->machines->len; i++)
    {
      NlMachine *machine = lab->machines->pdata[i];
      NlMedia *m = g_hash_table_lookup (media, machine->name);
      g_autofree char *name = NULL;
      g_autofree char *domain = NULL;
      g_autoptr (NlVirtVolume) vol = NULL;
      const NlOwnership *own;
      g_autoptr (GBytes) iso = NULL;
      NlPlanAction action;
      NlPlanItem *item;

      if (m == NULL)
        continue;
      name = nl_lab_config_volume_name (lab, machine);
      domain = nl_lab_domain_name (lab, machine);
      own = owned_mark (owned_domains, domain);
      vol = pool ? nl_virt_volume_lookup (pool, name, NULL) : NULL;
      if (vol != NULL && !nl_ownership_lists_volume (own, lab->pool, name))
        {
          item = add_item (plan, NL_OBJECT_VOLUME, NL_PLAN_CONFLICT, name, lab->pool,
                           g_strdup_printf ("volume '%s' already exists in storage pool '%s' and no "
                                            "domain of lab '%s' lists it; nestlab will not adopt it",
                                            name, lab->pool, lab->name), NULL);
          item->machine = machine;
          continue;
        }
      action = vol == NULL ? NL_PLAN_CREATE
               : g_strcmp0 (own->media, m->digest) == 0 ? NL_PLAN_UNCHANGED : NL_PLAN_UPDATE;
      if (action == NL_PLAN_UNCHANGED)
        item = add_item (plan, NL_OBJECT_VOLUME, action, name, lab->pool, NULL, NULL);
      else
        {
          NlVolumeSpec spec = { .name = name, .pool = lab->pool, .format = (char *) "raw", .mode = 0600 };
          g_autoptr (xmlDoc) doc = NULL;
          iso = nl_iso_build (m->label, m->files, error);
          if (iso == NULL)
            return FALSE;
          spec.capacity = g_bytes_get_size (iso);
          doc = nl_render_volume (&spec, error);
          if (doc == NULL)
            return FALSE;
          item = add_item (plan, NL_OBJECT_VOLUME, action, name, lab->pool,
                           g_strdup (action == NL_PLAN_CREATE ? "config disk" : "config disk: what it holds changed"),
                           nl_render_to_string (doc));
          item->data = g_steal_pointer (&iso);
          item->digest = g_strdup (m->digest);
        }
      item->machine = machine;
    }
  return TRUE;
}

/* Objects of the lab the template no longer has: kept until rebuild. */
static void
plan_stale (NlPlan *plan, GPtrArray *owned_networks, GPtrArray *owned_domains, GHashTable *rendered)
{
  for (guint i = 0; i < owned_networks->len; i++)
    {
      NlOwnedNetwork *on = owned_networks->pdata[i];
      g_autofree char *key = g_strdup_printf ("network:%s", on->name);
      if (!g_hash_table_contains (rendered, key))
        add_item (plan, NL_OBJECT_NETWORK, NL_PLAN_STALE, on->name, NULL,
                  g_strdup ("no longer in the template: kept ('nestlab rebuild' removes it)"), NULL);
    }
  for (guint i = 0; i < owned_domains->len; i++)
    {
      NlOwnedDomain *od = owned_domains->pdata[i];
      g_autofree char *key = g_strdup_printf ("domain:%s", od->name);
      if (!g_hash_table_contains (rendered, key))
        add_item (plan, NL_OBJECT_DOMAIN, NL_PLAN_STALE, od->name, NULL,
                  g_strdup ("no longer in the template: kept ('nestlab rebuild' removes it)"), NULL);
    }
}

NlPlan *
nl_lab_plan_up (NlVirtConn *conn, const NlLab *lab, const NlLabOptions *options, GError **error)
{
  g_autoptr (NlPlan) plan = g_new0 (NlPlan, 1);
  g_autoptr (GHashTable) image_paths = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr (GHashTable) rendered = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GPtrArray) owned_domains = NULL;
  g_autoptr (GPtrArray) owned_networks = NULL;
  g_autoptr (GHashTable) media = NULL;
  NlRenderOptions ropts = { 0 };

  plan->lab = lab;
  plan->items = g_ptr_array_new_with_free_func ((GDestroyNotify) plan_item_free);
  plan->test_driver = nl_virt_is_test_driver (conn);
  ropts.image_paths = image_paths;
  ropts.config_disk = TRUE;

  /* Before anything else: a secret that cannot be had is bad input. */
  media = build_media (lab, error);
  if (media == NULL)
    return NULL;
  if (!plan_render_options (conn, plan, options, &ropts, error))
    return NULL;
  plan_pool (conn, plan, lab);
  if (!plan_images (conn, plan, lab, options, image_paths, error))
    return NULL;
  owned_domains = nl_virt_list_owned_domains (conn, lab->name, error);
  if (owned_domains == NULL)
    return NULL;
  owned_networks = nl_virt_list_owned_networks (conn, lab->name, error);
  if (owned_networks == NULL)
    return NULL;
  if (!plan_networks (conn, plan, lab, &ropts, rendered, error)
      || !plan_domains (conn, plan, lab, &ropts, rendered, error)
      || !plan_volumes (conn, plan, lab, &ropts, owned_domains, error)
      || !plan_config_disks (conn, plan, lab, media, owned_domains, error))
    return NULL;
  plan_stale (plan, owned_networks, owned_domains, rendered);
  return g_steal_pointer (&plan);
}
