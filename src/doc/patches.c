/* Patch history: which patches rollouts installed on a machine, kept in its
 * metadata beside the lab mark. */
#include <libxml/tree.h>

#include "doc-private.h"

void
nl_patch_record_free (NlPatchRecord *record)
{
  if (record == NULL)
    return;
  g_free (record->id);
  g_free (record->run);
  g_free (record->installed);
  g_free (record);
}

GPtrArray *
nl_patch_history_parse (const char *xml, GError **error)
{
  g_autoptr (GPtrArray) records = g_ptr_array_new_with_free_func ((GDestroyNotify) nl_patch_record_free);
  g_autoptr (xmlDoc) doc = NULL;

  if (xml == NULL)
    return g_steal_pointer (&records);
  doc = nl_xml_parse (xml, error);
  if (doc == NULL)
    return NULL;
  for (xmlNodePtr c = xmlDocGetRootElement (doc)->children; c; c = c->next)
    if (nl_xml_is (c, "patch"))
      {
        char *id = nl_xml_prop (c, "id");
        NlPatchRecord *r;
        if (id == NULL)
          continue;
        r = g_new0 (NlPatchRecord, 1);
        r->id = id;
        r->run = nl_xml_prop (c, "run");
        r->installed = nl_xml_prop (c, "installed");
        g_ptr_array_add (records, r);
      }
  return g_steal_pointer (&records);
}

char *
nl_patch_history_format (GPtrArray *records)
{
  g_autoptr (xmlDoc) doc = xmlNewDoc ((const xmlChar *) "1.0");
  xmlNodePtr root = xmlNewNode (NULL, (const xmlChar *) "patches");

  xmlDocSetRootElement (doc, root);
  for (guint i = 0; records && i < records->len; i++)
    {
      NlPatchRecord *r = records->pdata[i];
      xmlNodePtr p = xmlNewChild (root, NULL, (const xmlChar *) "patch", NULL);
      xmlNewProp (p, (const xmlChar *) "id", (const xmlChar *) r->id);
      if (r->run)
        xmlNewProp (p, (const xmlChar *) "run", (const xmlChar *) r->run);
      if (r->installed)
        xmlNewProp (p, (const xmlChar *) "installed", (const xmlChar *) r->installed);
    }
  return nl_xml_node_to_string (root, TRUE);
}
