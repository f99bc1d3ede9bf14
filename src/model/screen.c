/* Screening of XML input files before parsing; see nestlab/screen.h. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nestlab/screen.h>

static int
line_of_offset (const char *text, gsize offset)
{
  int line = 1;
  for (gsize i = 0; i < offset; i++)
    if (text[i] == '\n')
      line++;
  return line;
}

static char *
refuse (int *line, char **message, int at, char *text)
{
  *line = at;
  *message = text;
  return NULL;
}

char *
nl_screen_read (const char *path, const NlScreenKind *kind, gsize *length, int *line,
                char **message)
{
  g_autofree char *contents = NULL;
  struct stat st;
  const char *bad;
  gsize len = 0;
  int fd;

  fd = open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0)
    return refuse (line, message, 0, g_strdup_printf ("cannot read: %s", g_strerror (errno)));
  if (fstat (fd, &st) < 0 || !S_ISREG (st.st_mode))
    {
      close (fd);
      return refuse (line, message, 0, g_strdup ("not a regular file"));
    }
  if ((guint64) st.st_size > kind->max_size)
    {
      close (fd);
      return refuse (line, message, 0,
                     g_strdup_printf ("file is %jd bytes; %s are at most %" G_GSIZE_FORMAT " bytes",
                                      (intmax_t) st.st_size, kind->plural, kind->max_size));
    }
  contents = g_malloc (st.st_size + 1);
  while (len < (gsize) st.st_size)
    {
      ssize_t n = read (fd, contents + len, st.st_size - len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      len += n;
    }
  close (fd);
  contents[len] = '\0';

  if (len == 0 || strspn (contents, " \t\r\n") == len)
    return refuse (line, message, 0, g_strdup ("file is empty"));
  if ((bad = memchr (contents, '\0', len)) != NULL)
    return refuse (line, message, line_of_offset (contents, bad - contents),
                   g_strdup_printf ("binary content (a NUL byte): not %s", kind->a));
  if (!g_utf8_validate (contents, len, &bad))
    return refuse (line, message, line_of_offset (contents, bad - contents),
                   g_strdup_printf ("not valid UTF-8: not %s", kind->a));
  if ((bad = strstr (contents, "<!DOCTYPE")) != NULL || (bad = strstr (contents, "<!ENTITY")) != NULL)
    return refuse (line, message, line_of_offset (contents, bad - contents),
                   g_strdup_printf ("document type declarations (<!DOCTYPE>, <!ENTITY>) are not "
                                    "allowed in %s", kind->plural));
  *length = len;
  return g_steal_pointer (&contents);
}

xmlNodePtr
nl_screen_too_deep (xmlNodePtr first, int max_depth)
{
  for (xmlNodePtr c = first; c != NULL; c = c->next)
    {
      xmlNodePtr deep;
      if (c->type != XML_ELEMENT_NODE)
        continue;
      if (max_depth < 1)
        return c;
      if ((deep = nl_screen_too_deep (c->children, max_depth - 1)) != NULL)
        return deep;
    }
  return NULL;
}
