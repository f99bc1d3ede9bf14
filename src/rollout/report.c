/* What a rollout will do (nl_rollout_describe) and what it did: the report
 * per target, per ring and per host window (each guest's downtime and
 * reboots) as a text table, JSON, and one self-contained HTML page with a
 * timeline. Pure functions of the plan or the journal. */
#include <string.h>

#include <libxml/tree.h>

#include <nestlab/error.h>
#include <nestlab/json.h>
#include <nestlab/rollout.h>

/* ------------------------------------------------------------------ */
/* Describe                                                             */

static char *
amount_text (const NlAmount *a)
{
  return g_strdup_printf (a->percent ? "%u%%" : "%u", a->value);
}

static char *
batches_text (const NlRing *ring)
{
  GString *s = g_string_new (NULL);
  for (guint i = 0; i < ring->n_batches; i++)
    {
      g_autofree char *a = amount_text (&ring->batches[i]);
      g_string_append_printf (s, "%s%s", i ? " then " : "", a);
    }
  if (ring->n_batches == 0)
    g_string_append (s, "100%");
  return g_string_free (s, FALSE);
}

static char *
patch_list (const NlRolloutPlan *plan, int severity_filter)
{
  /* severity_filter: -1 all, 0 critical only, 1 non-critical only */
  GString *s = g_string_new (NULL);
  for (guint i = 0; i < plan->patches->len; i++)
    {
      const NlPatch *p = plan->patches->pdata[i];
      gboolean critical = p->severity == NL_SEVERITY_CRITICAL;
      if ((severity_filter == 0 && !critical) || (severity_filter == 1 && critical))
        continue;
      g_string_append_printf (s, "%s%s", s->len ? ", " : "", p->id);
    }
  return g_string_free (s, FALSE);
}

static void
describe_rings (GPtrArray *lines, const NlRolloutPlan *plan, const GPtrArray *targets,
                const GPtrArray *machines, guint *step)
{
  for (guint r = 0; r < plan->rings->len; r++)
    {
      const NlRing *ring = plan->rings->pdata[r];
      g_autofree char *batches = batches_text (ring);
      g_autofree char *budget = amount_text (&ring->budget);
      GString *members = g_string_new (NULL);
      guint n = 0;

      if (targets != NULL)
        for (guint i = 0; i < targets->len; i++)
          {
            const char *dom = targets->pdata[i];
            const char *mach = machines ? machines->pdata[i] : NULL;
            const NlRing *first = NULL;
            for (guint k = 0; k < plan->rings->len && !first; k++)
              {
                const NlRing *cand = plan->rings->pdata[k];
                for (guint s = 0; cand->select[s] && !first; s++)
                  if (g_pattern_match_simple (cand->select[s], dom)
                      || (mach && g_pattern_match_simple (cand->select[s], mach)))
                    first = cand;
              }
            if (first == ring)
              {
                g_string_append_printf (members, "%s%s", n ? ", " : "", dom);
                n++;
              }
          }
      else
        {
          g_autofree char *sel = g_strjoinv (" ", ring->select);
          g_string_append_printf (members, "targets matching '%s'", sel);
        }
      {
        g_autofree char *soak = ring->soak ? g_strdup_printf ("; then soaks %us", ring->soak) : g_strdup ("");
        g_ptr_array_add (lines, g_strdup_printf (
          "  %u. ring '%s': %s; batches of %s, at most %u at once; halts when more than %s fail%s%s",
          (*step)++, ring->name, n || !targets ? members->str : "(no machines)", batches, ring->max_parallel,
          budget, soak, ring->defer_reboot ? "; reboots left to the owner" : ""));
      }
      g_string_free (members, TRUE);
    }
}

GPtrArray *
nl_rollout_describe (const NlRolloutPlan *plan, const GPtrArray *targets, const GPtrArray *machines,
                     GDateTime *now, gboolean ignore_windows, GError **error)
{
  g_autoptr (GPtrArray) lines = g_ptr_array_new_with_free_func (g_free);
  gboolean windowed = plan->windows->len > 0 && !ignore_windows;
  g_autofree char *critical = patch_list (plan, 0);
  g_autofree char *others = patch_list (plan, 1);
  g_autofree char *all = patch_list (plan, -1);
  guint step = 1;

  {
    g_autofree char *what = targets ? g_strdup_printf ("%u machines", targets->len)
                                    : g_strdup ("targets not resolved");
    g_ptr_array_add (lines, g_strdup_printf ("Rollout plan '%s' (%s): %u patches, %s", plan->id, plan->file,
                                             plan->patches->len, what));
  }
  for (guint i = 0; i < plan->patches->len; i++)
    {
      const NlPatch *p = plan->patches->pdata[i];
      g_ptr_array_add (lines, g_strdup_printf ("  patch %s (%s%s)%s%s", p->id, nl_severity_to_string (p->severity),
                                               p->reboot == NL_REBOOT_OWN ? ", a reboot of its own"
                                               : p->reboot ? ", reboot" : "", p->title ? ": " : "",
                                               p->title ? p->title : ""));
    }
  if (plan->targets->len == 0)
    {
      /* Only host windows: the rings and the replica have nothing to do. */
      g_ptr_array_add (lines, g_strdup_printf ("%s: each host's window, below, with %s%s",
                                               windowed ? "In the maintenance window" : "Now",
                                               *all ? "patches " : "the hosts' own updates only",
                                               all));
      return g_steal_pointer (&lines);
    }
  if (plan->replica.enabled)
    {
      GString *names = g_string_new (NULL);
      for (guint i = 0; targets && i < targets->len; i++)
        g_string_append_printf (names, "%s%s", i ? ", " : "", (char *) targets->pdata[i]);
      g_ptr_array_add (lines, g_strdup_printf ("Now: replica of %s: back up each disk (the restore point), "
                                               "clone onto an isolated network, install %s, health-check; "
                                               "stop before production if any fails; %s the replica",
                                               targets ? names->str : "every target", all,
                                               plan->replica.keep ? "keep" : "discard"));
      g_string_free (names, TRUE);
    }
  if (!windowed || *critical)
    {
      g_ptr_array_add (lines, g_strdup_printf ("Now: production, patches %s:", windowed ? critical : all));
      describe_rings (lines, plan, targets, machines, &step);
    }
  if (windowed && *others)
    {
      g_autoptr (GDateTime) start = NULL;
      g_autoptr (GDateTime) end = NULL;
      g_autofree char *s = NULL;
      g_autofree char *e = NULL;
      if (!nl_rollout_windows_next (plan->windows, now, &start, &end, error))
        return NULL;
      s = g_date_time_format (start, "%Y-%m-%d %H:%M %Z");
      e = g_date_time_format (end, "%Y-%m-%d %H:%M %Z");
      g_ptr_array_add (lines, g_strdup_printf ("Then wait for the maintenance window %s - %s (%s), "
                                               "production, patches %s:", s, e,
                                               g_date_time_get_timezone_abbreviation (start), others));
      describe_rings (lines, plan, targets, machines, &step);
    }
  g_ptr_array_add (lines, g_strdup ("Each machine: pre-check (agent answers), checkpoint, install each "
                                    "patch through the guest agent, reboot if needed, check and "
                                    "health-check; on failure roll back to the checkpoint"));
  return g_steal_pointer (&lines);
}

/* ------------------------------------------------------------------ */
/* Counting                                                             */

typedef struct {
  const char *pass, *name;
  guint counts[NL_OUTCOME_LAST];
  guint total;
  gint64 started, finished;
  gboolean halted;
} RingSummary;

static GArray *
summarize (const NlJournal *j)
{
  GArray *rings = g_array_new (FALSE, TRUE, sizeof (RingSummary));
  for (guint i = 0; i < j->rings->len; i++)
    {
      const NlRingRecord *rr = j->rings->pdata[i];
      RingSummary s = { .pass = nl_rollout_pass_to_string (rr->pass), .name = rr->name, .started = rr->started_at,
                        .finished = rr->finished_at, .halted = rr->halted };
      for (guint k = 0; k < j->targets->len; k++)
        {
          const NlTargetRecord *t = j->targets->pdata[k];
          if (t->pass == rr->pass && g_str_equal (t->ring, rr->name))
            {
              s.counts[nl_target_record_outcome (t)]++;
              s.total++;
            }
        }
      g_array_append_val (rings, s);
    }
  return rings;
}

static char *
duration_text (gint64 start, gint64 end)
{
  gint64 d;
  if (start == 0)
    return g_strdup ("-");
  d = (end ? end : g_get_real_time () / G_USEC_PER_SEC) - start;
  if (d < 60)
    return g_strdup_printf ("%" G_GINT64_FORMAT "s", d);
  if (d < 3600)
    return g_strdup_printf ("%" G_GINT64_FORMAT "m%02" G_GINT64_FORMAT "s", d / 60, d % 60);
  return g_strdup_printf ("%" G_GINT64_FORMAT "h%02" G_GINT64_FORMAT "m", d / 3600, (d % 3600) / 60);
}

static char *
counts_text (const RingSummary *s)
{
  GString *out = g_string_new (NULL);
  for (int o = 0; o < NL_OUTCOME_LAST; o++)
    if (s->counts[o])
      g_string_append_printf (out, "%s%u %s", out->len ? ", " : "", s->counts[o], nl_outcome_to_string (o));
  if (out->len == 0)
    g_string_append (out, "no machines");
  return g_string_free (out, FALSE);
}

static char *
time_text (gint64 t)
{
  g_autoptr (GDateTime) dt = NULL;
  if (t == 0)
    return g_strdup ("-");
  dt = g_date_time_new_from_unix_utc (t);
  return g_date_time_format_iso8601 (dt);
}

/* ------------------------------------------------------------------ */
/* Host windows                                                         */

/* The guest action a stop action asks for. */
static NlGuestAction
asked_action (NlStopAction stop)
{
  switch (stop)
    {
    case NL_STOP_SAVE:
      return NL_GUEST_SAVE;
    case NL_STOP_SHUTDOWN:
      return NL_GUEST_SHUTDOWN;
    case NL_STOP_MIGRATE:
      return NL_GUEST_MIGRATE;
    default:
      return NL_GUEST_ACTION_LAST;
    }
}

/* "asked save: why", or "asked save" without a reason; NULL when the
 * guest got what the plan asked (a guest left off was not running: its
 * state says so). */
static char *
asked_text (const NlHostGuestRecord *g)
{
  if (g->action == NL_GUEST_LEAVE_OFF || (g->action == asked_action (g->asked) && g->reason == NULL))
    return NULL;
  return g_strdup_printf ("asked %s%s%s", nl_stop_action_to_string (g->asked), g->reason ? ": " : "",
                          g->reason ? g->reason : "");
}

/* A migrated guest that went over and never stopped: it had no downtime
 * (a reboot of its own for its patches sets DOWN_AT). It was moved once
 * its state is past stopping: every later state, failed included, comes
 * after the migration. */
static gboolean
guest_live (const NlHostGuestRecord *g)
{
  if (g->action != NL_GUEST_MIGRATE || g->down_at != 0)
    return FALSE;
  switch (g->state)
    {
    case NL_HGUEST_STOPPED:
    case NL_HGUEST_STARTING:
    case NL_HGUEST_VERIFYING:
    case NL_HGUEST_DONE:
    case NL_HGUEST_FAILED:
      return TRUE;
    default:
      return FALSE;
    }
}

/* Whether the boots counted are not the window's plan: more than planned,
 * or none for a guest that was shut down and is back (its cold boot is a
 * boot: zero means it never went down, or came back from something else). */
static gboolean
guest_reboots_unexpected (const NlHostGuestRecord *g)
{
  if (g->reboots > g->planned_reboots)
    return TRUE;
  return g->action == NL_GUEST_SHUTDOWN && g->reboots == 0
         && (g->state == NL_HGUEST_DONE || g->up_at != 0);
}

static gint64
span_seconds (gint64 from, gint64 to)
{
  return from != 0 && to >= from ? to - from : 0;
}

/* A guest's downtime: "40s", "live", "down since ..." or "-". */
static char *
guest_downtime_text (const NlHostGuestRecord *g)
{
  if (guest_live (g))
    return g_strdup ("live");
  if (g->down_at == 0)
    return g_strdup ("-");
  if (g->up_at == 0)
    {
      g_autofree char *since = time_text (g->down_at);
      return g_strdup_printf ("down since %s", since);
    }
  return g_strdup_printf ("%" G_GINT64_FORMAT "s", span_seconds (g->down_at, g->up_at));
}

/* The action, "migrate, back" for a guest that goes home after. */
static const char *
guest_action_text (const NlHostGuestRecord *g)
{
  if (g->action == NL_GUEST_MIGRATE && g->migrate_back)
    return "migrate, back";
  return nl_guest_action_to_string (g->action);
}

/* "1 (planned 1)", with " !" when unexpected. */
static char *
guest_reboots_text (const NlHostGuestRecord *g)
{
  return g_strdup_printf ("%u (planned %u)%s", g->reboots, g->planned_reboots,
                          guest_reboots_unexpected (g) ? " !" : "");
}

/* Where a guest is when that is not its host: NULL at home. */
static const char *
guest_away (const NlHostRecord *h, const NlHostGuestRecord *g)
{
  return g->location && !g_str_equal (g->location, h->name) ? g->location : NULL;
}

static char *
patches_text (char **ids, const char *separator)
{
  return ids && ids[0] ? g_strjoinv (separator, ids) : g_strdup ("-");
}

/* The note of a guest: what it was asked for when that differs, then the
 * first line of its message. */
static char *
guest_note (const NlHostGuestRecord *g)
{
  g_autofree char *asked = asked_text (g);
  g_autofree char *message = g_strdup (g->message ? g->message : "");
  char *nl = strchr (message, '\n');

  if (nl)
    *nl = '\0';
  return g_strdup_printf ("%s%s%s", asked ? asked : "", asked && *message ? "; " : "", message);
}

/* The host's planned window, "START - END" in UTC; NULL without one (--now). */
static char *
planned_window_text (const NlHostRecord *h)
{
  g_autoptr (GDateTime) s = NULL;
  g_autoptr (GDateTime) e = NULL;
  g_autofree char *st = NULL;
  g_autofree char *et = NULL;

  if (h->window_start == 0)
    return NULL;
  s = g_date_time_new_from_unix_utc (h->window_start);
  e = g_date_time_new_from_unix_utc (h->window_end);
  st = g_date_time_format (s, "%Y-%m-%d %H:%M");
  et = g_date_time_format (e, "%Y-%m-%d %H:%M");
  return g_strdup_printf ("%s - %s UTC", st, et);
}

/* "95s (down 2026-...Z, up 2026-...Z)", "down since ...", or NULL. */
static char *
host_down_text (const NlHostRecord *h)
{
  g_autofree char *down = NULL;
  g_autofree char *up = NULL;

  if (h->down_at == 0)
    return NULL;
  down = time_text (h->down_at);
  if (h->up_at == 0)
    return g_strdup_printf ("down since %s, not back", down);
  up = time_text (h->up_at);
  return g_strdup_printf ("%" G_GINT64_FORMAT "s (down %s, up %s)", span_seconds (h->down_at, h->up_at),
                          down, up);
}

/* ------------------------------------------------------------------ */
/* Table                                                                */

/* One host window: how it went, then a line per guest. Column widths
 * follow the longest value, so a long guest name does not shift a row. */
static void
table_host (GString *out, const NlHostRecord *h)
{
  g_autofree char *planned = planned_window_text (h);
  g_autofree char *down = host_down_text (h);
  int wname = strlen ("GUEST"), waction = strlen ("ACTION"), won = strlen ("ON"), wpatches = strlen ("PATCHES");

  g_string_append_printf (out, "\nHost %s (%s)%s%s: %s\n", h->name, h->uri ? h->uri : "-",
                          h->replica ? ", rehearsal on replica " : "",
                          h->replica ? (h->domain ? h->domain : "(not made)") : "",
                          nl_host_state_to_string (h->state));
  if (planned)
    g_string_append_printf (out, "  Window planned: %s\n", planned);
  if (h->started)
    {
      g_autofree char *s = time_text (h->started);
      g_autofree char *f = time_text (h->finished);
      if (h->finished)
        {
          g_autofree char *d = duration_text (h->started, h->finished);
          g_string_append_printf (out, "  Ran: %s - %s (%s)\n", s, f, d);
        }
      else
        g_string_append_printf (out, "  Ran: from %s, not finished\n", s);
    }
  if (down)
    g_string_append_printf (out, "  Host down: %s\n", down);
  if (h->message)
    {
      /* A failed command's output may span lines: they stay under it. */
      g_auto (GStrv) lines = g_strsplit (h->message, "\n", -1);
      g_string_append_printf (out, "  %s: %s\n", h->state == NL_HOST_FAILED ? "Failed" : "Note", lines[0]);
      for (guint i = 1; lines[i]; i++)
        g_string_append_printf (out, "    %s\n", lines[i]);
    }
  for (guint i = 0; i < h->warnings->len; i++)
    g_string_append_printf (out, "  Warning: %s\n", (const char *) h->warnings->pdata[i]);
  if (h->guests->len == 0)
    return;

  for (guint i = 0; i < h->guests->len; i++)
    {
      const NlHostGuestRecord *g = h->guests->pdata[i];
      g_autofree char *p = patches_text (g->installed, ",");
      const char *away = guest_away (h, g);
      wname = MAX (wname, (int) strlen (g->name));
      waction = MAX (waction, (int) strlen (guest_action_text (g)));
      won = MAX (won, away ? (int) strlen (away) : 1);
      wpatches = MAX (wpatches, (int) strlen (p));
    }
  g_string_append_printf (out, "  %-*s %-*s %-9s %-*s %-9s %-16s %-*s %s\n", wname, "GUEST", waction, "ACTION",
                          "STATE", won, "ON", "DOWNTIME", "REBOOTS", wpatches, "PATCHES", "NOTE");
  for (guint i = 0; i < h->guests->len; i++)
    {
      const NlHostGuestRecord *g = h->guests->pdata[i];
      g_autofree char *p = patches_text (g->installed, ",");
      g_autofree char *downtime = guest_downtime_text (g);
      g_autofree char *reboots = g->action == NL_GUEST_LEAVE_OFF ? g_strdup ("-") : guest_reboots_text (g);
      g_autofree char *note = guest_note (g);
      const char *away = guest_away (h, g);
      g_string_append_printf (out, "  %-*s %-*s %-9s %-*s %-9s %-16s %-*s %s", wname, g->name, waction,
                              guest_action_text (g), nl_host_guest_state_to_string (g->state),
                              won, away ? away : "-", downtime, reboots, wpatches, p, note);
      /* No trailing blanks when there is no note. */
      while (out->len && out->str[out->len - 1] == ' ')
        g_string_truncate (out, out->len - 1);
      g_string_append_c (out, '\n');
    }
}

char *
nl_rollout_report_table (const NlJournal *j)
{
  GString *out = g_string_new (NULL);
  g_autoptr (GArray) rings = summarize (j);
  g_autofree char *created = time_text (j->created);

  g_string_append_printf (out, "Rollout %s: %s%s%s%s\n", j->id, nl_run_state_to_string (j->state),
                          j->reason ? " (" : "", j->reason ? j->reason : "", j->reason ? ")" : "");
  g_string_append_printf (out, "Started %s", created);
  if (j->state == NL_RUN_WAITING && j->wait_until)
    {
      g_autofree char *w = time_text (j->wait_until);
      g_string_append_printf (out, "; waiting for the window at %s", w);
    }
  g_string_append_c (out, '\n');
  if (j->passed)
    {
      g_autofree char *p = g_strjoinv (", ", j->passed);
      g_string_append_printf (out, "Patch set for production: %s\n", *p ? p : "(none)");
    }
  g_string_append_printf (out, "\n%-8s %-14s %-9s %s\n", "PASS", "RING", "DURATION", "MACHINES");
  for (guint i = 0; i < rings->len; i++)
    {
      RingSummary *s = &g_array_index (rings, RingSummary, i);
      g_autofree char *d = duration_text (s->started, s->finished);
      g_autofree char *c = counts_text (s);
      g_string_append_printf (out, "%-8s %-14s %-9s %u: %s%s\n", s->pass, s->name, d, s->total, c,
                              s->halted ? " (halted)" : "");
    }
  g_string_append_printf (out, "\n%-8s %-14s %-28s %-25s %-12s %s\n", "PASS", "RING", "MACHINE", "OUTCOME",
                          "PATCHES", "NOTE");
  for (guint i = 0; i < j->targets->len; i++)
    {
      const NlTargetRecord *t = j->targets->pdata[i];
      g_autofree char *patches = t->installed && t->installed[0] ? g_strjoinv (",", t->installed) : g_strdup ("-");
      NlOutcome o = nl_target_record_outcome (t);
      g_autofree char *outcome = o == NL_OUTCOME_IN_PROGRESS
        ? g_strdup_printf ("in-progress (%s)", nl_target_state_to_string (t->state))
        : g_strdup (nl_outcome_to_string (o));
      g_autofree char *note = g_strdup (t->message ? t->message : "");
      /* One line per machine: the note's first line. */
      char *nl = strchr (note, '\n');
      if (nl)
        *nl = '\0';
      g_string_append_printf (out, "%-8s %-14s %-28s %-25s %-12s %s\n", nl_rollout_pass_to_string (t->pass), t->ring, t->name, outcome,
                              patches, note);
    }
  for (guint i = 0; i < j->hosts->len; i++)
    table_host (out, j->hosts->pdata[i]);
  return g_string_free (out, FALSE);
}

/* ------------------------------------------------------------------ */
/* JSON                                                                 */

static void
json_strv (GString *out, char **v)
{
  g_string_append_c (out, '[');
  for (guint i = 0; v && v[i]; i++)
    {
      if (i)
        g_string_append_c (out, ',');
      nl_json_append_string (out, v[i]);
    }
  g_string_append_c (out, ']');
}

static void
json_int (GString *out, const char *key, gint64 value)
{
  g_string_append_printf (out, ",\"%s\":%" G_GINT64_FORMAT, key, value);
}

static void
json_bool (GString *out, const char *key, gboolean value)
{
  g_string_append_printf (out, ",\"%s\":%s", key, value ? "true" : "false");
}

/* A host window as the journal has it, with what the report derives
 * (downtimes, live migrations, unexpected reboots) next to it. */
static void
json_host (GString *out, const NlHostRecord *h)
{
  nl_json_append_field (out, "{\"name\":", h->name);
  g_string_append_printf (out, ",\"rehearsal\":%s", h->replica ? "true" : "false");
  nl_json_append_field (out, ",\"replica_domain\":", h->domain);
  nl_json_append_field (out, ",\"uri\":", h->uri);
  nl_json_append_field (out, ",\"state\":", nl_host_state_to_string (h->state));
  nl_json_append_field (out, ",\"uuid\":", h->uuid);
  nl_json_append_field (out, ",\"boot_id\":", h->boot_id);
  json_int (out, "window_start", h->window_start);
  json_int (out, "window_end", h->window_end);
  json_int (out, "started", h->started);
  json_int (out, "down_at", h->down_at);
  json_int (out, "up_at", h->up_at);
  json_int (out, "finished", h->finished);
  json_int (out, "downtime", h->up_at ? span_seconds (h->down_at, h->up_at) : 0);
  g_string_append (out, ",\"warnings\":[");
  for (guint i = 0; i < h->warnings->len; i++)
    {
      if (i)
        g_string_append_c (out, ',');
      nl_json_append_string (out, h->warnings->pdata[i]);
    }
  g_string_append_c (out, ']');
  nl_json_append_field (out, ",\"message\":", h->message);
  g_string_append (out, ",\"guests\":[");
  for (guint i = 0; i < h->guests->len; i++)
    {
      const NlHostGuestRecord *g = h->guests->pdata[i];
      if (i)
        g_string_append_c (out, ',');
      nl_json_append_field (out, "{\"name\":", g->name);
      nl_json_append_field (out, ",\"action\":", nl_guest_action_to_string (g->action));
      nl_json_append_field (out, ",\"asked\":", nl_stop_action_to_string (g->asked));
      nl_json_append_field (out, ",\"reason\":", g->reason);
      json_bool (out, "migrate_back", g->migrate_back);
      g_string_append (out, ",\"before\":");
      json_strv (out, g->before);
      json_bool (out, "reboot_held", g->held);
      g_string_append (out, ",\"after\":");
      json_strv (out, g->after);
      nl_json_append_field (out, ",\"state\":", nl_host_guest_state_to_string (g->state));
      nl_json_append_field (out, ",\"location\":", g->location);
      g_string_append (out, ",\"installed\":");
      json_strv (out, g->installed);
      json_bool (out, "agent", g->agent);
      nl_json_append_field (out, ",\"boot_id\":", g->boot_id);
      json_int (out, "reboots", g->reboots);
      json_int (out, "planned_reboots", g->planned_reboots);
      json_bool (out, "unexpected_reboots", guest_reboots_unexpected (g));
      json_int (out, "down_at", g->down_at);
      json_int (out, "up_at", g->up_at);
      json_int (out, "downtime", g->up_at ? span_seconds (g->down_at, g->up_at) : 0);
      json_bool (out, "live", guest_live (g));
      nl_json_append_field (out, ",\"message\":", g->message);
      g_string_append_c (out, '}');
    }
  g_string_append (out, "]}");
}

char *
nl_rollout_report_json (const NlJournal *j)
{
  GString *out = g_string_new ("{");
  g_autoptr (GArray) rings = summarize (j);

  nl_json_append_field (out, "\"id\":", j->id);
  nl_json_append_field (out, ",\"plan\":", j->plan_id);
  nl_json_append_field (out, ",\"state\":", nl_run_state_to_string (j->state));
  nl_json_append_field (out, ",\"reason\":", j->reason);
  g_string_append_printf (out, ",\"created\":%" G_GINT64_FORMAT ",\"updated\":%" G_GINT64_FORMAT
                          ",\"wait_until\":%" G_GINT64_FORMAT, j->created, j->updated, j->wait_until);
  g_string_append (out, ",\"passed\":");
  if (j->passed)
    json_strv (out, j->passed);
  else
    g_string_append (out, "null");
  g_string_append (out, ",\"rings\":[");
  for (guint i = 0; i < rings->len; i++)
    {
      RingSummary *s = &g_array_index (rings, RingSummary, i);
      gint64 dur = s->started ? (s->finished ? s->finished : g_get_real_time () / G_USEC_PER_SEC) - s->started : 0;
      if (i)
        g_string_append_c (out, ',');
      nl_json_append_field (out, "{\"pass\":", s->pass);
      nl_json_append_field (out, ",\"name\":", s->name);
      g_string_append_printf (out, ",\"machines\":%u,\"halted\":%s,\"started\":%" G_GINT64_FORMAT
                              ",\"finished\":%" G_GINT64_FORMAT ",\"duration\":%" G_GINT64_FORMAT ",\"counts\":{",
                              s->total, s->halted ? "true" : "false", s->started, s->finished, dur);
      for (int o = 0; o < NL_OUTCOME_LAST; o++)
        g_string_append_printf (out, "%s\"%s\":%u", o ? "," : "", nl_outcome_to_string (o), s->counts[o]);
      g_string_append (out, "}}");
    }
  g_string_append (out, "],\"targets\":[");
  for (guint i = 0; i < j->targets->len; i++)
    {
      const NlTargetRecord *t = j->targets->pdata[i];
      if (i)
        g_string_append_c (out, ',');
      nl_json_append_field (out, "{\"pass\":", nl_rollout_pass_to_string (t->pass));
      nl_json_append_field (out, ",\"ring\":", t->ring);
      nl_json_append_field (out, ",\"name\":", t->name);
      nl_json_append_field (out, ",\"production\":", t->production);
      nl_json_append_field (out, ",\"state\":", nl_target_state_to_string (t->state));
      nl_json_append_field (out, ",\"outcome\":", nl_outcome_to_string (nl_target_record_outcome (t)));
      g_string_append (out, ",\"installed\":");
      json_strv (out, t->installed);
      nl_json_append_field (out, ",\"message\":", t->message);
      g_string_append_printf (out, ",\"started\":%" G_GINT64_FORMAT ",\"finished\":%" G_GINT64_FORMAT "}",
                              t->started, t->finished);
    }
  g_string_append (out, "],\"hosts\":[");
  for (guint i = 0; i < j->hosts->len; i++)
    {
      if (i)
        g_string_append_c (out, ',');
      json_host (out, j->hosts->pdata[i]);
    }
  g_string_append (out, "]}\n");
  return g_string_free (out, FALSE);
}

/* ------------------------------------------------------------------ */
/* HTML                                                                 */

static void
html (GString *out, const char *text)
{
  g_autofree char *e = g_markup_escape_text (text ? text : "", -1);
  g_string_append (out, e);
}

/* ------------------------------------------------------------------ */
/* HTML timeline: one inline SVG built with libxml2's tree API, so every
 * name lands escaped. Time runs left to right from the run's creation to
 * the last moment the journal knows; one row per ring, per host and per
 * guest of a host. Integer coordinates only: a decimal comma from the
 * user's locale can never reach the SVG. */

#define TL_ROW 22           /* height of a row */
#define TL_BAR 12           /* height of a bar in it */
#define TL_TOP 36           /* the axis and its labels */
#define TL_CHART 720        /* width of the time axis */
#define TL_NOTE 200         /* the column after the chart: reboots, states */
#define TL_PAD 8

G_DEFINE_AUTOPTR_CLEANUP_FUNC (xmlDoc, xmlFreeDoc)

#define TL_RING "#4a7fb5"
#define TL_HALTED "#c0392b"
#define TL_WINDOW "#b8d0ea"
#define TL_HOST_DOWN "#7b2d26"
#define TL_GUEST_DOWN "#e39b2d"
#define TL_LIVE "#2e8b57"
#define TL_PLANNED "#777777"
#define TL_FLAG "#b00020"

typedef struct {
  gint64 t0, t1;
  int left;                 /* x of T0: after the labels */
  int y;                    /* top of the next row */
  xmlNodePtr svg;
} Timeline;

static gint64
latest (gint64 a, gint64 b)
{
  return MAX (a, b);
}

/* The last moment the journal knows of. */
static gint64
journal_last_time (const NlJournal *j)
{
  gint64 t = latest (j->created, j->updated);
  for (guint i = 0; i < j->rings->len; i++)
    {
      const NlRingRecord *r = j->rings->pdata[i];
      t = latest (t, latest (r->started_at, r->finished_at));
    }
  for (guint i = 0; i < j->targets->len; i++)
    {
      const NlTargetRecord *r = j->targets->pdata[i];
      t = latest (t, latest (r->started, r->finished));
    }
  for (guint i = 0; i < j->hosts->len; i++)
    {
      const NlHostRecord *h = j->hosts->pdata[i];
      t = latest (t, latest (latest (h->started, h->finished), latest (h->down_at, h->up_at)));
      for (guint k = 0; k < h->guests->len; k++)
        {
          const NlHostGuestRecord *g = h->guests->pdata[k];
          t = latest (t, latest (g->down_at, g->up_at));
        }
    }
  return t;
}

static int
tl_x (const Timeline *tl, gint64 t)
{
  t = CLAMP (t, tl->t0, tl->t1);
  return tl->left + (int) ((t - tl->t0) * TL_CHART / MAX (tl->t1 - tl->t0, 1));
}

static void
svg_set (xmlNodePtr node, const char *name, const char *value)
{
  xmlNewProp (node, (const xmlChar *) name, (const xmlChar *) value);
}

static void
svg_set_int (xmlNodePtr node, const char *name, gint64 value)
{
  char buf[32];
  g_snprintf (buf, sizeof buf, "%" G_GINT64_FORMAT, value);
  svg_set (node, name, buf);
}

static xmlNodePtr
svg_node (xmlNodePtr parent, const char *name)
{
  return xmlNewChild (parent, parent->ns, (const xmlChar *) name, NULL);
}

/* A <text> (or <title>) child holding TEXT, escaped by libxml2. */
static xmlNodePtr
svg_text (xmlNodePtr parent, const char *name, const char *text)
{
  return xmlNewTextChild (parent, parent->ns, (const xmlChar *) name, (const xmlChar *) text);
}

static xmlNodePtr
svg_label (xmlNodePtr parent, int x, int y, const char *text)
{
  xmlNodePtr t = svg_text (parent, "text", text);
  svg_set_int (t, "x", x);
  svg_set_int (t, "y", y);
  return t;
}

static xmlNodePtr
svg_rect (xmlNodePtr parent, int x, int y, int w, int h, const char *fill)
{
  xmlNodePtr r = svg_node (parent, "rect");
  svg_set_int (r, "x", x);
  svg_set_int (r, "y", y);
  svg_set_int (r, "width", MAX (w, 2));   /* a few seconds stay visible */
  svg_set_int (r, "height", h);
  svg_set (r, "fill", fill);
  return r;
}

/* A bar from FROM to TO in the current row; TO 0: still going (drawn to
 * the end, faded). */
static xmlNodePtr
tl_bar (Timeline *tl, xmlNodePtr row, gint64 from, gint64 to, const char *fill)
{
  int x0 = tl_x (tl, from), x1 = tl_x (tl, to ? to : tl->t1);
  xmlNodePtr r = svg_rect (row, x0, tl->y + (TL_ROW - TL_BAR) / 2, x1 - x0, TL_BAR, fill);
  if (to == 0)
    svg_set (r, "fill-opacity", "0.45");
  return r;
}

static void
tl_marker (Timeline *tl, xmlNodePtr row, gint64 t, const char *fill)
{
  int x = tl_x (tl, t), cy = tl->y + TL_ROW / 2;
  g_autofree char *points = g_strdup_printf ("%d,%d %d,%d %d,%d %d,%d", x, cy - 6, x + 6, cy, x, cy + 6,
                                             x - 6, cy);
  xmlNodePtr p = svg_node (row, "polygon");
  svg_set (p, "points", points);
  svg_set (p, "fill", fill);
}

/* A row: a <g class=KIND> with a tooltip TITLE, the LABEL on the left
 * (indented by INDENT) and NOTE after the chart. */
static xmlNodePtr
tl_row (Timeline *tl, const char *kind, int indent, const char *label, const char *note,
        const char *title, xmlNodePtr *note_node)
{
  xmlNodePtr row = svg_node (tl->svg, "g"), n;
  svg_set (row, "class", kind);
  svg_text (row, "title", title);
  svg_label (row, TL_PAD + indent, tl->y + TL_ROW / 2 + 4, label);
  n = svg_label (row, tl->left + TL_CHART + TL_PAD, tl->y + TL_ROW / 2 + 4, note);
  if (note_node)
    *note_node = n;
  return row;
}

static char *
tl_span_text (gint64 from, gint64 to)
{
  g_autofree char *f = time_text (from);
  g_autofree char *t = to ? time_text (to) : g_strdup ("not finished");
  g_autofree char *d = to ? duration_text (from, to) : NULL;
  return d ? g_strdup_printf ("%s - %s (%s)", f, t, d) : g_strdup_printf ("%s - %s", f, t);
}

/* Ticks at round steps, at most about eight along the axis, with
 * vertical guides through every row (BOTTOM). */
static void
tl_axis (Timeline *tl, int bottom)
{
  static const gint64 steps[] = { 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200,
                                  10800, 21600, 43200, 86400, 172800, 604800, 2592000 };
  gint64 span = MAX (tl->t1 - tl->t0, 1), step = steps[G_N_ELEMENTS (steps) - 1];
  xmlNodePtr axis = svg_node (tl->svg, "g");
  xmlNodePtr line;
  g_autoptr (GDateTime) start = g_date_time_new_from_unix_utc (tl->t0);
  g_autofree char *day = g_date_time_format (start, "UTC, from %Y-%m-%d %H:%M:%S");

  svg_set (axis, "class", "axis");
  for (guint i = 0; i < G_N_ELEMENTS (steps); i++)
    if (span / steps[i] <= 8)
      {
        step = steps[i];
        break;
      }
  svg_label (axis, TL_PAD, 12, day);
  line = svg_node (axis, "line");
  svg_set_int (line, "x1", tl->left);
  svg_set_int (line, "y1", TL_TOP - 6);
  svg_set_int (line, "x2", tl->left + TL_CHART);
  svg_set_int (line, "y2", TL_TOP - 6);
  svg_set (line, "stroke", "#888888");
  for (gint64 t = (tl->t0 + step - 1) / step * step; t <= tl->t1; t += step)
    {
      g_autoptr (GDateTime) dt = g_date_time_new_from_unix_utc (t);
      g_autofree char *label = g_date_time_format (dt, step < 60 ? "%H:%M:%S" : step < 86400 ? "%H:%M"
                                                                                          : "%m-%d");
      int x = tl_x (tl, t);
      xmlNodePtr guide = svg_node (axis, "line"), text;
      svg_set_int (guide, "x1", x);
      svg_set_int (guide, "y1", TL_TOP - 10);
      svg_set_int (guide, "x2", x);
      svg_set_int (guide, "y2", bottom);
      svg_set (guide, "stroke", "#dddddd");
      text = svg_label (axis, x, TL_TOP - 12, label);
      svg_set (text, "text-anchor", "middle");
    }
}

static void
tl_ring (Timeline *tl, const RingSummary *s)
{
  g_autofree char *label = g_strdup_printf ("ring %s/%s", s->pass, s->name);
  g_autofree char *d = duration_text (s->started, s->finished ? s->finished : tl->t1);
  g_autofree char *note = s->started ? g_strdup_printf ("%s%s", d, s->halted ? ", halted" : "") : g_strdup ("did not run");
  g_autofree char *span = s->started ? tl_span_text (s->started, s->finished) : g_strdup ("did not run");
  g_autofree char *title = g_strdup_printf ("%s: %s", label, span);
  xmlNodePtr row = tl_row (tl, "ring", 0, label, note, title, NULL);

  if (s->started)
    tl_bar (tl, row, s->started, s->finished, s->halted ? TL_HALTED : TL_RING);
  tl->y += TL_ROW;
}

static void
tl_guest (Timeline *tl, const NlHostRecord *h, const NlHostGuestRecord *g)
{
  g_autofree char *reboots = g_strdup_printf ("reboots %u (planned %u)%s", g->reboots, g->planned_reboots,
                                              guest_reboots_unexpected (g) ? " !" : "");
  g_autofree char *downtime = guest_downtime_text (g);
  g_autofree char *asked = asked_text (g);
  const char *away = guest_away (h, g);
  g_autofree char *title = g->action == NL_GUEST_LEAVE_OFF
    ? g_strdup_printf ("guest %s of %s: not running, left off", g->name, h->name)
    : g_strdup_printf ("guest %s of %s: %s, %s; downtime %s; %s%s%s%s%s", g->name, h->name,
                       guest_action_text (g), nl_host_guest_state_to_string (g->state), downtime, reboots,
                       away ? "; on " : "", away ? away : "", asked ? "; " : "", asked ? asked : "");
  const char *note = g->action == NL_GUEST_LEAVE_OFF ? "left off" : reboots;
  xmlNodePtr note_node = NULL;
  xmlNodePtr row = tl_row (tl, "guest", 16, g->name, note, title, &note_node);

  if (g->action == NL_GUEST_LEAVE_OFF)
    {
      /* Its note says it all; no bar. */
    }
  else if (guest_live (g) || (g->action == NL_GUEST_MIGRATE && g->down_at != 0))
    {
      /* Moved while the host went down: it left before the host's
       * reboot and, when it went home, came back after it. The journal
       * has no time of its own for the moves: the host's are shown. */
      gint64 left = h->down_at ? h->down_at : h->started;
      gboolean home = away == NULL;
      gint64 back = home ? (h->up_at ? h->up_at : h->finished) : 0;
      int cy = tl->y + TL_ROW / 2;
      xmlNodePtr line = svg_node (row, "line");
      svg_set_int (line, "x1", tl_x (tl, left));
      svg_set_int (line, "y1", cy);
      svg_set_int (line, "x2", tl_x (tl, back ? back : tl->t1));
      svg_set_int (line, "y2", cy);
      svg_set (line, "stroke", TL_LIVE);
      svg_set (line, "stroke-dasharray", "3,3");
      tl_marker (tl, row, left, TL_LIVE);
      if (back)
        tl_marker (tl, row, back, TL_LIVE);
      /* A reboot of its own for its patches, on the peer or at home. */
      if (g->down_at != 0)
        tl_bar (tl, row, g->down_at, g->up_at, TL_GUEST_DOWN);
    }
  else if (g->down_at != 0)
    tl_bar (tl, row, g->down_at, g->up_at, TL_GUEST_DOWN);
  if (guest_reboots_unexpected (g))
    svg_set (note_node, "fill", TL_FLAG);
  tl->y += TL_ROW;
}

static void
tl_host (Timeline *tl, const NlHostRecord *h)
{
  g_autofree char *label = g_strdup_printf ("host %s%s", h->name, h->replica ? " (rehearsal)" : "");
  g_autofree char *down = host_down_text (h);
  g_autofree char *planned = planned_window_text (h);
  g_autofree char *span = h->started ? tl_span_text (h->started, h->finished) : g_strdup ("not started");
  g_autofree char *title = g_strdup_printf ("%s: %s; window %s%s%s%s%s%s%s", label,
                                            nl_host_state_to_string (h->state), span,
                                            planned ? "; planned " : "", planned ? planned : "",
                                            down ? "; down " : "", down ? down : "",
                                            h->message ? "; " : "", h->message ? h->message : "");
  g_autofree char *note = h->up_at ? g_strdup_printf ("%s, down %" G_GINT64_FORMAT "s",
                                                      nl_host_state_to_string (h->state),
                                                      span_seconds (h->down_at, h->up_at))
                                   : g_strdup (nl_host_state_to_string (h->state));
  xmlNodePtr row = tl_row (tl, "host", 0, label, note, title, NULL);

  if (h->window_start)
    {
      /* The planned window: an outline behind the row. */
      int x0 = tl_x (tl, h->window_start), x1 = tl_x (tl, h->window_end);
      xmlNodePtr r = svg_rect (row, x0, tl->y + 2, x1 - x0, TL_ROW - 4, "none");
      svg_set (r, "stroke", TL_PLANNED);
      svg_set (r, "stroke-dasharray", "4,2");
    }
  if (h->started)
    tl_bar (tl, row, h->started, h->finished, h->state == NL_HOST_FAILED ? TL_HALTED : TL_WINDOW);
  if (h->down_at)
    {
      /* The host itself down: narrower and dark, inside the window. */
      int x0 = tl_x (tl, h->down_at), x1 = tl_x (tl, h->up_at ? h->up_at : tl->t1);
      xmlNodePtr r = svg_rect (row, x0, tl->y + (TL_ROW - TL_BAR) / 2 + 3, x1 - x0, TL_BAR - 6, TL_HOST_DOWN);
      if (h->up_at == 0)
        svg_set (r, "fill-opacity", "0.45");
    }
  tl->y += TL_ROW;
  for (guint i = 0; i < h->guests->len; i++)
    tl_guest (tl, h, h->guests->pdata[i]);
}

static void
tl_legend (Timeline *tl)
{
  static const struct { const char *fill, *text; } keys[] = {
    { TL_RING, "ring" }, { TL_WINDOW, "host window" }, { TL_HOST_DOWN, "host down" },
    { TL_GUEST_DOWN, "guest down" }, { TL_LIVE, "live migration" }, { TL_HALTED, "halted or failed" },
  };
  xmlNodePtr legend = svg_node (tl->svg, "g");
  int x = tl->left;

  svg_set (legend, "class", "legend");
  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    {
      svg_rect (legend, x, tl->y + 8, 12, 12, keys[i].fill);
      svg_label (legend, x + 16, tl->y + 18, keys[i].text);
      x += 30 + 7 * (int) strlen (keys[i].text);
    }
  {
    xmlNodePtr r = svg_rect (legend, x, tl->y + 8, 12, 12, "none");
    svg_set (r, "stroke", TL_PLANNED);
    svg_set (r, "stroke-dasharray", "4,2");
    svg_label (legend, x + 16, tl->y + 18, "planned window");
  }
  tl->y += TL_ROW + 8;
}

/* The timeline as an <svg> element (newly allocated text). */
static char *
timeline_svg (const NlJournal *j, GArray *rings)
{
  g_autoptr (xmlDoc) doc = xmlNewDoc ((const xmlChar *) "1.0");
  Timeline tl = { .t0 = j->created, .t1 = journal_last_time (j) };
  guint rows = rings->len, longest = 0;
  int width, height;
  g_autofree char *label = g_strdup_printf ("Timeline of rollout %s", j->id);
  xmlBufferPtr buf;
  char *text;

  if (tl.t0 == 0)
    tl.t0 = tl.t1;
  for (guint i = 0; i < rings->len; i++)
    {
      RingSummary *s = &g_array_index (rings, RingSummary, i);
      longest = MAX (longest, strlen (s->pass) + strlen (s->name) + 6);
    }
  for (guint i = 0; i < j->hosts->len; i++)
    {
      const NlHostRecord *h = j->hosts->pdata[i];
      rows += 1 + h->guests->len;
      longest = MAX (longest, strlen (h->name) + 5);
      for (guint k = 0; k < h->guests->len; k++)
        longest = MAX (longest, strlen (((NlHostGuestRecord *) h->guests->pdata[k])->name) + 3);
    }
  /* About 7 pixels a character at 12px; very long names run under the chart. */
  tl.left = CLAMP ((int) longest * 7 + 2 * TL_PAD, 140, 360);
  width = tl.left + TL_CHART + TL_NOTE;
  height = TL_TOP + (int) rows * TL_ROW + TL_ROW + 8;

  tl.svg = xmlNewDocNode (doc, NULL, (const xmlChar *) "svg", NULL);
  xmlDocSetRootElement (doc, tl.svg);
  xmlSetNs (tl.svg, xmlNewNs (tl.svg, (const xmlChar *) "http://www.w3.org/2000/svg", NULL));
  svg_set_int (tl.svg, "width", width);
  svg_set_int (tl.svg, "height", height);
  {
    g_autofree char *vb = g_strdup_printf ("0 0 %d %d", width, height);
    svg_set (tl.svg, "viewBox", vb);
  }
  svg_set (tl.svg, "role", "img");
  svg_set (tl.svg, "aria-label", label);
  svg_set (tl.svg, "font-family", "sans-serif");
  svg_set (tl.svg, "font-size", "12");
  tl_axis (&tl, TL_TOP + (int) rows * TL_ROW);
  tl.y = TL_TOP;
  for (guint i = 0; i < rings->len; i++)
    tl_ring (&tl, &g_array_index (rings, RingSummary, i));
  for (guint i = 0; i < j->hosts->len; i++)
    tl_host (&tl, j->hosts->pdata[i]);
  tl_legend (&tl);

  buf = xmlBufferCreate ();
  xmlNodeDump (buf, doc, tl.svg, 0, 1);
  text = g_strdup ((const char *) xmlBufferContent (buf));
  xmlBufferFree (buf);
  return text;
}


/* One host window like the text report's: how it went, its warnings, a
 * row per guest. */
static void
html_host (GString *out, const NlHostRecord *h)
{
  g_autofree char *planned = planned_window_text (h);
  g_autofree char *down = host_down_text (h);
  const char *state = nl_host_state_to_string (h->state);

  g_string_append (out, "<h3 class=\"");
  html (out, state);
  g_string_append (out, "\">Host ");
  html (out, h->name);
  g_string_append (out, " &#8212; ");
  html (out, state);
  g_string_append (out, "</h3>\n<p>URI: ");
  html (out, h->uri);
  if (planned)
    {
      g_string_append (out, "<br/>Window planned: ");
      html (out, planned);
    }
  if (h->started)
    {
      g_autofree char *span = tl_span_text (h->started, h->finished);
      g_string_append (out, "<br/>Ran: ");
      html (out, span);
    }
  if (down)
    {
      g_string_append (out, "<br/>Host down: ");
      html (out, down);
    }
  if (h->message)
    {
      g_string_append (out, h->state == NL_HOST_FAILED ? "<br/>Failed: " : "<br/>Note: ");
      html (out, h->message);
    }
  g_string_append (out, "</p>\n");
  if (h->warnings->len > 0)
    {
      g_string_append (out, "<ul>\n");
      for (guint i = 0; i < h->warnings->len; i++)
        {
          g_string_append (out, "<li>Warning: ");
          html (out, h->warnings->pdata[i]);
          g_string_append (out, "</li>\n");
        }
      g_string_append (out, "</ul>\n");
    }
  if (h->guests->len == 0)
    return;
  g_string_append (out, "<table>\n<tr><th>Guest</th><th>Action</th><th>State</th><th>On</th>"
                        "<th>Downtime</th><th>Reboots</th><th>Patches</th><th>Note</th></tr>\n");
  for (guint i = 0; i < h->guests->len; i++)
    {
      const NlHostGuestRecord *g = h->guests->pdata[i];
      const char *gstate = nl_host_guest_state_to_string (g->state);
      const char *away = guest_away (h, g);
      g_autofree char *downtime = guest_downtime_text (g);
      g_autofree char *patches = patches_text (g->installed, ", ");
      g_autofree char *asked = asked_text (g);

      g_string_append (out, "<tr class=\"");
      html (out, gstate);
      g_string_append (out, "\"><td>");
      html (out, g->name);
      g_string_append (out, "</td><td>");
      html (out, guest_action_text (g));
      g_string_append (out, "</td><td>");
      html (out, gstate);
      g_string_append (out, "</td><td>");
      html (out, away ? away : "");
      g_string_append (out, "</td><td>");
      html (out, downtime);
      g_string_append (out, "</td><td>");
      if (g->action != NL_GUEST_LEAVE_OFF)
        {
          gboolean flag = guest_reboots_unexpected (g);
          g_string_append_printf (out, "%s%u (planned %u)%s", flag ? "<span class=\"flag\">" : "", g->reboots,
                                  g->planned_reboots, flag ? " !</span>" : "");
        }
      g_string_append (out, "</td><td>");
      html (out, patches);
      g_string_append (out, "</td><td>");
      if (asked)
        {
          html (out, asked);
          if (g->message)
            g_string_append (out, "<br/>");
        }
      html (out, g->message);
      g_string_append (out, "</td></tr>\n");
    }
  g_string_append (out, "</table>\n");
}

char *
nl_rollout_report_html (const NlJournal *j)
{
  GString *out = g_string_new (NULL);
  g_autoptr (GArray) rings = summarize (j);
  g_autofree char *created = time_text (j->created);

  g_string_append (out,
    "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n<title>nestlab rollout ");
  html (out, j->id);
  g_string_append (out,
    "</title>\n<style>\n"
    "body{font-family:system-ui,sans-serif;margin:2em;color:#222}\n"
    "table{border-collapse:collapse;margin:1em 0}\n"
    "th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}\n"
    "th{background:#f0f0f0}\n"
    ".installed,.installed-pending-reboot{background:#e6f4e6}\n"
    ".failed,.rolled-back{background:#fbe3e3}\n"
    ".skipped,.not-applicable{color:#777}\n"
    ".in-progress{background:#fff6d6}\n"
    ".done{background:#e6f4e6}\n"
    ".left{color:#777}\n"
    ".flag{color:#b00020;font-weight:bold}\n"
    ".timeline{overflow-x:auto}\n"
    "</style>\n</head>\n<body>\n<h1>Rollout ");
  html (out, j->id);
  g_string_append (out, "</h1>\n<p>State: <strong>");
  html (out, nl_run_state_to_string (j->state));
  g_string_append (out, "</strong>");
  if (j->reason)
    {
      g_string_append (out, " &#8212; ");
      html (out, j->reason);
    }
  g_string_append (out, "<br/>Started: ");
  html (out, created);
  if (j->passed)
    {
      g_autofree char *p = g_strjoinv (", ", j->passed);
      g_string_append (out, "<br/>Patch set for production: ");
      html (out, *p ? p : "(none)");
    }
  g_string_append (out, "</p>\n");
  if (rings->len > 0 || j->hosts->len > 0)
    {
      g_autofree char *svg = timeline_svg (j, rings);
      g_string_append (out, "<h2>Timeline</h2>\n<div class=\"timeline\">\n");
      g_string_append (out, svg);
      g_string_append (out, "\n</div>\n");
    }
  g_string_append (out, "<h2>Rings</h2>\n<table>\n<tr><th>Pass</th><th>Ring</th><th>Duration</th>"
                        "<th>Machines</th><th>Outcomes</th></tr>\n");
  for (guint i = 0; i < rings->len; i++)
    {
      RingSummary *s = &g_array_index (rings, RingSummary, i);
      g_autofree char *d = duration_text (s->started, s->finished);
      g_autofree char *c = counts_text (s);
      g_string_append (out, "<tr><td>");
      html (out, s->pass);
      g_string_append (out, "</td><td>");
      html (out, s->name);
      g_string_append (out, "</td><td>");
      html (out, d);
      g_string_append_printf (out, "</td><td>%u</td><td>", s->total);
      html (out, c);
      if (s->halted)
        g_string_append (out, " (halted)");
      g_string_append (out, "</td></tr>\n");
    }
  g_string_append (out, "</table>\n<h2>Machines</h2>\n<table>\n<tr><th>Pass</th><th>Ring</th><th>Machine</th>"
                        "<th>Outcome</th><th>Patches</th><th>Note</th></tr>\n");
  for (guint i = 0; i < j->targets->len; i++)
    {
      const NlTargetRecord *t = j->targets->pdata[i];
      const char *o = nl_outcome_to_string (nl_target_record_outcome (t));
      g_autofree char *patches = t->installed ? g_strjoinv (", ", t->installed) : g_strdup ("");
      g_string_append (out, "<tr class=\"");
      html (out, o);
      g_string_append (out, "\"><td>");
      html (out, nl_rollout_pass_to_string (t->pass));
      g_string_append (out, "</td><td>");
      html (out, t->ring);
      g_string_append (out, "</td><td>");
      html (out, t->name);
      g_string_append (out, "</td><td>");
      html (out, o);
      g_string_append (out, "</td><td>");
      html (out, patches);
      g_string_append (out, "</td><td>");
      html (out, t->message);
      g_string_append (out, "</td></tr>\n");
    }
  g_string_append (out, "</table>\n");
  if (j->hosts->len > 0)
    g_string_append (out, "<h2>Hosts</h2>\n");
  for (guint i = 0; i < j->hosts->len; i++)
    html_host (out, j->hosts->pdata[i]);
  g_string_append (out, "</body>\n</html>\n");
  return g_string_free (out, FALSE);
}
