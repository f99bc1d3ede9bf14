/* ISO images with libisofs. libisofs keeps global state, set up once with
 * iso_init(); its messages are kept off stderr (nestlab reports the error
 * codes it returns instead). */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/types.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#define LIBISOFS_WITHOUT_LIBBURN 1
#include <libisofs/libisofs.h>

#include <nestlab/error.h>
#include <nestlab/iso.h>

/* Every timestamp in the image: 2000-01-01 00:00:00 UTC, so images are
 * reproducible. */
#define FIXED_TIME ((time_t) 946684800)
#define FIXED_TIME_TEXT "2000010100000000"
#define SECTOR 2048

static gboolean
library_ready (GError **error)
{
  static gsize once = 0;
  static int status;

  if (g_once_init_enter (&once))
    {
      status = iso_init ();
      if (status >= 0)
        iso_set_msgs_severities ((char *) "NEVER", (char *) "NEVER", (char *) "nestlab");
      g_once_init_leave (&once, 1);
    }
  if (status < 0)
    {
      g_set_error (error, NL_ERROR, NL_ERROR_FAILED, "libisofs cannot start: %s", iso_error_to_msg (status));
      return FALSE;
    }
  return TRUE;
}

static gboolean
iso_ok (int status, const char *what, GError **error)
{
  if (status >= 0)
    return TRUE;
  g_set_error (error, NL_ERROR, NL_ERROR_FAILED, "%s: %s", what, iso_error_to_msg (status));
  return FALSE;
}

static void
set_times (IsoNode *node)
{
  iso_node_set_mtime (node, FIXED_TIME);
  iso_node_set_atime (node, FIXED_TIME);
  iso_node_set_ctime (node, FIXED_TIME);
}

/* The folder NAME in ROOT (the root or another folder), made when missing. */
static IsoDir *
subdir (IsoImage *image, IsoDir *root, const char *name, GError **error)
{
  IsoNode *node = NULL;
  IsoDir *dir = NULL;

  if (iso_dir_get_node (root, name, &node) == 1)
    {
      if (iso_node_get_type (node) == LIBISO_DIR)
        return (IsoDir *) node;
      g_set_error (error, NL_ERROR, NL_ERROR_INVALID, "'%s' is both a file and a folder", name);
      return NULL;
    }
  if (!iso_ok (iso_image_add_new_dir (image, root, name, &dir), name, error))
    return NULL;
  iso_node_set_permissions ((IsoNode *) dir, 0555);
  set_times ((IsoNode *) dir);
  return dir;
}

static gboolean
add_file (IsoImage *image, const NlMediaFile *file, GError **error)
{
  IsoDir *dir = iso_image_get_root (image);
  g_auto (GStrv) parts = g_strsplit (file->path, "/", -1);
  guint n = g_strv_length (parts);
  IsoStream *stream = NULL;
  IsoFile *node = NULL;
  gsize len = 0;
  const void *data = g_bytes_get_data (file->data, &len);
  unsigned char *copy;

  for (guint i = 0; i < n; i++)
    if (parts[i][0] == '\0' || g_str_equal (parts[i], ".") || g_str_equal (parts[i], ".."))
      n = 0;
  if (n == 0)
    {
      g_set_error (error, NL_ERROR, NL_ERROR_INVALID, "'%s' is not a relative file name", file->path);
      return FALSE;
    }
  for (guint i = 0; i + 1 < n; i++)
    if ((dir = subdir (image, dir, parts[i], error)) == NULL)
      return FALSE;
  /* The stream owns its buffer and free()s it. */
  copy = malloc (len > 0 ? len : 1);
  if (copy == NULL)
    {
      g_set_error (error, NL_ERROR, NL_ERROR_FAILED, "out of memory");
      return FALSE;
    }
  memcpy (copy, data, len);
  if (!iso_ok (iso_memory_stream_new (copy, len, &stream), file->path, error))
    {
      explicit_bzero (copy, len);
      free (copy);
      return FALSE;
    }
  if (!iso_ok (iso_image_add_new_file (image, dir, parts[n - 1], stream, &node), file->path, error))
    {
      iso_stream_unref (stream);
      return FALSE;
    }
  /* Readable by all inside the guest: the image's file is what is kept
   * private (its mode, on the host). */
  iso_node_set_permissions ((IsoNode *) node, 0444);
  set_times ((IsoNode *) node);
  return TRUE;
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (IsoImage, iso_image_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (IsoWriteOpts, iso_write_opts_free)

GBytes *
nl_iso_build (const char *label, GPtrArray *files, GError **error)
{
  g_autoptr (IsoImage) image = NULL;
  g_autoptr (IsoWriteOpts) opts = NULL;
  struct burn_source *source = NULL;
  GByteArray *out;
  guchar buf[SECTOR];
  int n;

  if (!library_ready (error))
    return NULL;
  if (label == NULL || *label == '\0' || strlen (label) > 32)
    {
      g_set_error (error, NL_ERROR, NL_ERROR_INVALID, "volume label '%s' is not 1 to 32 characters",
                   label ? label : "");
      return NULL;
    }
  if (!iso_ok (iso_image_new (label, &image), "new image", error))
    return NULL;
  iso_image_set_volume_id (image, label);
  iso_image_set_application_id (image, "nestlab");
  iso_image_set_publisher_id (image, "nestlab");
  iso_node_set_permissions ((IsoNode *) iso_image_get_root (image), 0555);
  set_times ((IsoNode *) iso_image_get_root (image));
  for (guint i = 0; i < files->len; i++)
    if (!add_file (image, g_ptr_array_index (files, i), error))
      return NULL;

  if (!iso_ok (iso_write_opts_new (&opts, 0), "write options", error))
    return NULL;
  iso_write_opts_set_rockridge (opts, 1);
  iso_write_opts_set_joliet (opts, 1);
  iso_write_opts_set_always_gmt (opts, 1);
  /* Rock Ridge 1.10, as mkisofs writes it: its PX entries carry no inode
   * numbers, which libisofs hands out in an order that differs from image
   * to image (the same files would make different bytes). */
  iso_write_opts_set_rrip_version_1_10 (opts, 1);
  /* The volume label as given: "cidata", like genisoimage -V writes it,
   * not folded to upper case. */
  iso_write_opts_set_relaxed_vol_atts (opts, 1);
  iso_write_opts_set_replace_mode (opts, 0, 0, 1, 1); /* owner root:root */
  iso_write_opts_set_replace_timestamps (opts, 2);
  iso_write_opts_set_default_timestamp (opts, FIXED_TIME);
  iso_write_opts_set_pvd_times (opts, FIXED_TIME, FIXED_TIME, 0, FIXED_TIME, (char *) FIXED_TIME_TEXT);
  if (!iso_ok (iso_image_create_burn_source (image, opts, &source), "image", error))
    return NULL;

  out = g_byte_array_new ();
  while ((n = source->read_xt (source, buf, SECTOR)) > 0)
    g_byte_array_append (out, buf, n);
  source->free_data (source);
  free (source);
  if (n < 0)
    {
      /* It may hold secrets. */
      explicit_bzero (out->data, out->len);
      g_byte_array_unref (out);
      explicit_bzero (buf, sizeof buf);
      g_set_error (error, NL_ERROR, NL_ERROR_FAILED, "writing the image failed");
      return NULL;
    }
  explicit_bzero (buf, sizeof buf);
  return g_byte_array_free_to_bytes (out);
}

gboolean
nl_iso_write (const NlMedia *media, const char *path, int mode, GError **error)
{
  g_autoptr (GBytes) image = nl_iso_build (media->label, media->files, error);
  g_autofree char *tmp = NULL;
  const guchar *data;
  gsize len = 0, done = 0;
  int fd;

  if (image == NULL)
    return FALSE;
  data = g_bytes_get_data (image, &len);
  tmp = g_strdup_printf ("%s.new.%d", path, (int) getpid ());
  fd = open (tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0)
    {
      g_set_error (error, NL_ERROR, NL_ERROR_FAILED, "cannot create %s: %s", tmp, g_strerror (errno));
      return FALSE;
    }
  /* An existing file keeps its old mode under O_CREAT: set it. */
  if (fchmod (fd, mode) < 0)
    goto fail;
  while (done < len)
    {
      ssize_t n = write (fd, data + done, len - done);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        goto fail;
      done += n;
    }
  if (fsync (fd) < 0 || close (fd) < 0)
    {
      fd = -1;
      goto fail;
    }
  if (g_rename (tmp, path) < 0)
    {
      g_set_error (error, NL_ERROR, NL_ERROR_FAILED, "cannot rename %s to %s: %s", tmp, path, g_strerror (errno));
      g_unlink (tmp);
      return FALSE;
    }
  return TRUE;

fail:
  g_set_error (error, NL_ERROR, NL_ERROR_FAILED, "cannot write %s: %s", tmp, g_strerror (errno));
  if (fd >= 0)
    close (fd);
  g_unlink (tmp);
  return FALSE;
}

/* ---- reading back ----------------------------------------------------- */

/* The image at PATH with TREE's names; *LABEL set when not NULL. */
static IsoImage *
import (const char *path, NlIsoTree tree, char **label, GError **error)
{
  g_autoptr (IsoImage) image = NULL;
  IsoDataSource *src = NULL;
  IsoReadOpts *ropts = NULL;
  IsoReadImageFeatures *features = NULL;
  gboolean has = FALSE;
  int status;

  if (!library_ready (error))
    return NULL;
  if (!iso_ok (iso_data_source_new_from_file (path, &src), path, error))
    return NULL;
  if (iso_read_opts_new (&ropts, 0) < 0)
    {
      iso_data_source_unref (src);
      g_set_error (error, NL_ERROR, NL_ERROR_FAILED, "%s: cannot set up reading", path);
      return NULL;
    }
  iso_read_opts_set_no_rockridge (ropts, tree != NL_ISO_TREE_ROCK_RIDGE);
  iso_read_opts_set_no_joliet (ropts, tree != NL_ISO_TREE_JOLIET);
  iso_read_opts_set_preferjoliet (ropts, tree == NL_ISO_TREE_JOLIET);
  iso_image_new ("read", &image);
  status = iso_image_import (image, src, ropts, &features);
  iso_read_opts_free (ropts);
  iso_data_source_unref (src);
  if (!iso_ok (status, path, error))
    return NULL;
  switch (tree)
    {
    case NL_ISO_TREE_JOLIET:
      has = iso_read_image_features_has_joliet (features);
      break;
    case NL_ISO_TREE_ROCK_RIDGE:
      has = iso_read_image_features_has_rockridge (features);
      break;
    case NL_ISO_TREE_ISO9660:
    default:
      has = TRUE;
      break;
    }
  iso_read_image_features_destroy (features);
  if (!has)
    {
      g_set_error (error, NL_ERROR, NL_ERROR_INVALID, "%s has no %s tree", path,
                   tree == NL_ISO_TREE_JOLIET ? "Joliet" : "Rock Ridge");
      return NULL;
    }
  if (label != NULL)
    *label = g_strdup (iso_image_get_volume_id (image));
  return g_steal_pointer (&image);
}

static int
compare_paths (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

static void
collect (IsoDir *dir, const char *prefix, GPtrArray *out)
{
  IsoDirIter *iter = NULL;
  IsoNode *node;

  if (iso_dir_get_children (dir, &iter) < 0)
    return;
  while (iso_dir_iter_next (iter, &node) == 1)
    {
      g_autofree char *name = prefix ? g_strdup_printf ("%s/%s", prefix, iso_node_get_name (node))
                                     : g_strdup (iso_node_get_name (node));
      if (iso_node_get_type (node) == LIBISO_DIR)
        collect ((IsoDir *) node, name, out);
      else
        g_ptr_array_add (out, g_steal_pointer (&name));
    }
  iso_dir_iter_free (iter);
}

GPtrArray *
nl_iso_list (const char *path, NlIsoTree tree, char **label, GError **error)
{
  g_autoptr (IsoImage) image = import (path, tree, label, error);
  GPtrArray *out;

  if (image == NULL)
    return NULL;
  out = g_ptr_array_new_with_free_func (g_free);
  collect (iso_image_get_root (image), NULL, out);
  g_ptr_array_sort (out, compare_paths);
  return out;
}

GBytes *
nl_iso_read_file (const char *path, NlIsoTree tree, const char *file_path, GError **error)
{
  g_autoptr (IsoImage) image = import (path, tree, NULL, error);
  IsoNode *node = NULL;
  IsoStream *stream;
  GByteArray *out;
  char buf[SECTOR];
  int n;
  g_autofree char *absolute = g_strconcat ("/", file_path, NULL);

  if (image == NULL)
    return NULL;
  if (iso_tree_path_to_node (image, absolute, &node) != 1 || iso_node_get_type (node) != LIBISO_FILE)
    {
      g_set_error (error, NL_ERROR, NL_ERROR_NOT_FOUND, "%s: no file %s", path, file_path);
      return NULL;
    }
  stream = iso_file_get_stream ((IsoFile *) node);
  if (!iso_ok (iso_stream_open (stream), file_path, error))
    return NULL;
  out = g_byte_array_new ();
  while ((n = iso_stream_read (stream, buf, sizeof buf)) > 0)
    g_byte_array_append (out, (guchar *) buf, n);
  iso_stream_close (stream);
  if (n < 0)
    {
      g_byte_array_unref (out);
      iso_ok (n, file_path, error);
      return NULL;
    }
  return g_byte_array_free_to_bytes (out);
}

gboolean
nl_iso_extract_file (const char *path, NlIsoTree tree, const char *file_path, const char *dest,
                     GError **error)
{
  g_autoptr (IsoImage) image = import (path, tree, NULL, error);
  g_autofree char *absolute = g_strconcat ("/", file_path, NULL);
  IsoNode *node = NULL;
  IsoStream *stream;
  char buf[16 * SECTOR];
  int n, fd, saved;

  if (image == NULL)
    return FALSE;
  if (iso_tree_path_to_node (image, absolute, &node) != 1 || iso_node_get_type (node) != LIBISO_FILE)
    {
      g_set_error (error, NL_ERROR, NL_ERROR_NOT_FOUND, "%s: no file %s", path, file_path);
      return FALSE;
    }
  stream = iso_file_get_stream ((IsoFile *) node);
  if (!iso_ok (iso_stream_open (stream), file_path, error))
    return FALSE;
  fd = open (dest, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      saved = errno;
      iso_stream_close (stream);
      g_set_error (error, NL_ERROR, NL_ERROR_FAILED, "cannot create %s: %s", dest, g_strerror (saved));
      return FALSE;
    }
  while ((n = iso_stream_read (stream, buf, sizeof buf)) > 0)
    {
      gsize done = 0;
      while (done < (gsize) n)
        {
          ssize_t w = write (fd, buf + done, n - done);
          if (w < 0 && errno == EINTR)
            continue;
          if (w < 0)
            {
              saved = errno;
              iso_stream_close (stream);
              close (fd);
              g_unlink (dest);
              g_set_error (error, NL_ERROR, NL_ERROR_FAILED, "cannot write %s: %s", dest, g_strerror (saved));
              return FALSE;
            }
          done += w;
        }
    }
  iso_stream_close (stream);
  saved = close (fd) < 0 ? errno : 0;
  if (n < 0 || saved != 0)
    {
      if (n < 0)
        iso_ok (n, file_path, error);
      else
        g_set_error (error, NL_ERROR, NL_ERROR_FAILED, "cannot write %s: %s", dest, g_strerror (saved));
      g_unlink (dest);
      return FALSE;
    }
  return TRUE;
}
