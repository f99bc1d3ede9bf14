/* `nestlab image build`: plan (edition, names, documents; nothing
 * changes), run (leftovers removed, domain defined with its mark listing
 * both volumes, volumes made, boot, wait for the guest's own power-off) and
 * finish (the disk is the image's, the rest goes). The domain is rendered
 * by the render module as a lab machine would be, then given the build's
 * disks and mark. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <glib/gstdio.h>

#include <nestlab/autounattend.h>
#include <nestlab/doc.h>
#include <nestlab/error.h>
#include <nestlab/imagebuild.h>
#include <nestlab/iso.h>
#include <nestlab/lab.h>
#include <nestlab/media.h>
#include <nestlab/render.h>
#include <nestlab/secret.h>
#include <nestlab/wim.h>

#define ANSWER_LABEL "NESTLAB-BUILD"
/* UEFI: Windows' boot media ask for a key before Setup starts; pressed
 * every few seconds for this long after the start (Setup ignores it). */
#define UEFI_KEY_SECONDS 180
#define UEFI_KEY_EVERY 2
/* The longest image name that keeps nl-build-NAME within libvirt's 63. */
#define NAME_MAX_LEN 50

char *
nl_image_build_domain_name (const char *name)
{
  return g_strdup_printf ("nl-build-%s", name);
}

char *
nl_image_build_lab_name (const char *name)
{
  return g_strdup_printf ("image-build-%s", name);
}

void
nl_image_build_plan_free (NlImageBuildPlan *plan)
{
  if (plan == NULL)
    return;
  g_free (plan->name);
  g_free (plan->os);
  g_free (plan->lab);
  g_free (plan->domain);
  g_free (plan->pool);
  g_free (plan->pool_path);
  g_free (plan->volume);
  g_free (plan->answer_volume);
  g_free (plan->iso);
  g_free (plan->drivers);
  g_free (plan->wim_path);
  g_free (plan->edition);
  g_free (plan->editions);
  g_free (plan->drivers_os);
  g_free (plan->accel_reason);
  g_free (plan->autounattend);
  g_free (plan->domain_xml);
  g_free (plan->checksum);
  g_free (plan->created);
  g_free (plan);
}

/* ---- planning ------------------------------------------------------------ */

/* PATH made absolute (the domain names it; libvirt has no working folder)
 * and checked to be a regular file. */
static char *
media_path (const char *option, const char *path, GError **error)
{
  g_autofree char *real = realpath (path, NULL);

  if (real == NULL || !g_file_test (real, G_FILE_TEST_IS_REGULAR))
    {
      g_set_error (error, NL_ERROR, NL_ERROR_INVALID, "%s %s: %s", option, path,
                   real == NULL ? g_strerror (errno) : "not a regular file");
      return NULL;
    }
  return g_strdup (real);
}

/* The virtio-win media hold the guest agent and OS's drivers folders. */
static gboolean
check_drivers (const char *path, const char *folder, GError **error)
{
  g_autoptr (GPtrArray) names = nl_iso_list (path, NL_ISO_TREE_JOLIET, NULL, error);
  g_autofree char *agent = g_strdelimit (g_strdup (NL_AUTOUNATTEND_AGENT_MSI), "\\", '/');
  g_autofree char *viostor = g_strdup_printf ("viostor/%s/amd64/", folder);
  gboolean has_agent = FALSE, has_drivers = FALSE;

  if (names == NULL)
    {
      g_prefix_error (error, "--drivers: ");
      return FALSE;
    }
  for (guint i = 0; i < names->len; i++)
    {
      has_agent = has_agent || g_ascii_strcasecmp (names->pdata[i], agent) == 0;
      has_drivers = has_drivers || g_ascii_strncasecmp (names->pdata[i], viostor, strlen (viostor)) == 0;
    }
  if (!has_agent || !has_drivers)
    {
      g_set_error (error, NL_ERROR, NL_ERROR_INVALID,
                   "--drivers %s is not virtio-win media for this OS: it lacks %s", path,
                   !has_agent ? agent : viostor);
      return FALSE;
    }
  return TRUE;
}

static xmlNodePtr
add_node (xmlNodePtr parent, const char *name)
{
  return xmlNewChild (parent, NULL, (const xmlChar *) name, NULL);
}

static void
set (xmlNodePtr node, const char *name, const char *value)
{
  xmlSetProp (node, (const xmlChar *) name, (const xmlChar *) value);
}

/* A read-only SATA CD-ROM: the host file PATH, or volume VOLUME of POOL. */
static xmlNodePtr
cdrom (const char *dev, const char *path, const char *pool, const char *volume)
{
  xmlNodePtr disk = xmlNewNode (NULL, (const xmlChar *) "disk");
  xmlNodePtr node;

  set (disk, "type", path ? "file" : "volume");
  set (disk, "device", "cdrom");
  node = add_node (disk, "driver");
  set (node, "name", "qemu");
  set (node, "type", "raw");
  node = add_node (disk, "source");
  if (path != NULL)
    set (node, "file", path);
  else
    {
      set (node, "pool", pool);
      set (node, "volume", volume);
    }
  node = add_node (disk, "target");
  set (node, "dev", dev);
  set (node, "bus", "sata");
  add_node (disk, "readonly");
  return disk;
}

/* The build machine, rendered as a lab machine with a blank SATA disk and
 * no NIC (Setup needs no network, and the build stays off every network),
 * then given the image's volume, the three CD-ROMs, a boot from CD-ROM
 * when the disk is still empty, and the build's mark. */
static char *
render_domain (const NlImageBuildPlan *plan, NlCpuVendor vendor, GError **error)
{
  g_autoptr (NlLab) lab = nl_lab_new ();
  NlMachine *machine = nl_machine_new ();
  NlRenderOptions ropts = { .vendor = vendor, .emulate = plan->emulate };
  g_autoptr (xmlDoc) doc = NULL;
  g_autoptr (NlOwnership) own = nl_ownership_new (plan->lab);
  g_autofree char *title = NULL;
  xmlNodePtr root, devices, disk = NULL, os, node;

  lab->name = g_strdup ("nl-build");
  lab->pool = g_strdup (plan->pool);
  machine->name = g_strdup (plan->name);
  machine->os = g_strdup (plan->os);
  machine->os_family = NL_OS_FAMILY_WINDOWS;
  machine->role = NL_ROLE_GENERIC;
  machine->vcpus = NL_IMAGE_BUILD_VCPUS;
  machine->memory = NL_IMAGE_BUILD_MEMORY;
  machine->firmware = plan->firmware;
  machine->has_boot_disk = TRUE;
  machine->boot_disk.source = NL_DISK_SOURCE_BLANK;
  machine->boot_disk.size = plan->size;
  machine->boot_disk.bus = NL_DISK_BUS_SATA;
  machine->timezone = g_strdup ("UTC");
  g_ptr_array_add (lab->machines, machine);

  doc = nl_render_domain (lab, machine, &ropts, error);
  if (doc == NULL)
    return NULL;
  root = xmlDocGetRootElement (doc);

  title = g_strdup_printf ("nestlab image build %s (%s)", plan->name, plan->os);
  xmlNodeSetContent (nl_xml_child (root, "title"), (const xmlChar *) title);
  devices = nl_xml_child (root, "devices");
  for (node = devices ? devices->children : NULL; node != NULL && disk == NULL; node = node->next)
    {
      g_autofree char *device = nl_xml_is (node, "disk") ? nl_xml_prop (node, "device") : NULL;
      if (g_strcmp0 (device, "disk") == 0)
        disk = node;
    }
  os = nl_xml_child (root, "os");
  if (disk == NULL || os == NULL || nl_xml_child (os, "boot") == NULL)
    {
      g_set_error (error, NL_ERROR, NL_ERROR_FAILED, "the rendered build domain has no disk or boot order");
      return NULL;
    }
  set (nl_xml_child (disk, "source"), "volume", plan->volume);
  /* After the disk, in the order Windows PE gives them drive letters. */
  node = xmlAddNextSibling (disk, cdrom ("sdb", plan->iso, NULL, NULL));
  node = xmlAddNextSibling (node, cdrom ("sdc", NULL, plan->pool, plan->answer_volume));
  if (plan->drivers != NULL)
    xmlAddNextSibling (node, cdrom ("sdd", plan->drivers, NULL, NULL));
  /* The disk first: empty, it falls through to the CD-ROM; once Setup
   * has written it, the machine boots Windows from it. */
  set (xmlAddNextSibling (nl_xml_child (os, "boot"), xmlNewNode (NULL, (const xmlChar *) "boot")),
       "dev", "cdrom");

  own->machine = g_strdup (plan->name);
  own->role = g_strdup ("image-build");
  own->os = g_strdup (plan->os);
  nl_ownership_add_volume (own, plan->pool, plan->volume, FALSE);
  nl_ownership_add_volume (own, plan->pool, plan->answer_volume, FALSE);
  nl_ownership_put (root, own);
  return nl_render_to_string (doc);
}

/* The answer file's options for PLAN: masked, or with PASSWORD. */
static NlAutounattendOptions
answer_options (const NlImageBuildPlan *plan, const NlImageBuildOptions *o, const char *password)
{
  NlAutounattendOptions a = {
    .firmware = plan->firmware,
    .image_index = plan->index,
    .ui_language = o->ui_language,
    .input_locale = o->input_locale,
    .locale = o->locale,
    .product_key = o->product_key,
    .drivers_os = plan->drivers_os,
    .password_name = NL_IMAGE_BUILD_SECRET,
    .password = password,
    .masked = password == NULL,
  };
  return a;
}

static char *
bytes_to_text (GBytes *bytes)
{
  gsize len = 0;
  const char *data = g_bytes_get_data (bytes, &len);
  return g_strndup (data, len);
}

/* What of a previous build is there: its domain, which must carry the
 * build's mark (*MARK, NULL when there is no domain). */
static gboolean
previous_build (NlVirtConn *conn, const NlImageBuildPlan *plan, NlOwnership **mark, GError **error)
{
  g_autoptr (GError) local = NULL;
  g_autoptr (NlVirtDomain) dom = nl_virt_domain_lookup (conn, plan->domain, &local);
  g_autoptr (NlOwnership) own = NULL;

  *mark = NULL;
  if (dom == NULL)
    {
      if (g_error_matches (local, NL_ERROR, NL_ERROR_NOT_FOUND))
        return TRUE;
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  if (!nl_virt_domain_ownership (dom, &own, error))
    return FALSE;
  if (!nl_ownership_is_lab (own, plan->lab))
    {
      g_set_error (error, NL_ERROR, NL_ERROR_CONFLICT,
                   "domain '%s' exists and is not an image build of nestlab's (no mark of lab '%s'); "
                   "not touching it", plan->domain, plan->lab);
      return FALSE;
    }
  *mark = g_steal_pointer (&own);
  return TRUE;
}

NlImageBuildPlan *
nl_image_build_plan (NlVirtConn *conn, const NlImageBuildOptions *o, GError **error)
{
  g_autoptr (NlImageBuildPlan) plan = g_new0 (NlImageBuildPlan, 1);
  g_autoptr (GPtrArray) images = NULL;
  g_autoptr (NlVirtPool) pool = NULL;
  g_autoptr (NlAccel) accel = NULL;
  g_autoptr (NlOwnership) mark = NULL;
  g_autoptr (GBytes) answer = NULL;
  const NlWimImage *image;
  NlAutounattendOptions a;

  if (o->name == NULL || !nl_name_is_safe (o->name) || strlen (o->name) > NAME_MAX_LEN)
    {
      g_set_error (error, NL_ERROR, NL_ERROR_INVALID,
                   "image name '%s' is not 1 to %d letters, digits, '.', '_' or '-', starting with a "
                   "letter or digit", o->name ? o->name : "", NAME_MAX_LEN);
      return NULL;
    }
  if (o->os == NULL || nl_os_family_of (o->os) != NL_OS_FAMILY_WINDOWS)
    {
      g_set_error (error, NL_ERROR, NL_ERROR_INVALID,
                   "--os '%s': image build installs Windows from its install media; give the "
                   "libosinfo id of a Windows Server (win2k22, win2k19, ...)", o->os ? o->os : "");
      return NULL;
    }
  if (o->firmware != NL_FIRMWARE_UEFI && o->firmware != NL_FIRMWARE_BIOS)
    {
      g_set_error (error, NL_ERROR, NL_ERROR_INVALID, "firmware must be uefi or bios");
      return NULL;
    }
  plan->name = g_strdup (o->name);
  plan->os = g_strdup (o->os);
  plan->lab = nl_image_build_lab_name (o->name);
  plan->domain = nl_image_build_domain_name (o->name);
  plan->pool = g_strdup (o->pool ? o->pool : NL_IMAGE_BUILD_DEFAULT_POOL);
  plan->volume = nl_image_volume_name (o->name);
  plan->answer_volume = g_strdup_printf ("%s-answer.iso", plan->domain);
  plan->size = o->size ? o->size : NL_IMAGE_BUILD_DEFAULT_SIZE;
  plan->firmware = o->firmware;

  if ((plan->iso = media_path ("--iso", o->iso ? o->iso : "", error)) == NULL)
    return NULL;
  if (o->drivers != NULL)
    {
      const char *folder = nl_autounattend_virtio_folder (o->os);
      if ((plan->drivers = media_path ("--drivers", o->drivers, error)) == NULL)
        return NULL;
      if (folder == NULL)
        {
          g_set_error (error, NL_ERROR, NL_ERROR_INVALID,
                       "--drivers: nestlab knows no virtio-win folder for OS '%s'", o->os);
          return NULL;
        }
      if (!check_drivers (plan->drivers, folder, error))
        return NULL;
      plan->drivers_os = g_strdup (folder);
    }
  images = nl_wim_media_images (plan->iso, &plan->wim_path, error);
  if (images == NULL)
    return NULL;
  plan->editions = nl_wim_describe (images);
  image = nl_wim_find_edition (images, o->edition, error);
  if (image == NULL)
    {
      g_prefix_error (error, "%s: ", plan->iso);
      return NULL;
    }
  plan->index = image->index;
  plan->edition = g_strdup (image->name ? image->name : "");

  a = answer_options (plan, o, NULL);
  answer = nl_autounattend_build (&a, error);
  if (answer == NULL)
    return NULL;
  plan->autounattend = bytes_to_text (answer);

  pool = nl_virt_pool_lookup (conn, plan->pool, error);
  if (pool == NULL)
    {
      g_prefix_error (error, "--pool: ");
      return NULL;
    }
  plan->pool_path = nl_virt_pool_target (pool, NULL);
  accel = nl_virt_accel_decide (conn, o->accel, NULL, error);
  if (accel == NULL)
    return NULL;
  plan->emulate = !accel->kvm;
  plan->accel_reason = g_strdup (accel->reason);

  if (!previous_build (conn, plan, &mark, error))
    return NULL;
  plan->leftover = mark != NULL;
  for (const char *const *v = (const char *const[]) { plan->volume, plan->answer_volume, NULL }; *v; v++)
    {
      g_autoptr (NlVirtVolume) vol = nl_virt_volume_lookup (pool, *v, NULL);
      if (vol != NULL && !nl_ownership_lists_volume (mark, plan->pool, *v))
        {
          g_set_error (error, NL_ERROR, NL_ERROR_CONFLICT,
                       "storage pool '%s' already has a volume '%s' that no image build lists; "
                       "nestlab will not overwrite it (another name, or remove it first)", plan->pool, *v);
          return NULL;
        }
    }
  plan->domain_xml = render_domain (plan, nl_host_cpu_vendor (NULL), error);
  if (plan->domain_xml == NULL)
    return NULL;
  return g_steal_pointer (&plan);
}

/* ---- running ------------------------------------------------------------- */

static void
tell (const NlImageBuildOptions *o, NlImageBuildPhase phase, guint elapsed)
{
  if (o->progress != NULL)
    o->progress (phase, elapsed, o->progress_data);
}

/* Removes the build domain named in PLAN and every volume its mark lists;
 * nothing to do when it is gone. Never touches a domain without the mark. */
static gboolean
remove_build (NlVirtConn *conn, const NlImageBuildPlan *plan, GError **error)
{
  g_autoptr (NlOwnership) mark = NULL;
  g_autoptr (NlVirtDomain) dom = NULL;

  if (!previous_build (conn, plan, &mark, error))
    return FALSE;
  if (mark == NULL)
    return TRUE;
  dom = nl_virt_domain_lookup (conn, plan->domain, error);
  if (dom == NULL)
    return FALSE;
  /* Stopped first: a running machine holds its disks. */
  if (nl_virt_domain_is_active (dom) && !nl_virt_domain_poweroff (dom, error))
    return FALSE;
  /* The volumes before the domain: while the domain is there, its mark
   * still lists what a cut-short removal left. */
  if (!nl_virt_volumes_delete_listed (conn, mark, error))
    return FALSE;
  return nl_virt_domain_remove (dom, error);
}

/* A failed build's remains go; ERROR keeps the failure, a failure to
 * clean up is added to it. */
static void
discard (NlVirtConn *conn, const NlImageBuildPlan *plan, const NlImageBuildOptions *o, GError **error)
{
  g_autoptr (GError) local = NULL;

  tell (o, NL_IMAGE_BUILD_DISCARDING, 0);
  if (!remove_build (conn, plan, &local) && error != NULL && *error != NULL)
    {
      char *message = g_strdup_printf ("%s; removing the build's domain %s failed too (%s): the next "
                                       "`nestlab image build --name %s` removes it", (*error)->message,
                                       plan->domain, local->message, plan->name);
      g_free ((*error)->message);
      (*error)->message = message;
    }
}

static gboolean
checksum_file (const char *path, GCancellable *cancellable, char **out, GError **error)
{
  g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  g_autofree guchar *buf = g_malloc (1 << 20);
  FILE *f = fopen (path, "rb");
  size_t n;

  if (f == NULL)
    {
      g_set_error (error, NL_ERROR, NL_ERROR_FAILED, "cannot read %s: %s", path, g_strerror (errno));
      return FALSE;
    }
  while ((n = fread (buf, 1, 1 << 20, f)) > 0)
    {
      g_checksum_update (sum, buf, n);
      if (g_cancellable_is_cancelled (cancellable))
        {
          fclose (f);
          g_set_error (error, NL_ERROR, NL_ERROR_CANCELLED, "interrupted: nothing was made");
          return FALSE;
        }
    }
  if (ferror (f))
    {
      fclose (f);
      g_set_error (error, NL_ERROR, NL_ERROR_FAILED, "cannot read %s", path);
      return FALSE;
    }
  fclose (f);
  *out = g_strdup (g_checksum_get_string (sum));
  return TRUE;
}

/* The answer ISO with the real password. */
static GBytes *
answer_iso (const NlImageBuildPlan *plan, const NlImageBuildOptions *o, GError **error)
{
  g_autoptr (NlLab) lab = nl_lab_new ();
  g_autoptr (NlSecret) generated = NULL;
  const NlSecret *secret = o->password;
  g_autoptr (GPtrArray) files = g_ptr_array_new_with_free_func ((GDestroyNotify) nl_media_file_free);
  NlAutounattendOptions a;
  NlMediaFile *file;
  GBytes *iso;
  char *password;

  lab->name = g_strdup (plan->lab);
  if (secret == NULL)
    {
      generated = nl_secret_new ();
      generated->name = g_strdup (NL_IMAGE_BUILD_SECRET);
      generated->source = NL_SECRET_GENERATED;
      secret = generated;
    }
  password = nl_secret_resolve (lab, secret, o->state_dir, error);
  if (password == NULL)
    return NULL;
  a = answer_options (plan, o, password);
  file = g_new0 (NlMediaFile, 1);
  file->path = g_strdup ("Autounattend.xml");
  file->data = nl_autounattend_build (&a, error);
  nl_secret_value_free (password);
  if (file->data == NULL)
    {
      nl_media_file_free (file);
      return NULL;
    }
  g_ptr_array_add (files, file);
  iso = nl_iso_build (ANSWER_LABEL, files, error);
  return iso;
}

static gboolean
make_volume (NlVirtConn *conn, const NlImageBuildPlan *plan, const char *name, const char *format,
             guint64 capacity, guint mode, GBytes *data, GError **error)
{
  NlVolumeSpec spec = { .name = (char *) name, .pool = plan->pool, .format = (char *) format,
                        .capacity = capacity, .mode = mode };
  g_autoptr (xmlDoc) doc = nl_render_volume (&spec, error);
  g_autofree char *xml = NULL;
  g_autoptr (NlVirtPool) pool = NULL;
  g_autoptr (NlVirtVolume) vol = NULL;

  if (doc == NULL)
    return FALSE;
  xml = nl_render_to_string (doc);
  if ((pool = nl_virt_pool_lookup (conn, plan->pool, error)) == NULL
      || (vol = nl_virt_volume_create (pool, xml, error)) == NULL)
    return FALSE;
  if (data != NULL && !nl_virt_volume_upload (vol, data, error))
    return FALSE;
  return TRUE;
}

/* Waits for DOM to power itself off; FALSE on anything else. */
static gboolean
wait_for_poweroff (NlVirtDomain *dom, NlImageBuildPlan *plan, const NlImageBuildOptions *o, GError **error)
{
  gint64 start = g_get_monotonic_time ();
  guint pressed = G_MAXUINT;

  for (;;)
    {
      guint elapsed = (guint) ((g_get_monotonic_time () - start) / G_USEC_PER_SEC);
      const char *reason = nl_virt_domain_shutoff_reason (dom);

      if (reason != NULL)
        {
          plan->elapsed = elapsed;
          if (g_str_equal (reason, "shutdown"))
            return TRUE;
          g_set_error (error, NL_ERROR, NL_ERROR_FAILED,
                       "the build machine stopped after %u s without powering itself off (%s): "
                       "Windows Setup or Sysprep did not finish; its screen (VNC) shows why on "
                       "the next try", elapsed, reason);
          return FALSE;
        }
      if (g_cancellable_is_cancelled (o->cancellable))
        {
          g_set_error (error, NL_ERROR, NL_ERROR_CANCELLED, "interrupted after %u s", elapsed);
          return FALSE;
        }
      if (o->timeout > 0 && elapsed >= o->timeout)
        {
          g_set_error (error, NL_ERROR, NL_ERROR_FAILED,
                       "the build machine did not power off within %u s (--timeout)", o->timeout);
          return FALSE;
        }
      if (plan->firmware == NL_FIRMWARE_UEFI && elapsed < UEFI_KEY_SECONDS
          && (pressed == G_MAXUINT || elapsed >= pressed + UEFI_KEY_EVERY))
        {
          g_autoptr (GError) ignored = NULL;
          pressed = elapsed;
          if (!nl_virt_domain_press_space (dom, &ignored))
            g_debug ("%s", ignored->message);
        }
      tell (o, NL_IMAGE_BUILD_WAITING, elapsed);
      g_usleep (G_USEC_PER_SEC / 2);
    }
}

gboolean
nl_image_build_run (NlVirtConn *conn, NlImageBuildPlan *plan, const NlImageBuildOptions *o, GError **error)
{
  g_autoptr (GBytes) answer = NULL;
  g_autoptr (NlVirtDomain) dom = NULL;
  g_autoptr (GDateTime) now = NULL;

  tell (o, NL_IMAGE_BUILD_CLEANING, 0);
  if (!remove_build (conn, plan, error))
    {
      g_prefix_error (error, "removing the previous build: ");
      return FALSE;
    }
  tell (o, NL_IMAGE_BUILD_CHECKSUM, 0);
  g_clear_pointer (&plan->checksum, g_free);
  if (!checksum_file (plan->iso, o->cancellable, &plan->checksum, error))
    return FALSE;
  answer = answer_iso (plan, o, error);
  if (answer == NULL)
    return FALSE;

  /* The domain first: from here on its mark lists every volume, before
   * the volume exists. */
  dom = nl_virt_domain_define (conn, plan->domain_xml, error);
  if (dom == NULL)
    return FALSE;
  if (!make_volume (conn, plan, plan->answer_volume, "raw", g_bytes_get_size (answer), 0600, answer, error)
      || !make_volume (conn, plan, plan->volume, "qcow2", plan->size, 0, NULL, error)
      || !nl_virt_domain_start (dom, error))
    goto failed;
  tell (o, NL_IMAGE_BUILD_STARTED, 0);
  if (!wait_for_poweroff (dom, plan, o, error))
    goto failed;
  now = g_date_time_new_now_utc ();
  g_free (plan->created);
  plan->created = g_date_time_format_iso8601 (now);
  tell (o, NL_IMAGE_BUILD_POWERED_OFF, plan->elapsed);
  return TRUE;

failed:
  discard (conn, plan, o, error);
  return FALSE;
}

gboolean
nl_image_build_finish (NlVirtConn *conn, const NlImageBuildPlan *plan, GError **error)
{
  g_autoptr (NlOwnership) mark = NULL;
  g_autoptr (NlVirtDomain) dom = NULL;

  if (!previous_build (conn, plan, &mark, error))
    return FALSE;
  if (mark == NULL)
    return TRUE;
  dom = nl_virt_domain_lookup (conn, plan->domain, error);
  if (dom == NULL)
    return FALSE;
  /* The disk leaves the mark before anything is removed: from now on no
   * cleanup of the build may take it. */
  for (guint i = mark->volumes->len; i > 0; i--)
    {
      NlOwnedVolume *v = mark->volumes->pdata[i - 1];
      if (g_str_equal (v->pool, plan->pool) && g_str_equal (v->name, plan->volume))
        g_ptr_array_remove_index (mark->volumes, i - 1);
    }
  if (!nl_virt_domain_set_ownership (dom, mark, error)
      || !nl_virt_volumes_delete_listed (conn, mark, error))
    return FALSE;
  return nl_virt_domain_remove (dom, error);
}
