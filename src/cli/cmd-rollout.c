/* nestlab rollout plan|run|status|resume|abort: staged patch rollouts.
 * Progress goes to stderr as it happens; the report (table, --json, or
 * --html FILE) goes to stdout or the file at the end. */
#include <stdio.h>
#include <unistd.h>

#include <nestlab/error.h>
#include <nestlab/rollout.h>
#include "cli.h"

static void
print_progress (const char *line, gpointer data)
{
  fprintf (stderr, "nestlab: %s\n", line);
  fflush (stderr);
}

/* A journal whose run died shows as interrupted. */
static void
mark_interrupted (NlJournal *j, const char *root)
{
  if ((j->state == NL_RUN_RUNNING || j->state == NL_RUN_WAITING) && !nl_rollout_run_is_active (root, j->id)
      && j->state == NL_RUN_RUNNING)
    j->state = NL_RUN_INTERRUPTED;
}

static gboolean
write_html (const NlJournal *j, const char *path, GError **error)
{
  g_autofree char *html = NULL;
  if (path == NULL)
    return TRUE;
  html = nl_rollout_report_html (j);
  if (!g_file_set_contents (path, html, -1, error))
    return FALSE;
  return TRUE;
}

/* Prints the report; the exit status says how the run ended. */
static int
report (const NlJournal *j, gboolean json, const char *html, GError **error)
{
  g_autofree char *text = json ? nl_rollout_report_json (j) : nl_rollout_report_table (j);
  fputs (text, stdout);
  fflush (stdout);
  if (!write_html (j, html, error))
    return -1;
  switch (j->state)
    {
    case NL_RUN_DONE:
    case NL_RUN_WAITING:
      return 0;
    default:
      /* A run that stopped without ending (lost connection) is resumable. */
      fprintf (stderr, "nestlab rollout: %s %s%s%s\n", j->id,
               nl_run_state_to_string (j->state == NL_RUN_RUNNING ? NL_RUN_INTERRUPTED : j->state),
               j->reason ? ": " : "", j->reason ? j->reason : "");
      return 1;
    }
}

static gboolean
one_arg (int argc, const char *what, GError **error)
{
  if (argc != 2)
    {
      g_set_error (error, NL_ERROR, NL_ERROR_USAGE, "expected one %s", what);
      return FALSE;
    }
  return TRUE;
}

int
nl_cmd_rollout_plan (NlCli *cli, int argc, char **argv, GError **error)
{
  static gboolean now;
  static gboolean offline;
  const GOptionEntry entries[] = {
    { "now", 0, 0, G_OPTION_ARG_NONE, &now, "Show the plan as run with --now (no window)", NULL },
    { "offline", 0, 0, G_OPTION_ARG_NONE, &offline, "Do not ask libvirt which machines the targets are", NULL },
    G_OPTION_ENTRY_NULL,
  };
  g_autoptr (NlRolloutPlan) plan = NULL;
  g_autoptr (NlRolloutDriver) driver = NULL;
  g_autoptr (GPtrArray) domains = NULL;
  g_autoptr (GPtrArray) machines = NULL;
  g_autoptr (GPtrArray) lines = NULL;
  g_autoptr (GDateTime) t = g_date_time_new_now_utc ();

  if (!nl_cli_parse_options (nl_cli_command ("rollout plan"), entries, &argc, &argv, error)
      || !one_arg (argc, "plan FILE", error))
    return -1;
  plan = nl_rollout_plan_load (argv[1], error);
  if (plan == NULL)
    return -1;
  if (!offline)
    {
      g_autoptr (GError) local = NULL;
      driver = nl_rollout_virt_driver_new (cli->uri, NULL);
      if (!driver->ops->resolve (driver->data, plan->targets, &domains, &machines, &local))
        {
          g_propagate_error (error, g_steal_pointer (&local));
          return -1;
        }
    }
  lines = nl_rollout_describe (plan, domains, machines, t, now, error);
  if (lines == NULL)
    return -1;
  for (guint i = 0; i < lines->len; i++)
    printf ("%s\n", (char *) lines->pdata[i]);
  return 0;
}

int
nl_cmd_rollout_run (NlCli *cli, int argc, char **argv, GError **error)
{
  static gboolean now, no_wait, json;
  static char *id, *html;
  const GOptionEntry entries[] = {
    { "now", 0, 0, G_OPTION_ARG_NONE, &now, "Ignore the maintenance windows: every patch goes now", NULL },
    { "no-wait", 0, 0, G_OPTION_ARG_NONE, &no_wait,
      "Stop instead of waiting for a window (continue with 'rollout resume')", NULL },
    { "id", 0, 0, G_OPTION_ARG_STRING, &id, "Run id (default: PLAN-TIMESTAMP)", "ID" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print the report as JSON", NULL },
    { "html", 0, 0, G_OPTION_ARG_FILENAME, &html, "Also write the report as one HTML file", "FILE" },
    G_OPTION_ENTRY_NULL,
  };
  g_autoptr (NlRolloutPlan) plan = NULL;
  g_autoptr (NlRolloutDriver) driver = NULL;
  g_autoptr (NlJournal) j = NULL;
  NlRolloutOptions o = { 0 };

  if (!nl_cli_parse_options (nl_cli_command ("rollout run"), entries, &argc, &argv, error)
      || !one_arg (argc, "plan FILE", error))
    return -1;
  plan = nl_rollout_plan_load (argv[1], error);
  if (plan == NULL)
    return -1;
  driver = nl_rollout_virt_driver_new (cli->uri, error);
  o.id = id;
  o.now = now;
  o.no_wait = no_wait;
  o.progress = print_progress;
  j = nl_rollout_run (plan, driver, &o, error);
  if (j == NULL)
    return -1;
  return report (j, json, html, error);
}

int
nl_cmd_rollout_resume (NlCli *cli, int argc, char **argv, GError **error)
{
  static gboolean no_wait, json;
  static char *html;
  const GOptionEntry entries[] = {
    { "no-wait", 0, 0, G_OPTION_ARG_NONE, &no_wait, "Stop instead of waiting for a window", NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print the report as JSON", NULL },
    { "html", 0, 0, G_OPTION_ARG_FILENAME, &html, "Also write the report as one HTML file", "FILE" },
    G_OPTION_ENTRY_NULL,
  };
  g_autoptr (NlRolloutDriver) driver = NULL;
  g_autoptr (NlJournal) j = NULL;
  NlRolloutOptions o = { 0 };

  if (!nl_cli_parse_options (nl_cli_command ("rollout resume"), entries, &argc, &argv, error)
      || !one_arg (argc, "rollout ID", error))
    return -1;
  driver = nl_rollout_virt_driver_new (cli->uri, error);
  o.no_wait = no_wait;
  o.progress = print_progress;
  j = nl_rollout_resume (argv[1], driver, &o, error);
  if (j == NULL)
    return -1;
  return report (j, json, html, error);
}

int
nl_cmd_rollout_status (NlCli *cli, int argc, char **argv, GError **error)
{
  static gboolean json;
  static char *html;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON", NULL },
    { "html", 0, 0, G_OPTION_ARG_FILENAME, &html, "Write the report of ID as one HTML file", "FILE" },
    G_OPTION_ENTRY_NULL,
  };
  g_autofree char *root = nl_rollout_state_root ();

  if (!nl_cli_parse_options (nl_cli_command ("rollout status"), entries, &argc, &argv, error))
    return -1;
  if (argc > 2)
    {
      g_set_error (error, NL_ERROR, NL_ERROR_USAGE, "expected at most one rollout ID");
      return -1;
    }
  if (argc == 2)
    {
      g_autoptr (NlJournal) j = nl_journal_load (root, argv[1], error);
      g_autofree char *text = NULL;
      if (j == NULL)
        return -1;
      mark_interrupted (j, root);
      text = json ? nl_rollout_report_json (j) : nl_rollout_report_table (j);
      fputs (text, stdout);
      return write_html (j, html, error) ? 0 : -1;
    }
  else
    {
      g_autoptr (GPtrArray) ids = nl_journal_list (root, error);
      if (ids == NULL)
        return -1;
      if (json)
        fputs ("[", stdout);
      else
        printf ("%-40s %-12s %-20s %s\n", "ID", "STATE", "STARTED", "REASON");
      for (guint i = 0; i < ids->len; i++)
        {
          g_autoptr (NlJournal) j = nl_journal_load (root, ids->pdata[i], NULL);
          if (j == NULL)
            continue;
          mark_interrupted (j, root);
          if (json)
            {
              g_autofree char *text = nl_rollout_report_json (j);
              printf ("%s%s", i ? "," : "", g_strchomp (text));
            }
          else
            {
              g_autoptr (GDateTime) dt = g_date_time_new_from_unix_local (j->created);
              g_autofree char *when = g_date_time_format (dt, "%Y-%m-%d %H:%M:%S");
              printf ("%-40s %-12s %-20s %s\n", j->id, nl_run_state_to_string (j->state), when,
                      j->reason ? j->reason : "");
            }
        }
      if (json)
        fputs ("]\n", stdout);
      return 0;
    }
}

int
nl_cmd_rollout_abort (NlCli *cli, int argc, char **argv, GError **error)
{
  g_autofree char *root = nl_rollout_state_root ();
  g_autoptr (NlRolloutDriver) driver = NULL;

  if (!nl_cli_parse_options (nl_cli_command ("rollout abort"), NULL, &argc, &argv, error)
      || !one_arg (argc, "rollout ID", error))
    return -1;
  /* A dead run's replica and restore points go with the abort. */
  driver = nl_rollout_virt_driver_new (cli->uri, NULL);
  if (!nl_rollout_abort (root, argv[1], driver, error))
    return -1;
  if (nl_rollout_run_is_active (root, argv[1]))
    printf ("rollout %s: abort requested; the run stops before its next machine\n", argv[1]);
  else
    printf ("rollout %s: aborted\n", argv[1]);
  return 0;
}
