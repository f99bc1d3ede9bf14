/* Golden images: importing a disk users have (VHD, VHDX, VMDK, qcow2, raw)
 * as a qcow2 volume with a record of what it is, and removing one no lab
 * still uses. qemu-img does the conversion in a child process; the volume
 * appears in the pool only once complete, so an interrupted import leaves
 * nothing libvirt lists, and the next import of the name cleans up. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include <nestlab/image.h>
#include "lab-private.h"

/* qemu-img's format names for the disks users bring, and the file names
 * that promise them. */
static const struct {
  const char *suffix;
  const char *format;
  const char *what;
} formats[] = {
  { ".vhdx", "vhdx", "VHDX" }, { ".vhd", "vpc", "VHD" }, { ".vmdk", "vmdk", "VMDK" },
  { ".qcow2", "qcow2", "qcow2" }, { ".img", "raw", "raw" }, { ".raw", "raw", "raw" },
};

static gboolean
run_tool (const char *const *argv, char **out, GError **error)
{
  g_autofree char *err = NULL;
  int status = 0;
  g_autoptr (GError) local = NULL;

  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, out, &err, &status, &local))
    {
      g_set_error (error, NL_ERROR, NL_ERROR_FAILED, "%s: %s", argv[0], local->message);
      return FALSE;
    }
  if (!g_spawn_check_wait_status (status, NULL))
    {
      g_set_error (error, NL_ERROR, NL_ERROR_INVALID, "%s: %s", argv[0], err ? g_strstrip (err) : "failed");
      return FALSE;
    }
  return TRUE;
}

/* The format qemu-img finds in FILE ("vhdx", "vpc", "raw", ...). */
static char *
detect_format (const char *file, GError **error)
{
  const char *argv[] = { "qemu-img", "info", "--output=json", file, NULL };
  g_autofree char *out = NULL;
  g_autoptr (GRegex) re = g_regex_new ("^    \"format\": \"([a-z0-9]+)\"", G_REGEX_MULTILINE, 0, NULL);
  g_autoptr (GMatchInfo) match = NULL;

  if (!run_tool (argv, &out, error))
    return NULL;
  if (!g_regex_match (re, out, 0, &match))
    {
      g_set_error (error, NL_ERROR, NL_ERROR_INVALID, "%s: qemu-img names no format for it", file);
      return NULL;
    }
  return g_match_info_fetch (match, 1);
}

/* UEFI when the disk holds a GPT with an EFI system partition (a
 * generation 2 Hyper-V disk, a UEFI install), else BIOS. */
static const char *
detect_firmware (const char *file, const char *format, const char *tmpdir)
{
  g_autofree char *head = g_build_filename (tmpdir, "gpt.raw", NULL);
  g_autofree char *ifarg = g_strdup_printf ("if=%s", file);
  g_autofree char *ofarg = g_strdup_printf ("of=%s", head);
  const char *argv[] = { "qemu-img", "dd", "-f", format, "-O", "raw", "bs=512", "count=34", ifarg, ofarg, NULL };
  g_autofree char *data = NULL;
  gsize len = 0;
  const char *firmware = "bios";
  static const guchar esp[16] = { 0x28, 0x73, 0x2a, 0xc1, 0x1f, 0xf8, 0xd2, 0x11,
                                  0xba, 0x4b, 0x00, 0xa0, 0xc9, 0x3e, 0xc9, 0x3b };

  if (run_tool (argv, NULL, NULL) && g_file_get_contents (head, &data, &len, NULL) && len >= 34 * 512
      && memcmp (data + 512, "EFI PART", 8) == 0)
    {
      /* Partition entries start at LBA 2 here, 128 bytes each. */
      for (gsize off = 1024; off + 16 <= len; off += 128)
        if (memcmp (data + off, esp, 16) == 0)
          firmware = "uefi";
    }
  g_unlink (head);
  return firmware;
}

static char *
sha256_of (const char *file, GError **error)
{
  g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  g_autoptr (GFile) f = g_file_new_for_path (file);
  g_autoptr (GFileInputStream) in = g_file_read (f, NULL, error);
  g_autofree guchar *buf = g_malloc (1 << 20);
  gssize n;

  if (in == NULL)
    return NULL;
  while ((n = g_input_stream_read (G_INPUT_STREAM (in), buf, 1 << 20, NULL, error)) > 0)
    g_checksum_update (sum, buf, n);
  if (n < 0)
    return NULL;
  return g_strdup (g_checksum_get_string (sum));
}

/* In the child: it dies with nestlab, even when nestlab is killed. */
static void
die_with_parent (gpointer data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

/* Runs qemu-img convert, killing it when the user interrupts. */
static gboolean
convert (const char *file, const char *format, const char *dest, const NlImageImportOptions *opts,
         GError **error)
{
  const char *argv[] = { "qemu-img", "convert", "-f", format, "-O", "qcow2",
                         opts->show_progress ? "-p" : "-q", file, dest, NULL };
  g_autoptr (GError) local = NULL;
  GPid pid;
  int status = 0;

  if (!g_spawn_async (NULL, (char **) argv, NULL,
                      G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_CHILD_INHERITS_STDIN,
                      die_with_parent, NULL, &pid, &local))
    {
      g_set_error (error, NL_ERROR, NL_ERROR_FAILED, "qemu-img: %s", local->message);
      return FALSE;
    }
  for (;;)
    {
      pid_t r = waitpid (pid, &status, WNOHANG);
      if (r == pid)
        break;
      if (r < 0 && errno != EINTR)
        break;
      if (g_cancellable_is_cancelled (opts->cancellable))
        {
          kill (pid, SIGTERM);
          waitpid (pid, &status, 0);
          g_set_error (error, NL_ERROR, NL_ERROR_CANCELLED, "interrupted: nothing was imported");
          return FALSE;
        }
      g_usleep (100 * 1000);
    }
  g_spawn_close_pid (pid);
  if (!g_spawn_check_wait_status (status, &local))
    {
      g_set_error (error, NL_ERROR, NL_ERROR_FAILED, "converting %s: qemu-img failed (%s)", file, local->message);
      return FALSE;
    }
  return TRUE;
}

/* Moves SRC to DEST, by copy when they are on different file systems. */
static gboolean
move_file (const char *src, const char *dest, GError **error)
{
  g_autoptr (GFile) s = g_file_new_for_path (src);
  g_autoptr (GFile) d = g_file_new_for_path (dest);

  if (g_rename (src, dest) == 0)
    return TRUE;
  if (errno != EXDEV)
    {
      g_set_error (error, NL_ERROR, NL_ERROR_FAILED, "moving %s to %s: %s", src, dest, g_strerror (errno));
      return FALSE;
    }
  return g_file_move (s, d, G_FILE_COPY_NONE, NULL, NULL, NULL, error);
}

/* What interrupted imports of VOLUME left in WORK. */
static void
remove_parts (const char *work, const char *volume)
{
  g_autoptr (GDir) d = g_dir_open (work, 0, NULL);
  g_autofree char *prefix = g_strdup_printf ("%s.part.", volume);
  const char *entry;

  while (d && (entry = g_dir_read_name (d)) != NULL)
    if (g_str_has_prefix (entry, prefix))
      {
        g_autofree char *path = g_build_filename (work, entry, NULL);
        g_unlink (path);
      }
}

char *
nl_image_volume_name (const char *name)
{
  return g_strdup_printf ("%s.qcow2", name);
}

NlImageRecord *
nl_image_import (NlVirtConn *conn, const NlImageImportOptions *opts, GError **error)
{
  g_autoptr (NlImageRecord) rec = nl_image_record_new ();
  g_autoptr (NlImageRecord) old = NULL;
  g_autoptr (NlVirtPool) pool = NULL;
  g_autoptr (NlVirtVolume) vol = NULL;
  g_autofree char *format = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *work = nl_state_path ("import");
  g_autofree char *part = NULL;
  g_autofree char *dest = NULL;
  g_autoptr (GError) local = NULL;
  const char *pool_name = opts->pool ? opts->pool : "default";
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();

  if (!nl_name_is_safe (opts->name))
    {
      g_set_error (error, NL_ERROR, NL_ERROR_USAGE, "'%s' is not an image name (letters, digits, '.', '_', '-')",
                   opts->name);
      return NULL;
    }
  if (!g_file_test (opts->file, G_FILE_TEST_IS_REGULAR))
    {
      g_set_error (error, NL_ERROR, NL_ERROR_INVALID, "%s: no such file", opts->file);
      return NULL;
    }
  old = nl_image_record_load (opts->name, &local);
  if (old != NULL)
    {
      g_set_error (error, NL_ERROR, NL_ERROR_CONFLICT, "image '%s' exists (%s/%s): remove it first "
                   "(nestlab image remove %s)", opts->name, old->pool, old->volume, opts->name);
      return NULL;
    }
  format = detect_format (opts->file, error);
  if (format == NULL)
    return NULL;
  for (guint i = 0; i < G_N_ELEMENTS (formats); i++)
    if (g_str_has_suffix (opts->file, formats[i].suffix) && !g_str_equal (format, formats[i].format))
      {
        g_set_error (error, NL_ERROR, NL_ERROR_INVALID, "%s is not a %s: qemu-img reads it as %s", opts->file,
                     formats[i].what, format);
        return NULL;
      }
  if (!g_str_equal (format, "vhdx") && !g_str_equal (format, "vpc") && !g_str_equal (format, "vmdk")
      && !g_str_equal (format, "qcow2") && !g_str_equal (format, "raw"))
    {
      g_set_error (error, NL_ERROR, NL_ERROR_INVALID, "%s: format %s is not VHD, VHDX, VMDK, qcow2 or raw",
                   opts->file, format);
      return NULL;
    }
  pool = nl_virt_pool_lookup (conn, pool_name, error);
  if (pool == NULL || (dir = nl_virt_pool_target (pool, error)) == NULL)
    return NULL;
  rec->name = g_strdup (opts->name);
  rec->os = g_strdup (opts->os);
  rec->pool = g_strdup (pool_name);
  rec->volume = nl_image_volume_name (opts->name);
  rec->generalized = opts->generalized;
  rec->agent = opts->agent;
  rec->source_format = g_strdup (format);
  {
    char *real = realpath (opts->file, NULL);
    rec->source = g_strdup (real ? real : opts->file);
    free (real);
  }
  rec->created = g_date_time_format (now, "%Y-%m-%dT%H:%M:%SZ");
  vol = nl_virt_volume_lookup (pool, rec->volume, NULL);
  if (vol != NULL)
    {
      g_set_error (error, NL_ERROR, NL_ERROR_CONFLICT, "storage pool '%s' already has a volume '%s'; "
                   "nestlab will not overwrite it", pool_name, rec->volume);
      return NULL;
    }
  if (g_mkdir_with_parents (work, 0700) < 0)
    {
      g_set_error (error, NL_ERROR, NL_ERROR_FAILED, "cannot create %s: %s", work, g_strerror (errno));
      return NULL;
    }
  part = g_strdup_printf ("%s/%s.part.%d", work, rec->volume, (int) getpid ());
  dest = g_build_filename (dir, rec->volume, NULL);
  remove_parts (work, rec->volume);
  rec->firmware = g_strdup (opts->firmware ? opts->firmware : detect_firmware (opts->file, format, work));
  rec->checksum = sha256_of (opts->file, error);
  if (rec->checksum == NULL || !convert (opts->file, format, part, opts, error))
    {
      g_unlink (part);
      return NULL;
    }
  /* Complete before it is in the pool's folder: libvirt never lists half
   * an image. */
  if (!move_file (part, dest, error))
    {
      g_unlink (part);
      return NULL;
    }
  g_chmod (dest, 0644);
  if (!nl_virt_pool_refresh (pool, error) || !nl_image_record_save (rec, error))
    return NULL;
  return g_steal_pointer (&rec);
}

/* Labs whose volumes are linked clones of PATH: "LAB (VOLUME)" each. */
static GPtrArray *
users_of (NlVirtConn *conn, const char *path, GError **error)
{
  g_autoptr (GPtrArray) owned = nl_virt_list_owned_domains (conn, NULL, error);
  g_autoptr (GPtrArray) users = g_ptr_array_new_with_free_func (g_free);

  if (owned == NULL)
    return NULL;
  for (guint i = 0; i < owned->len; i++)
    {
      NlOwnership *own = ((NlOwnedDomain *) owned->pdata[i])->own;
      for (guint k = 0; k < own->volumes->len; k++)
        {
          NlOwnedVolume *v = own->volumes->pdata[k];
          g_autoptr (NlVirtPool) pool = nl_virt_pool_lookup (conn, v->pool, NULL);
          g_autoptr (NlVirtVolume) vol = pool ? nl_virt_volume_lookup (pool, v->name, NULL) : NULL;
          g_autofree char *backing = NULL;
          if (vol && nl_virt_volume_paths (vol, NULL, &backing, NULL) && g_strcmp0 (backing, path) == 0)
            g_ptr_array_add (users, g_strdup_printf ("lab %s (%s)", own->lab, v->name));
        }
    }
  return g_steal_pointer (&users);
}

gboolean
nl_image_remove (NlVirtConn *conn, const char *name, GError **error)
{
  g_autoptr (NlImageRecord) rec = nl_image_record_load (name, error);
  g_autoptr (NlVirtPool) pool = NULL;
  g_autoptr (NlVirtVolume) vol = NULL;
  g_autofree char *path = NULL;
  g_autoptr (GPtrArray) users = NULL;

  if (rec == NULL)
    return FALSE;
  pool = nl_virt_pool_lookup (conn, rec->pool, NULL);
  vol = pool ? nl_virt_volume_lookup (pool, rec->volume, NULL) : NULL;
  if (vol != NULL)
    {
      if (!nl_virt_volume_paths (vol, &path, NULL, error) || (users = users_of (conn, path, error)) == NULL)
        return FALSE;
      if (users->len > 0)
        {
          g_autofree char *list = NULL;
          g_ptr_array_add (users, NULL);
          list = g_strjoinv (", ", (char **) users->pdata);
          g_set_error (error, NL_ERROR, NL_ERROR_CONFLICT, "image '%s' is in use: %s clone%s it; destroy or "
                       "rebuild %s first", name, list, users->len > 2 ? "" : "s", users->len > 2 ? "them" : "it");
          return FALSE;
        }
      if (!nl_virt_volume_delete (vol, error))
        return FALSE;
    }
  return nl_image_record_delete (name, error);
}
