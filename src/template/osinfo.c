/* OS facts for validation: minimum memory and vCPUs from libosinfo's
 * osinfo-db, with nestlab's own table for Windows releases the installed
 * osinfo-db does not know yet (Debian 12's lacks win2k25). */
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

static OsinfoDb *
osinfo_db (void)
{
  static gsize once = 0;
  static OsinfoDb *db;

  if (g_once_init_enter (&once))
    {
      g_autoptr (OsinfoLoader) loader = osinfo_loader_new ();
      g_autoptr (GError) error = NULL;
      osinfo_loader_process_default_path (loader, &error);
      if (error != NULL)
        g_debug ("osinfo-db: %s", error->message);
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
