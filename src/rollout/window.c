/* Host windows: what a host's patch window does to each of its guests
 * (save, shut down, migrate, and which patches ride on the host's reboot),
 * and the downtime notice people get before it, as iCalendar and JSON.
 * Pure functions: the facts come in, nothing is asked of libvirt here. */
#include <string.h>

#include <nestlab/error.h>
#include <nestlab/json.h>
#include <nestlab/rollout.h>

NL_ENUM_IMPL (nl_guest_action, NL_GUEST_ACTION_LAST, "leave-off", "save", "shutdown", "migrate")

static void
guest_plan_free (NlGuestPlan *g)
{
  if (g == NULL)
    return;
  g_free (g->name);
  g_free (g->reason);
  g_strfreev (g->before);
  g_strfreev (g->after);
  g_free (g);
}

void
nl_host_plan_free (NlHostPlan *plan)
{
  if (plan == NULL)
    return;
  g_free (plan->host);
  g_free (plan->uri);
  g_free (plan->peer);
  g_clear_pointer (&plan->guests, g_ptr_array_unref);
  g_clear_pointer (&plan->warnings, g_ptr_array_unref);
  g_clear_pointer (&plan->start, g_date_time_unref);
  g_clear_pointer (&plan->end, g_date_time_unref);
  g_free (plan);
}

static char **
strv_take (GPtrArray *ids)
{
  g_ptr_array_add (ids, NULL);
  return (char **) g_ptr_array_free (ids, FALSE);
}

static char *
join_ids (GPtrArray *ids)
{
  GString *s = g_string_new (NULL);
  for (guint i = 0; i < ids->len; i++)
    g_string_append_printf (s, "%s%s", i ? ", " : "", (const char *) ids->pdata[i]);
  return g_string_free (s, FALSE);
}

/* The number of reboots the patches need, installed in order: an
 * own-reboot patch ends a stretch (its reboot comes before the next
 * install); the last stretch needs one when any of it asks. FORCING gets
 * the own-reboot patches that a later reboot follows: the ones that make
 * one reboot impossible. */
static guint
count_reboots (const NlGuestFacts *f, GPtrArray *forcing)
{
  guint reboots = 0;
  gboolean pending = FALSE;
  const char *last_own = NULL;

  for (guint i = 0; i < f->n_patches; i++)
    {
      const NlPendingPatch *p = &f->patches[i];
      if (p->reboot == NL_REBOOT_OWN)
        {
          if (last_own != NULL)
            g_ptr_array_add (forcing, g_strdup (last_own));
          last_own = p->id;
          reboots++;
          pending = FALSE;
        }
      else if (p->reboot == NL_REBOOT_SHARED)
        {
          if (last_own != NULL && !pending)
            g_ptr_array_add (forcing, g_strdup (last_own));
          last_own = NULL;
          pending = TRUE;
        }
    }
  return reboots + (pending ? 1 : 0);
}

static NlGuestPlan *
plan_guest (const NlHostTarget *host, const NlHostPolicy *policy, const NlGuestFacts *f,
            GPtrArray *warnings)
{
  NlGuestPlan *g = g_new0 (NlGuestPlan, 1);
  g_autoptr (GPtrArray) before = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) after = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) forcing = g_ptr_array_new_with_free_func (g_free);
  guint reboots = count_reboots (f, forcing);

  g->name = g_strdup (f->name);
  g->asked = f->stop;
  g->action = (NlGuestAction) (f->stop + NL_GUEST_SAVE);

  if (!f->running)
    {
      /* nestlab patches through the agent, so an off guest stays off and
       * keeps its patches for the next time it runs. */
      g->action = NL_GUEST_LEAVE_OFF;
      if (f->n_patches > 0)
        g_ptr_array_add (warnings, g_strdup_printf ("guest '%s' is not running: its %u pending "
                                                    "patch(es) wait until it runs", f->name,
                                                    f->n_patches));
      g->before = strv_take (g_steal_pointer (&before));
      g->after = strv_take (g_steal_pointer (&after));
      return g;
    }

  /* KVM documents migration and save of a nested hypervisor that runs
   * guests of its own as unsupported; from outside nobody can tell whether
   * it does, so a nested hypervisor is always shut down. */
  if (f->nested && (g->action == NL_GUEST_SAVE || g->action == NL_GUEST_MIGRATE))
    {
      g->reason = g_strdup_printf ("a nested hypervisor: KVM does not support %s one that runs "
                                   "guests of its own", g->action == NL_GUEST_SAVE ? "saving"
                                                                                   : "migrating");
      g->action = NL_GUEST_SHUTDOWN;
    }
  /* A saved guest resumes where it was: the reboot its patches wait for
   * would never happen, so it goes down properly instead. */
  if (g->action == NL_GUEST_SAVE && reboots > 0)
    {
      g->reason = g_strdup ("its patches need a reboot, which resuming a saved guest would skip");
      g->action = NL_GUEST_SHUTDOWN;
    }

  switch (g->action)
    {
    case NL_GUEST_SAVE:
      /* Nothing to reboot: every patch goes in before the save. */
      for (guint i = 0; i < f->n_patches; i++)
        g_ptr_array_add (before, g_strdup (f->patches[i].id));
      g->reboots = 0;
      break;
    case NL_GUEST_SHUTDOWN:
      /* Everything up to the first own-reboot patch goes in with its
       * reboot held back; the cold boot after the host's reboot finishes
       * them. What comes after that patch waits for that boot. */
      {
        gboolean past_own = FALSE;
        for (guint i = 0; i < f->n_patches; i++)
          {
            g_ptr_array_add (past_own ? after : before, g_strdup (f->patches[i].id));
            past_own |= f->patches[i].reboot == NL_REBOOT_OWN;
          }
      }
      g->held = before->len > 0 && reboots > 0;
      g->reboots = MAX (reboots, 1);
      break;
    case NL_GUEST_MIGRATE:
      /* It keeps running on the peer: its patches are an ordinary
       * guest's, with their own reboots, outside the host's. */
      for (guint i = 0; i < f->n_patches; i++)
        g_ptr_array_add (after, g_strdup (f->patches[i].id));
      g->migrate_back = policy->migrate_back;
      g->reboots = reboots;
      break;
    default:
      g_assert_not_reached ();
    }

  if (reboots > 1)
    {
      g_autofree char *ids = join_ids (forcing);
      g_ptr_array_add (warnings,
                       g_strdup_printf ("guest '%s': one window is impossible: %s need%s a reboot "
                                        "of its own before later patches install, so it reboots "
                                        "%u times", f->name, ids, forcing->len == 1 ? "s" : "",
                                        reboots));
    }
  g->before = strv_take (g_steal_pointer (&before));
  g->after = strv_take (g_steal_pointer (&after));
  return g;
}

NlHostPlan *
nl_rollout_host_plan (const NlHostTarget *host, const NlHostPolicy *policy,
                      const NlGuestFacts *guests, guint n_guests)
{
  NlHostPlan *plan = g_new0 (NlHostPlan, 1);

  plan->host = g_strdup (host->name);
  plan->uri = nl_host_target_where (host);
  plan->peer = g_strdup (host->peer);
  plan->guests = g_ptr_array_new_with_free_func ((GDestroyNotify) guest_plan_free);
  plan->warnings = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < n_guests; i++)
    g_ptr_array_add (plan->guests, plan_guest (host, policy, &guests[i], plan->warnings));
  return plan;
}

gboolean
nl_rollout_host_plans_schedule (const NlRolloutPlan *plan, GPtrArray *plans, GDateTime *now,
                                GError **error)
{
  g_autoptr (GDateTime) start = NULL;
  g_autoptr (GDateTime) end = NULL;

  if (plan->windows->len == 0)
    {
      g_set_error (error, NL_ERROR, NL_ERROR_INVALID,
                   "%s: the plan has no <window>: a host window needs a maintenance window",
                   plan->file ? plan->file : plan->id);
      return FALSE;
    }
  if (!nl_rollout_windows_next (plan->windows, now, &start, &end, error))
    return FALSE;
  for (guint i = 0; i < plans->len; i++)
    {
      NlHostPlan *hp = plans->pdata[i];
      g_clear_pointer (&hp->start, g_date_time_unref);
      g_clear_pointer (&hp->end, g_date_time_unref);
      hp->start = g_date_time_to_utc (start);
      hp->end = g_date_time_to_utc (end);
    }
  return TRUE;
}

/* "shutdown (asked: save; why)" and the patch part, as one line. */
static char *
guest_line (const NlGuestPlan *g)
{
  GString *s = g_string_new (NULL);
  g_autofree char *before = g_strjoinv (", ", g->before);
  g_autofree char *after = g_strjoinv (", ", g->after);

  g_string_append_printf (s, "%s: %s", g->name, nl_guest_action_to_string (g->action));
  if (g->action == NL_GUEST_MIGRATE)
    g_string_append (s, g->migrate_back ? " to the peer and back" : " to the peer (stays)");
  if (g->reason)
    g_string_append_printf (s, " instead of %s (%s)", nl_stop_action_to_string (g->asked), g->reason);
  if (before[0])
    g_string_append_printf (s, "; before: %s%s", before, g->held ? " (reboot held for the host's)" : "");
  if (after[0])
    g_string_append_printf (s, "; after its reboot: %s", after);
  g_string_append_printf (s, "; reboots: %u", g->reboots);
  return g_string_free (s, FALSE);
}

static char *
utc_text (GDateTime *t, const char *format)
{
  g_autoptr (GDateTime) u = g_date_time_to_utc (t);
  return g_date_time_format (u, format);
}

GPtrArray *
nl_rollout_host_plans_describe (const GPtrArray *plans)
{
  GPtrArray *lines = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < plans->len; i++)
    {
      const NlHostPlan *hp = plans->pdata[i];
      g_autofree char *start = hp->start ? utc_text (hp->start, "%Y-%m-%d %H:%M UTC") : NULL;
      g_autofree char *end = hp->end ? utc_text (hp->end, "%Y-%m-%d %H:%M UTC") : NULL;

      g_ptr_array_add (lines, g_strdup_printf ("host %s (%s)%s%s: window %s%s%s", hp->host, hp->uri,
                                               hp->peer ? ", peer " : "", hp->peer ? hp->peer : "",
                                               start ? start : "now", end ? " to " : "",
                                               end ? end : ""));
      if (hp->guests->len == 0)
        g_ptr_array_add (lines, g_strdup ("  (no guests)"));
      for (guint g = 0; g < hp->guests->len; g++)
        {
          g_autofree char *line = guest_line (hp->guests->pdata[g]);
          g_ptr_array_add (lines, g_strdup_printf ("  %s", line));
        }
      for (guint w = 0; w < hp->warnings->len; w++)
        g_ptr_array_add (lines, g_strdup_printf ("  warning: %s", (const char *) hp->warnings->pdata[w]));
    }
  return lines;
}

/* ------------------------------------------------------------------ */
/* The notice                                                           */

/* RFC 5545 3.3.11: backslash, semicolon and comma escaped, newlines as \n. */
static void
ics_escape (GString *out, const char *text)
{
  for (const char *p = text; *p; p++)
    switch (*p)
      {
      case '\\': case ';': case ',':
        g_string_append_c (out, '\\');
        g_string_append_c (out, *p);
        break;
      case '\n':
        g_string_append (out, "\\n");
        break;
      case '\r':
        break;
      default:
        g_string_append_c (out, *p);
      }
}

/* RFC 5545 3.1: lines end in CRLF and are folded to at most 75 octets,
 * the continuation starting with one space; a fold never splits a UTF-8
 * character. */
static void
ics_line (GString *out, const char *line)
{
  gsize len = strlen (line), pos = 0, limit = 75;

  while (len - pos > limit)
    {
      gsize cut = pos + limit;
      while (cut > pos && ((guchar) line[cut] & 0xC0) == 0x80)
        cut--;
      g_string_append_len (out, line + pos, cut - pos);
      g_string_append (out, "\r\n ");
      pos = cut;
      limit = 74;   /* the leading space counts */
    }
  g_string_append (out, line + pos);
  g_string_append (out, "\r\n");
}

static void G_GNUC_PRINTF (2, 3)
ics_printf (GString *out, const char *format, ...)
{
  va_list ap;
  g_autofree char *line = NULL;

  va_start (ap, format);
  line = g_strdup_vprintf (format, ap);
  va_end (ap);
  ics_line (out, line);
}

/* Host plans sharing one window, in order of first appearance. */
static GPtrArray *
windows_of (const GPtrArray *plans)
{
  GPtrArray *groups = g_ptr_array_new_with_free_func ((GDestroyNotify) g_ptr_array_unref);
  for (guint i = 0; i < plans->len; i++)
    {
      NlHostPlan *hp = plans->pdata[i];
      GPtrArray *group = NULL;
      g_return_val_if_fail (hp->start != NULL && hp->end != NULL, groups);
      for (guint j = 0; j < groups->len && group == NULL; j++)
        {
          GPtrArray *gr = groups->pdata[j];
          NlHostPlan *first = gr->pdata[0];
          if (g_date_time_equal (first->start, hp->start) && g_date_time_equal (first->end, hp->end))
            group = gr;
        }
      if (group == NULL)
        {
          group = g_ptr_array_new ();
          g_ptr_array_add (groups, group);
        }
      g_ptr_array_add (group, hp);
    }
  return groups;
}

static char *
window_description (GPtrArray *group)
{
  GString *s = g_string_new (NULL);
  for (guint i = 0; i < group->len; i++)
    {
      const NlHostPlan *hp = group->pdata[i];
      g_string_append_printf (s, "%shost %s (%s)\n", i ? "\n" : "", hp->host, hp->uri);
      for (guint g = 0; g < hp->guests->len; g++)
        {
          g_autofree char *line = guest_line (hp->guests->pdata[g]);
          g_string_append_printf (s, "  guest %s\n", line);
        }
      for (guint w = 0; w < hp->warnings->len; w++)
        g_string_append_printf (s, "  warning: %s\n", (const char *) hp->warnings->pdata[w]);
    }
  return g_string_free (s, FALSE);
}

static char *
window_hosts (GPtrArray *group)
{
  GString *s = g_string_new (NULL);
  for (guint i = 0; i < group->len; i++)
    g_string_append_printf (s, "%s%s", i ? ", " : "", ((NlHostPlan *) group->pdata[i])->host);
  return g_string_free (s, FALSE);
}

char *
nl_rollout_notice_ics (const char *plan_id, const GPtrArray *plans, GDateTime *stamp)
{
  GString *out = g_string_new (NULL);
  g_autoptr (GPtrArray) groups = windows_of (plans);
  g_autofree char *dtstamp = utc_text (stamp, "%Y%m%dT%H%M%SZ");

  ics_line (out, "BEGIN:VCALENDAR");
  ics_line (out, "VERSION:2.0");
  ics_line (out, "PRODID:-//nestlab//rollout downtime notice//EN");
  ics_line (out, "CALSCALE:GREGORIAN");
  ics_line (out, "METHOD:PUBLISH");
  for (guint i = 0; i < groups->len; i++)
    {
      GPtrArray *group = groups->pdata[i];
      NlHostPlan *first = group->pdata[0];
      g_autofree char *start = utc_text (first->start, "%Y%m%dT%H%M%SZ");
      g_autofree char *end = utc_text (first->end, "%Y%m%dT%H%M%SZ");
      g_autofree char *hosts = window_hosts (group);
      g_autofree char *description = window_description (group);
      g_autoptr (GString) summary = g_string_new (NULL);
      g_autoptr (GString) desc = g_string_new (NULL);
      g_autoptr (GString) uid = g_string_new (NULL);

      /* Stable across runs of `rollout plan`, so a calendar updates the
       * event instead of adding another. */
      ics_escape (uid, plan_id);
      g_string_append_printf (uid, "-%s@nestlab", start);
      g_string_append (summary, "Maintenance: ");
      ics_escape (summary, hosts);
      g_string_append (summary, " down for patching");
      ics_escape (desc, description);

      ics_line (out, "BEGIN:VEVENT");
      ics_printf (out, "UID:%s", uid->str);
      ics_printf (out, "DTSTAMP:%s", dtstamp);
      ics_printf (out, "DTSTART:%s", start);
      ics_printf (out, "DTEND:%s", end);
      ics_printf (out, "SUMMARY:%s", summary->str);
      ics_printf (out, "DESCRIPTION:%s", desc->str);
      ics_line (out, "TRANSP:OPAQUE");
      ics_line (out, "END:VEVENT");
    }
  ics_line (out, "END:VCALENDAR");
  return g_string_free (out, FALSE);
}

static void
json_strv (GString *out, const char *prefix, char **v)
{
  g_string_append_printf (out, "%s[", prefix);
  for (guint i = 0; v && v[i]; i++)
    {
      if (i)
        g_string_append_c (out, ',');
      nl_json_append_string (out, v[i]);
    }
  g_string_append_c (out, ']');
}

char *
nl_rollout_notice_json (const char *plan_id, const GPtrArray *plans, GDateTime *stamp)
{
  GString *out = g_string_new ("{");
  g_autoptr (GPtrArray) groups = windows_of (plans);
  g_autofree char *made = utc_text (stamp, "%Y-%m-%dT%H:%M:%SZ");

  nl_json_append_field (out, "\"plan\":", plan_id);
  nl_json_append_field (out, ",\"made\":", made);
  g_string_append (out, ",\"windows\":[");
  for (guint i = 0; i < groups->len; i++)
    {
      GPtrArray *group = groups->pdata[i];
      NlHostPlan *first = group->pdata[0];
      g_autofree char *start = utc_text (first->start, "%Y-%m-%dT%H:%M:%SZ");
      g_autofree char *end = utc_text (first->end, "%Y-%m-%dT%H:%M:%SZ");

      g_string_append (out, i ? ",{" : "{");
      nl_json_append_field (out, "\"start\":", start);
      nl_json_append_field (out, ",\"end\":", end);
      g_string_append (out, ",\"hosts\":[");
      for (guint h = 0; h < group->len; h++)
        {
          const NlHostPlan *hp = group->pdata[h];
          g_string_append (out, h ? ",{" : "{");
          nl_json_append_field (out, "\"name\":", hp->host);
          nl_json_append_field (out, ",\"uri\":", hp->uri);
          nl_json_append_field (out, ",\"peer\":", hp->peer);
          g_string_append (out, ",\"guests\":[");
          for (guint g = 0; g < hp->guests->len; g++)
            {
              const NlGuestPlan *gp = hp->guests->pdata[g];
              g_string_append (out, g ? ",{" : "{");
              nl_json_append_field (out, "\"name\":", gp->name);
              nl_json_append_field (out, ",\"action\":", nl_guest_action_to_string (gp->action));
              nl_json_append_field (out, ",\"asked\":", nl_stop_action_to_string (gp->asked));
              nl_json_append_field (out, ",\"reason\":", gp->reason);
              g_string_append_printf (out, ",\"migrate_back\":%s", gp->migrate_back ? "true" : "false");
              json_strv (out, ",\"before\":", gp->before);
              g_string_append_printf (out, ",\"reboot_held\":%s", gp->held ? "true" : "false");
              json_strv (out, ",\"after\":", gp->after);
              g_string_append_printf (out, ",\"reboots\":%u}", gp->reboots);
            }
          g_string_append (out, "],\"warnings\":[");
          for (guint w = 0; w < hp->warnings->len; w++)
            {
              if (w)
                g_string_append_c (out, ',');
              nl_json_append_string (out, hp->warnings->pdata[w]);
            }
          g_string_append (out, "]}");
        }
      g_string_append (out, "]}");
    }
  g_string_append (out, "]}\n");
  return g_string_free (out, FALSE);
}
