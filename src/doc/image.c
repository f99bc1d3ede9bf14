/* Image records: what nestlab knows about a golden image it imported or
 * built, one document per image under the state folder. */
#include <errno.h>
#include <string.h>

#include <glib/gstdio.h>

#include <nestlab/error.h>
#include <nestlab/image.h>
#include <nestlab/model.h>
#include "doc-private.h"

NlImageRecord *
nl_image_record_new (void)
{
  return g_new0 (NlImageRecord, 1);
}

void
nl_image_record_free (NlImageRecord *rec)
{
  if (rec == NULL)
    return;
  g_free (rec->name);
  g_free (rec->os);
  g_free (rec->pool);
  g_free (rec->volume);
  g_free (rec->firmware);
  g_free (rec->source);
  g_free (rec->source_format);
  g_free (rec->checksum);
  g_free (rec->created);
  g_free (rec);
}

NlImageRecord *
nl_image_record_parse (const char *xml, GError **error)
{
  g_autoptr (xmlDoc) doc = nl_xml_parse (xml, error);
  g_autoptr (NlImageRecord) rec = NULL;
  xmlNodePtr root;
  g_autofree char *generalized = NULL;
  g_autofree char *agent = NULL;

  if (doc == NULL)
    return NULL;
  root = xmlDocGetRootElement (doc);
  rec = nl_image_record_new ();
  rec->name = nl_xml_prop (root, "name");
  if (!nl_xml_is (root, "image") || rec->name == NULL)
    {
      g_set_error (error, NL_ERROR, NL_ERROR_INVALID, "not an image record");
      return NULL;
    }
  rec->os = nl_xml_prop (root, "os");
  rec->pool = nl_xml_prop (root, "pool");
  rec->volume = nl_xml_prop (root, "volume");
  rec->firmware = nl_xml_prop (root, "firmware");
  generalized = nl_xml_prop (root, "generalized");
  agent = nl_xml_prop (root, "agent");
  rec->generalized = g_strcmp0 (generalized, "yes") == 0;
  rec->agent = g_strcmp0 (agent, "yes") == 0;
  rec->source = nl_xml_prop (nl_xml_child (root, "source"), "file");
  rec->source_format = nl_xml_prop (nl_xml_child (root, "source"), "format");
  rec->checksum = nl_xml_prop (nl_xml_child (root, "source"), "sha256");
  rec->created = nl_xml_prop (root, "created");
  return g_steal_pointer (&rec);
}

char *
nl_image_record_format (const NlImageRecord *rec)
{
  g_autoptr (xmlDoc) doc = xmlNewDoc ((const xmlChar *) "1.0");
  xmlNodePtr root = xmlNewNode (NULL, (const xmlChar *) "image");
  xmlNodePtr source;

  xmlDocSetRootElement (doc, root);
  nl_xml_set_prop (root, "name", rec->name);
  nl_xml_set_prop (root, "os", rec->os);
  nl_xml_set_prop (root, "pool", rec->pool);
  nl_xml_set_prop (root, "volume", rec->volume);
  nl_xml_set_prop (root, "firmware", rec->firmware);
  nl_xml_set_prop (root, "generalized", rec->generalized ? "yes" : "no");
  nl_xml_set_prop (root, "agent", rec->agent ? "yes" : "no");
  nl_xml_set_prop (root, "created", rec->created);
  source = xmlNewChild (root, NULL, (const xmlChar *) "source", NULL);
  nl_xml_set_prop (source, "file", rec->source);
  nl_xml_set_prop (source, "format", rec->source_format);
  nl_xml_set_prop (source, "sha256", rec->checksum);
  return nl_xml_node_to_string (root, TRUE);
}

char *
nl_image_record_path (const char *name)
{
  g_autofree char *dir = nl_state_path ("images");
  g_autofree char *file = g_strdup_printf ("%s.xml", name);
  return g_build_filename (dir, file, NULL);
}

gboolean
nl_image_record_save (const NlImageRecord *rec, GError **error)
{
  g_autofree char *path = nl_image_record_path (rec->name);
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *text = nl_image_record_format (rec);
  g_autoptr (GError) local = NULL;

  if (g_mkdir_with_parents (dir, 0755) < 0)
    {
      g_set_error (error, NL_ERROR, NL_ERROR_FAILED, "cannot create %s: %s", dir, g_strerror (errno));
      return FALSE;
    }
  /* g_file_set_contents writes a temporary file and renames it. */
  if (!g_file_set_contents (path, text, -1, &local))
    {
      g_set_error (error, NL_ERROR, NL_ERROR_FAILED, "recording image '%s': %s", rec->name, local->message);
      return FALSE;
    }
  return TRUE;
}

NlImageRecord *
nl_image_record_load (const char *name, GError **error)
{
  g_autofree char *path = nl_image_record_path (name);
  g_autofree char *text = NULL;
  g_autoptr (GError) local = NULL;
  NlImageRecord *rec;

  if (!nl_name_is_safe (name))
    {
      g_set_error (error, NL_ERROR, NL_ERROR_USAGE, "'%s' is not an image name (letters, digits, '.', '_', '-')",
                   name);
      return NULL;
    }
  if (!g_file_get_contents (path, &text, NULL, &local))
    {
      if (g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        g_set_error (error, NL_ERROR, NL_ERROR_NOT_FOUND, "nestlab knows no image '%s'", name);
      else
        g_set_error (error, NL_ERROR, NL_ERROR_FAILED, "reading %s: %s", path, local->message);
      return NULL;
    }
  rec = nl_image_record_parse (text, &local);
  if (rec == NULL)
    g_set_error (error, NL_ERROR, NL_ERROR_FAILED, "%s: %s", path, local->message);
  return rec;
}

static gint
by_name (gconstpointer a, gconstpointer b)
{
  return strcmp ((*(NlImageRecord *const *) a)->name, (*(NlImageRecord *const *) b)->name);
}

GPtrArray *
nl_image_record_list (GError **error)
{
  g_autofree char *dir = nl_state_path ("images");
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify) nl_image_record_free);
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *entry;

  while (d && (entry = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *name = NULL;
      NlImageRecord *rec;
      if (!g_str_has_suffix (entry, ".xml") || entry[0] == '.')
        continue;
      name = g_strndup (entry, strlen (entry) - 4);
      rec = nl_image_record_load (name, error);
      if (rec == NULL)
        return NULL;
      g_ptr_array_add (out, rec);
    }
  g_ptr_array_sort (out, by_name);
  return g_steal_pointer (&out);
}

gboolean
nl_image_record_delete (const char *name, GError **error)
{
  g_autofree char *path = nl_image_record_path (name);
  if (g_unlink (path) < 0 && errno != ENOENT)
    {
      g_set_error (error, NL_ERROR, NL_ERROR_FAILED, "removing %s: %s", path, g_strerror (errno));
      return FALSE;
    }
  return TRUE;
}
