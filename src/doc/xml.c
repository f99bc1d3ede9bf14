/* The libxml2 helpers nestlab's document code shares. */
#include <string.h>

#include <libxml/parser.h>

#include <nestlab/doc.h>
#include <nestlab/error.h>

xmlDocPtr
nl_xml_parse (const char *xml, GError **error)
{
  xmlDocPtr doc = xml ? xmlReadMemory (xml, strlen (xml), "libvirt.xml", NULL,
                                       XML_PARSE_NONET | XML_PARSE_NOBLANKS | XML_PARSE_NOERROR
                                       | XML_PARSE_NOWARNING)
                      : NULL;
  if (doc == NULL || xmlDocGetRootElement (doc) == NULL)
    {
      g_clear_pointer (&doc, xmlFreeDoc);
      g_set_error (error, NL_ERROR, NL_ERROR_LIBVIRT, "libvirt returned XML that does not parse");
    }
  return doc;
}

gboolean
nl_xml_is (xmlNodePtr node, const char *name)
{
  return node != NULL && node->type == XML_ELEMENT_NODE && strcmp ((const char *) node->name, name) == 0;
}

xmlNodePtr
nl_xml_child (xmlNodePtr node, const char *name)
{
  for (xmlNodePtr c = node ? node->children : NULL; c; c = c->next)
    if (nl_xml_is (c, name))
      return c;
  return NULL;
}

char *
nl_xml_prop (xmlNodePtr node, const char *name)
{
  xmlChar *v = node ? xmlGetProp (node, (const xmlChar *) name) : NULL;
  char *r = v ? g_strdup ((const char *) v) : NULL;
  xmlFree (v);
  return r;
}

void
nl_xml_remove_children (xmlNodePtr node, const char *name)
{
  for (xmlNodePtr c = node ? node->children : NULL, next; c; c = next)
    {
      next = c->next;
      if (nl_xml_is (c, name))
        {
          xmlUnlinkNode (c);
          xmlFreeNode (c);
        }
    }
}

char *
nl_xml_node_to_string (xmlNodePtr node, gboolean format)
{
  xmlBufferPtr buf = xmlBufferCreate ();
  char *text;

  xmlNodeDump (buf, node->doc, node, 0, format ? 1 : 0);
  text = g_strdup ((const char *) xmlBufferContent (buf));
  xmlBufferFree (buf);
  return text;
}

xmlNodePtr
nl_xml_metadata_find (xmlNodePtr root, const char *ns, const char *name)
{
  for (xmlNodePtr m = nl_xml_child (root, "metadata") ? nl_xml_child (root, "metadata")->children : NULL;
       m; m = m->next)
    if (nl_xml_is (m, name) && m->ns && m->ns->href && strcmp ((const char *) m->ns->href, ns) == 0)
      return m;
  return NULL;
}

void
nl_xml_set_prop (xmlNodePtr node, const char *name, const char *value)
{
  if (value != NULL)
    xmlNewProp (node, (const xmlChar *) name, (const xmlChar *) value);
}
