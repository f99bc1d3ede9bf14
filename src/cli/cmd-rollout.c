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

/* The options of every rollout command; each table takes the ones its
 * command has. */
typedef struct {
  gboolean now;
  gboolean offline;
  gboolean no_wait;
  gboolean json;
  gboolean ids;
  char *id;
  char *html;
  char *ics;
  char *notice_json;
} RolloutOptions;

const NlCliOption nl_rollout_plan_options[] = {
  NL_CLI_FLAG (RolloutOptions, now, "now", 0, "Show the plan as run with --now (no window)"),
  NL_CLI_FLAG (RolloutOptions, offline, "offline", 0, "Do not ask libvirt which machines the targets are"),
  NL_CLI_FILENAME (RolloutOptions, ics, "ics", 0,
                   "Write the hosts' downtime notice as iCalendar (one event per window)", "FILE"),
  NL_CLI_FILENAME (RolloutOptions, notice_json, "notice-json", 0,
                   "Write the hosts' downtime notice as JSON", "FILE"),
  NL_CLI_OPTION_END,
};

const NlCliOption nl_rollout_run_options[] = {
  NL_CLI_FLAG (RolloutOptions, now, "now", 0, "Ignore the maintenance windows: every patch goes now"),
  NL_CLI_FLAG (RolloutOptions, no_wait, "no-wait", 0,
               "Stop instead of waiting for a window (continue with 'rollout resume')"),
  NL_CLI_STRING (RolloutOptions, id, "id", 0, "Run id (default: PLAN-TIMESTAMP)", "ID"),
  NL_CLI_FLAG (RolloutOptions, json, "json", 0, "Print the report as JSON"),
  NL_CLI_FILENAME (RolloutOptions, html, "html", 0, "Also write the report as one HTML file", "FILE"),
  NL_CLI_OPTION_END,
};

const NlCliOption nl_rollout_resume_options[] = {
  NL_CLI_FLAG (RolloutOptions, no_wait, "no-wait", 0, "Stop instead of waiting for a window"),
  NL_CLI_FLAG (RolloutOptions, json, "json", 0, "Print the report as JSON"),
  NL_CLI_FILENAME (RolloutOptions, html, "html", 0, "Also write the report as one HTML file", "FILE"),
  NL_CLI_OPTION_END,
};

const NlCliOption nl_rollout_status_options[] = {
  NL_CLI_FLAG (RolloutOptions, json, "json", 0, "Print JSON"),
  NL_CLI_FILENAME (RolloutOptions, html, "html", 0, "Write the report of ID as one HTML file", "FILE"),
  NL_CLI_FLAG (RolloutOptions, ids, "ids", 0, "Print only the rollouts' ids, one a line"),
  NL_CLI_OPTION_END,
};

/* The host windows of PLAN, for its patched hosts. With DRIVER each
 * libvirt host is surveyed as its window will be: its guests (running or
 * not, nested or not) and, through each running guest's agent, which
 * patches it still needs. Without one, for a lab's Hyper-V host (whose
 * inventory runs inside it when the window starts), or when a host does
 * not answer, the guests are the ones the plan names, taken as running
 * with every patch pending. */
static GPtrArray *
host_plans (const NlRolloutPlan *plan, NlRolloutDriver *driver, GPtrArray *notes)
{
  GPtrArray *plans = g_ptr_array_new_with_free_func ((GDestroyNotify) nl_host_plan_free);
  g_autofree NlPendingPatch *patches = g_new0 (NlPendingPatch, plan->patches->len + 1);

  for (guint i = 0; i < plan->patches->len; i++)
    {
      const NlPatch *p = plan->patches->pdata[i];
      patches[i].id = p->id;
      patches[i].reboot = p->reboot;
    }
  for (guint h = 0; h < plan->hosts->len; h++)
    {
      const NlHostTarget *host = plan->hosts->pdata[h];
      g_autofree NlGuestFacts *facts = NULL;

      if (!host->patch)
        continue;
      if (driver != NULL && host->uri != NULL)
        {
          g_autoptr (GError) local = NULL;
          g_autoptr (NlRolloutDriver) hd = driver->ops->for_host (driver->data, host->uri, &local);
          g_autoptr (NlHostSurvey) survey = NULL;
          if (hd != NULL)
            survey = nl_rollout_host_survey (hd, plan->patches, MIN (plan->agent_timeout, 10), &local);
          if (survey != NULL)
            {
              g_ptr_array_add (plans, nl_rollout_host_survey_plan (plan, host, survey));
              continue;
            }
          g_ptr_array_add (notes, g_strdup_printf ("host %s: not asked (%s); its guests are the "
                                                   "ones the plan names", host->name, local->message));
        }
      facts = g_new0 (NlGuestFacts, host->guests->len + 1);
      for (guint g = 0; g < host->guests->len; g++)
        {
          facts[g].name = ((const NlHostGuest *) host->guests->pdata[g])->name;
          facts[g].running = TRUE;
          facts[g].stop = nl_rollout_guest_stop (plan, host, facts[g].name);
          facts[g].patches = patches;
          facts[g].n_patches = plan->patches->len;
        }
      g_ptr_array_add (plans, nl_rollout_host_plan (host, &plan->host_policy, facts,
                                                    host->guests->len));
    }
  return plans;
}

/* Prints the host windows and writes the notices asked for. */
static gboolean
plan_hosts (const NlRolloutPlan *plan, NlRolloutDriver *driver, const RolloutOptions *opts,
            GDateTime *now, GError **error)
{
  g_autoptr (GPtrArray) plans = NULL;
  g_autoptr (GPtrArray) notes = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) lines = NULL;
  g_autoptr (GError) local = NULL;

  if (plan->hosts->len == 0)
    {
      if (opts->ics || opts->notice_json)
        {
          nl_cli_usage_error (error, "--ics and --notice-json need a plan with <host> targets");
          return FALSE;
        }
      return TRUE;
    }
  plans = host_plans (plan, driver, notes);
  /* Without a window the hosts are shown unscheduled; a notice needs one. */
  if (!nl_rollout_host_plans_schedule (plan, plans, now, &local)
      && (opts->ics || opts->notice_json || !g_error_matches (local, NL_ERROR, NL_ERROR_INVALID)))
    {
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  printf ("host windows (%s):\n",
          driver ? "guests as each host reports them, patches as their check commands say"
                 : "offline: guests as the plan names them, every patch pending");
  for (guint i = 0; i < notes->len; i++)
    printf ("  %s\n", (char *) notes->pdata[i]);
  lines = nl_rollout_host_plans_describe (plans);
  for (guint i = 0; i < lines->len; i++)
    printf ("%s\n", (char *) lines->pdata[i]);
  if (opts->ics)
    {
      g_autofree char *ics = nl_rollout_notice_ics (plan->id, plans, now);
      if (!g_file_set_contents (opts->ics, ics, -1, error))
        return FALSE;
    }
  if (opts->notice_json)
    {
      g_autofree char *json = nl_rollout_notice_json (plan->id, plans, now);
      if (!g_file_set_contents (opts->notice_json, json, -1, error))
        return FALSE;
    }
  return TRUE;
}

int
nl_cmd_rollout_plan (NlCli *cli, int argc, char **argv, GError **error)
{
  RolloutOptions opts = { 0 };
  g_autoptr (NlRolloutPlan) plan = NULL;
  g_autoptr (NlRolloutDriver) driver = NULL;
  g_autoptr (GPtrArray) domains = NULL;
  g_autoptr (GPtrArray) machines = NULL;
  g_autoptr (GPtrArray) lines = NULL;
  g_autoptr (GDateTime) t = g_date_time_new_now_utc ();

  if (!nl_cli_parse (cli, &opts, &argc, &argv, error))
    return -1;
  plan = nl_rollout_plan_load (argv[1], error);
  if (plan == NULL)
    return -1;
  if (!opts.offline)
    {
      g_autoptr (GError) local = NULL;
      driver = nl_rollout_virt_driver_new (cli->uri, NULL);
      if (!driver->ops->resolve (driver->data, plan->targets, &domains, &machines, &local))
        {
          g_propagate_error (error, g_steal_pointer (&local));
          return -1;
        }
    }
  lines = nl_rollout_describe (plan, domains, machines, t, opts.now, error);
  if (lines == NULL)
    return -1;
  for (guint i = 0; i < lines->len; i++)
    printf ("%s\n", (char *) lines->pdata[i]);
  return plan_hosts (plan, driver, &opts, t, error) ? 0 : -1;
}

int
nl_cmd_rollout_run (NlCli *cli, int argc, char **argv, GError **error)
{
  RolloutOptions opts = { 0 };
  g_autoptr (NlRolloutPlan) plan = NULL;
  g_autoptr (NlRolloutDriver) driver = NULL;
  g_autoptr (NlJournal) j = NULL;
  NlRolloutOptions o = { 0 };

  if (!nl_cli_parse (cli, &opts, &argc, &argv, error))
    return -1;
  plan = nl_rollout_plan_load (argv[1], error);
  if (plan == NULL)
    return -1;
  driver = nl_rollout_virt_driver_new (cli->uri, error);
  o.id = opts.id;
  o.now = opts.now;
  o.no_wait = opts.no_wait;
  o.progress = print_progress;
  j = nl_rollout_run (plan, driver, &o, error);
  if (j == NULL)
    return -1;
  return report (j, opts.json, opts.html, error);
}

int
nl_cmd_rollout_resume (NlCli *cli, int argc, char **argv, GError **error)
{
  RolloutOptions opts = { 0 };
  g_autoptr (NlRolloutDriver) driver = NULL;
  g_autoptr (NlJournal) j = NULL;
  NlRolloutOptions o = { 0 };

  if (!nl_cli_parse (cli, &opts, &argc, &argv, error))
    return -1;
  driver = nl_rollout_virt_driver_new (cli->uri, error);
  o.no_wait = opts.no_wait;
  o.progress = print_progress;
  j = nl_rollout_resume (argv[1], driver, &o, error);
  if (j == NULL)
    return -1;
  return report (j, opts.json, opts.html, error);
}

int
nl_cmd_rollout_status (NlCli *cli, int argc, char **argv, GError **error)
{
  RolloutOptions opts = { 0 };
  g_autofree char *root = nl_rollout_state_root ();

  if (!nl_cli_parse (cli, &opts, &argc, &argv, error))
    return -1;
  if (opts.ids && (opts.json || opts.html || argc == 2))
    {
      nl_cli_usage_error (error, "--ids lists every rollout: give it neither ID, --json nor --html");
      return -1;
    }
  if (opts.html && argc != 2)
    {
      nl_cli_usage_error (error, "--html writes the report of one rollout: give its ID");
      return -1;
    }
  if (opts.ids)
    {
      g_autoptr (GPtrArray) ids = nl_journal_list (root, error);
      if (ids == NULL)
        return -1;
      for (guint i = 0; i < ids->len; i++)
        printf ("%s\n", (char *) ids->pdata[i]);
      return 0;
    }
  if (argc == 2)
    {
      g_autoptr (NlJournal) j = nl_journal_load (root, argv[1], error);
      g_autofree char *text = NULL;
      if (j == NULL)
        return -1;
      mark_interrupted (j, root);
      text = opts.json ? nl_rollout_report_json (j) : nl_rollout_report_table (j);
      fputs (text, stdout);
      return write_html (j, opts.html, error) ? 0 : -1;
    }
  else
    {
      g_autoptr (GPtrArray) ids = nl_journal_list (root, error);
      if (ids == NULL)
        return -1;
      if (opts.json)
        fputs ("[", stdout);
      else
        printf ("%-40s %-12s %-20s %s\n", "ID", "STATE", "STARTED", "REASON");
      for (guint i = 0; i < ids->len; i++)
        {
          g_autoptr (NlJournal) j = nl_journal_load (root, ids->pdata[i], NULL);
          if (j == NULL)
            continue;
          mark_interrupted (j, root);
          if (opts.json)
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
      if (opts.json)
        fputs ("]\n", stdout);
      return 0;
    }
}

int
nl_cmd_rollout_abort (NlCli *cli, int argc, char **argv, GError **error)
{
  g_autofree char *root = nl_rollout_state_root ();
  g_autoptr (NlRolloutDriver) driver = NULL;

  if (!nl_cli_parse (cli, NULL, &argc, &argv, error))
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
