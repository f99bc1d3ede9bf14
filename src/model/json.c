/* The JSON string escaper, and a small strict reader for the documents
 * nestlab reads (guest agent replies, the output of its own scripts); see
 * nestlab/json.h. */
#include <nestlab/json.h>

void
nl_json_append_string (GString *out, const char *text)
{
  if (text == NULL)
    {
      g_string_append (out, "null");
      return;
    }
  g_string_append_c (out, '"');
  for (const unsigned char *p = (const unsigned char *) text; *p; p++)
    switch (*p)
      {
      case '"': g_string_append (out, "\\\""); break;
      case '\\': g_string_append (out, "\\\\"); break;
      case '\n': g_string_append (out, "\\n"); break;
      case '\r': g_string_append (out, "\\r"); break;
      case '\t': g_string_append (out, "\\t"); break;
      default:
        if (*p < 0x20)
          g_string_append_printf (out, "\\u%04x", *p);
        else
          g_string_append_c (out, (char) *p);
      }
  g_string_append_c (out, '"');
}

void
nl_json_append_field (GString *out, const char *prefix, const char *text)
{
  g_string_append (out, prefix);
  nl_json_append_string (out, text);
}

/* ------------------------------------------------------------------ */
/* Reading                                                              */

void
nl_json_free (NlJson *j)
{
  if (j == NULL)
    return;
  g_free (j->str);
  g_free (j->key);
  if (j->items)
    g_ptr_array_unref (j->items);
  g_free (j);
}

typedef struct {
  const char *p;
  int depth;
} JParser;

static void
skip_ws (JParser *jp)
{
  while (*jp->p == ' ' || *jp->p == '\t' || *jp->p == '\n' || *jp->p == '\r')
    jp->p++;
}

static NlJson *parse_value (JParser *jp);

static char *
parse_string (JParser *jp)
{
  GString *s = g_string_new (NULL);
  if (*jp->p != '"')
    goto bad;
  jp->p++;
  while (*jp->p && *jp->p != '"')
    {
      char c = *jp->p++;
      if (c != '\\')
        {
          g_string_append_c (s, c);
          continue;
        }
      c = *jp->p++;
      switch (c)
        {
        case '"': case '\\': case '/': g_string_append_c (s, c); break;
        case 'b': g_string_append_c (s, '\b'); break;
        case 'f': g_string_append_c (s, '\f'); break;
        case 'n': g_string_append_c (s, '\n'); break;
        case 'r': g_string_append_c (s, '\r'); break;
        case 't': g_string_append_c (s, '\t'); break;
        case 'u':
          {
            char hex[5] = { 0 };
            gunichar u;
            for (int i = 0; i < 4; i++)
              {
                if (!g_ascii_isxdigit (jp->p[i]))
                  goto bad;
                hex[i] = jp->p[i];
              }
            jp->p += 4;
            u = (gunichar) g_ascii_strtoull (hex, NULL, 16);
            /* Surrogate pairs are not needed for what we read. */
            g_string_append_unichar (s, g_unichar_validate (u) ? u : 0xFFFD);
            break;
          }
        default:
          goto bad;
        }
    }
  if (*jp->p != '"')
    goto bad;
  jp->p++;
  return g_string_free (s, FALSE);
bad:
  g_string_free (s, TRUE);
  return NULL;
}

static NlJson *
parse_value (JParser *jp)
{
  g_autoptr (NlJson) j = g_new0 (NlJson, 1);

  if (++jp->depth > 64)
    return NULL;
  skip_ws (jp);
  if (*jp->p == '{' || *jp->p == '[')
    {
      gboolean obj = *jp->p == '{';
      char close = obj ? '}' : ']';
      j->type = obj ? NL_JSON_OBJECT : NL_JSON_ARRAY;
      j->items = g_ptr_array_new_with_free_func ((GDestroyNotify) nl_json_free);
      jp->p++;
      skip_ws (jp);
      if (*jp->p == close)
        jp->p++;
      else
        for (;;)
          {
            g_autofree char *key = NULL;
            NlJson *item;
            skip_ws (jp);
            if (obj)
              {
                key = parse_string (jp);
                skip_ws (jp);
                if (key == NULL || *jp->p != ':')
                  return NULL;
                jp->p++;
              }
            item = parse_value (jp);
            if (item == NULL)
              return NULL;
            item->key = g_steal_pointer (&key);
            g_ptr_array_add (j->items, item);
            skip_ws (jp);
            if (*jp->p == ',')
              {
                jp->p++;
                continue;
              }
            if (*jp->p != close)
              return NULL;
            jp->p++;
            break;
          }
    }
  else if (*jp->p == '"')
    {
      j->type = NL_JSON_STRING;
      j->str = parse_string (jp);
      if (j->str == NULL)
        return NULL;
    }
  else if (g_str_has_prefix (jp->p, "true") || g_str_has_prefix (jp->p, "false"))
    {
      j->type = NL_JSON_BOOL;
      j->b = *jp->p == 't';
      jp->p += j->b ? 4 : 5;
    }
  else if (g_str_has_prefix (jp->p, "null"))
    {
      j->type = NL_JSON_NULL;
      jp->p += 4;
    }
  else
    {
      char *end = NULL;
      j->type = NL_JSON_NUMBER;
      j->num = g_ascii_strtod (jp->p, &end);
      if (end == jp->p)
        return NULL;
      jp->p = end;
    }
  jp->depth--;
  return g_steal_pointer (&j);
}

NlJson *
nl_json_parse (const char *text)
{
  JParser jp = { text, 0 };
  NlJson *j = parse_value (&jp);
  skip_ws (&jp);
  if (j != NULL && *jp.p != '\0')
    {
      nl_json_free (j);
      return NULL;
    }
  return j;
}

const NlJson *
nl_json_get (const NlJson *j, const char *key)
{
  if (j == NULL || j->type != NL_JSON_OBJECT)
    return NULL;
  for (guint i = 0; i < j->items->len; i++)
    {
      const NlJson *m = j->items->pdata[i];
      if (g_strcmp0 (m->key, key) == 0)
        return m;
    }
  return NULL;
}
