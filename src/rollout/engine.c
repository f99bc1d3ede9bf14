/* The pure pieces of the rollout engine: maintenance window arithmetic,
 * batch sizes and failure budgets, the per-target state machine and the
 * rule resume applies to a target a crash left behind. No I/O. */
#include <string.h>

#include <nestlab/error.h>
#include <nestlab/rollout.h>

NL_ENUM_IMPL (nl_target_state, NL_TARGET_STATE_LAST,
              "pending", "prechecked", "checkpointed", "installing", "rebooting",
              "verifying", "done", "failed", "rolling-back", "rolled-back",
              "not-applicable", "skipped")
NL_ENUM_IMPL (nl_resume_action, NL_RESUME_LAST,
              "nothing", "restart", "install", "wait-pid", "check", "revert-redo",
              "wait-agent", "verify", "rollback")
NL_ENUM_IMPL (nl_outcome, NL_OUTCOME_LAST,
              "installed", "installed-pending-reboot", "failed", "rolled-back",
              "not-applicable", "skipped", "in-progress")
NL_ENUM_IMPL (nl_rollout_pass, NL_PASS_LAST, "replica", "now", "window")
NL_ENUM_IMPL (nl_run_state, NL_RUN_STATE_LAST,
              "running", "waiting", "done", "halted", "aborted", "interrupted")

/* ------------------------------------------------------------------ */
/* Windows                                                              */

/* Day of month of the WEEK-th WEEKDAY of YEAR-MONTH (WEEK -1: the last);
 * 0 when that month has no such day (a fifth Tuesday). */
static int
nth_weekday (int year, int month, int week, GDateWeekday weekday)
{
  GDate d;
  int days = g_date_get_days_in_month (month, year);
  int first, day;

  g_date_clear (&d, 1);
  g_date_set_dmy (&d, 1, month, year);
  first = 1 + ((int) weekday - (int) g_date_get_weekday (&d) + 7) % 7;
  if (week < 0)
    {
      day = first;
      while (day + 7 <= days)
        day += 7;
      return day;
    }
  day = first + 7 * (week - 1);
  return day <= days ? day : 0;
}

gboolean
nl_rollout_window_next (const NlWindow *window, GDateTime *now,
                        GDateTime **start, GDateTime **end, GError **error)
{
  g_autoptr (GTimeZone) tz = NULL;
  g_autoptr (GDateTime) local = NULL;
  int year, month;

  *start = *end = NULL;
  tz = window->timezone ? g_time_zone_new_identifier (window->timezone) : g_time_zone_new_utc ();
  if (tz == NULL)
    {
      g_set_error (error, NL_ERROR, NL_ERROR_INVALID, "unknown time zone '%s'", window->timezone);
      return FALSE;
    }
  local = g_date_time_to_timezone (now, tz);
  year = g_date_time_get_year (local);
  month = g_date_time_get_month (local);
  /* Start two months back: an offset or a long window may still be open
   * from an earlier month's anchor day. Windows grow monotonically with the
   * month, so the first one still open is the answer. */
  for (int k = -2; k <= 15; k++)
    {
      int m0 = (month - 1) + k;
      int y = year + (m0 >= 0 ? m0 / 12 : -((11 - m0) / 12));
      int m = ((m0 % 12) + 12) % 12 + 1;
      int day = nth_weekday (y, m, window->week, window->weekday);
      GDate d;
      g_autoptr (GDateTime) s = NULL;
      g_autoptr (GDateTime) e = NULL;

      if (day == 0)
        continue;
      g_date_clear (&d, 1);
      g_date_set_dmy (&d, day, m, y);
      if (window->offset_days > 0)
        g_date_add_days (&d, window->offset_days);
      else if (window->offset_days < 0)
        g_date_subtract_days (&d, -window->offset_days);
      /* A start inside a DST gap moves forward by GLib's rules; a start in
       * the repeated hour takes its first occurrence. */
      s = g_date_time_new (tz, g_date_get_year (&d), g_date_get_month (&d), g_date_get_day (&d),
                           window->hour, window->minute, 0);
      if (s == NULL)
        continue;
      e = g_date_time_add_seconds (s, window->duration);
      if (g_date_time_compare (e, now) > 0)
        {
          *start = g_steal_pointer (&s);
          *end = g_steal_pointer (&e);
          return TRUE;
        }
    }
  g_set_error (error, NL_ERROR, NL_ERROR_INVALID, "the window has no occurrence in the next year");
  return FALSE;
}

gboolean
nl_rollout_windows_next (const GPtrArray *windows, GDateTime *now,
                         GDateTime **start, GDateTime **end, GError **error)
{
  *start = *end = NULL;
  for (guint i = 0; i < windows->len; i++)
    {
      g_autoptr (GDateTime) s = NULL;
      g_autoptr (GDateTime) e = NULL;
      if (!nl_rollout_window_next (windows->pdata[i], now, &s, &e, error))
        {
          g_clear_pointer (start, g_date_time_unref);
          g_clear_pointer (end, g_date_time_unref);
          return FALSE;
        }
      if (*start == NULL || g_date_time_compare (s, *start) < 0)
        {
          g_clear_pointer (start, g_date_time_unref);
          g_clear_pointer (end, g_date_time_unref);
          *start = g_steal_pointer (&s);
          *end = g_steal_pointer (&e);
        }
    }
  if (*start == NULL)
    {
      g_set_error (error, NL_ERROR, NL_ERROR_INVALID, "the plan has no maintenance window");
      return FALSE;
    }
  return TRUE;
}

/* ------------------------------------------------------------------ */
/* Batches and budgets                                                  */

GArray *
nl_rollout_batches (const NlAmount *steps, guint n_steps, guint n)
{
  GArray *sizes = g_array_new (FALSE, FALSE, sizeof (guint));
  guint left = n;

  for (guint i = 0; left > 0; i++)
    {
      NlAmount step = n_steps > 0 ? steps[MIN (i, n_steps - 1)] : (NlAmount) { TRUE, 100 };
      guint64 size = step.percent ? ((guint64) n * step.value + 99) / 100 : step.value;
      guint take = (guint) CLAMP (size, 1, left);
      g_array_append_val (sizes, take);
      left -= take;
    }
  return sizes;
}

gboolean
nl_rollout_budget_exceeded (const NlAmount *budget, guint n, guint failures)
{
  if (budget->percent)
    return (guint64) failures * 100 > (guint64) budget->value * n;
  return failures > budget->value;
}

/* ------------------------------------------------------------------ */
/* The state machine                                                    */

gboolean
nl_rollout_state_is_final (NlTargetState state)
{
  switch (state)
    {
    case NL_TARGET_DONE:
    case NL_TARGET_FAILED:
    case NL_TARGET_ROLLED_BACK:
    case NL_TARGET_NOT_APPLICABLE:
    case NL_TARGET_SKIPPED:
      return TRUE;
    default:
      return FALSE;
    }
}

#define BIT(s) (1u << (s))

gboolean
nl_rollout_transition_valid (NlTargetState from, NlTargetState to)
{
  /* Every active state may fail; those past the checkpoint roll back. */
  static const guint allowed[NL_TARGET_STATE_LAST] = {
    [NL_TARGET_PENDING] = BIT (NL_TARGET_PRECHECKED) | BIT (NL_TARGET_FAILED) | BIT (NL_TARGET_SKIPPED),
    [NL_TARGET_PRECHECKED] = BIT (NL_TARGET_CHECKPOINTED) | BIT (NL_TARGET_NOT_APPLICABLE)
                             | BIT (NL_TARGET_FAILED) | BIT (NL_TARGET_SKIPPED),
    [NL_TARGET_CHECKPOINTED] = BIT (NL_TARGET_INSTALLING) | BIT (NL_TARGET_FAILED)
                               | BIT (NL_TARGET_ROLLING_BACK),
    /* installing -> checkpointed: resume reverted to the checkpoint to
     * install again. */
    [NL_TARGET_INSTALLING] = BIT (NL_TARGET_REBOOTING) | BIT (NL_TARGET_VERIFYING)
                             | BIT (NL_TARGET_CHECKPOINTED) | BIT (NL_TARGET_FAILED)
                             | BIT (NL_TARGET_ROLLING_BACK),
    [NL_TARGET_REBOOTING] = BIT (NL_TARGET_VERIFYING) | BIT (NL_TARGET_FAILED)
                            | BIT (NL_TARGET_ROLLING_BACK),
    [NL_TARGET_VERIFYING] = BIT (NL_TARGET_DONE) | BIT (NL_TARGET_FAILED)
                            | BIT (NL_TARGET_ROLLING_BACK),
    [NL_TARGET_DONE] = 0,
    [NL_TARGET_FAILED] = BIT (NL_TARGET_ROLLING_BACK),
    [NL_TARGET_ROLLING_BACK] = BIT (NL_TARGET_ROLLED_BACK) | BIT (NL_TARGET_FAILED),
    [NL_TARGET_ROLLED_BACK] = 0,
    [NL_TARGET_NOT_APPLICABLE] = 0,
    [NL_TARGET_SKIPPED] = 0,
  };

  if (from < 0 || from >= NL_TARGET_STATE_LAST || to < 0 || to >= NL_TARGET_STATE_LAST)
    return FALSE;
  /* Re-entering an active state is how resume repeats an idempotent step
   * (and how installing moves on to the next patch). */
  if (from == to)
    return !nl_rollout_state_is_final (from);
  return (allowed[from] & BIT (to)) != 0;
}

NlResumeAction
nl_rollout_resume_action (NlTargetState state, gboolean have_pid,
                          gboolean agent_knows_pid, gboolean has_check)
{
  switch (state)
    {
    case NL_TARGET_PENDING:
    case NL_TARGET_PRECHECKED:
      /* Nothing was changed on the machine yet (an unfinished checkpoint
       * is taken again under the same name). */
      return NL_RESUME_RESTART;
    case NL_TARGET_CHECKPOINTED:
      return NL_RESUME_INSTALL;
    case NL_TARGET_INSTALLING:
      /* The guest process outlives nestlab: if the agent still knows it,
       * its exit status is the install's result, as if nothing happened. */
      if (have_pid && agent_knows_pid)
        return NL_RESUME_WAIT_PID;
      /* Otherwise the patch may or may not be in: its check command says
       * which; without one, only the checkpoint gives a known state. */
      return has_check ? NL_RESUME_CHECK : NL_RESUME_REVERT_REDO;
    case NL_TARGET_REBOOTING:
      return NL_RESUME_WAIT_AGENT;
    case NL_TARGET_VERIFYING:
      return NL_RESUME_VERIFY;
    case NL_TARGET_ROLLING_BACK:
      return NL_RESUME_ROLLBACK;
    default:
      return NL_RESUME_NOTHING;
    }
}
