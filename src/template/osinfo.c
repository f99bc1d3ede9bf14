/* OS facts for validation: minimum memory and vCPUs from libosinfo's
 * osinfo-db, with nestlab's own table for Windows releases the installed
 * osinfo-db does not know yet (Debian 12's lacks win2k25). */
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <osinfo/osinfo.h>

#include "loader.h"


/* Microsoft's published minimums (Server Core; the Desktop Experience
 * needs 2 GiB), used only when osinfo-db has no entry. */
static const struct {
  const char *os;
  guint64 memory;
  guint vcpus;
} fallback[] = {
  { "win2k25", G_GUINT64_CONSTANT (512) << 20, 1 },
  { "win2k22", G_GUINT64_CONSTANT (512) << 20, 1 },
  { "win2k19", G_GUINT64_CONSTANT (512) << 20, 1 },
  { "win2k16", G_GUINT64_CONSTANT (512) << 20, 1 },
  { "win11", G_GUINT64_CONSTANT (4) << 30, 2 },
  { "win10", G_GUINT64_CONSTANT (2) << 30, 1 },
};

/* Only Windows minimums are checked, so of the system osinfo-db's OS
 * entries only Microsoft's are read: a scratch root links every part of the
 * system database (devices, platforms, install scripts the entries refer
 * to) but only os/microsoft.com, since the loader insists on the
 * os/VENDOR/ layout. That loads in about 50 ms where the whole database
 * takes about 500 ms, for every command that validates a template. The
 * local and user databases (/etc/osinfo, ~/.config/osinfo) are small and
 * read whole, so their overrides still apply. Any trouble: the whole
 * default path. */
static gboolean
link_into (const char *target, const char *dir, const char *name)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  return symlink (target, path) == 0;
}

static void
remove_scratch (const char *root)
{
  g_autoptr (GDir) dir = g_dir_open (root, 0, NULL);
  g_autofree char *os_dir = g_build_filename (root, "os", NULL);
  g_autofree char *vendor = g_build_filename (os_dir, "microsoft.com", NULL);
  const char *name;

  g_unlink (vendor);
  g_rmdir (os_dir);
  while (dir && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (root, name, NULL);
      g_unlink (path);
    }
  g_rmdir (root);
}

static gboolean
load_microsoft (OsinfoLoader *loader)
{
  const char *system = g_getenv ("OSINFO_SYSTEM_DIR");
  g_autofree char *vendor = NULL;
  g_autofree char *root = NULL;
  g_autofree char *os_dir = NULL;
  g_autoptr (GDir) dir = NULL;
  g_autoptr (GError) error = NULL;
  gboolean ok;
  const char *name;

  if (system == NULL)
    system = "/usr/share/osinfo";
  vendor = g_build_filename (system, "os", "microsoft.com", NULL);
  dir = g_dir_open (system, 0, NULL);
  if (dir == NULL || !g_file_test (vendor, G_FILE_TEST_IS_DIR))
    return FALSE;
  root = g_dir_make_tmp ("nestlab-osinfo-XXXXXX", NULL);
  if (root == NULL)
    return FALSE;
  os_dir = g_build_filename (root, "os", NULL);
  ok = g_mkdir (os_dir, 0700) == 0 && link_into (vendor, os_dir, "microsoft.com");
  while (ok && (name = g_dir_read_name (dir)) != NULL)
    if (strcmp (name, "os") != 0)
      {
        g_autofree char *target = g_build_filename (system, name, NULL);
        if (g_file_test (target, G_FILE_TEST_IS_DIR))
          ok = link_into (target, root, name);
      }
  if (ok)
    osinfo_loader_process_path (loader, root, &error);
  if (ok && error == NULL)
    osinfo_loader_process_local_path (loader, &error);
  if (ok && error == NULL)
    osinfo_loader_process_user_path (loader, &error);
  if (error != NULL)
    {
      g_debug ("osinfo-db: %s", error->message);
      ok = FALSE;
    }
  remove_scratch (root);
  return ok;
}

static OsinfoDb *
osinfo_db (void)
{
  static gsize once = 0;
  static OsinfoDb *db;

  if (g_once_init_enter (&once))
    {
      g_autoptr (OsinfoLoader) loader = osinfo_loader_new ();
      g_autoptr (GError) error = NULL;
      if (!load_microsoft (loader))
        {
          g_clear_object (&loader);
          loader = osinfo_loader_new ();
          osinfo_loader_process_default_path (loader, &error);
          if (error != NULL)
            g_debug ("osinfo-db: %s", error->message);
        }
      db = g_object_ref (osinfo_loader_get_db (loader));
      g_once_init_leave (&once, 1);
    }
  return db;
}

static gboolean
from_osinfo (const char *short_id, guint64 *memory, guint *vcpus)
{
  g_autoptr (OsinfoOsList) oses = osinfo_db_get_os_list (osinfo_db ());
  OsinfoOs *os = NULL;
  g_autoptr (OsinfoResourcesList) minimum = NULL;
  gboolean found = FALSE;

  for (int i = 0; i < osinfo_list_get_length (OSINFO_LIST (oses)) && os == NULL; i++)
    {
      OsinfoOs *candidate = OSINFO_OS (osinfo_list_get_nth (OSINFO_LIST (oses), i));
      if (g_strcmp0 (osinfo_product_get_short_id (OSINFO_PRODUCT (candidate)), short_id) == 0)
        os = candidate;
    }
  if (os == NULL)
    return FALSE;
  minimum = osinfo_os_get_minimum_resources (os);
  for (int i = 0; i < osinfo_list_get_length (OSINFO_LIST (minimum)); i++)
    {
      OsinfoResources *r = OSINFO_RESOURCES (osinfo_list_get_nth (OSINFO_LIST (minimum), i));
      const char *arch = osinfo_resources_get_architecture (r);
      if (g_strcmp0 (arch, "x86_64") != 0 && g_strcmp0 (arch, "all") != 0)
        continue;
      if (osinfo_resources_get_ram (r) > 0)
        *memory = osinfo_resources_get_ram (r);
      if (osinfo_resources_get_n_cpus (r) > 0)
        *vcpus = osinfo_resources_get_n_cpus (r);
      found = TRUE;
    }
  return found;
}

typedef struct {
  gboolean known;
  guint64 memory;
  guint vcpus;
  const char *source;
} Minimum;

gboolean
nl_template_os_minimum (const char *os, guint64 *memory, guint *vcpus, const char **source)
{
  static GMutex lock;
  static GHashTable *cache;
  Minimum *m;

  g_mutex_lock (&lock);
  if (cache == NULL)
    cache = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  m = g_hash_table_lookup (cache, os);
  if (m == NULL)
    {
      m = g_new0 (Minimum, 1);
      m->memory = 0;
      m->vcpus = 1;
      if (from_osinfo (os, &m->memory, &m->vcpus))
        {
          m->known = TRUE;
          m->source = "osinfo-db";
        }
      else
        for (guint i = 0; i < G_N_ELEMENTS (fallback); i++)
          if (g_str_equal (fallback[i].os, os))
            {
              m->known = TRUE;
              m->memory = fallback[i].memory;
              m->vcpus = fallback[i].vcpus;
              m->source = "nestlab's table of Microsoft's published minimums, as the installed osinfo-db does not know this OS";
            }
      g_hash_table_insert (cache, g_strdup (os), m);
    }
  g_mutex_unlock (&lock);
  *memory = m->memory;
  *vcpus = m->vcpus;
  *source = m->source;
  return m->known;
}
