/* JSON: nestlab writes its small, flat JSON documents by hand with GString
 * (json-glib is not among its dependencies), all through one string
 * escaper, and reads the few it must (guest agent replies, the output of
 * its own scripts inside guests) with one small strict parser. */
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

typedef enum {
  NL_JSON_NULL,
  NL_JSON_BOOL,
  NL_JSON_NUMBER,
  NL_JSON_STRING,
  NL_JSON_ARRAY,
  NL_JSON_OBJECT
} NlJsonType;

/* A parsed value. Object members are ITEMS with their KEY set. */
typedef struct NlJson NlJson;
struct NlJson {
  NlJsonType type;
  gboolean b;         /* NL_JSON_BOOL */
  double num;         /* NL_JSON_NUMBER */
  char *str;          /* NL_JSON_STRING */
  char *key;          /* the member's name inside an object */
  GPtrArray *items;   /* NL_JSON_ARRAY, NL_JSON_OBJECT: of NlJson* */
};

void nl_json_free (NlJson *j);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NlJson, nl_json_free)

/* Parses TEXT (the whole of it, surrounding white space allowed; nesting
 * at most 64 deep); NULL when it is not JSON. */
NlJson *nl_json_parse (const char *text);
/* Member KEY of object J (the first one), or NULL; NULL-safe. Borrowed. */
const NlJson *nl_json_get (const NlJson *j, const char *key);

G_END_DECLS
