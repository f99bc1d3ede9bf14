/* Windows answer files as libxml2 trees; see unattend-doc.h. */
#include <string.h>

#include <libxml/xmlsave.h>

#include "unattend-doc.h"

#define UNATTEND_NS "urn:schemas-microsoft-com:unattend"
#define WCM_NS "http://schemas.microsoft.com/WMIConfig/2002/State"

void
nl_media_wipe_string (gpointer data)
{
  char *s = data;
  if (s == NULL)
    return;
  explicit_bzero (s, strlen (s));
  g_free (s);
}

GBytes *
nl_media_bytes_take_wiped (char *text)
{
  return g_bytes_new_with_free_func (text, strlen (text), nl_media_wipe_string, text);
}

void
nl_unattend_doc_init (NlUnattendDoc *u)
{
  u->doc = xmlNewDoc ((const xmlChar *) "1.0");
  u->root = xmlNewDocNode (u->doc, NULL, (const xmlChar *) "unattend", NULL);
  xmlDocSetRootElement (u->doc, u->root);
  u->ns = xmlNewNs (u->root, (const xmlChar *) UNATTEND_NS, NULL);
  u->wcm = xmlNewNs (u->root, (const xmlChar *) WCM_NS, (const xmlChar *) "wcm");
  xmlSetNs (u->root, u->ns);
}

/* Every text node overwritten: libxml2 frees without wiping. */
static void
wipe_tree (xmlNodePtr node)
{
  for (; node != NULL; node = node->next)
    {
      if (node->type == XML_TEXT_NODE && node->content != NULL)
        explicit_bzero (node->content, strlen ((const char *) node->content));
      wipe_tree (node->children);
    }
}

void
nl_unattend_doc_clear (NlUnattendDoc *u)
{
  if (u->doc == NULL)
    return;
  wipe_tree (xmlDocGetRootElement (u->doc));
  g_clear_pointer (&u->doc, xmlFreeDoc);
}

char *
nl_unattend_doc_finish (NlUnattendDoc *u)
{
  xmlBufferPtr buffer = xmlBufferCreate ();
  xmlSaveCtxtPtr ctxt = xmlSaveToBuffer (buffer, "UTF-8", XML_SAVE_FORMAT);
  char *text;

  xmlSaveDoc (ctxt, u->doc);
  xmlSaveClose (ctxt);
  text = g_strdup ((const char *) xmlBufferContent (buffer));
  /* The buffer held the secrets too. */
  explicit_bzero ((xmlChar *) xmlBufferContent (buffer), xmlBufferLength (buffer));
  xmlBufferFree (buffer);
  nl_unattend_doc_clear (u);
  return text;
}

xmlNodePtr
nl_unattend_el (const NlUnattendDoc *u, xmlNodePtr parent, const char *name, const char *text)
{
  return xmlNewTextChild (parent, u->ns, (const xmlChar *) name, (const xmlChar *) text);
}

void
nl_unattend_wcm (const NlUnattendDoc *u, xmlNodePtr node, const char *name, const char *value)
{
  xmlNewNsProp (node, u->wcm, (const xmlChar *) name, (const xmlChar *) value);
}

xmlNodePtr
nl_unattend_settings (const NlUnattendDoc *u, const char *pass)
{
  xmlNodePtr node = nl_unattend_el (u, u->root, "settings", NULL);
  xmlNewProp (node, (const xmlChar *) "pass", (const xmlChar *) pass);
  return node;
}

xmlNodePtr
nl_unattend_component (const NlUnattendDoc *u, xmlNodePtr settings, const char *name)
{
  xmlNodePtr node = nl_unattend_el (u, settings, "component", NULL);
  xmlNewProp (node, (const xmlChar *) "name", (const xmlChar *) name);
  xmlNewProp (node, (const xmlChar *) "processorArchitecture", (const xmlChar *) "amd64");
  xmlNewProp (node, (const xmlChar *) "publicKeyToken", (const xmlChar *) "31bf3856ad364e35");
  xmlNewProp (node, (const xmlChar *) "language", (const xmlChar *) "neutral");
  xmlNewProp (node, (const xmlChar *) "versionScope", (const xmlChar *) "nonSxS");
  return node;
}
