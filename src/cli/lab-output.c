/* Output and plumbing shared by the lab commands. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib-unix.h>
#include <nestlab/agent.h>
#include <nestlab/patches.h>
#include <nestlab/replica.h>
#include <nestlab/restore.h>
#include <nestlab/error.h>
#include <nestlab/provision.h>
#include <nestlab/virt.h>
#include "lab-output.h"

NlVirtConn *
nl_cli_lab_connect (NlCli *cli, GError **error)
{
  return nl_virt_connect (cli->uri, error);
}

void
nl_cli_no_lab_error (GError **error, const char *lab)
{
  g_set_error (error, NL_ERROR, NL_ERROR_NOT_FOUND,
               "no lab '%s' here: no domain or network carries its mark", lab);
}

/* ---- Ctrl-C: a GLib signal source on a context of its own, run by a
 * helper thread, so the workers never see the signal. ---- */

static GCancellable *interrupt_cancellable;

static gboolean
on_signal (gpointer data)
{
  if (g_cancellable_is_cancelled (interrupt_cancellable))
    {
      fprintf (stderr, "\nnestlab: interrupted again: stopping now\n");
      _exit (130);
    }
  fprintf (stderr, "\nnestlab: interrupted: letting calls in flight finish, starting nothing new "
           "(Ctrl-C again to stop at once)\n");
  g_cancellable_cancel (interrupt_cancellable);
  return G_SOURCE_CONTINUE;
}

static gpointer
signal_thread (gpointer data)
{
  GMainContext *ctx = data;
  GMainLoop *loop = g_main_loop_new (ctx, FALSE);
  g_main_loop_run (loop);
  return NULL;
}

GCancellable *
nl_cli_interrupt_cancellable (void)
{
  if (interrupt_cancellable == NULL)
    {
      GMainContext *ctx = g_main_context_new ();
      int signals[] = { SIGINT, SIGTERM };
      interrupt_cancellable = g_cancellable_new ();
      for (guint i = 0; i < G_N_ELEMENTS (signals); i++)
        {
          GSource *src = g_unix_signal_source_new (signals[i]);
          g_source_set_callback (src, on_signal, NULL, NULL);
          g_source_attach (src, ctx);
          g_source_unref (src);
        }
      g_thread_unref (g_thread_new ("nestlab-signals", signal_thread, ctx));
    }
  return interrupt_cancellable;
}

/* ---- progress ---- */

static gboolean live_shown;

static gboolean
is_tty (void)
{
  static int tty = -1;
  if (tty < 0)
    tty = isatty (STDOUT_FILENO) && g_strcmp0 (g_getenv ("TERM"), "dumb") != 0;
  return tty;
}

void
nl_cli_lab_progress_end (void)
{
  if (live_shown)
    {
      fputs ("\r\033[K", stdout);
      fflush (stdout);
      live_shown = FALSE;
    }
}

void
nl_cli_lab_progress (const NlProgress *p, gpointer data)
{
  nl_cli_lab_progress_end ();
  if (g_strcmp0 (p->what, "delay") == 0)
    printf ("  %s\n", p->name);
  else if (p->error)
    printf ("  %-8s %-40s %s: %s\n", nl_object_kind_to_string (p->kind), p->name, p->what, p->error->message);
  else
    printf ("  %-8s %-40s %s\n", nl_object_kind_to_string (p->kind), p->name, p->what);
  if (is_tty () && p->total > 1 && p->done < p->total)
    {
      printf ("  [%u/%u] ...", p->done, p->total);
      live_shown = TRUE;
    }
  fflush (stdout);
}

void
nl_cli_print_report (const char *op, const char *lab, const NlReport *report)
{
  nl_cli_lab_progress_end ();
  for (guint i = 0; i < report->notes->len; i++)
    printf ("note: %s\n", (char *) report->notes->pdata[i]);
  if (report->failures->len > 0)
    {
      printf ("failed:\n");
      for (guint i = 0; i < report->failures->len; i++)
        printf ("  %s\n", (char *) report->failures->pdata[i]);
    }
  printf ("%s of lab '%s': %u done, %u unchanged, %u failed (%.1f s)\n", op, lab, report->done,
          report->unchanged, report->failures->len, report->seconds);
  fflush (stdout);
}

void
nl_cli_print_plan (const NlPlan *plan)
{
  printf ("plan for lab '%s':\n", plan->lab->name);
  for (guint i = 0; i < plan->items->len; i++)
    {
      NlPlanItem *item = plan->items->pdata[i];
      g_autofree char *name = item->kind == NL_OBJECT_VOLUME || item->kind == NL_OBJECT_IMAGE
                              ? g_strdup_printf ("%s/%s", item->pool, item->name) : g_strdup (item->name);
      printf ("  %-9s %-8s %-40s%s%s\n", nl_plan_action_to_string (item->action),
              nl_object_kind_to_string (item->kind), name, item->detail ? " " : "",
              item->detail ? item->detail : "");
    }
  printf ("%u to create, %u to update, %u unchanged, %u conflicts, %u need a rebuild\n",
          nl_plan_count (plan, NL_PLAN_CREATE), nl_plan_count (plan, NL_PLAN_UPDATE),
          nl_plan_count (plan, NL_PLAN_UNCHANGED), nl_plan_count (plan, NL_PLAN_CONFLICT),
          nl_plan_count (plan, NL_PLAN_REBUILD));
}

static char *
join (GPtrArray *strings, const char *empty)
{
  g_autoptr (GString) s = g_string_new (NULL);
  for (guint i = 0; i < strings->len; i++)
    g_string_append_printf (s, "%s%s", i ? "," : "", (char *) strings->pdata[i]);
  return s->len ? g_string_free (g_steal_pointer (&s), FALSE) : g_strdup (empty);
}

/* Where a machine's provisioning is: its last step and that step's state
 * ("fetch done", "forest failed"), or "-". */
static char *
step_word (const NlMachineStatus *ms)
{
  NlStepRecord *last = NULL;
  for (guint k = 0; k < ms->steps->len; k++)
    {
      NlStepRecord *r = ms->steps->pdata[k];
      last = r;
      if (r->state != NL_STEP_STATE_DONE)
        break;
    }
  if (last == NULL)
    return g_strdup ("-");
  return g_strdup_printf ("%s %s", last->name, nl_step_state_to_string (last->state));
}

void
nl_cli_print_status (GPtrArray *statuses)
{
  if (statuses->len == 0)
    {
      printf ("no labs\n");
      return;
    }
  for (guint i = 0; i < statuses->len; i++)
    {
      NlLabStatus *s = statuses->pdata[i];
      g_autoptr (GString) nets = g_string_new (NULL);
      for (guint n = 0; n < s->networks->len; n++)
        g_string_append_printf (nets, "%s%s (%s)", n ? ", " : "", (char *) s->networks->pdata[n],
                                (char *) s->network_states->pdata[n]);
      printf ("%slab %s: %u machines, %u volumes; networks: %s\n", i ? "\n" : "", s->name,
              s->machines->len, s->volumes->len, nets->len ? nets->str : "none");
      printf ("  %-24s %-18s %-10s %-6s %-4s %-18s %-18s %-10s %s\n", "MACHINE", "ROLE", "STATE", "NESTED",
              "WAVE", "ADDRESSES", "CHECKPOINTS", "PATCHES", "STEP");
      for (guint m = 0; m < s->machines->len; m++)
        {
          NlMachineStatus *ms = s->machines->pdata[m];
          g_autofree char *addrs = join (ms->addresses, "-");
          g_autofree char *cks = join (ms->checkpoints, "-");
          g_autofree char *patches = NULL;
          if (ms->patches->len == 0)
            patches = g_strdup ("-");
          else
            patches = g_strdup_printf ("%u, last %s", ms->patches->len,
                                       ((NlPatchRecord *) ms->patches->pdata[ms->patches->len - 1])->id);
          g_autofree char *step = step_word (ms);
          printf ("  %-24s %-18s %-10s %-6s %-4u %-18s %-18s %-10s %s\n", ms->name, ms->role, ms->state,
                  ms->nested ? "yes" : "no", ms->wave, addrs, cks, patches, step);
        }
      /* What failed, with the last lines of its output. */
      for (guint m = 0; m < s->machines->len; m++)
        {
          NlMachineStatus *ms = s->machines->pdata[m];
          for (guint k = 0; k < ms->steps->len; k++)
            {
              NlStepRecord *r = ms->steps->pdata[k];
              g_autofree char *tail = NULL;
              g_auto (GStrv) lines = NULL;
              if (r->state != NL_STEP_STATE_FAILED)
                continue;
              printf ("  %s: step %s failed (exit %d, %u attempt%s, %s)\n", ms->name, r->name, r->exit_code,
                      r->attempts, r->attempts == 1 ? "" : "s", r->finished ? r->finished : "?");
              if (r->tail)
                {
                  lines = g_strsplit (r->tail, "\n", -1);
                  tail = g_strjoinv ("\n      ", lines);
                  printf ("      %s\n", tail);
                }
            }
        }
    }
}

NlLab *
nl_cli_load_template (const char *file, char **sets, GError **error)
{
  g_autoptr (GHashTable) overrides = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  for (char **s = sets; s && *s; s++)
    if (!nl_template_parse_override (overrides, *s, error))
      return NULL;
  return nl_template_load (file, overrides, error);
}

gboolean
nl_cli_open_template (NlCli *cli, const char *file, char **sets, NlLab **lab,
                      NlVirtConn **conn, GError **error)
{
  *lab = nl_cli_load_template (file, sets, error);
  if (*lab == NULL)
    return FALSE;
  *conn = nl_cli_lab_connect (cli, error);
  return *conn != NULL;
}

int
nl_cli_run_up (NlVirtConn *conn, NlLab *lab, const NlCliUpOptions *opts, GError **error)
{
  NlLabOptions options = { 0 };
  g_autoptr (NlPlan) plan = NULL;
  g_autoptr (NlReport) report = nl_report_new ();
  g_autoptr (GError) local = NULL;
  gboolean ok;

  if (!nl_cli_accel_mode (opts->kvm, opts->emulate, &options.accel, error))
    return -1;
  options.create_missing_images = opts->create_missing_images;
  options.define_only = opts->define_only;
  options.no_delays = opts->no_delays;
  /* The test driver runs no steps: nothing to hold for. */
  options.hold_waiting = !opts->no_provision && !opts->define_only && !nl_virt_is_test_driver (conn);
  options.workers = (guint) opts->workers;
  options.cancellable = nl_cli_interrupt_cancellable ();
  options.progress = nl_cli_lab_progress;

  if (opts->create_missing_images && !nl_virt_is_test_driver (conn))
    {
      nl_cli_usage_error (error, "--create-missing-images only works on libvirt's test driver "
                          "(test:///default): a real lab needs real golden images");
      return -1;
    }
  plan = nl_lab_plan_up (conn, lab, &options, error);
  if (plan == NULL)
    {
      g_prefix_error (error, "lab '%s': ", lab->name);
      return -1;
    }
  nl_cli_print_accel (plan->accel);
  if (opts->dry_run)
    {
      nl_cli_print_plan (plan);
      return nl_plan_count (plan, NL_PLAN_CONFLICT) > 0 ? 1 : 0;
    }
  printf ("up of lab '%s': %u to create, %u to update, %u unchanged\n", lab->name,
          nl_plan_count (plan, NL_PLAN_CREATE), nl_plan_count (plan, NL_PLAN_UPDATE),
          nl_plan_count (plan, NL_PLAN_UNCHANGED));
  fflush (stdout);
  ok = nl_lab_up (conn, plan, &options, report, &local);
  if (!ok && g_error_matches (local, NL_ERROR, NL_ERROR_CONFLICT))
    {
      g_propagate_error (error, g_steal_pointer (&local));
      return -1;
    }
  nl_cli_print_report ("up", lab->name, report);
  if (!ok)
    {
      g_propagate_error (error, g_steal_pointer (&local));
      if ((*error)->code == NL_ERROR_FAILED && report->failures->len > 0)
        g_prefix_error (error, "some machines are not up (run 'nestlab up' again to repair): ");
      return -1;
    }
  if (!opts->define_only && !opts->no_provision
      && nl_cli_run_provision (conn, lab, NULL, NULL, opts->keep_config_disk, &local) < 0)
    {
      /* The status still shows where each machine is. */
      if (!opts->no_status)
        {
          g_autoptr (GPtrArray) statuses = nl_lab_status (conn, lab->name, NULL);
          if (statuses)
            {
              printf ("\n");
              nl_cli_print_status (statuses);
            }
        }
      g_propagate_error (error, g_steal_pointer (&local));
      return -1;
    }
  if (!opts->no_status)
    {
      g_autoptr (GPtrArray) statuses = nl_lab_status (conn, lab->name, error);
      if (statuses == NULL)
        return -1;
      printf ("\n");
      nl_cli_print_status (statuses);
    }
  return 0;
}

static void
provision_progress (const char *machine, const char *step, const char *what, gpointer data)
{
  printf ("  %-24s %-20s %s\n", machine, step, what);
  fflush (stdout);
}

int
nl_cli_run_provision (NlVirtConn *conn, NlLab *lab, const char *machine, const char *from,
                      gboolean keep_config_disk, GError **error)
{
  NlProvisionOptions options = { .machine = machine, .from = from, .keep_config_disk = keep_config_disk,
                                 .progress = provision_progress,
                                 .cancellable = nl_cli_interrupt_cancellable () };
  g_autoptr (NlProvisionReport) report = nl_provision_report_new ();
  guint steps = 0;

  for (guint i = 0; i < lab->machines->len; i++)
    steps += ((NlMachine *) lab->machines->pdata[i])->steps->len;
  if (steps == 0)
    return 0;
  if (nl_virt_is_test_driver (conn))
    {
      /* Checks MACHINE and --from all the same. */
      if (!nl_provision (conn, lab, &options, report, error))
        return -1;
      printf ("provisioning of lab '%s': %u steps not run (test:///default runs no guest)\n", lab->name, steps);
      return 0;
    }
  printf ("provisioning of lab '%s':\n", lab->name);
  fflush (stdout);
  if (!nl_provision (conn, lab, &options, report, error))
    {
      printf ("provisioning of lab '%s': %u done, %u done before, %u failed, %u not run (%.1f s)\n", lab->name,
              report->done, report->skipped, report->failed, report->blocked, report->seconds);
      return -1;
    }
  printf ("provisioning of lab '%s': %u done, %u done before (%.2f s)\n", lab->name, report->done,
          report->skipped, report->seconds);
  return 0;
}
