/* Parsing and formatting of sizes, durations, IPv4 addresses and names. */
#include <stdlib.h>
#include <string.h>

#include <nestlab/error.h>
#include <nestlab/model.h>

static const struct {
  const char *suffix;
  guint64 factor;
} size_units[] = {
  { "", 1 }, { "B", 1 },
  { "KiB", G_GUINT64_CONSTANT (1) << 10 }, { "MiB", G_GUINT64_CONSTANT (1) << 20 },
  { "GiB", G_GUINT64_CONSTANT (1) << 30 }, { "TiB", G_GUINT64_CONSTANT (1) << 40 },
  { "K", 1000 }, { "KB", 1000 }, { "k", 1000 }, { "kB", 1000 },
  { "M", 1000000 }, { "MB", 1000000 },
  { "G", 1000000000 }, { "GB", 1000000000 },
  { "T", G_GUINT64_CONSTANT (1000000000000) }, { "TB", G_GUINT64_CONSTANT (1000000000000) },
};

gboolean
nl_parse_size (const char *text, guint64 *bytes, GError **error)
{
  const char *p = text;
  guint64 value = 0;

  if (text == NULL || !g_ascii_isdigit (*p))
    goto bad;
  while (g_ascii_isdigit (*p))
    {
      guint digit = *p++ - '0';
      if (value > (G_MAXUINT64 - digit) / 10)
        goto overflow;
      value = value * 10 + digit;
    }
  while (*p == ' ')
    p++;
  for (guint i = 0; i < G_N_ELEMENTS (size_units); i++)
    if (strcmp (p, size_units[i].suffix) == 0)
      {
        if (value > G_MAXUINT64 / size_units[i].factor)
          goto overflow;
        *bytes = value * size_units[i].factor;
        return TRUE;
      }
bad:
  g_set_error (error, NL_ERROR, NL_ERROR_INVALID,
               "'%s' is not a size (a whole number with an optional unit: B, KiB, MiB, GiB, TiB, KB, MB, GB, TB)",
               text ? text : "");
  return FALSE;
overflow:
  g_set_error (error, NL_ERROR, NL_ERROR_INVALID, "size '%s' is too large", text);
  return FALSE;
}

gboolean
nl_parse_duration (const char *text, guint *seconds, GError **error)
{
  const char *p = text;
  guint64 value = 0;
  guint64 factor = 1;

  if (text == NULL || !g_ascii_isdigit (*p))
    goto bad;
  while (g_ascii_isdigit (*p))
    {
      value = value * 10 + (*p++ - '0');
      if (value > G_MAXUINT32)
        goto bad;
    }
  if (*p == '\0' || strcmp (p, "s") == 0)
    factor = 1;
  else if (strcmp (p, "m") == 0 || strcmp (p, "min") == 0)
    factor = 60;
  else if (strcmp (p, "h") == 0)
    factor = 3600;
  else
    goto bad;
  if (value * factor > G_MAXUINT32)
    goto bad;
  *seconds = value * factor;
  return TRUE;
bad:
  g_set_error (error, NL_ERROR, NL_ERROR_INVALID,
               "'%s' is not a duration (a whole number with an optional unit: s, m, h)",
               text ? text : "");
  return FALSE;
}

char *
nl_format_size (guint64 bytes)
{
  static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
  guint u = 0;
  while (u + 1 < G_N_ELEMENTS (units) && bytes >= 1024 && bytes % 1024 == 0)
    {
      bytes /= 1024;
      u++;
    }
  return g_strdup_printf ("%" G_GUINT64_FORMAT " %s", bytes, units[u]);
}

gboolean
nl_parse_ipv4 (const char *text, guint32 *addr)
{
  guint32 result = 0;
  const char *p = text;

  if (text == NULL)
    return FALSE;
  for (int octet = 0; octet < 4; octet++)
    {
      guint value = 0;
      int digits = 0;
      while (g_ascii_isdigit (*p) && digits < 4)
        {
          value = value * 10 + (*p++ - '0');
          digits++;
        }
      if (digits == 0 || digits > 3 || value > 255)
        return FALSE;
      if (digits > 1 && p[-digits] == '0')
        return FALSE; /* no leading zeros: 010 is ambiguous */
      result = (result << 8) | value;
      if (octet < 3 && *p++ != '.')
        return FALSE;
    }
  if (*p != '\0')
    return FALSE;
  *addr = result;
  return TRUE;
}

char *
nl_format_ipv4 (guint32 addr)
{
  return g_strdup_printf ("%u.%u.%u.%u", addr >> 24, (addr >> 16) & 0xff,
                          (addr >> 8) & 0xff, addr & 0xff);
}

gboolean
nl_parse_cidr (const char *text, guint32 *addr, guint *prefix)
{
  const char *slash;
  g_autofree char *ip = NULL;
  guint64 bits;
  char *end = NULL;

  if (text == NULL || (slash = strchr (text, '/')) == NULL)
    return FALSE;
  ip = g_strndup (text, slash - text);
  if (!nl_parse_ipv4 (ip, addr) || !g_ascii_isdigit (slash[1]))
    return FALSE;
  bits = g_ascii_strtoull (slash + 1, &end, 10);
  if (*end != '\0' || bits < 8 || bits > 30)
    return FALSE;
  *prefix = bits;
  return TRUE;
}

gboolean
nl_ipv4_in_subnet (guint32 addr, guint32 subnet, guint prefix)
{
  guint32 mask = prefix == 0 ? 0 : ~((G_GUINT64_CONSTANT (1) << (32 - prefix)) - 1);
  return (addr & mask) == (subnet & mask);
}

gboolean
nl_name_is_safe (const char *name)
{
  if (name == NULL || *name == '\0' || strlen (name) > 63 || !g_ascii_isalnum (name[0]))
    return FALSE;
  for (const char *p = name; *p; p++)
    if (!g_ascii_isalnum (*p) && *p != '-' && *p != '_' && *p != '.')
      return FALSE;
  return TRUE;
}
