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

/* ------------------------------------------------------------------ */
/* Schema validation                                                    */

G_DEFINE_AUTOPTR_CLEANUP_FUNC (xmlRelaxNGValidCtxt, xmlRelaxNGFreeValidCtxt)

typedef struct {
  guint complaints;
  char *message;  /* the first complaint */
  char *element;  /* the element it names, while it has no line */
  int line;       /* 0 while it has none */
} SchemaReport;

/* The element a complaint of libxml2's RelaxNG validator names, for those
 * whose message names one. */
static const char *
complaint_element (const xmlError *err)
{
  switch (err->code)
    {
    case XML_RELAXNG_ERR_ELEMNAME: /* "Expecting element %s, got %s" */
      return err->str2;
    case XML_RELAXNG_ERR_INTEREXTRA:
    case XML_RELAXNG_ERR_ATTRVALID:
    case XML_RELAXNG_ERR_CONTENTVALID:
    case XML_RELAXNG_ERR_EXTRACONTENT:
    case XML_RELAXNG_ERR_ELEMNOTEMPTY:
    case XML_RELAXNG_ERR_ELEMEXTRANS:
    case XML_RELAXNG_ERR_ELEMWRONG:
      return err->str1;
    default:
      return NULL;
    }
}

static gboolean
is_named (xmlNodePtr node, const char *name)
{
  return node->type == XML_ELEMENT_NODE && xmlStrEqual (node->name, (const xmlChar *) name);
}

/* Below PARENT, in document order, the first element named NAME that
 * follows a sibling of the same name; *FIRST becomes the first of that
 * name. */
static xmlNodePtr
repeat_below (xmlNodePtr parent, const char *name, xmlNodePtr *first)
{
  gboolean seen = FALSE;

  for (xmlNodePtr c = xmlFirstElementChild (parent); c != NULL; c = xmlNextElementSibling (c))
    {
      xmlNodePtr found;
      if (is_named (c, name))
        {
          if (seen)
            return c;
          seen = TRUE;
          if (*first == NULL)
            *first = c;
        }
      if ((found = repeat_below (c, name, first)) != NULL)
        return found;
    }
  return NULL;
}

/* The element NAME near NODE, where the validator stood when it next
 * complained: NODE or an ancestor of that name; else, below NODE, the
 * first that repeats a sibling (an interleave refuses a second <disk>
 * most often), else the first of that name; else NODE itself. */
static xmlNodePtr
element_near (xmlNodePtr node, const char *name)
{
  xmlNodePtr first = NULL;
  xmlNodePtr repeat;

  if (name == NULL)
    return node;
  for (xmlNodePtr n = node; n != NULL && n->type == XML_ELEMENT_NODE; n = n->parent)
    if (is_named (n, name))
      return n;
  repeat = repeat_below (node, name, &first);
  if (repeat != NULL)
    return repeat;
  return first != NULL ? first : node;
}

static void
schema_complaint (void *data, xmlErrorPtr err)
{
  SchemaReport *report = data;
  xmlNodePtr node = err->node;

  if (report->complaints++ == 0)
    {
      report->message = g_strchomp (g_strdup (err->message ? err->message : "invalid"));
      if (node != NULL)
        report->line = (int) xmlGetLineNo (node);
      else if (err->line > 0)
        report->line = err->line;
      if (report->line <= 0)
        {
          report->line = 0;
          report->element = g_strdup (complaint_element (err));
        }
      return;
    }
  /* libxml2 follows its first complaint with one about every enclosing
   * pattern; only the first helps, but when it came without a node, the
   * first of the cascade that has one says where the validator stood. */
  if (report->line == 0 && node != NULL)
    report->line = MAX (0, (int) xmlGetLineNo (element_near (node, report->element)));
}

gboolean
nl_screen_validate (xmlDocPtr doc, xmlRelaxNGPtr schema, int *line, char **message)
{
  g_autoptr (xmlRelaxNGValidCtxt) vctxt = xmlRelaxNGNewValidCtxt (schema);
  SchemaReport report = { 0 };
  int status;

  xmlRelaxNGSetValidStructuredErrors (vctxt, schema_complaint, &report);
  status = xmlRelaxNGValidateDoc (vctxt, doc);
  g_free (report.element);
  if (status == 0)
    {
      g_free (report.message);
      return TRUE;
    }
  *line = report.line;
  *message = report.message;
  return FALSE;
}
