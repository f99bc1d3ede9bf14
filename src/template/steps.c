/* Provisioning steps in templates and role recipes: parsed from <step>
 * elements, expanded per machine (the template's before-role steps, the
 * recipes of its role, the template's after-role steps), their after=
 * references resolved to "MACHINE:STEP" and checked (unknown steps,
 * circles), each given the digest of its definition. */
#include <string.h>

#include <libxml/tree.h>

#include <nestlab/doc.h>
#include <nestlab/error.h>
#include <nestlab/template.h>
#include "loader.h"
#include "nl-config.h"

/* Largest script or copied file, in bytes. */
#define NL_STEP_MAX_FILE (16 * 1024 * 1024)
#define NL_RECIPE_MAX_SIZE (1024 * 1024)
#define NL_RECIPE_MAX_DEPTH 8

GResource *nl_resources_get_resource (void);

static const NlDocKind recipe_kind = { "recipes", "a role recipe", NL_RECIPE_MAX_SIZE, NL_RECIPE_MAX_DEPTH,
                                       nl_resources_get_resource, "/dev/nestlab/schema/recipe.rng",
                                       "recipe schema" };

char *
nl_template_roles_dir (void)
{
  const char *env = g_getenv ("NESTLAB_ROLES_DIR");
  if (env && *env)
    return g_strdup (env);
  /* Installed, else the source tree (running from a build folder). */
  if (g_file_test (NL_ROLES_DIR, G_FILE_TEST_IS_DIR))
    return g_strdup (NL_ROLES_DIR);
  return g_build_filename (NL_SOURCE_ROOT, "templates", "roles", NULL);
}

static char *
text_of (xmlNodePtr node)
{
  xmlChar *t = xmlNodeGetContent (node);
  char *r = g_strdup ((const char *) t);
  xmlFree (t);
  return r;
}

/* A file a step names, relative to the file the step is in. */
static gboolean
read_step_file (NlLoader *loader, xmlNodePtr node, NlStep *step, const char *name)
{
  g_autofree char *dir = g_path_get_dirname ((const char *) node->doc->URL);
  g_autofree char *path = g_path_is_absolute (name) ? g_strdup (name) : g_build_filename (dir, name, NULL);
  g_autoptr (GError) error = NULL;

  step->file = g_strdup (name);
  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
    {
      nl_loader_diag (loader, node, "step '%s': no file %s", step->name, path);
      return FALSE;
    }
  if (!g_file_get_contents (path, &step->text, &step->text_len, &error))
    {
      nl_loader_diag (loader, node, "step '%s': %s", step->name, error->message);
      return FALSE;
    }
  if (step->text_len > NL_STEP_MAX_FILE)
    {
      nl_loader_diag (loader, node, "step '%s': %s is larger than %d MiB", step->name, path,
                      NL_STEP_MAX_FILE >> 20);
      return FALSE;
    }
  return TRUE;
}

static void
parse_action (NlLoader *loader, xmlNodePtr a, NlStep *step)
{
  g_autofree char *file = nl_loader_attr (loader, a, "file");

  step->kind = nl_step_kind_from_string ((const char *) a->name);
  switch (step->kind)
    {
    case NL_STEP_RUN:
    case NL_STEP_WAIT:
      step->text = text_of (a);
      step->text_len = strlen (step->text);
      if (step->kind == NL_STEP_WAIT)
        {
          g_autofree char *interval = nl_loader_attr (loader, a, "interval");
          g_autoptr (GError) error = NULL;
          if (interval && (!nl_parse_duration (interval, &step->interval, &error) || step->interval == 0))
            nl_loader_diag (loader, a, "step '%s': interval '%s': %s", step->name, interval,
                            error ? error->message : "must be at least 1s");
        }
      break;
    case NL_STEP_SCRIPT:
      read_step_file (loader, a, step, file);
      break;
    case NL_STEP_COPY:
      step->to = nl_loader_attr (loader, a, "to");
      read_step_file (loader, a, step, file);
      break;
    case NL_STEP_EXEC:
      {
        g_autoptr (GStrvBuilder) argv = g_strv_builder_new ();
        for (xmlNodePtr c = a->children; c; c = c->next)
          if (c->type == XML_ELEMENT_NODE)
            {
              g_autofree char *arg = text_of (c);
              g_strv_builder_add (argv, arg);
            }
        step->argv = g_strv_builder_end (argv);
      }
      break;
    case NL_STEP_REBOOT:
    case NL_STEP_KIND_LAST:
      break;
    }
}

/* One <step> element (valid against the schema). ORIGIN: the recipe it is
 * from, or NULL. */
static NlStep *
parse_step (NlLoader *loader, xmlNodePtr node, const char *origin)
{
  g_autoptr (NlStep) step = nl_step_new ();
  g_autofree char *after = nl_loader_attr (loader, node, "after");
  g_autofree char *timeout = nl_loader_attr (loader, node, "timeout");
  g_autofree char *retries = nl_loader_attr (loader, node, "retries");
  g_autofree char *idempotent = nl_loader_attr (loader, node, "idempotent");
  g_autofree char *phase = nl_loader_attr (loader, node, "phase");
  g_autofree char *secrets = nl_loader_attr (loader, node, "secrets");

  step->name = nl_loader_attr (loader, node, "name");
  step->origin = g_strdup (origin);
  step->src.file = g_strdup ((const char *) node->doc->URL);
  step->src.line = xmlGetLineNo (node);
  if (!nl_name_is_safe (step->name))
    nl_loader_diag (loader, node, "step name '%s' is not allowed: use [A-Za-z0-9][A-Za-z0-9._-]*", step->name);
  if (timeout)
    {
      g_autoptr (GError) error = NULL;
      if (!nl_parse_duration (timeout, &step->timeout, &error) || step->timeout == 0)
        nl_loader_diag (loader, node, "step '%s': timeout '%s': %s", step->name, timeout,
                        error ? error->message : "must be at least 1s");
    }
  if (retries)
    {
      guint64 n = 0;
      if (!g_ascii_string_to_unsigned (retries, 10, 0, 100, &n, NULL))
        nl_loader_diag (loader, node, "step '%s': retries '%s' is not a number from 0 to 100", step->name, retries);
      step->retries = (guint) n;
    }
  if (idempotent)
    step->idempotent = g_str_equal (idempotent, "yes");
  step->before_role = g_strcmp0 (phase, "before-role") == 0;
  step->after = after ? g_strsplit_set (g_strstrip (after), " \t\n", -1) : NULL;
  step->secrets = secrets ? g_strsplit_set (g_strstrip (secrets), " \t\n", -1) : NULL;
  for (xmlNodePtr a = node->children; a; a = a->next)
    if (a->type == XML_ELEMENT_NODE)
      parse_action (loader, a, step);
  return g_steal_pointer (&step);
}

void
nl_loader_parse_steps (NlLoader *loader, xmlNodePtr node, NlMachine *proto)
{
  proto->recipe = nl_loader_attr (loader, node, "recipe");
  for (xmlNodePtr c = node->children; c; c = c->next)
    if (c->type == XML_ELEMENT_NODE && xmlStrEqual (c->name, (const xmlChar *) "step"))
      g_ptr_array_add (proto->steps, parse_step (loader, c, NULL));
}

/* The steps of the recipe at PATH (parsed once per load), or NULL after a
 * diagnostic. */
static GPtrArray *
recipe_steps (NlLoader *loader, GHashTable *cache, const char *path)
{
  GPtrArray *steps = g_hash_table_lookup (cache, path);
  g_autoptr (xmlDoc) doc = NULL;
  g_autofree char *message = NULL;
  int line = 0;

  if (steps != NULL || g_hash_table_contains (cache, path))
    return steps;
  doc = nl_doc_load (path, &recipe_kind, "recipe", NULL, NULL, &line, &message);
  if (doc == NULL)
    nl_loader_diag_at (loader, path, line, "%s", message);
  else
    {
      steps = g_ptr_array_new_with_free_func ((GDestroyNotify) nl_step_free);
      for (xmlNodePtr c = xmlDocGetRootElement (doc)->children; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE && xmlStrEqual (c->name, (const xmlChar *) "step"))
          g_ptr_array_add (steps, parse_step (loader, c, path));
    }
  g_hash_table_insert (cache, g_strdup (path), steps);
  return steps;
}

static void
add_recipe (NlLoader *loader, GHashTable *cache, NlMachine *m, GPtrArray *out, const char *path)
{
  GPtrArray *steps = recipe_steps (loader, cache, path);
  for (guint i = 0; steps && i < steps->len; i++)
    g_ptr_array_add (out, nl_step_copy (steps->pdata[i]));
}

/* The recipes MACHINE runs, in order: a Windows member of the lab's domain
 * first proves (or makes) its join, then its role's (Windows roles only in
 * a lab with a domain). */
static void
recipe_paths (NlLoader *loader, const NlMachine *m, GPtrArray *paths)
{
  g_autofree char *roles = nl_template_roles_dir ();
  const char *family = nl_os_family_to_string (m->os_family);
  g_autofree char *role = NULL;

  if (g_strcmp0 (m->recipe, "none") == 0)
    return;
  if (m->os_family == NL_OS_FAMILY_WINDOWS && m->role != NL_ROLE_DOMAIN_CONTROLLER
      && nl_lab_machine_joins (loader->lab, m) != NULL)
    {
      char *member = g_build_filename (roles, family, "member.xml", NULL);
      if (g_file_test (member, G_FILE_TEST_IS_REGULAR))
        g_ptr_array_add (paths, member);
      else
        g_free (member);
    }
  if (m->recipe != NULL)
    {
      g_autofree char *dir = g_path_get_dirname (m->src.file);
      g_ptr_array_add (paths, g_path_is_absolute (m->recipe) ? g_strdup (m->recipe)
                                                              : g_build_filename (dir, m->recipe, NULL));
      return;
    }
  /* The shipped Windows roles build and join an Active Directory domain:
   * in a lab without one, machines keep only their template's steps. */
  if (m->os_family == NL_OS_FAMILY_WINDOWS && loader->lab->domain == NULL)
    return;
  role = g_strdup_printf ("%s.xml", nl_role_to_string (m->role));
  {
    char *path = g_build_filename (roles, family, role, NULL);
    if (m->role != NL_ROLE_GENERIC && g_file_test (path, G_FILE_TEST_IS_REGULAR))
      g_ptr_array_add (paths, path);
    else
      g_free (path);
  }
}

static void
diag_step (NlLoader *loader, const NlStep *step, const char *format, ...) G_GNUC_PRINTF (3, 4);

static void
diag_step (NlLoader *loader, const NlStep *step, const char *format, ...)
{
  va_list ap;
  g_autofree char *msg = NULL;

  va_start (ap, format);
  msg = g_strdup_vprintf (format, ap);
  va_end (ap);
  nl_loader_diag_at (loader, step->src.file, step->src.line, "%s", msg);
}

/* "@ROLE:STEP" and "MACHINE:STEP" of step S of machine M as "MACHINE:STEP"
 * entries, every one checked. */
static void
resolve_after (NlLoader *loader, NlMachine *m, NlStep *s)
{
  g_autoptr (GStrvBuilder) out = g_strv_builder_new ();

  for (char **a = s->after; a && *a; a++)
    {
      const char *colon = strchr (*a, ':');
      g_autofree char *who = colon ? g_strndup (*a, colon - *a) : NULL;
      const char *what = colon ? colon + 1 : NULL;

      if (**a == '\0')
        continue;
      if (who == NULL || *what == '\0' || *who == '\0')
        {
          diag_step (loader, s, "machine '%s', step '%s': after '%s': expected MACHINE:STEP or @ROLE:STEP",
                     m->name, s->name, *a);
          continue;
        }
      if (who[0] == '@')
        {
          int role = nl_role_from_string (who + 1);
          if (role < 0)
            {
              diag_step (loader, s, "machine '%s', step '%s': after '%s': no role '%s'", m->name, s->name, *a,
                         who + 1);
              continue;
            }
          /* Every machine of the role that has the step (none: nothing to wait for). */
          for (guint i = 0; i < loader->lab->machines->len; i++)
            {
              NlMachine *o = loader->lab->machines->pdata[i];
              if ((int) o->role == role && o != m && nl_machine_find_step (o, what))
                {
                  g_autofree char *ref = g_strdup_printf ("%s:%s", o->name, what);
                  g_strv_builder_add (out, ref);
                }
            }
          continue;
        }
      {
        NlMachine *o = nl_lab_find_machine (loader->lab, who);
        if (o == NULL)
          diag_step (loader, s, "machine '%s', step '%s': after '%s': no machine '%s'", m->name, s->name, *a, who);
        else if (nl_machine_find_step (o, what) == NULL)
          diag_step (loader, s, "machine '%s', step '%s': after '%s': machine '%s' has no step '%s'", m->name,
                     s->name, *a, who, what);
        else
          g_strv_builder_add (out, *a);
      }
    }
  g_strfreev (s->after);
  s->after = g_strv_builder_end (out);
}

/* The lab secret behind each of S's secret names: a declared secret of
 * that name, else, for recipes (which cannot know a lab's names), the
 * domain's administrator (domain-admin) and restore mode (dsrm) passwords
 * and the machine's administrator password (local-admin). */
static void
resolve_secrets (NlLoader *loader, const NlMachine *m, NlStep *s)
{
  const NlDomain *domain = loader->lab->domain;
  g_autoptr (GStrvBuilder) sources = g_strv_builder_new ();
  g_autoptr (GStrvBuilder) names = g_strv_builder_new ();

  for (char **n = s->secrets; n && *n; n++)
    {
      const char *source = NULL;
      if (**n == '\0')
        continue;
      if (nl_lab_find_secret (loader->lab, *n) != NULL)
        source = *n;
      else if (g_str_equal (*n, "domain-admin") && domain)
        source = domain->admin_password;
      else if (g_str_equal (*n, "dsrm") && domain)
        source = domain->safe_mode_password;
      else if (g_str_equal (*n, "local-admin"))
        source = m->admin_password;
      if (source == NULL || nl_lab_find_secret (loader->lab, source) == NULL)
        {
          diag_step (loader, s, "machine '%s', step '%s': no secret '%s' is declared%s", m->name, s->name, *n,
                     (g_str_equal (*n, "domain-admin") || g_str_equal (*n, "dsrm")) && domain == NULL
                       ? " (and the lab has no <domain> whose password it could be)" : "");
          continue;
        }
      g_strv_builder_add (names, *n);
      g_strv_builder_add (sources, source);
    }
  g_strfreev (s->secrets);
  s->secrets = g_strv_builder_end (names);
  s->secret_sources = g_strv_builder_end (sources);
}

static void
digest_step (NlStep *s)
{
  g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  g_autofree char *numbers = g_strdup_printf ("%u/%u/%u/%d", s->timeout, s->retries, s->interval, s->idempotent);

#define FIELD(text, len) \
  do { g_checksum_update (sum, (const guchar *) ((text) ? (text) : ""), (len)); \
       g_checksum_update (sum, (const guchar *) "", 1); } while (0)
  FIELD (nl_step_kind_to_string (s->kind), -1);
  FIELD (s->name, -1);
  FIELD (s->text, s->text ? (gssize) s->text_len : 0);
  FIELD (s->to, -1);
  for (char **a = s->argv; a && *a; a++)
    FIELD (*a, -1);
  FIELD ("|", -1);
  for (char **a = s->after; a && *a; a++)
    FIELD (*a, -1);
  FIELD ("|", -1);
  for (char **a = s->secrets; a && *a; a++)
    FIELD (*a, -1);
  for (char **a = s->secret_sources; a && *a; a++)
    FIELD (*a, -1);
  FIELD (numbers, -1);
#undef FIELD
  s->digest = g_strdup (g_checksum_get_string (sum));
}

/* Circles of waiting: a step waits for the one before it on its machine
 * and for its after= steps. Reports the first circle found. */
typedef struct {
  NlLoader *loader;
  GHashTable *state;   /* "MACHINE:STEP" -> 1 visiting, 2 done */
  GPtrArray *path;
} Walk;

static gboolean
walk (Walk *w, NlMachine *m, guint index)
{
  NlStep *s = m->steps->pdata[index];
  g_autofree char *key = g_strdup_printf ("%s:%s", m->name, s->name);
  guint st = GPOINTER_TO_UINT (g_hash_table_lookup (w->state, key));

  if (st == 2)
    return TRUE;
  if (st == 1)
    {
      g_autoptr (GString) circle = g_string_new (NULL);
      gboolean in = FALSE;
      for (guint i = 0; i < w->path->len; i++)
        {
          in = in || g_str_equal (w->path->pdata[i], key);
          if (in)
            g_string_append_printf (circle, "%s -> ", (char *) w->path->pdata[i]);
        }
      g_string_append (circle, key);
      diag_step (w->loader, s, "steps wait for each other in a circle: %s", circle->str);
      return FALSE;
    }
  g_hash_table_insert (w->state, g_strdup (key), GUINT_TO_POINTER (1));
  g_ptr_array_add (w->path, g_strdup (key));
  if (index > 0 && !walk (w, m, index - 1))
    return FALSE;
  for (char **a = s->after; a && *a; a++)
    {
      g_autofree char *who = g_strndup (*a, strchr (*a, ':') - *a);
      NlMachine *o = nl_lab_find_machine (w->loader->lab, who);
      const char *what = strchr (*a, ':') + 1;
      for (guint i = 0; o && i < o->steps->len; i++)
        if (g_str_equal (((NlStep *) o->steps->pdata[i])->name, what) && !walk (w, o, i))
          return FALSE;
    }
  g_ptr_array_remove_index (w->path, w->path->len - 1);
  g_hash_table_insert (w->state, g_strdup (key), GUINT_TO_POINTER (2));
  return TRUE;
}

void
nl_loader_expand_steps (NlLoader *loader)
{
  NlLab *lab = loader->lab;
  g_autoptr (GHashTable) cache = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                        (GDestroyNotify) g_ptr_array_unref);
  guint before = loader->diags->len;

  for (guint i = 0; i < lab->machines->len; i++)
    {
      NlMachine *m = lab->machines->pdata[i];
      g_autoptr (GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
      GPtrArray *steps = g_ptr_array_new_with_free_func ((GDestroyNotify) nl_step_free);
      g_autoptr (GHashTable) names = g_hash_table_new (g_str_hash, g_str_equal);

      recipe_paths (loader, m, paths);
      for (guint k = 0; k < m->steps->len; k++)
        if (((NlStep *) m->steps->pdata[k])->before_role)
          g_ptr_array_add (steps, nl_step_copy (m->steps->pdata[k]));
      for (guint k = 0; k < paths->len; k++)
        add_recipe (loader, cache, m, steps, paths->pdata[k]);
      for (guint k = 0; k < m->steps->len; k++)
        if (!((NlStep *) m->steps->pdata[k])->before_role)
          g_ptr_array_add (steps, nl_step_copy (m->steps->pdata[k]));
      g_ptr_array_unref (m->steps);
      m->steps = steps;
      for (guint k = 0; k < steps->len; k++)
        {
          NlStep *s = steps->pdata[k];
          if (g_hash_table_contains (names, s->name))
            diag_step (loader, s, "machine '%s' has two steps named '%s'", m->name, s->name);
          g_hash_table_add (names, s->name);
          resolve_secrets (loader, m, s);
          if (s->kind == NL_STEP_COPY && m->os_family == NL_OS_FAMILY_LINUX && s->to && s->to[0] != '/')
            diag_step (loader, s, "machine '%s', step '%s': copy to '%s': expected an absolute path", m->name,
                       s->name, s->to);
        }
    }
  for (guint i = 0; i < lab->machines->len; i++)
    {
      NlMachine *m = lab->machines->pdata[i];
      for (guint k = 0; k < m->steps->len; k++)
        resolve_after (loader, m, m->steps->pdata[k]);
    }
  if (loader->diags->len > before)
    return;
  {
    Walk w = { loader, g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL),
               g_ptr_array_new_with_free_func (g_free) };
    for (guint i = 0; i < lab->machines->len; i++)
      {
        NlMachine *m = lab->machines->pdata[i];
        gboolean ok = TRUE;
        for (guint k = 0; ok && k < m->steps->len; k++)
          ok = walk (&w, m, k);
        if (!ok)
          break;
      }
    g_hash_table_unref (w.state);
    g_ptr_array_unref (w.path);
  }
  for (guint i = 0; i < lab->machines->len; i++)
    {
      NlMachine *m = lab->machines->pdata[i];
      for (guint k = 0; k < m->steps->len; k++)
        digest_step (m->steps->pdata[k]);
    }
}
