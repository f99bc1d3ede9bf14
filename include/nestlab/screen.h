/* Screening of XML input files (lab templates, rollout plans) before any
 * parser sees them, of the parsed tree's depth, and validation against a
 * RelaxNG schema with every complaint placed on a line. */
#pragma once

#include <glib.h>
#include <libxml/relaxng.h>
#include <libxml/tree.h>

G_BEGIN_DECLS

/* What is being read, for messages: plural "templates", singular with its
 * article "an XML template", and the size limit in bytes. */
typedef struct {
  const char *plural;
  const char *a;
  gsize max_size;
} NlScreenKind;

/* Reads PATH into memory, NUL-terminated, refusing what must never reach
 * the parser: anything but a regular file (no FIFO or device is ever
 * opened for blocking reads), a file over KIND's limit (checked before
 * reading), an empty file, a NUL byte, invalid UTF-8, and any document type
 * declaration — without a DTD no entity can be declared, so none is ever
 * expanded (billion laughs) or fetched (external entities). On failure:
 * NULL, with *MESSAGE set and *LINE the offending line (0 for the file as a
 * whole). */
char *nl_screen_read (const char *path, const NlScreenKind *kind, gsize *length, int *line,
                      char **message);

/* The first element among FIRST, its siblings and their descendants that
 * lies deeper than MAX_DEPTH levels (FIRST being level 1), or NULL. */
xmlNodePtr nl_screen_too_deep (xmlNodePtr first, int max_depth);

/* Validates DOC against SCHEMA (both borrowed). TRUE when it matches;
 * otherwise FALSE with *MESSAGE (newly allocated) libxml2's first, most
 * specific complaint and *LINE the line of the element it concerns. Some
 * complaints come from libxml2 without a node ("Extra element disk in
 * interleave"); the element is then found from the cascade of complaints
 * that follows. *LINE is 0 only when nothing places the complaint, and
 * *MESSAGE is NULL when libxml2 gave none. */
gboolean nl_screen_validate (xmlDocPtr doc, xmlRelaxNGPtr schema, int *line, char **message);

G_END_DECLS
