/* JSON output: nestlab writes its small, flat JSON documents by hand with
 * GString (json-glib is not among its dependencies); this is the one string
 * escaper they all use. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Appends TEXT (UTF-8) to OUT as a JSON string literal, or `null` when TEXT
 * is NULL. Quotes, backslashes and control characters are escaped; other
 * UTF-8 passes through. */
void nl_json_append_string (GString *out, const char *text);
/* Appends PREFIX as it is (a separator and a quoted key: ",\"name\":"),
 * then TEXT as a JSON string (null for NULL). */
void nl_json_append_field (GString *out, const char *prefix, const char *text);

G_END_DECLS
