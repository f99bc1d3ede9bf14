/* The one front end for nestlab's input files (templates, included parts,
 * rollout plans): screened, parsed, bounded and validated the same way. */
#include <libxml/parser.h>
#include <libxml/relaxng.h>

#include <gio/gio.h>
#include <nestlab/screen.h>
#include "doc-private.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC (xmlParserCtxt, xmlFreeParserCtxt)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (xmlRelaxNGParserCtxt, xmlRelaxNGFreeParserCtxt)

/* The compiled schema at resource PATH, compiled once per process. */
static xmlRelaxNGPtr
schema_for (GResource *resource, const char *path)
{
  static GMutex lock;
  static GHashTable *schemas;
  xmlRelaxNGPtr schema;

  g_mutex_lock (&lock);
  if (schemas == NULL)
    schemas = g_hash_table_new (g_str_hash, g_str_equal);
  schema = g_hash_table_lookup (schemas, path);
  if (schema == NULL)
    {
      g_autoptr (GBytes) bytes = g_resource_lookup_data (resource, path, G_RESOURCE_LOOKUP_FLAGS_NONE, NULL);
      gsize size = 0;
      const char *data = bytes ? g_bytes_get_data (bytes, &size) : NULL;
      g_autoptr (xmlRelaxNGParserCtxt) pctxt = data ? xmlRelaxNGNewMemParserCtxt (data, size) : NULL;
      schema = pctxt ? xmlRelaxNGParse (pctxt) : NULL;
      g_assert (schema != NULL); /* the schemas ship with the binary */
      g_hash_table_insert (schemas, (gpointer) g_intern_string (path), schema);
    }
  g_mutex_unlock (&lock);
  return schema;
}

const char *
nl_doc_schema_text (const NlDocKind *kind)
{
  g_autoptr (GBytes) bytes = g_resource_lookup_data (kind->resource (), kind->schema, G_RESOURCE_LOOKUP_FLAGS_NONE,
                                                     NULL);
  /* Resource data is static and lives as long as the program. */
  return bytes ? g_bytes_get_data (bytes, NULL) : NULL;
}

static xmlDocPtr
fail (int *line, char **message, int at, char *text)
{
  *line = at;
  *message = text;
  return NULL;
}

xmlDocPtr
nl_doc_load (const char *path, const NlDocKind *kind, const char *root, const char *root_note,
             GBytes **contents, int *line, char **message)
{
  NlScreenKind screen = { kind->plural, kind->a, kind->max_size };
  g_autofree char *text = NULL;
  g_autoptr (xmlParserCtxt) ctxt = NULL;
  g_autoptr (xmlDoc) doc = NULL;
  g_autofree char *invalid = NULL;
  xmlNodePtr top, deep;
  gsize len = 0;
  int at = 0;

  *line = 0;
  *message = NULL;
  text = nl_screen_read (path, &screen, &len, &at, message);
  if (text == NULL)
    {
      *line = at;
      return NULL;
    }
  ctxt = xmlNewParserCtxt ();
  doc = xmlCtxtReadMemory (ctxt, text, len, path, "UTF-8",
                           XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING
                           | XML_PARSE_BIG_LINES | XML_PARSE_NOCDATA);
  if (doc == NULL)
    {
      const xmlError *err = xmlCtxtGetLastError (ctxt);
      g_autofree char *msg = g_strchomp (g_strdup (err && err->message ? err->message : "not well-formed"));
      return fail (line, message, err ? err->line : 0, g_strdup_printf ("not well-formed XML: %s", msg));
    }
  top = xmlDocGetRootElement (doc);
  if (top == NULL)
    return fail (line, message, 0, g_strdup ("no root element"));
  deep = nl_screen_too_deep (top, kind->max_depth);
  if (deep != NULL)
    return fail (line, message, (int) xmlGetLineNo (deep),
                 g_strdup_printf ("elements nested deeper than %d levels", kind->max_depth));
  if (!xmlStrEqual (top->name, (const xmlChar *) root) || top->ns != NULL)
    return fail (line, message, (int) xmlGetLineNo (top),
                 g_strdup_printf ("root element is <%s>; expected <%s>%s", top->name, root,
                                  root_note ? root_note : ""));
  if (!nl_screen_validate (doc, schema_for (kind->resource (), kind->schema), &at, &invalid))
    {
      if (invalid != NULL)
        return fail (line, message, at, g_steal_pointer (&invalid));
      return fail (line, message, (int) xmlGetLineNo (top),
                   g_strdup_printf ("does not match the %s", kind->schema_name));
    }
  if (contents != NULL)
    *contents = g_bytes_new_take (g_steal_pointer (&text), len);
  return g_steal_pointer (&doc);
}
