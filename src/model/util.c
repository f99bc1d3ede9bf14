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

/* A DNS label: letters, digits and '-', 1 to 63 of them, no '-' at either
 * end (RFC 1123). */
static gboolean
dns_label_is_valid (const char *label, gsize len)
{
  if (len == 0 || len > 63 || label[0] == '-' || label[len - 1] == '-')
    return FALSE;
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isalnum (label[i]) && label[i] != '-')
      return FALSE;
  return TRUE;
}

gboolean
nl_dns_name_is_valid (const char *name)
{
  const char *label;
  guint labels = 0;

  if (name == NULL || strlen (name) > 253)
    return FALSE;
  for (label = name;; label++)
    {
      const char *dot = strchr (label, '.');
      gsize len = dot ? (gsize) (dot - label) : strlen (label);
      if (!dns_label_is_valid (label, len))
        return FALSE;
      labels++;
      if (dot == NULL)
        break;
      label = dot;
    }
  /* The top-level label is never all digits (that would read as an IPv4
   * address). */
  {
    const char *last = strrchr (name, '.');
    gboolean digits = TRUE;
    for (const char *p = last ? last + 1 : name; *p; p++)
      digits = digits && g_ascii_isdigit (*p);
    if (digits)
      return FALSE;
  }
  return labels >= 2;
}

gboolean
nl_netbios_name_is_valid (const char *name)
{
  gboolean digits = TRUE;

  if (name == NULL || *name == '\0' || strlen (name) > 15 || name[0] == '-')
    return FALSE;
  for (const char *p = name; *p; p++)
    {
      if (!g_ascii_isalnum (*p) && *p != '-')
        return FALSE;
      digits = digits && g_ascii_isdigit (*p);
    }
  return !digits;
}

/* IANA time zones and the Windows time zone ids Unattend.xml takes, after
 * the Unicode CLDR's windowsZones table (its territory "001" entries plus
 * the cities labs are likely to name). */
static const struct {
  const char *iana;
  const char *windows;
} time_zones[] = {
  { "UTC", "UTC" }, { "Etc/UTC", "UTC" }, { "Etc/GMT", "UTC" },
  { "Europe/London", "GMT Standard Time" }, { "Europe/Dublin", "GMT Standard Time" },
  { "Europe/Lisbon", "GMT Standard Time" },
  { "Europe/Berlin", "W. Europe Standard Time" }, { "Europe/Amsterdam", "W. Europe Standard Time" },
  { "Europe/Vienna", "W. Europe Standard Time" }, { "Europe/Zurich", "W. Europe Standard Time" },
  { "Europe/Rome", "W. Europe Standard Time" }, { "Europe/Stockholm", "W. Europe Standard Time" },
  { "Europe/Oslo", "W. Europe Standard Time" }, { "Europe/Luxembourg", "W. Europe Standard Time" },
  { "Europe/Paris", "Romance Standard Time" }, { "Europe/Brussels", "Romance Standard Time" },
  { "Europe/Madrid", "Romance Standard Time" }, { "Europe/Copenhagen", "Romance Standard Time" },
  { "Europe/Warsaw", "Central European Standard Time" }, { "Europe/Zagreb", "Central European Standard Time" },
  { "Europe/Prague", "Central Europe Standard Time" }, { "Europe/Budapest", "Central Europe Standard Time" },
  { "Europe/Athens", "GTB Standard Time" }, { "Europe/Bucharest", "GTB Standard Time" },
  { "Europe/Helsinki", "FLE Standard Time" }, { "Europe/Kyiv", "FLE Standard Time" },
  { "Europe/Kiev", "FLE Standard Time" }, { "Europe/Riga", "FLE Standard Time" },
  { "Europe/Tallinn", "FLE Standard Time" }, { "Europe/Vilnius", "FLE Standard Time" },
  { "Europe/Sofia", "FLE Standard Time" }, { "Europe/Istanbul", "Turkey Standard Time" },
  { "Europe/Moscow", "Russian Standard Time" },
  { "America/New_York", "Eastern Standard Time" }, { "America/Toronto", "Eastern Standard Time" },
  { "America/Chicago", "Central Standard Time" }, { "America/Denver", "Mountain Standard Time" },
  { "America/Phoenix", "US Mountain Standard Time" }, { "America/Los_Angeles", "Pacific Standard Time" },
  { "America/Vancouver", "Pacific Standard Time" }, { "America/Anchorage", "Alaskan Standard Time" },
  { "Pacific/Honolulu", "Hawaiian Standard Time" }, { "America/Halifax", "Atlantic Standard Time" },
  { "America/Mexico_City", "Central Standard Time (Mexico)" },
  { "America/Bogota", "SA Pacific Standard Time" },
  { "America/Sao_Paulo", "E. South America Standard Time" },
  { "America/Argentina/Buenos_Aires", "Argentina Standard Time" },
  { "Asia/Tokyo", "Tokyo Standard Time" }, { "Asia/Seoul", "Korea Standard Time" },
  { "Asia/Shanghai", "China Standard Time" }, { "Asia/Hong_Kong", "China Standard Time" },
  { "Asia/Taipei", "Taipei Standard Time" }, { "Asia/Singapore", "Singapore Standard Time" },
  { "Asia/Kolkata", "India Standard Time" }, { "Asia/Dubai", "Arabian Standard Time" },
  { "Asia/Jerusalem", "Israel Standard Time" }, { "Asia/Bangkok", "SE Asia Standard Time" },
  { "Asia/Jakarta", "SE Asia Standard Time" },
  { "Australia/Sydney", "AUS Eastern Standard Time" }, { "Australia/Melbourne", "AUS Eastern Standard Time" },
  { "Australia/Brisbane", "E. Australia Standard Time" }, { "Australia/Adelaide", "Cen. Australia Standard Time" },
  { "Australia/Perth", "W. Australia Standard Time" }, { "Pacific/Auckland", "New Zealand Standard Time" },
  { "Africa/Johannesburg", "South Africa Standard Time" }, { "Africa/Cairo", "Egypt Standard Time" },
  { "Africa/Lagos", "W. Central Africa Standard Time" }, { "Africa/Nairobi", "E. Africa Standard Time" },
};

const char *
nl_timezone_windows (const char *iana)
{
  for (guint i = 0; iana != NULL && i < G_N_ELEMENTS (time_zones); i++)
    if (g_str_equal (time_zones[i].iana, iana))
      return time_zones[i].windows;
  return NULL;
}

gboolean
nl_timezone_is_valid (const char *iana)
{
  /* Area/Location[/Sub] in tzdata's spelling, or a table entry ("UTC"). */
  g_auto (GStrv) parts = NULL;
  guint n;

  if (nl_timezone_windows (iana) != NULL)
    return TRUE;
  if (iana == NULL || strlen (iana) > 64)
    return FALSE;
  parts = g_strsplit (iana, "/", -1);
  n = g_strv_length (parts);
  if (n < 2 || n > 3)
    return FALSE;
  for (guint i = 0; i < n; i++)
    {
      if (!g_ascii_isupper (parts[i][0]))
        return FALSE;
      for (const char *p = parts[i]; *p; p++)
        if (!g_ascii_isalnum (*p) && *p != '_' && *p != '-' && *p != '+')
          return FALSE;
    }
  return TRUE;
}

char *
nl_state_path (const char *what)
{
  const char *env = g_getenv ("NESTLAB_STATE_DIR");
  return g_build_filename (env && *env ? env : "/var/lib/nestlab", what, NULL);
}
