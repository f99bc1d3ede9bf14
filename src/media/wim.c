/* Editions of a Windows install image through wimlib (Debian's libwim):
 * wimlib reads the WIM's XML metadata, nestlab only picks from it. The
 * image is read out of the installation ISO with libisofs first (wimlib
 * opens files by path). */
#include <errno.h>
#include <string.h>

#include <glib/gstdio.h>
#include <wimlib.h>

#include <nestlab/error.h>
#include <nestlab/iso.h>
#include <nestlab/wim.h>

static const char *const media_paths[] = { "sources/install.wim", "sources/install.esd", NULL };

void
nl_wim_image_free (NlWimImage *image)
{
  if (image == NULL)
    return;
  g_free (image->name);
  g_free (image->display_name);
  g_free (image->edition_id);
  g_free (image);
}

const char *const *
nl_wim_media_paths (void)
{
  return media_paths;
}

static gboolean
library_ready (GError **error)
{
  static gsize once = 0;
  static int status;

  if (g_once_init_enter (&once))
    {
      /* wimlib prints nothing of its own: nestlab reports its codes. */
      status = wimlib_global_init (0);
      if (status == 0)
        wimlib_set_print_errors (false);
      g_once_init_leave (&once, 1);
    }
  if (status != 0)
    {
      g_set_error (error, NL_ERROR, NL_ERROR_FAILED, "wimlib cannot start: %s",
                   wimlib_get_error_string (status));
      return FALSE;
    }
  return TRUE;
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WIMStruct, wimlib_free)

static char *
property (WIMStruct *wim, int image, const char *name)
{
  const wimlib_tchar *value = wimlib_get_image_property (wim, image, name);
  return value && *value ? g_strdup (value) : NULL;
}

GPtrArray *
nl_wim_images (const char *path, GError **error)
{
  g_autoptr (WIMStruct) wim = NULL;
  g_autoptr (GPtrArray) images = NULL;
  struct wimlib_wim_info info;
  int status;

  if (!library_ready (error))
    return NULL;
  status = wimlib_open_wim (path, 0, &wim);
  if (status != 0)
    {
      g_set_error (error, NL_ERROR, NL_ERROR_INVALID, "%s: not a readable WIM image: %s", path,
                   wimlib_get_error_string (status));
      return NULL;
    }
  status = wimlib_get_wim_info (wim, &info);
  if (status != 0)
    {
      g_set_error (error, NL_ERROR, NL_ERROR_INVALID, "%s: %s", path, wimlib_get_error_string (status));
      return NULL;
    }
  images = g_ptr_array_new_with_free_func ((GDestroyNotify) nl_wim_image_free);
  for (guint i = 1; i <= info.image_count; i++)
    {
      NlWimImage *image = g_new0 (NlWimImage, 1);
      image->index = i;
      image->name = property (wim, i, "NAME");
      image->display_name = property (wim, i, "DISPLAYNAME");
      image->edition_id = property (wim, i, "WINDOWS/EDITIONID");
      g_ptr_array_add (images, image);
    }
  g_debug ("%s: %u images", path, info.image_count);
  return g_steal_pointer (&images);
}

/* The install image's path in TREE of the image at ISO_PATH, as the tree
 * spells it (Windows does not care about letter case, nor does this), or
 * NULL; FALSE when the image has no such tree or is no image. */
static gboolean
find_install_image (const char *iso_path, NlIsoTree tree, char **found, GError **error)
{
  g_autoptr (GPtrArray) names = nl_iso_list (iso_path, tree, NULL, error);

  *found = NULL;
  if (names == NULL)
    return FALSE;
  for (const char *const *p = media_paths; *p; p++)
    for (guint i = 0; i < names->len; i++)
      if (g_ascii_strcasecmp (names->pdata[i], *p) == 0)
        {
          *found = g_strdup (names->pdata[i]);
          return TRUE;
        }
  return TRUE;
}

GPtrArray *
nl_wim_media_images (const char *iso_path, char **found, GError **error)
{
  g_autofree char *inside = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *copy = NULL;
  g_autoptr (GError) local = NULL;
  NlIsoTree tree = NL_ISO_TREE_JOLIET;
  GPtrArray *images;

  /* Joliet, which Windows media are written for, else plain ISO 9660. */
  if (!find_install_image (iso_path, tree, &inside, &local))
    {
      g_clear_error (&local);
      tree = NL_ISO_TREE_ISO9660;
      if (!find_install_image (iso_path, tree, &inside, &local))
        {
          g_set_error (error, NL_ERROR, NL_ERROR_INVALID, "%s is not an ISO image nestlab can read: %s",
                       iso_path, local->message);
          return NULL;
        }
    }
  if (inside == NULL)
    {
      g_set_error (error, NL_ERROR, NL_ERROR_INVALID,
                   "%s holds neither %s nor %s in its %s tree: not Windows installation media, or "
                   "media whose files are only in UDF, which nestlab cannot read", iso_path,
                   media_paths[0], media_paths[1], tree == NL_ISO_TREE_JOLIET ? "Joliet" : "ISO 9660");
      return NULL;
    }
  dir = g_dir_make_tmp ("nestlab-wim-XXXXXX", &local);
  if (dir == NULL)
    {
      g_set_error (error, NL_ERROR, NL_ERROR_FAILED, "cannot make a temporary folder: %s", local->message);
      return NULL;
    }
  copy = g_build_filename (dir, "install.wim", NULL);
  g_debug ("copying %s out of %s", inside, iso_path);
  if (!nl_iso_extract_file (iso_path, tree, inside, copy, error))
    images = NULL;
  else
    images = nl_wim_images (copy, error);
  if (images == NULL)
    g_prefix_error (error, "%s: %s: ", iso_path, inside);
  else if (found != NULL)
    *found = g_strdup (inside);
  g_unlink (copy);
  g_rmdir (dir);
  return images;
}

static gboolean
same (const char *a, const char *b)
{
  return a != NULL && b != NULL && g_ascii_strcasecmp (a, b) == 0;
}

char *
nl_wim_describe (GPtrArray *images)
{
  GString *s = g_string_new (NULL);

  for (guint i = 0; i < images->len; i++)
    {
      const NlWimImage *image = images->pdata[i];
      g_string_append_printf (s, "%s  %u  %s", i ? "\n" : "", image->index, image->name ? image->name : "(no name)");
      if (image->edition_id != NULL)
        g_string_append_printf (s, " (%s)", image->edition_id);
      if (image->display_name != NULL && !same (image->display_name, image->name))
        g_string_append_printf (s, ": %s", image->display_name);
    }
  return g_string_free (s, FALSE);
}

const NlWimImage *
nl_wim_find_edition (GPtrArray *images, const char *edition, GError **error)
{
  g_autofree char *list = NULL;
  const NlWimImage *by_id = NULL;
  guint n_by_id = 0;
  guint64 index;

  if (images->len == 0)
    {
      g_set_error (error, NL_ERROR, NL_ERROR_INVALID, "the install image holds no image");
      return NULL;
    }
  if (edition == NULL && images->len == 1)
    return images->pdata[0];
  if (edition != NULL && g_ascii_string_to_unsigned (edition, 10, 1, images->len, &index, NULL))
    return images->pdata[index - 1];
  for (guint i = 0; edition != NULL && i < images->len; i++)
    {
      const NlWimImage *image = images->pdata[i];
      if (same (image->name, edition) || same (image->display_name, edition))
        return image;
      if (same (image->edition_id, edition))
        {
          by_id = image;
          n_by_id++;
        }
    }
  if (n_by_id == 1)
    return by_id;
  list = nl_wim_describe (images);
  if (edition == NULL)
    g_set_error (error, NL_ERROR, NL_ERROR_INVALID,
                 "the media hold %u editions: choose one with --edition (a name or an index):\n%s",
                 images->len, list);
  else if (n_by_id > 1)
    g_set_error (error, NL_ERROR, NL_ERROR_INVALID,
                 "edition '%s' names %u images: choose one by its name or index:\n%s", edition, n_by_id, list);
  else
    g_set_error (error, NL_ERROR, NL_ERROR_INVALID, "no edition '%s' on the media; the editions present:\n%s",
                 edition, list);
  return NULL;
}
