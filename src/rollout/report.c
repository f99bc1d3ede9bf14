/* What a rollout will do (nl_rollout_describe) and what it did: the report
 * per target and per ring as a text table, JSON, and one self-contained
 * HTML page. Pure functions of the plan or the journal. */
#include <string.h>

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
                                               p->reboot ? ", reboot" : "", p->title ? ": " : "",
                                               p->title ? p->title : ""));
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
/* Table                                                                */

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

char *
nl_rollout_report_html (const NlJournal *j)
{
  GString *out = g_string_new (NULL);
  g_autoptr (GArray) rings = summarize (j);
  g_autofree char *created = time_text (j->created);

  g_string_append (out,
    "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>nestlab rollout ");
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
    "</style>\n</head>\n<body>\n<h1>Rollout ");
  html (out, j->id);
  g_string_append (out, "</h1>\n<p>State: <strong>");
  html (out, nl_run_state_to_string (j->state));
  g_string_append (out, "</strong>");
  if (j->reason)
    {
      g_string_append (out, " &mdash; ");
      html (out, j->reason);
    }
  g_string_append (out, "<br>Started: ");
  html (out, created);
  if (j->passed)
    {
      g_autofree char *p = g_strjoinv (", ", j->passed);
      g_string_append (out, "<br>Patch set for production: ");
      html (out, *p ? p : "(none)");
    }
  g_string_append (out, "</p>\n<h2>Rings</h2>\n<table>\n<tr><th>Pass</th><th>Ring</th><th>Duration</th>"
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
  g_string_append (out, "</table>\n</body>\n</html>\n");
  return g_string_free (out, FALSE);
}
