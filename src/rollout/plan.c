/* Rollout plans: screen the file for hostile input, parse it with libxml2
 * (no network, no DTD, no entities), validate it against the embedded
 * RelaxNG schema, then check its meaning. Every problem becomes a
 * "FILE:LINE: message" line; a bad plan never reaches the executor. */
#include <string.h>

#include <gio/gio.h>
#include <libxml/parser.h>

#include <nestlab/doc.h>
#include <nestlab/error.h>
#include <nestlab/rollout.h>

NL_ENUM_IMPL (nl_severity, NL_SEVERITY_LAST, "critical", "important", "moderate", "low")
NL_ENUM_IMPL (nl_target_kind, NL_TARGET_LAST, "lab", "domain")
NL_ENUM_IMPL (nl_health_kind, NL_HEALTH_LAST, "agent", "command")
NL_ENUM_IMPL (nl_stop_action, NL_STOP_LAST, "save", "shutdown", "migrate")
NL_ENUM_IMPL (nl_host_run, NL_HOST_RUN_LAST, "local", "ssh")

/* From the compiled resource bundle (templates/schema). */

#define SCHEMA_PATH "/dev/nestlab/schema/rollout.rng"
#define MAX_DEPTH 16


/* ------------------------------------------------------------------ */
/* Freeing                                                              */

static void
guest_command_free (NlGuestCommand *cmd)
{
  if (cmd == NULL)
    return;
  g_strfreev (cmd->argv);
  g_free (cmd);
}

static void
patch_free (NlPatch *patch)
{
  if (patch == NULL)
    return;
  g_free (patch->id);
  g_free (patch->title);
  g_clear_pointer (&patch->install, g_ptr_array_unref);
  g_clear_pointer (&patch->check, g_ptr_array_unref);
  g_free (patch->src.file);
  g_free (patch);
}

static void
selector_free (NlTargetSelector *sel)
{
  if (sel == NULL)
    return;
  g_free (sel->lab);
  g_free (sel->role);
  g_free (sel->machines);
  g_free (sel->domain);
  g_free (sel->src.file);
  g_free (sel);
}

static void
host_guest_free (NlHostGuest *guest)
{
  if (guest == NULL)
    return;
  g_free (guest->name);
  g_free (guest->src.file);
  g_free (guest);
}

static void
host_free (NlHostTarget *host)
{
  if (host == NULL)
    return;
  g_free (host->name);
  g_free (host->uri);
  g_free (host->lab);
  g_free (host->machine);
  g_free (host->peer);
  g_free (host->migrate_uri);
  g_strfreev (host->update);
  g_strfreev (host->reboot);
  g_strfreev (host->boot_id);
  g_strfreev (host->check);
  g_clear_pointer (&host->guests, g_ptr_array_unref);
  g_free (host->src.file);
  g_free (host);
}

static void
health_free (NlHealthCheck *hc)
{
  if (hc == NULL)
    return;
  g_free (hc->name);
  g_clear_pointer (&hc->commands, g_ptr_array_unref);
  g_free (hc->src.file);
  g_free (hc);
}

static void
ring_free (NlRing *ring)
{
  if (ring == NULL)
    return;
  g_free (ring->name);
  g_strfreev (ring->select);
  g_free (ring->batches);
  g_free (ring->src.file);
  g_free (ring);
}

static void
window_free (NlWindow *window)
{
  if (window == NULL)
    return;
  g_free (window->timezone);
  g_free (window->src.file);
  g_free (window);
}

void
nl_rollout_plan_free (NlRolloutPlan *plan)
{
  if (plan == NULL)
    return;
  g_free (plan->id);
  g_free (plan->description);
  g_free (plan->file);
  g_free (plan->replica.pool);
  g_clear_pointer (&plan->patches, g_ptr_array_unref);
  g_clear_pointer (&plan->targets, g_ptr_array_unref);
  g_clear_pointer (&plan->hosts, g_ptr_array_unref);
  g_clear_pointer (&plan->health, g_ptr_array_unref);
  g_clear_pointer (&plan->rings, g_ptr_array_unref);
  g_clear_pointer (&plan->windows, g_ptr_array_unref);
  g_free (plan);
}

const NlGuestCommand *
nl_rollout_command_for (const GPtrArray *commands, NlOsFamily os)
{
  if (commands == NULL || commands->len == 0)
    return NULL;
  for (guint i = 0; i < commands->len; i++)
    {
      const NlGuestCommand *c = commands->pdata[i];
      if (c->os == os)
        return c;
    }
  return commands->len == 1 ? commands->pdata[0] : NULL;
}

char *
nl_host_target_where (const NlHostTarget *host)
{
  if (host->uri != NULL)
    return g_strdup (host->uri);
  return g_strdup_printf ("lab %s, machine %s", host->lab, host->machine);
}

const NlHostTarget *
nl_rollout_plan_find_host (const NlRolloutPlan *plan, const char *name)
{
  for (guint i = 0; plan->hosts && i < plan->hosts->len; i++)
    {
      const NlHostTarget *h = plan->hosts->pdata[i];
      if (g_strcmp0 (h->name, name) == 0)
        return h;
    }
  return NULL;
}

NlStopAction
nl_rollout_guest_stop (const NlRolloutPlan *plan, const NlHostTarget *host, const char *name)
{
  for (guint i = 0; host->guests && i < host->guests->len; i++)
    {
      const NlHostGuest *g = host->guests->pdata[i];
      if (g_strcmp0 (g->name, name) == 0)
        return g->stop;
    }
  return plan->host_policy.stop;
}

/* ------------------------------------------------------------------ */
/* Diagnostics                                                          */

typedef struct {
  const char *file;
  GPtrArray *diags;
} Ctx;

static void G_GNUC_PRINTF (3, 4)
diag (Ctx *ctx, int line, const char *format, ...)
{
  va_list ap;
  g_autofree char *msg = NULL;

  va_start (ap, format);
  msg = g_strdup_vprintf (format, ap);
  va_end (ap);
  if (line > 0)
    g_ptr_array_add (ctx->diags, g_strdup_printf ("%s:%d: %s", ctx->file, line, msg));
  else
    g_ptr_array_add (ctx->diags, g_strdup_printf ("%s: %s", ctx->file, msg));
}

#define DIAG(ctx, node, ...) diag ((ctx), (int) xmlGetLineNo (node), __VA_ARGS__)

GResource *nl_resources_get_resource (void);

static const NlDocKind plan_kind = { "rollout plans", "a rollout plan", NL_ROLLOUT_MAX_SIZE, MAX_DEPTH,
                                     nl_resources_get_resource, SCHEMA_PATH, "rollout plan schema" };

const char *
nl_rollout_schema (void)
{
  return nl_doc_schema_text (&plan_kind);
}

/* ------------------------------------------------------------------ */
/* Building the plan                                                    */

static gboolean
is_element (xmlNodePtr node, const char *name)
{
  return node->type == XML_ELEMENT_NODE && xmlStrEqual (node->name, (const xmlChar *) name);
}

static char *
attr (xmlNodePtr node, const char *name)
{
  xmlChar *value = xmlGetProp (node, (const xmlChar *) name);
  char *result = value ? g_strdup ((const char *) value) : NULL;
  xmlFree (value);
  return result;
}

static char *
text_of (xmlNodePtr node)
{
  xmlChar *value = xmlNodeGetContent (node);
  char *result = g_strdup (value ? (const char *) value : "");
  xmlFree (value);
  return result;
}

static void
source_set (Ctx *ctx, NlSource *src, xmlNodePtr node)
{
  src->file = g_strdup (ctx->file);
  src->line = xmlGetLineNo (node);
}

static gboolean
attr_duration (Ctx *ctx, xmlNodePtr node, const char *name, guint fallback, guint *out)
{
  g_autofree char *text = attr (node, name);
  g_autoptr (GError) local = NULL;

  *out = fallback;
  if (text == NULL)
    return TRUE;
  if (!nl_parse_duration (text, out, &local))
    {
      DIAG (ctx, node, "%s: %s", name, local->message);
      return FALSE;
    }
  return TRUE;
}

static gboolean
attr_yes (xmlNodePtr node, const char *name, gboolean fallback)
{
  g_autofree char *text = attr (node, name);
  return text ? g_str_equal (text, "yes") : fallback;
}

/* "/bin/sh", or for Windows guests "C:\\Windows\\..." and "\\\\server\\share\\...". */
static gboolean
program_is_absolute (const char *path)
{
  if (path[0] == '/')
    return TRUE;
  if (g_ascii_isalpha (path[0]) && path[1] == ':' && (path[2] == '\\' || path[2] == '/'))
    return TRUE;
  return path[0] == '\\' && path[1] == '\\';
}

static NlGuestCommand *
guest_command_new (Ctx *ctx, xmlNodePtr node, const char *what)
{
  g_autoptr (GPtrArray) args = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *os = attr (node, "os");
  NlGuestCommand *cmd;

  for (xmlNodePtr c = node->children; c; c = c->next)
    if (is_element (c, "arg"))
      g_ptr_array_add (args, text_of (c));
  if (args->len == 0 || !program_is_absolute (args->pdata[0]))
    {
      DIAG (ctx, node, "%s: the first <arg> must be the program's absolute path (commands run "
            "without a shell search path)", what);
      return NULL;
    }
  g_ptr_array_add (args, NULL);
  cmd = g_new0 (NlGuestCommand, 1);
  cmd->os = nl_os_family_from_string (os);
  cmd->argv = (char **) g_ptr_array_free (g_steal_pointer (&args), FALSE);
  return cmd;
}

/* Commands of NODE's children named NAME; a second one for the same OS is
 * an error. */
static GPtrArray *
guest_commands (Ctx *ctx, xmlNodePtr node, const char *name, const char *what)
{
  GPtrArray *cmds = g_ptr_array_new_with_free_func ((GDestroyNotify) guest_command_free);
  for (xmlNodePtr c = node->children; c; c = c->next)
    {
      NlGuestCommand *cmd;
      if (!is_element (c, name))
        continue;
      cmd = guest_command_new (ctx, c, what);
      if (cmd == NULL)
        continue;
      for (guint i = 0; i < cmds->len; i++)
        if (((NlGuestCommand *) cmds->pdata[i])->os == cmd->os)
          {
            DIAG (ctx, c, "%s: a second <%s> for os '%s'", what, name, nl_os_family_to_string (cmd->os));
            break;
          }
      g_ptr_array_add (cmds, cmd);
    }
  return cmds;
}

static void
parse_patch (Ctx *ctx, NlRolloutPlan *plan, xmlNodePtr node)
{
  NlPatch *patch = g_new0 (NlPatch, 1);
  g_autofree char *severity = attr (node, "severity");
  g_autofree char *what = NULL;

  source_set (ctx, &patch->src, node);
  patch->id = attr (node, "id");
  patch->title = attr (node, "title");
  patch->severity = nl_severity_from_string (severity);
  if ((int) patch->severity < 0)
    DIAG (ctx, node, "patch '%s': severity '%s' is not one of critical, important, moderate, low",
          patch->id, severity);
  {
    g_autofree char *reboot = attr (node, "reboot");
    patch->reboot = g_strcmp0 (reboot, "yes") == 0 ? NL_REBOOT_SHARED
                  : g_strcmp0 (reboot, "separate") == 0 ? NL_REBOOT_OWN : NL_REBOOT_NONE;
  }
  attr_duration (ctx, node, "timeout", 600, &patch->timeout);
  if (patch->timeout == 0)
    DIAG (ctx, node, "patch '%s': timeout must be more than 0", patch->id);
  what = g_strdup_printf ("patch '%s'", patch->id);
  patch->install = guest_commands (ctx, node, "install", what);
  patch->check = guest_commands (ctx, node, "check", what);
  for (guint i = 0; i < plan->patches->len; i++)
    if (g_str_equal (((NlPatch *) plan->patches->pdata[i])->id, patch->id))
      DIAG (ctx, node, "patch '%s' is listed twice (first at line %d)", patch->id,
            ((NlPatch *) plan->patches->pdata[i])->src.line);
  g_ptr_array_add (plan->patches, patch);
}

/* A stop action attribute; an unknown one is reported and leaves FALLBACK. */
static NlStopAction
attr_stop (Ctx *ctx, xmlNodePtr node, const char *what, NlStopAction fallback)
{
  g_autofree char *text = attr (node, "stop");
  int stop;

  if (text == NULL)
    return fallback;
  stop = nl_stop_action_from_string (text);
  if (stop < 0)
    {
      DIAG (ctx, node, "%s: stop action '%s' is not one of save, shutdown, migrate", what, text);
      return fallback;
    }
  return stop;
}

/* An argv list of <arg>s (host commands run as given, never through a
 * shell the plan did not ask for). */
static char **
host_command (xmlNodePtr node)
{
  GPtrArray *args = g_ptr_array_new ();
  for (xmlNodePtr c = node->children; c; c = c->next)
    if (is_element (c, "arg"))
      g_ptr_array_add (args, text_of (c));
  g_ptr_array_add (args, NULL);
  return (char **) g_ptr_array_free (args, FALSE);
}

/* Where the host's commands run: run="local|ssh", by default ssh when the
 * URI's transport is ssh, else local. ssh needs a host name in the URI. */
static NlHostRun
host_run (Ctx *ctx, xmlNodePtr node, const NlHostTarget *host)
{
  g_autofree char *text = attr (node, "run");
  g_autoptr (GUri) uri = NULL;

  if (host->uri == NULL)
    {
      /* A lab machine: its commands run inside it, through its agent. */
      if (text != NULL || host->migrate_uri != NULL || host->shared_storage)
        DIAG (ctx, node, "host '%s' is a machine of lab '%s': run, migrate-uri and "
              "shared-storage are for libvirt hosts", host->name, host->lab);
      return NL_HOST_RUN_LOCAL;
    }
  uri = g_uri_parse (host->uri, G_URI_FLAGS_NONE, NULL);
  const char *scheme = uri ? g_uri_get_scheme (uri) : NULL;
  gboolean ssh_uri = scheme && g_str_has_suffix (scheme, "+ssh");

  if (uri == NULL)
    {
      DIAG (ctx, node, "host '%s': '%s' is not a URI", host->name, host->uri);
      return NL_HOST_RUN_LOCAL;
    }
  if (text == NULL)
    return ssh_uri ? NL_HOST_RUN_SSH : NL_HOST_RUN_LOCAL;
  if (g_str_equal (text, "ssh") && (g_uri_get_host (uri) == NULL || *g_uri_get_host (uri) == '\0'))
    DIAG (ctx, node, "host '%s': run=\"ssh\" needs a host name in its URI '%s'", host->name,
          host->uri);
  return nl_host_run_from_string (text);
}

/* Guests are checked against the plan-wide stop action later, in
 * check_hosts, because <host-policy> may come after <targets>. */
static void
parse_host (Ctx *ctx, NlRolloutPlan *plan, xmlNodePtr node)
{
  NlHostTarget *host = g_new0 (NlHostTarget, 1);

  source_set (ctx, &host->src, node);
  host->name = attr (node, "name");
  host->uri = attr (node, "uri");
  host->lab = attr (node, "lab");
  host->machine = attr (node, "machine");
  host->peer = attr (node, "peer");
  host->patch = attr_yes (node, "patch", TRUE);
  host->migrate_uri = attr (node, "migrate-uri");
  host->shared_storage = attr_yes (node, "shared-storage", FALSE);
  attr_duration (ctx, node, "boot-timeout", 600, &host->boot_timeout);
  host->run = host_run (ctx, node, host);
  host->guests = g_ptr_array_new_with_free_func ((GDestroyNotify) host_guest_free);
  for (xmlNodePtr c = node->children; c; c = c->next)
    {
      NlHostGuest *guest;
      g_autofree char *what = NULL;
      if (is_element (c, "update"))
        {
          host->update = host_command (c);
          attr_duration (ctx, c, "timeout", 3600, &host->update_timeout);
        }
      else if (is_element (c, "reboot"))
        host->reboot = host_command (c);
      else if (is_element (c, "boot-id"))
        host->boot_id = host_command (c);
      else if (is_element (c, "check"))
        host->check = host_command (c);
      if (!is_element (c, "guest"))
        continue;
      guest = g_new0 (NlHostGuest, 1);
      source_set (ctx, &guest->src, c);
      guest->name = attr (c, "name");
      what = g_strdup_printf ("host '%s': guest '%s'", host->name, guest->name);
      /* NL_STOP_LAST: none of its own; the plan's applies. */
      guest->stop = attr_stop (ctx, c, what, NL_STOP_LAST);
      for (guint i = 0; i < host->guests->len; i++)
        {
          const NlHostGuest *o = host->guests->pdata[i];
          if (g_str_equal (o->name, guest->name))
            DIAG (ctx, c, "host '%s': guest '%s' is listed twice (first at line %d)", host->name,
                  guest->name, o->src.line);
        }
      g_ptr_array_add (host->guests, guest);
    }
  for (guint i = 0; i < plan->hosts->len; i++)
    {
      const NlHostTarget *o = plan->hosts->pdata[i];
      if (g_str_equal (o->name, host->name))
        DIAG (ctx, node, "host '%s' is listed twice (first at line %d)", host->name, o->src.line);
      else if (o->uri && host->uri && g_str_equal (o->uri, host->uri))
        DIAG (ctx, node, "host '%s': URI '%s' is host '%s' already", host->name, host->uri, o->name);
    }
  g_ptr_array_add (plan->hosts, host);
}

/* A URI without a host name (qemu:///system) names this machine. */
static gboolean
host_is_this_machine (const char *text)
{
  g_autoptr (GUri) uri = g_uri_parse (text, G_URI_FLAGS_NONE, NULL);
  const char *host = uri ? g_uri_get_host (uri) : NULL;
  return uri != NULL && (host == NULL || *host == '\0' || g_str_equal (host, "localhost"));
}

/* What needs every host known: peers, and migrations that need one. A
 * guest on two hosts at once is an error too: libvirt runs a domain in
 * one place. */
static void
check_hosts (Ctx *ctx, NlRolloutPlan *plan)
{
  for (guint i = 0; i < plan->hosts->len; i++)
    {
      NlHostTarget *host = plan->hosts->pdata[i];
      if (host->peer != NULL)
        {
          if (g_str_equal (host->peer, host->name))
            diag (ctx, host->src.line, "host '%s': its peer cannot be itself", host->name);
          else if (nl_rollout_plan_find_host (plan, host->peer) == NULL)
            diag (ctx, host->src.line, "host '%s': peer '%s' is not a <host> of this plan",
                  host->name, host->peer);
          else if ((nl_rollout_plan_find_host (plan, host->peer)->lab == NULL) != (host->lab == NULL))
            diag (ctx, host->src.line, "host '%s': peer '%s' must be a %s like it: migrations go "
                  "between hosts of one kind", host->name, host->peer,
                  host->lab ? "Hyper-V host of a lab" : "libvirt host");
        }
      if (!host->patch && host->guests->len > 0)
        diag (ctx, host->src.line, "host '%s' is not patched (patch=\"no\"), so its guests need "
              "no stop action", host->name);
      if (host->peer != NULL && !host->patch)
        diag (ctx, host->src.line, "host '%s': a host with patch=\"no\" is not drained, so it "
              "needs no peer", host->name);
      if (host->patch && host->uri && host->reboot == NULL && host->run == NL_HOST_RUN_LOCAL
          && host_is_this_machine (host->uri))
        diag (ctx, host->src.line, "host '%s': '%s' is the machine nestlab runs on, and rebooting "
              "it would stop the rollout; give it a <reboot> command, or patch=\"no\" for a peer "
              "that only takes migrations", host->name, host->uri);
      if (host->peer == NULL && host->patch && plan->host_policy.stop == NL_STOP_MIGRATE)
        diag (ctx, host->src.line,
              "host '%s': the plan's stop action is migrate, but the host has no peer "
              "(peer=\"HOST\")", host->name);
      for (guint g = 0; g < host->guests->len; g++)
        {
          NlHostGuest *guest = host->guests->pdata[g];
          if (guest->stop == NL_STOP_MIGRATE && host->peer == NULL)
            diag (ctx, guest->src.line, "host '%s': guest '%s' migrates, but the host has no peer "
                  "(peer=\"HOST\")", host->name, guest->name);
          if (guest->stop == NL_STOP_LAST)
            guest->stop = plan->host_policy.stop;
          for (guint j = 0; j < i; j++)
            {
              const NlHostTarget *o = plan->hosts->pdata[j];
              for (guint k = 0; k < o->guests->len; k++)
                if (g_str_equal (((NlHostGuest *) o->guests->pdata[k])->name, guest->name))
                  diag (ctx, guest->src.line, "guest '%s' is listed on host '%s' and on host '%s'",
                        guest->name, o->name, host->name);
            }
        }
    }
}

static void
parse_targets (Ctx *ctx, NlRolloutPlan *plan, xmlNodePtr node)
{
  for (xmlNodePtr c = node->children; c; c = c->next)
    {
      NlTargetSelector *sel;
      if (c->type != XML_ELEMENT_NODE)
        continue;
      if (is_element (c, "host"))
        {
          parse_host (ctx, plan, c);
          continue;
        }
      sel = g_new0 (NlTargetSelector, 1);
      source_set (ctx, &sel->src, c);
      if (is_element (c, "lab"))
        {
          sel->kind = NL_TARGET_LAB;
          sel->lab = attr (c, "name");
          sel->role = attr (c, "role");
          sel->machines = attr (c, "machines");
        }
      else
        {
          sel->kind = NL_TARGET_DOMAIN;
          sel->domain = attr (c, "name");
          for (guint i = 0; i < plan->targets->len; i++)
            {
              NlTargetSelector *o = plan->targets->pdata[i];
              if (o->kind == NL_TARGET_DOMAIN && g_str_equal (o->domain, sel->domain))
                DIAG (ctx, c, "domain '%s' is listed twice", sel->domain);
            }
        }
      g_ptr_array_add (plan->targets, sel);
    }
}

static void
parse_health (Ctx *ctx, NlRolloutPlan *plan, xmlNodePtr node)
{
  NlHealthCheck *hc = g_new0 (NlHealthCheck, 1);
  g_autofree char *times = attr (node, "times");
  g_autofree char *what = NULL;

  source_set (ctx, &hc->src, node);
  hc->name = attr (node, "name");
  attr_duration (ctx, node, "timeout", 60, &hc->timeout);
  attr_duration (ctx, node, "interval", 5, &hc->interval);
  hc->times = times ? (guint) MIN (g_ascii_strtoull (times, NULL, 10), 1000) : 1;
  if (hc->times == 0)
    hc->times = 1;
  if (hc->timeout == 0)
    DIAG (ctx, node, "health check '%s': timeout must be more than 0", hc->name);
  hc->kind = NL_HEALTH_COMMAND;
  for (xmlNodePtr c = node->children; c; c = c->next)
    if (is_element (c, "agent"))
      hc->kind = NL_HEALTH_AGENT;
  what = g_strdup_printf ("health check '%s'", hc->name);
  hc->commands = guest_commands (ctx, node, "command", what);
  for (guint i = 0; i < plan->health->len; i++)
    if (g_str_equal (((NlHealthCheck *) plan->health->pdata[i])->name, hc->name))
      DIAG (ctx, node, "health check '%s' is listed twice", hc->name);
  g_ptr_array_add (plan->health, hc);
}

gboolean
nl_rollout_parse_amount (const char *text, NlAmount *amount, GError **error)
{
  const char *p = text;
  guint64 value = 0;

  if (text == NULL || !g_ascii_isdigit (*p))
    goto bad;
  while (g_ascii_isdigit (*p))
    {
      value = value * 10 + (*p++ - '0');
      if (value > 1000000)
        goto bad;
    }
  amount->percent = *p == '%';
  if (amount->percent)
    p++;
  if (*p != '\0' || (amount->percent && value > 100))
    goto bad;
  amount->value = value;
  return TRUE;
bad:
  g_set_error (error, NL_ERROR, NL_ERROR_INVALID,
               "'%s' is not an amount (a count such as 2, or a percentage up to 100%%)",
               text ? text : "");
  return FALSE;
}

static void
parse_ring (Ctx *ctx, NlRolloutPlan *plan, xmlNodePtr node)
{
  NlRing *ring = g_new0 (NlRing, 1);
  g_autofree char *select = attr (node, "select");
  g_autofree char *batches = attr (node, "batches");
  g_autofree char *parallel = attr (node, "max-parallel");
  g_autofree char *budget = attr (node, "failure-budget");
  g_auto (GStrv) words = NULL;
  g_autoptr (GArray) steps = g_array_new (FALSE, TRUE, sizeof (NlAmount));

  source_set (ctx, &ring->src, node);
  ring->name = attr (node, "name");
  ring->select = g_strsplit_set (select ? select : "*", " \t\n", -1);
  {
    /* Drop the empty words of repeated blanks. */
    guint j = 0;
    for (guint i = 0; ring->select[i]; i++)
      if (ring->select[i][0] != '\0')
        ring->select[j++] = ring->select[i];
      else
        g_free (ring->select[i]);
    ring->select[j] = NULL;
    if (j == 0)
      DIAG (ctx, node, "ring '%s': select is empty", ring->name);
  }
  words = g_strsplit_set (batches ? batches : "100%", " \t\n", -1);
  for (guint i = 0; words[i]; i++)
    {
      NlAmount a;
      g_autoptr (GError) local = NULL;
      if (words[i][0] == '\0' || g_str_equal (words[i], "then"))
        continue;
      if (!nl_rollout_parse_amount (words[i], &a, &local) || a.value == 0)
        {
          DIAG (ctx, node, "ring '%s': batches: %s", ring->name,
                local ? local->message : "a batch of 0 machines");
          continue;
        }
      g_array_append_val (steps, a);
    }
  ring->n_batches = steps->len;
  ring->batches = (NlAmount *) g_array_free (g_steal_pointer (&steps), FALSE);
  ring->max_parallel = parallel ? (guint) MIN (g_ascii_strtoull (parallel, NULL, 10), 256) : 1;
  if (ring->max_parallel == 0)
    ring->max_parallel = 1;
  if (budget != NULL)
    {
      g_autoptr (GError) local = NULL;
      if (!nl_rollout_parse_amount (budget, &ring->budget, &local))
        DIAG (ctx, node, "ring '%s': failure-budget: %s", ring->name, local->message);
    }
  attr_duration (ctx, node, "soak", 0, &ring->soak);
  {
    g_autofree char *reboot = attr (node, "reboot");
    ring->defer_reboot = g_strcmp0 (reboot, "defer") == 0;
  }
  for (guint i = 0; i < plan->rings->len; i++)
    if (g_str_equal (((NlRing *) plan->rings->pdata[i])->name, ring->name))
      DIAG (ctx, node, "ring '%s' is listed twice", ring->name);
  if (g_str_equal (ring->name, "replica"))
    DIAG (ctx, node, "'replica' is reserved for the replica stage; name the ring otherwise");
  g_ptr_array_add (plan->rings, ring);
}

static void
parse_window (Ctx *ctx, NlRolloutPlan *plan, xmlNodePtr node)
{
  static const char *const days[] = { "monday", "tuesday", "wednesday", "thursday",
                                      "friday", "saturday", "sunday" };
  NlWindow *w = g_new0 (NlWindow, 1);
  g_autofree char *week = attr (node, "week");
  g_autofree char *weekday = attr (node, "weekday");
  g_autofree char *offset = attr (node, "offset-days");
  g_autofree char *start = attr (node, "start");

  source_set (ctx, &w->src, node);
  w->week = g_str_equal (week, "last") ? -1 : (int) g_ascii_strtoll (week, NULL, 10);
  for (guint i = 0; i < G_N_ELEMENTS (days); i++)
    if (g_str_equal (days[i], weekday))
      w->weekday = G_DATE_MONDAY + i;
  w->offset_days = offset ? (int) g_ascii_strtoll (offset, NULL, 10) : 0;
  if (sscanf (start, "%d:%d", &w->hour, &w->minute) != 2)
    DIAG (ctx, node, "start '%s' is not HH:MM", start);
  attr_duration (ctx, node, "duration", 0, &w->duration);
  if (w->duration == 0)
    DIAG (ctx, node, "window: duration must be more than 0");
  else if (w->duration > 14 * 24 * 3600)
    DIAG (ctx, node, "window: duration is longer than 14 days");
  w->timezone = attr (node, "timezone");
  if (w->timezone != NULL)
    {
      g_autoptr (GTimeZone) tz = g_time_zone_new_identifier (w->timezone);
      if (tz == NULL)
        DIAG (ctx, node, "window: unknown time zone '%s' (an IANA name such as Europe/Berlin)",
              w->timezone);
    }
  g_ptr_array_add (plan->windows, w);
}

static NlRolloutPlan *
build_plan (Ctx *ctx, xmlNodePtr root)
{
  g_autoptr (NlRolloutPlan) plan = g_new0 (NlRolloutPlan, 1);

  plan->file = g_strdup (ctx->file);
  plan->id = attr (root, "name");
  plan->patches = g_ptr_array_new_with_free_func ((GDestroyNotify) patch_free);
  plan->targets = g_ptr_array_new_with_free_func ((GDestroyNotify) selector_free);
  plan->hosts = g_ptr_array_new_with_free_func ((GDestroyNotify) host_free);
  plan->host_policy.stop = NL_STOP_SHUTDOWN;
  plan->host_policy.shutdown_timeout = 300;
  plan->host_policy.migrate_back = TRUE;
  plan->host_policy.parallel = 4;
  plan->health = g_ptr_array_new_with_free_func ((GDestroyNotify) health_free);
  plan->rings = g_ptr_array_new_with_free_func ((GDestroyNotify) ring_free);
  plan->windows = g_ptr_array_new_with_free_func ((GDestroyNotify) window_free);
  plan->replica.enabled = TRUE;
  plan->replica.boot_timeout = 120;
  plan->replica.pool = g_strdup ("default");
  attr_duration (ctx, root, "agent-timeout", 120, &plan->agent_timeout);

  for (xmlNodePtr c = root->children; c; c = c->next)
    {
      if (c->type != XML_ELEMENT_NODE)
        continue;
      if (is_element (c, "description"))
        plan->description = text_of (c);
      else if (is_element (c, "patch"))
        parse_patch (ctx, plan, c);
      else if (is_element (c, "targets"))
        parse_targets (ctx, plan, c);
      else if (is_element (c, "health"))
        parse_health (ctx, plan, c);
      else if (is_element (c, "host-policy"))
        {
          plan->host_policy.stop = attr_stop (ctx, c, "host-policy", NL_STOP_SHUTDOWN);
          plan->host_policy.migrate_back = attr_yes (c, "migrate-back", TRUE);
          {
            g_autofree char *parallel = attr (c, "parallel");
            if (parallel)
              plan->host_policy.parallel = (guint) CLAMP (g_ascii_strtoull (parallel, NULL, 10), 1, 64);
          }
          attr_duration (ctx, c, "shutdown-timeout", 300, &plan->host_policy.shutdown_timeout);
          if (plan->host_policy.shutdown_timeout == 0)
            DIAG (ctx, c, "host-policy: shutdown-timeout must be more than 0");
        }
      else if (is_element (c, "replica"))
        {
          plan->replica.enabled = attr_yes (c, "enabled", TRUE);
          plan->replica.keep = attr_yes (c, "keep", FALSE);
          attr_duration (ctx, c, "boot-timeout", 120, &plan->replica.boot_timeout);
          if (xmlHasProp (c, (const xmlChar *) "pool"))
            {
              g_free (plan->replica.pool);
              plan->replica.pool = (char *) xmlGetProp (c, (const xmlChar *) "pool");
            }
        }
      else if (is_element (c, "ring"))
        parse_ring (ctx, plan, c);
      else if (is_element (c, "window"))
        parse_window (ctx, plan, c);
    }
  /* Host windows install the hosts' own updates (their <update>, or the
   * Windows hosts' update.ps1): a plan of hosts alone needs no patch. */
  if (plan->patches->len == 0 && (plan->targets->len > 0 || plan->hosts->len == 0))
    DIAG (ctx, root, "the plan has no <patch>");
  check_hosts (ctx, plan);
  if (plan->targets->len == 0 && plan->hosts->len == 0)
    DIAG (ctx, root, "the plan has no <targets>");
  /* Rings order the machine targets; host windows go in plan order. */
  if (plan->rings->len == 0 && plan->targets->len > 0)
    DIAG (ctx, root, "the plan has no <ring>: name at least one (select=\"*\" takes every target)");
  return g_steal_pointer (&plan);
}

NlRolloutPlan *
nl_rollout_plan_load (const char *file, GError **error)
{
  g_autoptr (GPtrArray) diags = g_ptr_array_new_with_free_func (g_free);
  Ctx ctx = { .file = file, .diags = diags };
  g_autoptr (xmlDoc) doc = NULL;
  g_autoptr (NlRolloutPlan) plan = NULL;
  g_autofree char *message = NULL;
  int line = 0;

  doc = nl_doc_load (file, &plan_kind, "rollout", NULL, NULL, &line, &message);
  if (doc == NULL)
    {
      diag (&ctx, line, "%s", message);
      goto fail;
    }
  plan = build_plan (&ctx, xmlDocGetRootElement (doc));
  if (diags->len == 0)
    return g_steal_pointer (&plan);

fail:
  g_ptr_array_add (diags, NULL);
  {
    g_autofree char *all = g_strjoinv ("\n", (char **) diags->pdata);
    g_set_error_literal (error, NL_ERROR, NL_ERROR_INVALID, all);
  }
  return NULL;
}
