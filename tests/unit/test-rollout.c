/* Unit tests of the rollout module: plan parsing (good plans and a corpus
 * of bad ones with their expected messages), window arithmetic, batch and
 * budget arithmetic, the state machine and resume rule, the journal and
 * locks, and the executor driven by a scripted in-process driver (crash and
 * resume, budgets, replica failures); the reports of host windows and a
 * host's own commands. No libvirt connection. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include <nestlab/error.h>
#include <nestlab/rollout.h>
#include "nl-test.h"

/* A crash as `kill -9` makes it: nothing runs after it, no exit handler,
 * no clean-up (and no valgrind leak check in the dying process). */
static void G_GNUC_NORETURN
die (void)
{
  kill (getpid (), SIGKILL);
  abort ();
}

/* ------------------------------------------------------------------ */
/* Plans                                                                */

START_TEST (plan_full_example_parses)
{
  g_autofree char *path = nl_test_data_path ("rollout/good/full.xml");
  g_autoptr (GError) error = NULL;
  g_autoptr (NlRolloutPlan) plan = nl_rollout_plan_load (path, &error);
  NlPatch *p;
  NlRing *r;
  NlWindow *w;
  NlHealthCheck *h;

  ck_assert_msg (plan != NULL, "%s", error ? error->message : "");
  ck_assert_str_eq (plan->id, "patch-tuesday");
  ck_assert_uint_eq (plan->agent_timeout, 300);
  ck_assert_uint_eq (plan->patches->len, 2);
  p = plan->patches->pdata[0];
  ck_assert_str_eq (p->id, "KB5034439");
  ck_assert_int_eq (p->severity, NL_SEVERITY_CRITICAL);
  ck_assert (p->reboot);
  ck_assert_uint_eq (p->timeout, 1800);
  ck_assert_uint_eq (p->install->len, 2);
  ck_assert_str_eq (nl_rollout_command_for (p->install, NL_OS_FAMILY_WINDOWS)->argv[3], "/norestart");
  ck_assert_str_eq (nl_rollout_command_for (p->install, NL_OS_FAMILY_LINUX)->argv[0], "/usr/bin/apt-get");
  ck_assert_ptr_null (nl_rollout_command_for (p->install, NL_OS_FAMILY_OTHER));
  ck_assert_uint_eq (p->check->len, 1);
  p = plan->patches->pdata[1];
  ck_assert_int_eq (p->severity, NL_SEVERITY_LOW);
  ck_assert (!p->reboot);
  /* One command serves every OS when it is the only one. */
  ck_assert_ptr_nonnull (nl_rollout_command_for (p->install, NL_OS_FAMILY_LINUX));

  ck_assert_uint_eq (plan->targets->len, 3);
  ck_assert_int_eq (((NlTargetSelector *) plan->targets->pdata[0])->kind, NL_TARGET_LAB);
  ck_assert_str_eq (((NlTargetSelector *) plan->targets->pdata[0])->role, "sql");
  ck_assert_str_eq (((NlTargetSelector *) plan->targets->pdata[1])->machines, "web*");
  ck_assert_str_eq (((NlTargetSelector *) plan->targets->pdata[2])->domain, "legacy-fileserver");

  ck_assert_uint_eq (plan->health->len, 2);
  h = plan->health->pdata[1];
  ck_assert_int_eq (h->kind, NL_HEALTH_COMMAND);
  ck_assert_uint_eq (h->times, 3);
  ck_assert_uint_eq (h->interval, 10);
  ck_assert_uint_eq (h->timeout, 30);
  ck_assert (plan->replica.enabled && plan->replica.keep);
  ck_assert_uint_eq (plan->replica.boot_timeout, 600);
  ck_assert_str_eq (plan->replica.pool, "replicas");

  ck_assert_uint_eq (plan->rings->len, 2);
  r = plan->rings->pdata[0];
  ck_assert_str_eq (r->select[1], "web01");
  ck_assert_uint_eq (r->soak, 1800);
  r = plan->rings->pdata[1];
  ck_assert_uint_eq (r->n_batches, 2);
  ck_assert (!r->batches[0].percent && r->batches[0].value == 1);
  ck_assert (r->batches[1].percent && r->batches[1].value == 25);
  ck_assert_uint_eq (r->max_parallel, 4);
  ck_assert (r->budget.percent && r->budget.value == 10);

  ck_assert_uint_eq (plan->windows->len, 2);
  w = plan->windows->pdata[0];
  ck_assert_int_eq (w->week, 2);
  ck_assert_int_eq (w->weekday, G_DATE_TUESDAY);
  ck_assert_int_eq (w->offset_days, 1);
  ck_assert_int_eq (w->hour, 22);
  ck_assert_uint_eq (w->duration, 4 * 3600);
  w = plan->windows->pdata[1];
  ck_assert_int_eq (w->week, -1);
  ck_assert_ptr_null (w->timezone);
}
END_TEST

START_TEST (plan_shipped_tiny_rollout_parses)
{
  g_autofree char *path = g_build_filename (NL_TEST_DATA_DIR, "..", "..", "templates",
                                            "tiny-rollout.xml", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (NlRolloutPlan) plan = nl_rollout_plan_load (path, &error);
  ck_assert_msg (plan != NULL, "%s", error ? error->message : "");
  ck_assert_str_eq (plan->id, "tiny-kb1");
}
END_TEST

START_TEST (plan_shipped_scvmm_hosts_rollout_parses)
{
  g_autofree char *path = g_build_filename (NL_TEST_DATA_DIR, "..", "..", "templates",
                                            "scvmm-hosts-rollout.xml", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (NlRolloutPlan) plan = nl_rollout_plan_load (path, &error);
  const NlHostTarget *hv01;

  ck_assert_msg (plan != NULL, "%s", error ? error->message : "");
  ck_assert_uint_eq (plan->patches->len, 0);
  ck_assert_uint_eq (plan->hosts->len, 2);
  hv01 = nl_rollout_plan_find_host (plan, "hv01");
  ck_assert_str_eq (hv01->lab, "scvmm-demo");
  ck_assert_str_eq (hv01->peer, "hv02");
  ck_assert_int_eq (plan->host_policy.stop, NL_STOP_MIGRATE);
  ck_assert_uint_eq (plan->host_policy.parallel, 2);
}
END_TEST

/* tests/data/rollout/bad/NAME.xml, one Check case each so that one
 * failure hides no other. Listed when the suite is built. */
static GPtrArray *bad_plans;

/* The corpus is there, and no expected message is left without its plan. */
START_TEST (plan_bad_corpus_is_complete)
{
  g_autoptr (GPtrArray) errs = nl_test_data_list ("rollout/bad", ".err");

  ck_assert_uint_gt (bad_plans->len, 10);
  for (guint i = 0; i < errs->len; i++)
    {
      const char *err = errs->pdata[i];
      g_autofree char *stem = g_strndup (err, strlen (err) - 4);
      g_autofree char *xml = g_strconcat (stem, ".xml", NULL);
      ck_assert_msg (g_ptr_array_find_with_equal_func (bad_plans, xml, g_str_equal, NULL),
                     "rollout/bad/%s has no plan", err);
    }
}
END_TEST

/* Each bad plan fails with exactly NAME.err (FILE stands for the path:
 * file, line and message), exit class "invalid". */
START_TEST (plan_bad_file_reports_file_and_line)
{
  const char *name = bad_plans->pdata[_i];
  g_autofree char *dir = nl_test_data_path ("rollout/bad");
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autofree char *stem = g_strndup (name, strlen (name) - 4);
  g_autofree char *errpath = g_strdup_printf ("%s/%s.err", dir, stem);
  g_autofree char *expected = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (NlRolloutPlan) plan = NULL;
  g_autoptr (GString) want = NULL;

  ck_assert_msg (g_file_get_contents (errpath, &expected, NULL, NULL), "missing %s", errpath);
  plan = nl_rollout_plan_load (path, &error);
  ck_assert_msg (plan == NULL, "%s: loaded, expected an error", name);
  ck_assert_msg (g_error_matches (error, NL_ERROR, NL_ERROR_INVALID), "%s: wrong error: %s", name,
                 error->message);
  want = g_string_new (g_strchomp (expected));
  g_string_replace (want, "FILE", path, 0);
  ck_assert_msg (g_str_equal (want->str, error->message), "%s:\n  expected: %s\n  actual:   %s",
                 name, want->str, error->message);
}
END_TEST

START_TEST (plan_missing_file_is_invalid_input)
{
  g_autoptr (GError) error = NULL;
  ck_assert_ptr_null (nl_rollout_plan_load ("/nonexistent/plan.xml", &error));
  ck_assert (g_error_matches (error, NL_ERROR, NL_ERROR_INVALID));
  ck_assert (strstr (error->message, "/nonexistent/plan.xml: cannot read") != NULL);
}
END_TEST

START_TEST (amounts_parse)
{
  NlAmount a;
  ck_assert (nl_rollout_parse_amount ("3", &a, NULL) && !a.percent && a.value == 3);
  ck_assert (nl_rollout_parse_amount ("25%", &a, NULL) && a.percent && a.value == 25);
  ck_assert (!nl_rollout_parse_amount ("101%", &a, NULL));
  ck_assert (!nl_rollout_parse_amount ("-1", &a, NULL));
  ck_assert (!nl_rollout_parse_amount ("5x", &a, NULL));
  ck_assert (!nl_rollout_parse_amount ("", &a, NULL));
}
END_TEST

/* ------------------------------------------------------------------ */
/* Windows                                                              */

static GDateTime *
at (const char *iso)
{
  GDateTime *dt = g_date_time_new_from_iso8601 (iso, NULL);
  ck_assert_msg (dt != NULL, "bad ISO time %s", iso);
  return dt;
}

static void
assert_window (const NlWindow *w, const char *now_iso, const char *start_iso, const char *end_iso)
{
  g_autoptr (GDateTime) now = at (now_iso);
  g_autoptr (GDateTime) start = NULL;
  g_autoptr (GDateTime) end = NULL;
  g_autoptr (GDateTime) want_s = at (start_iso);
  g_autoptr (GDateTime) want_e = at (end_iso);
  g_autoptr (GError) error = NULL;
  g_autofree char *got_s = NULL;
  g_autofree char *got_e = NULL;

  ck_assert_msg (nl_rollout_window_next (w, now, &start, &end, &error), "%s",
                 error ? error->message : "");
  got_s = g_date_time_format_iso8601 (start);
  got_e = g_date_time_format_iso8601 (end);
  ck_assert_msg (g_date_time_equal (start, want_s), "now %s: start %s, expected %s", now_iso, got_s, start_iso);
  ck_assert_msg (g_date_time_equal (end, want_e), "now %s: end %s, expected %s", now_iso, got_e, end_iso);
}

START_TEST (window_second_tuesday_in_utc)
{
  NlWindow w = { .week = 2, .weekday = G_DATE_TUESDAY, .hour = 22, .duration = 4 * 3600 };
  /* January 2024: Tuesdays 2, 9, 16. */
  assert_window (&w, "2024-01-01T00:00:00Z", "2024-01-09T22:00:00Z", "2024-01-10T02:00:00Z");
  /* Inside the window: the current one. */
  assert_window (&w, "2024-01-10T01:00:00Z", "2024-01-09T22:00:00Z", "2024-01-10T02:00:00Z");
  /* Just after it: February's (Tuesdays 6, 13). */
  assert_window (&w, "2024-01-10T02:00:00Z", "2024-02-13T22:00:00Z", "2024-02-14T02:00:00Z");
}
END_TEST

START_TEST (window_offset_crosses_months_and_years)
{
  /* Second Tuesday + 20 days: December 2024's is the 10th -> the 30th;
   * the next, January 2025 (the 14th) -> February 3rd. */
  NlWindow w = { .week = 2, .weekday = G_DATE_TUESDAY, .offset_days = 20, .hour = 6, .duration = 3600 };
  assert_window (&w, "2024-12-15T00:00:00Z", "2024-12-30T06:00:00Z", "2024-12-30T07:00:00Z");
  assert_window (&w, "2024-12-31T00:00:00Z", "2025-02-03T06:00:00Z", "2025-02-03T07:00:00Z");
  /* A negative offset goes back into the previous month. */
  {
    NlWindow w2 = { .week = 1, .weekday = G_DATE_MONDAY, .offset_days = -3, .hour = 12, .duration = 3600 };
    /* First Monday of March 2024 is the 4th -> March 1st. */
    assert_window (&w2, "2024-02-20T00:00:00Z", "2024-03-01T12:00:00Z", "2024-03-01T13:00:00Z");
  }
}
END_TEST

START_TEST (window_last_weekday_and_missing_fifth)
{
  NlWindow last = { .week = -1, .weekday = G_DATE_SATURDAY, .hour = 6, .duration = 7200 };
  NlWindow fifth = { .week = 5, .weekday = G_DATE_TUESDAY, .hour = 1, .duration = 3600 };
  /* Last Saturday of February 2024 (leap year) is the 24th. */
  assert_window (&last, "2024-02-01T00:00:00Z", "2024-02-24T06:00:00Z", "2024-02-24T08:00:00Z");
  /* Fifth Tuesday: January 2024 has none after the 30th... it does: 2, 9,
   * 16, 23, 30. February 2024 has none; April 2024 has the 30th. */
  assert_window (&fifth, "2024-01-31T00:00:00Z", "2024-04-30T01:00:00Z", "2024-04-30T02:00:00Z");
}
END_TEST

START_TEST (window_follows_time_zone_and_dst)
{
  NlWindow w = { .week = 2, .weekday = G_DATE_TUESDAY, .hour = 22, .duration = 4 * 3600,
                 .timezone = (char *) "Europe/Berlin" };
  NlWindow ny = { .week = 2, .weekday = G_DATE_SUNDAY, .hour = 2, .minute = 30, .duration = 3600,
                  .timezone = (char *) "America/New_York" };
  /* Winter: CET (UTC+1). */
  assert_window (&w, "2024-01-01T00:00:00Z", "2024-01-09T21:00:00Z", "2024-01-10T01:00:00Z");
  /* Summer: CEST (UTC+2); same local time, one hour earlier in UTC. */
  assert_window (&w, "2024-07-01T00:00:00Z", "2024-07-09T20:00:00Z", "2024-07-10T00:00:00Z");
  /* The window is computed in its own zone even when "now" is given in
   * another: 2024-01-09 22:30 in Tokyo is 14:30 CET, before the start. */
  assert_window (&w, "2024-01-09T22:30:00+09:00", "2024-01-09T21:00:00Z", "2024-01-10T01:00:00Z");
  /* 02:30 on the second Sunday of March 2024 does not exist in New York
   * (clocks jump 02:00 -> 03:00): the window opens when the gap ends, at
   * 03:00 EDT, and still lasts its hour. */
  {
    g_autoptr (GDateTime) now = at ("2024-03-01T00:00:00Z");
    g_autoptr (GDateTime) s = NULL;
    g_autoptr (GDateTime) e = NULL;
    ck_assert (nl_rollout_window_next (&ny, now, &s, &e, NULL));
    ck_assert_int_eq (g_date_time_get_day_of_month (s), 10);
    ck_assert_int_eq (g_date_time_get_month (s), 3);
    ck_assert_int_eq (g_date_time_get_hour (s), 3);
    ck_assert_int_eq (g_date_time_get_minute (s), 0);
    ck_assert_int_eq (g_date_time_get_utc_offset (s), -4 * G_TIME_SPAN_HOUR);
    ck_assert_int_eq (g_date_time_difference (e, s), G_TIME_SPAN_HOUR);
  }
}
END_TEST

START_TEST (windows_pick_the_earliest)
{
  NlWindow a = { .week = 2, .weekday = G_DATE_TUESDAY, .hour = 22, .duration = 3600 };
  NlWindow b = { .week = -1, .weekday = G_DATE_SATURDAY, .hour = 6, .duration = 3600 };
  g_autoptr (GPtrArray) ws = g_ptr_array_new ();
  g_autoptr (GDateTime) now = at ("2024-01-15T00:00:00Z");
  g_autoptr (GDateTime) s = NULL;
  g_autoptr (GDateTime) e = NULL;
  g_autoptr (GDateTime) want = at ("2024-01-27T06:00:00Z");

  g_ptr_array_add (ws, &a);
  g_ptr_array_add (ws, &b);
  ck_assert (nl_rollout_windows_next (ws, now, &s, &e, NULL));
  ck_assert (g_date_time_equal (s, want));
}
END_TEST

/* ------------------------------------------------------------------ */
/* Batches and budgets                                                  */

static char *
batches_text (const char *spec, guint n)
{
  g_auto (GStrv) words = g_strsplit (spec, " ", -1);
  g_autoptr (GArray) steps = g_array_new (FALSE, FALSE, sizeof (NlAmount));
  g_autoptr (GArray) sizes = NULL;
  GString *out = g_string_new (NULL);

  for (guint i = 0; words[i]; i++)
    {
      NlAmount a;
      ck_assert (nl_rollout_parse_amount (words[i], &a, NULL));
      g_array_append_val (steps, a);
    }
  sizes = nl_rollout_batches ((NlAmount *) steps->data, steps->len, n);
  for (guint i = 0; i < sizes->len; i++)
    g_string_append_printf (out, "%s%u", i ? " " : "", g_array_index (sizes, guint, i));
  return g_string_free (out, FALSE);
}

#define ASSERT_BATCHES(spec, n, want) \
  do { \
    g_autofree char *got_ = batches_text (spec, n); \
    ck_assert_msg (g_str_equal (got_, want), "%s of %u: got '%s', expected '%s'", spec, n, got_, want); \
  } while (0)

START_TEST (batches_one_then_percent)
{
  ASSERT_BATCHES ("1 25%", 10, "1 3 3 3");
  ASSERT_BATCHES ("1 25%", 1, "1");
  ASSERT_BATCHES ("1 25%", 2, "1 1");
  ASSERT_BATCHES ("1 25%", 0, "");
  ASSERT_BATCHES ("100%", 7, "7");
  ASSERT_BATCHES ("2 5 10", 30, "2 5 10 10 3");
  ASSERT_BATCHES ("1%", 3, "1 1 1");
  ASSERT_BATCHES ("50%", 5, "3 2");
}
END_TEST

START_TEST (budget_must_be_exceeded)
{
  NlAmount zero = { FALSE, 0 }, one = { FALSE, 1 }, ten = { TRUE, 10 }, half = { TRUE, 50 };
  ck_assert (!nl_rollout_budget_exceeded (&zero, 5, 0));
  ck_assert (nl_rollout_budget_exceeded (&zero, 5, 1));
  ck_assert (!nl_rollout_budget_exceeded (&one, 5, 1));
  ck_assert (nl_rollout_budget_exceeded (&one, 5, 2));
  /* 10% of 20 is 2: 2 failures are within it, 3 exceed it. */
  ck_assert (!nl_rollout_budget_exceeded (&ten, 20, 2));
  ck_assert (nl_rollout_budget_exceeded (&ten, 20, 3));
  /* 10% of 5 is 0.5: one failure exceeds it. */
  ck_assert (nl_rollout_budget_exceeded (&ten, 5, 1));
  /* 50% of 4 is 2: exactly 2 is not exceeding. */
  ck_assert (!nl_rollout_budget_exceeded (&half, 4, 2));
  ck_assert (nl_rollout_budget_exceeded (&half, 4, 3));
}
END_TEST

/* ------------------------------------------------------------------ */
/* State machine and resume rule                                        */

START_TEST (state_machine_happy_and_rollback_paths)
{
  static const NlTargetState happy[] = {
    NL_TARGET_PENDING, NL_TARGET_PRECHECKED, NL_TARGET_CHECKPOINTED, NL_TARGET_INSTALLING,
    NL_TARGET_INSTALLING, NL_TARGET_REBOOTING, NL_TARGET_VERIFYING, NL_TARGET_DONE,
  };
  static const NlTargetState bad[] = {
    NL_TARGET_PENDING, NL_TARGET_PRECHECKED, NL_TARGET_CHECKPOINTED, NL_TARGET_INSTALLING,
    NL_TARGET_FAILED, NL_TARGET_ROLLING_BACK, NL_TARGET_ROLLED_BACK,
  };
  for (guint i = 0; i + 1 < G_N_ELEMENTS (happy); i++)
    ck_assert_msg (nl_rollout_transition_valid (happy[i], happy[i + 1]), "%s -> %s",
                   nl_target_state_to_string (happy[i]), nl_target_state_to_string (happy[i + 1]));
  for (guint i = 0; i + 1 < G_N_ELEMENTS (bad); i++)
    ck_assert (nl_rollout_transition_valid (bad[i], bad[i + 1]));
  ck_assert (nl_rollout_transition_valid (NL_TARGET_VERIFYING, NL_TARGET_ROLLING_BACK));
  ck_assert (nl_rollout_transition_valid (NL_TARGET_PRECHECKED, NL_TARGET_NOT_APPLICABLE));
  ck_assert (nl_rollout_transition_valid (NL_TARGET_PENDING, NL_TARGET_SKIPPED));
  /* Resume's revert-and-redo goes back to the checkpoint. */
  ck_assert (nl_rollout_transition_valid (NL_TARGET_INSTALLING, NL_TARGET_CHECKPOINTED));
}
END_TEST

START_TEST (state_machine_refuses_shortcuts_and_leaving_final_states)
{
  /* No install without a checkpoint; no success without verification. */
  ck_assert (!nl_rollout_transition_valid (NL_TARGET_PENDING, NL_TARGET_INSTALLING));
  ck_assert (!nl_rollout_transition_valid (NL_TARGET_PRECHECKED, NL_TARGET_INSTALLING));
  ck_assert (!nl_rollout_transition_valid (NL_TARGET_INSTALLING, NL_TARGET_DONE));
  ck_assert (!nl_rollout_transition_valid (NL_TARGET_REBOOTING, NL_TARGET_DONE));
  /* Nothing to roll back before the checkpoint. */
  ck_assert (!nl_rollout_transition_valid (NL_TARGET_PRECHECKED, NL_TARGET_ROLLING_BACK));
  for (int s = 0; s < NL_TARGET_STATE_LAST; s++)
    {
      ck_assert (!nl_rollout_transition_valid (NL_TARGET_DONE, s));
      ck_assert (!nl_rollout_transition_valid (NL_TARGET_ROLLED_BACK, s));
      ck_assert (!nl_rollout_transition_valid (NL_TARGET_SKIPPED, s));
      ck_assert (!nl_rollout_transition_valid (NL_TARGET_NOT_APPLICABLE, s));
    }
  ck_assert (!nl_rollout_transition_valid (NL_TARGET_STATE_LAST, NL_TARGET_DONE));
}
END_TEST

START_TEST (resume_rule_never_installs_blindly)
{
  /* Before the checkpoint nothing changed: start over. */
  ck_assert_int_eq (nl_rollout_resume_action (NL_TARGET_PENDING, FALSE, FALSE, FALSE), NL_RESUME_RESTART);
  ck_assert_int_eq (nl_rollout_resume_action (NL_TARGET_PRECHECKED, FALSE, FALSE, TRUE), NL_RESUME_RESTART);
  ck_assert_int_eq (nl_rollout_resume_action (NL_TARGET_CHECKPOINTED, FALSE, FALSE, FALSE), NL_RESUME_INSTALL);
  /* Installing: the guest process is the authority while it is known... */
  ck_assert_int_eq (nl_rollout_resume_action (NL_TARGET_INSTALLING, TRUE, TRUE, FALSE), NL_RESUME_WAIT_PID);
  ck_assert_int_eq (nl_rollout_resume_action (NL_TARGET_INSTALLING, TRUE, TRUE, TRUE), NL_RESUME_WAIT_PID);
  /* ...then the check command; without one, the checkpoint. Never a
   * plain reinstall. */
  ck_assert_int_eq (nl_rollout_resume_action (NL_TARGET_INSTALLING, TRUE, FALSE, TRUE), NL_RESUME_CHECK);
  ck_assert_int_eq (nl_rollout_resume_action (NL_TARGET_INSTALLING, FALSE, FALSE, TRUE), NL_RESUME_CHECK);
  ck_assert_int_eq (nl_rollout_resume_action (NL_TARGET_INSTALLING, FALSE, FALSE, FALSE), NL_RESUME_REVERT_REDO);
  ck_assert_int_eq (nl_rollout_resume_action (NL_TARGET_INSTALLING, TRUE, FALSE, FALSE), NL_RESUME_REVERT_REDO);
  ck_assert_int_eq (nl_rollout_resume_action (NL_TARGET_REBOOTING, FALSE, FALSE, FALSE), NL_RESUME_WAIT_AGENT);
  ck_assert_int_eq (nl_rollout_resume_action (NL_TARGET_VERIFYING, FALSE, FALSE, FALSE), NL_RESUME_VERIFY);
  ck_assert_int_eq (nl_rollout_resume_action (NL_TARGET_ROLLING_BACK, FALSE, FALSE, FALSE), NL_RESUME_ROLLBACK);
  ck_assert_int_eq (nl_rollout_resume_action (NL_TARGET_DONE, FALSE, FALSE, FALSE), NL_RESUME_NOTHING);
  ck_assert_int_eq (nl_rollout_resume_action (NL_TARGET_ROLLED_BACK, FALSE, FALSE, FALSE), NL_RESUME_NOTHING);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Journal and locks                                                    */

/* A folder for one case's journals and fake machines, removed when the
 * case's g_autoptr lets it go (in the case's own process: the runs it
 * forks die by SIGKILL or _exit). */
static NlTestDir *
temp_root (void)
{
  return nl_test_dir_new ("nl-rollout-XXXXXX");
}

static NlTargetRecord *
add_target (NlJournal *j, const char *pass, const char *ring, const char *name)
{
  NlTargetRecord *r = g_new0 (NlTargetRecord, 1);
  r->pass = nl_rollout_pass_from_string (pass);
  r->ring = g_strdup (ring);
  r->name = g_strdup (name);
  r->key = g_strdup_printf ("%s/%s/%s", pass, ring, name);
  r->installed = g_new0 (char *, 1);
  g_ptr_array_add (j->targets, r);
  return r;
}

START_TEST (journal_round_trips_and_replaces_atomically)
{
  g_autoptr (NlTestDir) root = temp_root ();
  g_autoptr (GError) error = NULL;
  g_autoptr (NlJournal) j = nl_journal_create (root, "run-1", &error);
  g_autoptr (NlJournal) back = NULL;
  g_autofree char *tmp = NULL;
  NlTargetRecord *r, *b;

  ck_assert_msg (j != NULL, "%s", error ? error->message : "");
  r = add_target (j, "now", "canary", "web01");
  add_target (j, "now", "broad", "web02");
  /* libvirt allows '[' and ']' in a domain name; a key file group not. */
  add_target (j, "now", "broad", "web[3] %41");
  j->passed = g_strsplit ("KB1,KB2", ",", -1);
  ck_assert (nl_journal_transition (j, r, NL_TARGET_PRECHECKED, NULL, &error));
  ck_assert (nl_journal_transition (j, r, NL_TARGET_CHECKPOINTED, NULL, &error));
  r->checkpoint = g_strdup ("nl-run-1");
  r->pid = 4242;
  r->patch = 1;
  ck_assert (nl_journal_transition (j, r, NL_TARGET_INSTALLING, "installing KB2", &error));
  /* An invalid transition is refused and changes nothing. */
  ck_assert (!nl_journal_transition (j, r, NL_TARGET_DONE, NULL, &error));
  g_clear_error (&error);

  /* No temporary file is left behind. */
  tmp = g_build_filename (root, "run-1", "journal.tmp", NULL);
  ck_assert (!g_file_test (tmp, G_FILE_TEST_EXISTS));

  back = nl_journal_load (root, "run-1", &error);
  ck_assert_msg (back != NULL, "%s", error ? error->message : "");
  ck_assert_uint_eq (back->targets->len, 3);
  ck_assert_ptr_nonnull (nl_journal_find_target (back, "now/broad/web[3] %41"));
  ck_assert_str_eq (nl_journal_find_target (back, "now/broad/web[3] %41")->name, "web[3] %41");
  b = nl_journal_find_target (back, "now/canary/web01");
  ck_assert_ptr_nonnull (b);
  ck_assert_int_eq (b->state, NL_TARGET_INSTALLING);
  ck_assert_int_eq (b->pid, 4242);
  ck_assert_uint_eq (b->patch, 1);
  ck_assert_str_eq (b->checkpoint, "nl-run-1");
  ck_assert_str_eq (b->message, "installing KB2");
  ck_assert_str_eq (back->passed[1], "KB2");
  ck_assert_int_eq (nl_journal_find_target (back, "now/broad/web02")->state, NL_TARGET_PENDING);

  /* A second run with the same id is refused. */
  ck_assert_ptr_null (nl_journal_create (root, "run-1", &error));
  ck_assert (g_error_matches (error, NL_ERROR, NL_ERROR_CONFLICT));
  g_clear_error (&error);
  ck_assert_ptr_null (nl_journal_load (root, "run-2", &error));
  ck_assert (g_error_matches (error, NL_ERROR, NL_ERROR_NOT_FOUND));
  g_clear_error (&error);
  /* Ids are file names: no path tricks. */
  ck_assert_ptr_null (nl_journal_load (root, "../etc", &error));
}
END_TEST

START_TEST (journal_lists_newest_first)
{
  g_autoptr (NlTestDir) root = temp_root ();
  g_autoptr (GPtrArray) ids = NULL;
  const char *names[] = { "b-run", "a-run", "c-run" };

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autoptr (NlJournal) j = nl_journal_create (root, names[i], NULL);
      j->created = 1000 + i;
      ck_assert (nl_journal_save (j, NULL));
    }
  ids = nl_journal_list (root, NULL);
  ck_assert_uint_eq (ids->len, 3);
  ck_assert_str_eq (ids->pdata[0], "c-run");
  ck_assert_str_eq (ids->pdata[1], "a-run");
  ck_assert_str_eq (ids->pdata[2], "b-run");
}
END_TEST

START_TEST (lock_keeps_two_runs_off_the_same_machine)
{
  g_autoptr (NlTestDir) root = temp_root ();
  const char *first[] = { "web01", "web02", NULL };
  const char *second[] = { "db01", "web02", NULL };
  const char *third[] = { "db01", NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (NlRolloutLock) a = NULL;
  g_autoptr (NlRolloutLock) b = NULL;
  g_autofree char *run_dir = g_build_filename (root, "r1", NULL);
  int report[2];
  char answer = '?';
  pid_t pid;
  int status;

  ck_assert (g_mkdir_with_parents (run_dir, 0700) == 0);
  a = nl_rollout_lock_acquire (root, "r1", first, &error);
  ck_assert_msg (a != NULL, "%s", error ? error->message : "");
  ck_assert (nl_rollout_run_is_active (root, "r1"));
  /* flock is per open file: a second process must be refused. It reports
   * through a pipe and then dies as a killed run would. */
  ck_assert (pipe (report) == 0);
  pid = fork ();
  if (pid == 0)
    {
      g_autoptr (GError) e = NULL;
      char verdict = '0';
      NlRolloutLock *l = nl_rollout_lock_acquire (root, NULL, second, &e);
      if (l != NULL || !g_error_matches (e, NL_ERROR, NL_ERROR_CONFLICT) || !strstr (e->message, "web02"))
        verdict = '1';
      else if (nl_rollout_lock_acquire (root, NULL, third, NULL) == NULL)
        verdict = '2';
      if (write (report[1], &verdict, 1) != 1)
        abort ();
      die ();
    }
  close (report[1]);
  ck_assert_int_eq (read (report[0], &answer, 1), 1);
  close (report[0]);
  ck_assert (waitpid (pid, &status, 0) == pid);
  ck_assert_msg (answer == '0', "second process: %s", answer == '1' ? "not refused over web02" : "refused db01");
  nl_rollout_lock_release (g_steal_pointer (&a));
  ck_assert (!nl_rollout_run_is_active (root, "r1"));
  b = nl_rollout_lock_acquire (root, NULL, second, &error);
  ck_assert (b != NULL);
}
END_TEST

/* ------------------------------------------------------------------ */
/* The executor, driven by a scripted driver                           */

/* A fake machine is a folder ROOT/guests/NAME holding "data" (one line per
 * change a command made), restore points as data.<name>, and pids/<pid>
 * (the exit status of a finished process). Commands are argv lists:
 *   /fake append LINE [fail-on NAME]   appends LINE; exit 1 on machine NAME
 *   /fake has LINE                     exit 0 when LINE is present
 *   /fake healthy                      exit 0 unless a line BROKEN is present
 * CRASH_AT (env NL_FAKE_CRASH) "start:N" kills the process right after the
 * N-th install command took effect, before its pid is known; "wait:N" after
 * the pid was journalled. */
typedef struct {
  char *dir;
  gint starts;
  gint waits;
  gint calls;     /* every call of a host window's (NL_FAKE_CRASH "call:N") */
} Fake;

typedef struct {
  Fake *fake;
  char *name;
  char *dir;
} FakeHandle;

static gint fake_pid_counter = 100;

static char *
fake_read (const char *dir)
{
  g_autofree char *path = g_build_filename (dir, "data", NULL);
  char *text = NULL;
  if (!g_file_get_contents (path, &text, NULL, NULL))
    text = g_strdup ("");
  return text;
}

static void
fake_write (const char *dir, const char *text)
{
  g_autofree char *path = g_build_filename (dir, "data", NULL);
  ck_assert (g_file_set_contents (path, text, -1, NULL));
}

static void
fake_guest_new (Fake *fake, const char *name, const char *data)
{
  g_autofree char *dir = g_build_filename (fake->dir, "guests", name, "pids", NULL);
  g_autofree char *gdir = g_build_filename (fake->dir, "guests", name, NULL);
  ck_assert (g_mkdir_with_parents (dir, 0700) == 0);
  fake_write (gdir, data);
}

static char *
fake_data_of (Fake *fake, const char *name)
{
  g_autofree char *gdir = g_build_filename (fake->dir, "guests", name, NULL);
  return fake_read (gdir);
}

static guint
count_lines (const char *text, const char *line)
{
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  guint n = 0;
  for (guint i = 0; lines[i]; i++)
    if (g_str_equal (lines[i], line))
      n++;
  return n;
}

static gpointer
fake_open (gpointer data, const char *domain, GError **error)
{
  Fake *fake = data;
  FakeHandle *h;
  g_autofree char *dir = g_build_filename (fake->dir, "guests", domain, NULL);
  if (!g_file_test (dir, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, NL_ERROR, NL_ERROR_NOT_FOUND, "no machine '%s'", domain);
      return NULL;
    }
  h = g_new0 (FakeHandle, 1);
  h->fake = fake;
  h->name = g_strdup (domain);
  h->dir = g_steal_pointer (&dir);
  return h;
}

static void
fake_close (gpointer handle)
{
  FakeHandle *h = handle;
  g_free (h->name);
  g_free (h->dir);
  g_free (h);
}

static gboolean
fake_ping (gpointer handle, guint timeout, GError **error)
{
  return TRUE;
}

static gboolean
fake_os (gpointer handle, NlOsFamily *os, GError **error)
{
  FakeHandle *h = handle;
  g_autofree char *marker = g_build_filename (h->dir, "windows", NULL);
  *os = g_file_test (marker, G_FILE_TEST_EXISTS) ? NL_OS_FAMILY_WINDOWS : NL_OS_FAMILY_LINUX;
  return TRUE;
}

static gboolean
fake_checkpoint (gpointer handle, const char *name, GError **error)
{
  FakeHandle *h = handle;
  g_autofree char *text = fake_read (h->dir);
  g_autofree char *path = g_strdup_printf ("%s/data.%s", h->dir, name);
  return g_file_set_contents (path, text, -1, error);
}

static gboolean
fake_revert (gpointer handle, const char *name, GError **error)
{
  FakeHandle *h = handle;
  g_autofree char *path = g_strdup_printf ("%s/data.%s", h->dir, name);
  g_autofree char *text = NULL;
  g_autofree char *pids = g_build_filename (h->dir, "pids", NULL);
  g_autoptr (GDir) d = NULL;
  const char *e;
  if (!g_file_get_contents (path, &text, NULL, error))
    return FALSE;
  fake_write (h->dir, text);
  /* Memory is reverted too: no process of later survives. */
  d = g_dir_open (pids, 0, NULL);
  while (d && (e = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *p = g_build_filename (pids, e, NULL);
      g_unlink (p);
    }
  return TRUE;
}

static gboolean
fake_drop (gpointer handle, const char *name, GError **error)
{
  FakeHandle *h = handle;
  g_autofree char *path = g_strdup_printf ("%s/data.%s", h->dir, name);
  g_unlink (path);
  return TRUE;
}

static int
fake_crash_point (const char *kind)
{
  const char *spec = g_getenv ("NL_FAKE_CRASH");
  if (spec && g_str_has_prefix (spec, kind) && spec[strlen (kind)] == ':')
    return atoi (spec + strlen (kind) + 1);
  return 0;
}

/* A machine's boot id is its file "boots" counted: "boot-N". */
static guint
fake_boots (FakeHandle *h)
{
  g_autofree char *path = g_build_filename (h->dir, "boots", NULL);
  g_autofree char *text = NULL;
  return g_file_get_contents (path, &text, NULL, NULL) ? (guint) atoi (text) : 1;
}

static void
fake_boot (const char *dir)
{
  g_autofree char *path = g_build_filename (dir, "boots", NULL);
  g_autofree char *text = NULL;
  g_autofree char *next = NULL;
  guint n = g_file_get_contents (path, &text, NULL, NULL) ? (guint) atoi (text) : 1;
  next = g_strdup_printf ("%u", n + 1);
  ck_assert (g_file_set_contents (path, next, -1, NULL));
}

static gboolean
fake_boot_id (FakeHandle *h, gint64 *pid)
{
  g_autofree char *pidfile = NULL;
  g_autofree char *outfile = NULL;
  g_autofree char *id = g_strdup_printf ("boot-%u\n", fake_boots (h));
  *pid = g_atomic_int_add (&fake_pid_counter, 1);
  pidfile = g_strdup_printf ("%s/pids/%" G_GINT64_FORMAT, h->dir, *pid);
  outfile = g_strdup_printf ("%s.out", pidfile);
  ck_assert (g_file_set_contents (pidfile, "0", -1, NULL));
  ck_assert (g_file_set_contents (outfile, id, -1, NULL));
  return TRUE;
}

/* A Windows host of a lab: each PowerShell run is logged to "hostlog"
 * (its arguments after powershell.exe); a script's output is the file
 * out.SCRIPT of the machine (default {"ok":true}), its exit status
 * status.SCRIPT (default 0). */
static gboolean
fake_powershell (FakeHandle *h, const char *const *argv, gint64 *pid)
{
  g_autofree char *log = g_build_filename (h->dir, "hostlog", NULL);
  g_autofree char *old = NULL;
  g_autofree char *joined = g_strjoinv (" ", (char **) argv + 1);
  g_autofree char *next = NULL;
  g_autofree char *out = NULL;
  g_autofree char *st = NULL;
  const char *script = "command";

  for (guint i = 1; argv[i]; i++)
    if (g_str_equal (argv[i], "-File") && argv[i + 1])
      script = strrchr (argv[i + 1], '\\') ? strrchr (argv[i + 1], '\\') + 1 : argv[i + 1];
  if (!g_file_get_contents (log, &old, NULL, NULL))
    old = g_strdup ("");
  next = g_strdup_printf ("%s%s\n", old, joined);
  ck_assert (g_file_set_contents (log, next, -1, NULL));
  {
    g_autofree char *o = g_strdup_printf ("%s/out.%s", h->dir, script);
    g_autofree char *t = g_strdup_printf ("%s/status.%s", h->dir, script);
    if (!g_file_get_contents (o, &out, NULL, NULL))
      out = g_strdup ("{\"ok\":true}");
    if (!g_file_get_contents (t, &st, NULL, NULL))
      st = g_strdup ("0");
  }
  *pid = g_atomic_int_add (&fake_pid_counter, 1);
  {
    g_autofree char *pidfile = g_strdup_printf ("%s/pids/%" G_GINT64_FORMAT, h->dir, *pid);
    g_autofree char *outfile = g_strdup_printf ("%s.out", pidfile);
    g_autofree char *progress = g_strdup_printf ("progress line\n%s\n", out);
    ck_assert (g_file_set_contents (pidfile, st, -1, NULL));
    ck_assert (g_file_set_contents (outfile, progress, -1, NULL));
  }
  return TRUE;
}

/* NL_FAKE_CRASH "call:N": the process dies at the N-th call a host
 * window makes of the fake (host, guest and agent calls alike). */
static void
fake_call (Fake *fake)
{
  if (fake_crash_point ("call") == g_atomic_int_add (&fake->calls, 1) + 1)
    die ();
}

static gboolean
fake_exec_start (gpointer handle, const char *const *argv, gint64 *pid, GError **error)
{
  FakeHandle *h = handle;
  g_autofree char *text = fake_read (h->dir);
  g_autofree char *pidfile = NULL;
  int status = 0;

  fake_call (h->fake);
  if (g_str_has_suffix (argv[0], "\\powershell.exe"))
    return fake_powershell (h, argv, pid);
  if (g_str_equal (argv[0], "/bin/cat") && g_strcmp0 (argv[1], "/proc/sys/kernel/random/boot_id") == 0)
    return fake_boot_id (h, pid);
  ck_assert_str_eq (argv[0], "/fake");
  /* NL_FAKE_LOST "start:N": libvirtd goes away before the N-th install. */
  if (g_str_equal (argv[1], "append") && g_getenv ("NL_FAKE_LOST") != NULL
      && g_str_has_prefix (g_getenv ("NL_FAKE_LOST"), "start:")
      && atoi (g_getenv ("NL_FAKE_LOST") + 6) == g_atomic_int_get (&h->fake->starts) + 1)
    {
      g_set_error (error, NL_ERROR, NL_ERROR_DISCONNECTED,
                   "lost the connection to libvirt at test:///fake (libvirtd restarted)");
      return FALSE;
    }
  if (g_str_equal (argv[1], "append"))
    {
      g_autofree char *next = g_strdup_printf ("%s%s\n", text, argv[2]);
      fake_write (h->dir, next);
      if (argv[3] && g_str_equal (argv[3], "fail-on") && g_str_equal (argv[4], h->name))
        status = 1;
      if (fake_crash_point ("start") == g_atomic_int_add (&h->fake->starts, 1) + 1)
        die ();
    }
  else if (g_str_equal (argv[1], "has"))
    status = count_lines (text, argv[2]) > 0 ? 0 : 1;
  else if (g_str_equal (argv[1], "healthy"))
    status = count_lines (text, "BROKEN") > 0 ? 1 : 0;
  else
    status = 127;
  *pid = g_atomic_int_add (&fake_pid_counter, 1);
  pidfile = g_strdup_printf ("%s/pids/%" G_GINT64_FORMAT, h->dir, *pid);
  {
    g_autofree char *st = g_strdup_printf ("%d", status);
    ck_assert (g_file_set_contents (pidfile, st, -1, NULL));
  }
  return TRUE;
}

static gboolean
fake_exec_wait (gpointer handle, gint64 pid, guint timeout, int *status, char **output, GError **error)
{
  FakeHandle *h = handle;
  g_autofree char *pidfile = g_strdup_printf ("%s/pids/%" G_GINT64_FORMAT, h->dir, pid);
  g_autofree char *st = NULL;
  if (!g_file_get_contents (pidfile, &st, NULL, NULL))
    {
      g_set_error (error, NL_ERROR, NL_ERROR_NOT_FOUND, "no process %" G_GINT64_FORMAT, pid);
      return FALSE;
    }
  if (fake_crash_point ("wait") == g_atomic_int_add (&h->fake->waits, 1) + 1)
    die ();
  *status = atoi (st);
  if (output)
    {
      g_autofree char *outfile = g_strdup_printf ("%s.out", pidfile);
      if (!g_file_get_contents (outfile, output, NULL, NULL))
        *output = g_strdup ("");
    }
  return TRUE;
}

static gboolean
fake_reboot (gpointer handle, guint timeout, GError **error)
{
  FakeHandle *h = handle;
  g_autofree char *text = fake_read (h->dir);
  g_autofree char *next = g_strdup_printf ("%sREBOOT\n", text);
  fake_write (h->dir, next);
  fake_boot (h->dir);
  return TRUE;
}

static gboolean
fake_record (gpointer handle, const char *run_id, const char *const *ids, GError **error)
{
  FakeHandle *h = handle;
  g_autofree char *path = g_build_filename (h->dir, "history", NULL);
  g_autofree char *old = NULL;
  g_autofree char *joined = g_strjoinv (" ", (char **) ids);
  g_autofree char *next = NULL;
  if (!g_file_get_contents (path, &old, NULL, NULL))
    old = g_strdup ("");
  next = g_strdup_printf ("%s%s\n", old, joined);
  return g_file_set_contents (path, next, -1, error);
}

static gboolean
fake_resolve (gpointer data, const GPtrArray *selectors, GPtrArray **domains, GPtrArray **machines,
              GError **error)
{
  *domains = g_ptr_array_new_with_free_func (g_free);
  *machines = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < selectors->len; i++)
    {
      const NlTargetSelector *sel = selectors->pdata[i];
      /* A lab's machine is the domain of its name. */
      const char *name = sel->kind == NL_TARGET_LAB ? sel->machines : sel->domain;
      g_ptr_array_add (*domains, g_strdup (name));
      g_ptr_array_add (*machines, g_strdup (name));
    }
  return TRUE;
}

static gboolean
fake_replica_create (gpointer data, const char *run_id, const GPtrArray *domains, const char *pool,
                     guint boot_timeout, GPtrArray **replicas, GError **error)
{
  Fake *fake = data;
  *replicas = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < domains->len; i++)
    {
      g_autofree char *text = fake_data_of (fake, domains->pdata[i]);
      char *name = g_strdup_printf ("replica-%s", (char *) domains->pdata[i]);
      fake_guest_new (fake, name, text);
      /* A replica is the same machine: a Windows one, with the same
       * answers to the host scripts. */
      {
        g_autofree char *cmd = g_strdup_printf ("cd '%s/guests/%s' && for f in windows out.* status.*; do "
                                                "[ -e \"$f\" ] && cp \"$f\" '../%s/'; done; true",
                                                fake->dir, (char *) domains->pdata[i], name);
        ck_assert (system (cmd) == 0);
      }
      g_ptr_array_add (*replicas, name);
    }
  return TRUE;
}

static gboolean
fake_replica_discard (gpointer data, const char *run_id, GError **error)
{
  Fake *fake = data;
  g_autofree char *guests = g_build_filename (fake->dir, "guests", NULL);
  g_autoptr (GDir) d = g_dir_open (guests, 0, NULL);
  const char *e;
  while (d && (e = g_dir_read_name (d)) != NULL)
    if (g_str_has_prefix (e, "replica-"))
      {
        g_autofree char *cmd = g_strdup_printf ("rm -rf '%s/%s'", guests, e);
        ck_assert (system (cmd) == 0);
      }
  return TRUE;
}

/* The fake as a host: every machine of it is its guest. A guest is off
 * while its folder holds "off", saved while it holds "saved"; "nested"
 * marks a nested hypervisor. A start from off is a new boot. */
static const NlRolloutDriverOps fake_ops;

static NlRolloutDriver *
fake_for_host (gpointer data, const char *uri, GError **error)
{
  NlRolloutDriver *d = g_new0 (NlRolloutDriver, 1);
  d->ops = &fake_ops;
  d->data = data;
  return d;
}

static char *
fake_host_uuid (gpointer data, GError **error)
{
  fake_call (data);
  return g_strdup ("fake-host");
}

static gboolean
fake_has (Fake *fake, const char *name, const char *file)
{
  g_autofree char *path = g_build_filename (fake->dir, "guests", name, file, NULL);
  return g_file_test (path, G_FILE_TEST_EXISTS);
}

static void
fake_mark (Fake *fake, const char *name, const char *file, gboolean on)
{
  g_autofree char *path = g_build_filename (fake->dir, "guests", name, file, NULL);
  if (on)
    ck_assert (g_file_set_contents (path, "", -1, NULL));
  else
    g_unlink (path);
}

static GPtrArray *
fake_host_guests (gpointer data, GError **error)
{
  Fake *fake = data;
  g_autofree char *dir = g_build_filename (fake->dir, "guests", NULL);
  g_autoptr (GDir) d = g_dir_open (dir, 0, error);
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) nl_host_guest_info_free);
  const char *e;
  while (d && (e = g_dir_read_name (d)) != NULL)
    {
      NlHostGuestInfo *info = g_new0 (NlHostGuestInfo, 1);
      info->name = g_strdup (e);
      info->active = !fake_has (fake, e, "off");
      info->saved = fake_has (fake, e, "saved");
      info->nested = fake_has (fake, e, "nested");
      info->persistent = TRUE;
      g_ptr_array_add (out, info);
    }
  return out;
}

static gboolean
fake_guest_save (gpointer data, const char *name, GError **error)
{
  fake_call (data);
  fake_mark (data, name, "off", TRUE);
  fake_mark (data, name, "saved", TRUE);
  return TRUE;
}

static gboolean
fake_guest_shutdown (gpointer data, const char *name, guint timeout, GError **error)
{
  fake_call (data);
  fake_mark (data, name, "off", TRUE);
  return TRUE;
}

static gboolean
fake_guest_start (gpointer data, const char *name, GError **error)
{
  Fake *fake = data;
  g_autofree char *dir = g_build_filename (fake->dir, "guests", name, NULL);
  fake_call (fake);
  if (!fake_has (fake, name, "off"))
    return TRUE;
  if (!fake_has (fake, name, "saved"))
    fake_boot (dir);
  fake_mark (fake, name, "saved", FALSE);
  fake_mark (fake, name, "off", FALSE);
  return TRUE;
}

/* Files written into a machine land in its files/ folder by base name. */
static gboolean
fake_file_write (gpointer handle, const char *path, const void *data, gsize len, GError **error)
{
  FakeHandle *h = handle;
  g_autofree char *dir = g_build_filename (h->dir, "files", NULL);
  const char *base = strrchr (path, '\\') ? strrchr (path, '\\') + 1 : path;
  g_autofree char *to = g_build_filename (dir, base, NULL);
  g_mkdir_with_parents (dir, 0700);
  return g_file_set_contents (to, data, (gssize) len, error);
}

static const NlRolloutDriverOps fake_ops = {
  .open = fake_open, .close = fake_close, .ping = fake_ping, .os_family = fake_os,
  .checkpoint = fake_checkpoint, .revert = fake_revert, .drop_checkpoint = fake_drop,
  .exec_start = fake_exec_start, .exec_wait = fake_exec_wait, .reboot = fake_reboot,
  .record_patches = fake_record, .resolve = fake_resolve,
  .replica_create = fake_replica_create, .replica_discard = fake_replica_discard,
  .for_host = fake_for_host, .host_uuid = fake_host_uuid, .host_guests = fake_host_guests,
  .guest_save = fake_guest_save, .guest_shutdown = fake_guest_shutdown,
  .guest_start = fake_guest_start, .file_write = fake_file_write,
};

static Fake *
fake_new (const char *root)
{
  Fake *fake = g_new0 (Fake, 1);
  fake->dir = g_strdup (root);
  return fake;
}

static void
fake_free (gpointer data)
{
  Fake *fake = data;
  g_free (fake->dir);
  g_free (fake);
}

static NlRolloutDriver *
fake_driver (Fake *fake)
{
  NlRolloutDriver *d = g_new0 (NlRolloutDriver, 1);
  d->ops = &fake_ops;
  d->data = fake;
  return d;
}

/* A plan file in ROOT: PATCHES (XML of <patch> elements), targets web01
 * web02 web03 db01, canary ring web01, broad ring the rest. */
static NlRolloutPlan *
fake_plan (const char *root, const char *patches, const char *extra)
{
  g_autofree char *path = g_build_filename (root, "plan.xml", NULL);
  g_autofree char *xml = g_strdup_printf (
    "<rollout name='fake'>\n%s\n"
    "  <targets><domain name='web01'/><domain name='web02'/><domain name='web03'/><domain name='db01'/></targets>\n"
    "  <health name='agent'><agent/></health>\n"
    "  <health name='healthy' times='2' interval='0'><command os='linux'><arg>/fake</arg><arg>healthy</arg></command></health>\n"
    "%s\n"
    "  <ring name='canary' select='web01' batches='1' failure-budget='0'/>\n"
    "  <ring name='broad' select='*' batches='1 then 50%%' max-parallel='2' failure-budget='0'/>\n"
    "</rollout>\n", patches, extra ? extra : "");
  g_autoptr (GError) error = NULL;
  NlRolloutPlan *plan;
  ck_assert (g_file_set_contents (path, xml, -1, NULL));
  plan = nl_rollout_plan_load (path, &error);
  ck_assert_msg (plan != NULL, "%s", error ? error->message : "");
  return plan;
}

static const char *const fake_targets[] = { "web01", "web02", "web03", "db01" };

static Fake *
fake_estate (const char *root)
{
  Fake *fake = fake_new (root);
  for (guint i = 0; i < G_N_ELEMENTS (fake_targets); i++)
    fake_guest_new (fake, fake_targets[i], "base\n");
  return fake;
}

#define KB1_GOOD \
  "<patch id='KB1' severity='important'>" \
  "<install os='linux'><arg>/fake</arg><arg>append</arg><arg>KB1</arg></install>" \
  "<check os='linux'><arg>/fake</arg><arg>has</arg><arg>KB1</arg></check></patch>"

static NlRolloutOptions
fake_options (const char *root, const char *id)
{
  NlRolloutOptions o = { 0 };
  o.root = root;
  o.id = id;
  o.poll_ms = 1;
  return o;
}

static NlTargetRecord *
rec_of (NlJournal *j, const char *key)
{
  NlTargetRecord *r = nl_journal_find_target (j, key);
  ck_assert_msg (r != NULL, "no journal entry %s", key);
  return r;
}

START_TEST (exec_good_patch_goes_replica_canary_broad)
{
  g_autoptr (NlTestDir) root = temp_root ();
  g_autoptr (NlRolloutPlan) plan = fake_plan (root, KB1_GOOD, NULL);
  Fake *fake = fake_estate (root);
  g_autoptr (NlRolloutDriver) driver = fake_driver (fake);
  NlRolloutOptions o = fake_options (root, "good");
  g_autoptr (GError) error = NULL;
  g_autoptr (NlJournal) j = nl_rollout_run (plan, driver, &o, &error);

  ck_assert_msg (j != NULL, "%s", error ? error->message : "");
  ck_assert_int_eq (j->state, NL_RUN_DONE);
  ck_assert_str_eq (j->passed[0], "KB1");
  ck_assert_int_eq (rec_of (j, "replica/replica/replica-web01")->state, NL_TARGET_DONE);
  ck_assert_int_eq (rec_of (j, "now/canary/web01")->state, NL_TARGET_DONE);
  for (guint i = 0; i < G_N_ELEMENTS (fake_targets); i++)
    {
      g_autofree char *data = fake_data_of (fake, fake_targets[i]);
      ck_assert_uint_eq (count_lines (data, "KB1"), 1);
    }
  /* Replicas are discarded; the history went into each machine. */
  {
    g_autofree char *replica = g_build_filename (root, "guests", "replica-web01", NULL);
    g_autofree char *hist = g_build_filename (root, "guests", "db01", "history", NULL);
    g_autofree char *text = NULL;
    ck_assert (!g_file_test (replica, G_FILE_TEST_EXISTS));
    ck_assert (g_file_get_contents (hist, &text, NULL, NULL));
    ck_assert_str_eq (text, "KB1\n");
  }
  /* The canary went before anything of the broad ring. */
  ck_assert_int_le (rec_of (j, "now/canary/web01")->finished, rec_of (j, "now/broad/web02")->started);
  fake_free (fake);
}
END_TEST

START_TEST (exec_separate_reboot_comes_before_the_next_patch)
{
  g_autoptr (NlTestDir) root = temp_root ();
  g_autoptr (NlRolloutPlan) plan = fake_plan (root,
    "<patch id='SSU' severity='important' reboot='separate'>"
    "<install os='linux'><arg>/fake</arg><arg>append</arg><arg>SSU</arg></install></patch>"
    "<patch id='KB1' severity='important' reboot='yes'>"
    "<install os='linux'><arg>/fake</arg><arg>append</arg><arg>KB1</arg></install></patch>",
    "<replica enabled='no'/>");
  Fake *fake = fake_estate (root);
  g_autoptr (NlRolloutDriver) driver = fake_driver (fake);
  NlRolloutOptions o = fake_options (root, "separate");
  g_autoptr (GError) error = NULL;
  g_autoptr (NlJournal) j = nl_rollout_run (plan, driver, &o, &error);

  ck_assert_msg (j != NULL, "%s", error ? error->message : "");
  ck_assert_int_eq (j->state, NL_RUN_DONE);
  for (guint i = 0; i < G_N_ELEMENTS (fake_targets); i++)
    {
      g_autofree char *data = fake_data_of (fake, fake_targets[i]);
      /* Its own reboot between the two, one after both. */
      ck_assert_str_eq (data, "base\nSSU\nREBOOT\nKB1\nREBOOT\n");
    }
  fake_free (fake);
}
END_TEST

START_TEST (exec_replica_failure_never_touches_production)
{
  g_autoptr (NlTestDir) root = temp_root ();
  g_autoptr (NlRolloutPlan) plan = fake_plan (root,
    "<patch id='KB2' severity='critical'>"
    "<install os='linux'><arg>/fake</arg><arg>append</arg><arg>BROKEN</arg></install></patch>", NULL);
  Fake *fake = fake_estate (root);
  g_autoptr (NlRolloutDriver) driver = fake_driver (fake);
  NlRolloutOptions o = fake_options (root, "bad-health");
  g_autoptr (NlJournal) j = nl_rollout_run (plan, driver, &o, NULL);

  ck_assert_ptr_nonnull (j);
  ck_assert_int_eq (j->state, NL_RUN_HALTED);
  ck_assert_ptr_null (j->passed);
  ck_assert (strstr (j->reason, "replica failed") != NULL);
  ck_assert_int_eq (rec_of (j, "replica/replica/replica-web01")->state, NL_TARGET_FAILED);
  for (guint i = 0; i < G_N_ELEMENTS (fake_targets); i++)
    {
      g_autofree char *data = fake_data_of (fake, fake_targets[i]);
      g_autofree char *key = g_strdup_printf ("now/%s/%s", i == 0 ? "canary" : "broad", fake_targets[i]);
      ck_assert_str_eq (data, "base\n");
      ck_assert_int_eq (rec_of (j, key)->state, NL_TARGET_SKIPPED);
    }
  fake_free (fake);
}
END_TEST

START_TEST (exec_canary_failure_rolls_back_and_halts)
{
  g_autoptr (NlTestDir) root = temp_root ();
  g_autoptr (NlRolloutPlan) plan = fake_plan (root,
    "<patch id='KB3' severity='critical'>"
    "<install os='linux'><arg>/fake</arg><arg>append</arg><arg>KB3</arg><arg>fail-on</arg><arg>web01</arg></install></patch>",
    NULL);
  Fake *fake = fake_estate (root);
  g_autoptr (NlRolloutDriver) driver = fake_driver (fake);
  NlRolloutOptions o = fake_options (root, "canary-fails");
  g_autoptr (NlJournal) j = nl_rollout_run (plan, driver, &o, NULL);
  g_autofree char *web01 = fake_data_of (fake, "web01");
  g_autofree char *web02 = fake_data_of (fake, "web02");
  NlTargetRecord *r;

  ck_assert_int_eq (j->state, NL_RUN_HALTED);
  /* It passed on the replica (another machine name)... */
  ck_assert_str_eq (j->passed[0], "KB3");
  r = rec_of (j, "now/canary/web01");
  ck_assert_int_eq (r->state, NL_TARGET_ROLLED_BACK);
  ck_assert_int_eq (nl_target_record_outcome (r), NL_OUTCOME_ROLLED_BACK);
  ck_assert (strstr (r->message, "installing KB3 failed (exit 1)") != NULL);
  /* ...failed on the canary, whose change is gone, and nothing else ran. */
  ck_assert_str_eq (web01, "base\n");
  ck_assert_str_eq (web02, "base\n");
  ck_assert_int_eq (rec_of (j, "now/broad/web02")->state, NL_TARGET_SKIPPED);
  ck_assert (strstr (j->reason, "ring 'canary' exceeded its failure budget") != NULL);
  fake_free (fake);
}
END_TEST

/* Runs PLAN in a child that dies by SIGKILL at CRASH (NL_FAKE_CRASH). */
static void
run_and_crash (const NlRolloutPlan *plan, NlRolloutDriver *driver, const NlRolloutOptions *o,
               const char *crash)
{
  int status;
  pid_t pid = fork ();

  if (pid == 0)
    {
      g_setenv ("NL_FAKE_CRASH", crash, TRUE);
      nl_rollout_run (plan, driver, o, NULL);
      _exit (0);
    }
  ck_assert (waitpid (pid, &status, 0) == pid);
  ck_assert_msg (WIFSIGNALED (status) && WTERMSIG (status) == SIGKILL, "the run did not crash at %s", crash);
}

/* Every fake machine holds patch ID exactly once. */
static void
assert_each_once (Fake *fake, const char *id)
{
  for (guint i = 0; i < G_N_ELEMENTS (fake_targets); i++)
    {
      g_autofree char *data = fake_data_of (fake, fake_targets[i]);
      ck_assert_msg (count_lines (data, id) == 1, "%s has %s %u times:\n%s", fake_targets[i], id,
                     count_lines (data, id), data);
    }
}

/* Runs the plan in a child that dies at CRASH, then resumes in this
 * process; every machine must end with exactly one KB1. */
static void
crash_and_resume (const char *patch_xml, const char *crash, NlResumeAction expect_seen)
{
  g_autoptr (NlTestDir) root = temp_root ();
  g_autoptr (NlRolloutPlan) plan = fake_plan (root, patch_xml, "<replica enabled='no'/>");
  Fake *fake = fake_estate (root);
  g_autoptr (NlRolloutDriver) driver = fake_driver (fake);
  NlRolloutOptions o = fake_options (root, "crashy");
  g_autoptr (NlJournal) before = NULL;
  g_autoptr (NlJournal) j = NULL;
  g_autoptr (GError) error = NULL;
  gboolean was_installing = FALSE;

  run_and_crash (plan, driver, &o, crash);
  before = nl_journal_load (root, "crashy", &error);
  ck_assert_msg (before != NULL, "%s", error ? error->message : "");
  ck_assert_int_eq (before->state, NL_RUN_RUNNING);
  for (guint i = 0; i < before->targets->len; i++)
    if (((NlTargetRecord *) before->targets->pdata[i])->state == NL_TARGET_INSTALLING)
      {
        NlTargetRecord *r = before->targets->pdata[i];
        gboolean has_check = strstr (patch_xml, "<check") != NULL;
        /* The pid is known to the fake agent until a revert. */
        ck_assert_int_eq (nl_rollout_resume_action (r->state, r->pid != 0, r->pid != 0, has_check),
                          expect_seen);
        was_installing = TRUE;
      }
  ck_assert_msg (was_installing, "no target was installing when the run died");

  j = nl_rollout_resume ("crashy", driver, &o, &error);
  ck_assert_msg (j != NULL, "%s", error ? error->message : "");
  ck_assert_int_eq (j->state, NL_RUN_DONE);
  assert_each_once (fake, "KB1");
  /* A finished run cannot be resumed again. */
  ck_assert_ptr_null (nl_rollout_resume ("crashy", driver, &o, NULL));
  fake_free (fake);
}

START_TEST (exec_resume_after_crash_before_pid_uses_check)
{
  /* 3rd install (web02... the second batch) dies before its pid is
   * journalled: the check command finds the patch in, no reinstall. */
  crash_and_resume (KB1_GOOD, "start:3", NL_RESUME_CHECK);
}
END_TEST

START_TEST (exec_resume_without_check_reverts_and_redoes)
{
  crash_and_resume ("<patch id='KB1' severity='important'>"
                    "<install os='linux'><arg>/fake</arg><arg>append</arg><arg>KB1</arg></install></patch>",
                    "start:2", NL_RESUME_REVERT_REDO);
}
END_TEST

START_TEST (exec_resume_with_known_pid_takes_its_result)
{
  /* Waits: 2 pre-check checks... count only install waits is fragile, so
   * crash at a wait late enough to be an install's. The check waits of
   * pre-check come first for each machine: web01 pre-check (1), install
   * (2). */
  crash_and_resume (KB1_GOOD, "wait:2", NL_RESUME_WAIT_PID);
}
END_TEST

START_TEST (exec_lost_connection_stops_resumable_and_judges_no_machine)
{
  g_autoptr (NlTestDir) root = temp_root ();
  g_autoptr (NlRolloutPlan) plan = fake_plan (root, KB1_GOOD, "<replica enabled='no'/>");
  Fake *fake = fake_estate (root);
  g_autoptr (NlRolloutDriver) driver = fake_driver (fake);
  NlRolloutOptions o = fake_options (root, "lost");
  g_autoptr (NlJournal) first = NULL;
  g_autoptr (NlJournal) j = NULL;
  g_autoptr (GError) error = NULL;

  /* The canary is in; libvirtd goes away before the broad ring's first. */
  g_setenv ("NL_FAKE_LOST", "start:2", TRUE);
  first = nl_rollout_run (plan, driver, &o, &error);
  g_unsetenv ("NL_FAKE_LOST");
  ck_assert_msg (first != NULL, "%s", error ? error->message : "");
  /* Not halted: nothing was judged, and resume goes on. */
  ck_assert_int_eq (first->state, NL_RUN_RUNNING);
  ck_assert_ptr_nonnull (strstr (first->reason, "lost the connection to libvirt"));
  for (guint i = 0; i < first->targets->len; i++)
    {
      NlTargetRecord *r = first->targets->pdata[i];
      ck_assert_msg (r->state != NL_TARGET_FAILED && r->state != NL_TARGET_ROLLED_BACK, "%s was judged %s",
                     r->key, nl_target_state_to_string (r->state));
    }
  j = nl_rollout_resume ("lost", driver, &o, &error);
  ck_assert_msg (j != NULL, "%s", error ? error->message : "");
  ck_assert_int_eq (j->state, NL_RUN_DONE);
  assert_each_once (fake, "KB1");
  fake_free (fake);
}
END_TEST

START_TEST (exec_present_patches_are_not_applicable)
{
  g_autoptr (NlTestDir) root = temp_root ();
  g_autoptr (NlRolloutPlan) plan = fake_plan (root, KB1_GOOD, "<replica enabled='no'/>");
  Fake *fake = fake_estate (root);
  g_autoptr (NlRolloutDriver) driver = fake_driver (fake);
  NlRolloutOptions o = fake_options (root, "na");
  g_autoptr (NlJournal) j = NULL;
  g_autofree char *web03 = g_build_filename (root, "guests", "web03", NULL);

  fake_write (web03, "base\nKB1\n");
  j = nl_rollout_run (plan, driver, &o, NULL);
  ck_assert_int_eq (j->state, NL_RUN_DONE);
  ck_assert_int_eq (rec_of (j, "now/broad/web03")->state, NL_TARGET_NOT_APPLICABLE);
  ck_assert_int_eq (rec_of (j, "now/broad/web02")->state, NL_TARGET_DONE);
  {
    g_autofree char *data = fake_data_of (fake, "web03");
    ck_assert_uint_eq (count_lines (data, "KB1"), 1);
  }
  fake_free (fake);
}
END_TEST

START_TEST (exec_windows_split_critical_from_the_rest)
{
  g_autoptr (NlTestDir) root = temp_root ();
  /* A window in the far future: the critical patch goes now, the other
   * waits (no_wait: the run stops in state "waiting"). */
  g_autoptr (NlRolloutPlan) plan = fake_plan (root,
    KB1_GOOD "<patch id='KB9' severity='low'>"
    "<install os='linux'><arg>/fake</arg><arg>append</arg><arg>KB9</arg></install></patch>",
    "<replica enabled='no'/><window week='2' weekday='tuesday' start='03:00' duration='1m'/>");
  Fake *fake = fake_estate (root);
  g_autoptr (NlRolloutDriver) driver = fake_driver (fake);
  NlRolloutOptions o = fake_options (root, "windowed");
  g_autoptr (NlJournal) j = NULL;
  NlPatch *kb1 = plan->patches->pdata[0];

  kb1->severity = NL_SEVERITY_CRITICAL;
  o.no_wait = TRUE;
  j = nl_rollout_run (plan, driver, &o, NULL);
  ck_assert_int_eq (j->state, NL_RUN_WAITING);
  ck_assert_int_gt (j->wait_until, g_get_real_time () / G_USEC_PER_SEC - 120);
  ck_assert_int_eq (rec_of (j, "now/canary/web01")->state, NL_TARGET_DONE);
  ck_assert_int_eq (rec_of (j, "window/canary/web01")->state, NL_TARGET_PENDING);
  {
    g_autofree char *data = fake_data_of (fake, "web01");
    ck_assert_str_eq (data, "base\nKB1\n");
  }
  fake_free (fake);
}
END_TEST

START_TEST (exec_percent_budget_tolerates_what_it_allows)
{
  g_autoptr (NlTestDir) root = temp_root ();
  g_autofree char *path = g_build_filename (root, "plan.xml", NULL);
  g_autoptr (NlRolloutPlan) plan = NULL;
  Fake *fake = fake_estate (root);
  g_autoptr (NlRolloutDriver) driver = fake_driver (fake);
  NlRolloutOptions o = fake_options (root, "budget");
  g_autoptr (NlJournal) j = NULL;

  /* One ring of 4 at 4 in parallel, budget 25%: one failure (web03) is
   * within it; everything else is installed. */
  ck_assert (g_file_set_contents (path,
    "<rollout name='b'><patch id='KB4' severity='critical'>"
    "<install os='linux'><arg>/fake</arg><arg>append</arg><arg>KB4</arg><arg>fail-on</arg><arg>web03</arg></install></patch>"
    "<targets><domain name='web01'/><domain name='web02'/><domain name='web03'/><domain name='db01'/></targets>"
    "<replica enabled='no'/><ring name='all' max-parallel='4' failure-budget='25%'/></rollout>", -1, NULL));
  plan = nl_rollout_plan_load (path, NULL);
  j = nl_rollout_run (plan, driver, &o, NULL);
  ck_assert_int_eq (j->state, NL_RUN_DONE);
  ck_assert_int_eq (rec_of (j, "now/all/web03")->state, NL_TARGET_ROLLED_BACK);
  ck_assert_int_eq (rec_of (j, "now/all/db01")->state, NL_TARGET_DONE);
  fake_free (fake);
}
END_TEST

START_TEST (exec_abort_skips_what_did_not_start)
{
  g_autoptr (NlTestDir) root = temp_root ();
  g_autoptr (NlRolloutPlan) plan = fake_plan (root, KB1_GOOD, "<replica enabled='no'/>");
  Fake *fake = fake_estate (root);
  g_autoptr (NlRolloutDriver) driver = fake_driver (fake);
  NlRolloutOptions o = fake_options (root, "aborted");
  g_autoptr (NlJournal) j = NULL;
  g_autoptr (GError) error = NULL;

  run_and_crash (plan, driver, &o, "start:2");
  /* The run is dead: abort marks it at once. */
  ck_assert_msg (nl_rollout_abort (root, "aborted", driver, &error), "%s", error ? error->message : "");
  j = nl_journal_load (root, "aborted", NULL);
  ck_assert_int_eq (j->state, NL_RUN_ABORTED);
  ck_assert_int_eq (rec_of (j, "now/broad/db01")->state, NL_TARGET_SKIPPED);
  ck_assert_ptr_null (nl_rollout_resume ("aborted", driver, &o, NULL));
  fake_free (fake);
}
END_TEST

START_TEST (exec_abort_of_a_dead_run_discards_its_replica)
{
  g_autoptr (NlTestDir) root = temp_root ();
  g_autoptr (NlRolloutPlan) plan = fake_plan (root, KB1_GOOD, "<replica enabled='yes' keep='no'/>");
  Fake *fake = fake_estate (root);
  g_autoptr (NlRolloutDriver) driver = fake_driver (fake);
  NlRolloutOptions o = fake_options (root, "deadreplica");
  g_autoptr (GError) error = NULL;
  g_autofree char *replica = g_build_filename (root, "guests", "replica-web01", NULL);

  /* Killed on the replica, while its first install runs. */
  run_and_crash (plan, driver, &o, "wait:1");
  ck_assert_msg (g_file_test (replica, G_FILE_TEST_EXISTS), "the replica was not made");
  ck_assert_msg (nl_rollout_abort (root, "deadreplica", driver, &error), "%s",
                 error ? error->message : "");
  ck_assert_msg (!g_file_test (replica, G_FILE_TEST_EXISTS), "the aborted run left its replica");
  fake_free (fake);
}
END_TEST

START_TEST (exec_report_formats_escape_and_count)
{
  g_autoptr (NlTestDir) root = temp_root ();
  g_autoptr (NlRolloutPlan) plan = fake_plan (root,
    "<patch id='KB3' severity='critical'>"
    "<install os='linux'><arg>/fake</arg><arg>append</arg><arg>&lt;script&gt;&amp;\"</arg><arg>fail-on</arg><arg>web01</arg></install></patch>",
    "<replica enabled='no'/>");
  Fake *fake = fake_estate (root);
  g_autoptr (NlRolloutDriver) driver = fake_driver (fake);
  NlRolloutOptions o = fake_options (root, "report");
  g_autoptr (NlJournal) j = nl_rollout_run (plan, driver, &o, NULL);
  g_autofree char *table = nl_rollout_report_table (j);
  g_autofree char *json = nl_rollout_report_json (j);
  g_autofree char *html = nl_rollout_report_html (j);

  ck_assert (strstr (table, "web01") && strstr (table, "rolled-back") && strstr (table, "skipped"));
  ck_assert (strstr (json, "\"outcome\":\"rolled-back\"") != NULL);
  ck_assert (strstr (json, "\"state\":\"halted\"") != NULL);
  ck_assert (g_str_has_prefix (html, "<!DOCTYPE html>"));
  ck_assert (strstr (html, "<script") == NULL);
  ck_assert (strstr (html, "rolled-back") != NULL);
  fake_free (fake);
}
END_TEST

static void
nl_rollout_exec_tcases (Suite *s)
{
  TCase *tc = tcase_create ("executor");
  tcase_add_test (tc, exec_good_patch_goes_replica_canary_broad);
  tcase_add_test (tc, exec_replica_failure_never_touches_production);
  tcase_add_test (tc, exec_separate_reboot_comes_before_the_next_patch);
  tcase_add_test (tc, exec_canary_failure_rolls_back_and_halts);
  tcase_add_test (tc, exec_resume_after_crash_before_pid_uses_check);
  tcase_add_test (tc, exec_resume_without_check_reverts_and_redoes);
  tcase_add_test (tc, exec_resume_with_known_pid_takes_its_result);
  tcase_add_test (tc, exec_lost_connection_stops_resumable_and_judges_no_machine);
  tcase_add_test (tc, exec_present_patches_are_not_applicable);
  tcase_add_test (tc, exec_windows_split_critical_from_the_rest);
  tcase_add_test (tc, exec_percent_budget_tolerates_what_it_allows);
  tcase_add_test (tc, exec_abort_skips_what_did_not_start);
  tcase_add_test (tc, exec_abort_of_a_dead_run_discards_its_replica);
  tcase_add_test (tc, exec_report_formats_escape_and_count);
  suite_add_tcase (s, tc);
}


/* ------------------------------------------------------------------ */
/* Host windows                                                         */

START_TEST (plan_hosts_parse_with_policy_and_overrides)
{
  g_autofree char *path = nl_test_data_path ("rollout/good/hosts.xml");
  g_autoptr (GError) error = NULL;
  g_autoptr (NlRolloutPlan) plan = nl_rollout_plan_load (path, &error);
  const NlHostTarget *h;

  ck_assert_msg (plan != NULL, "%s", error ? error->message : "");
  ck_assert_uint_eq (plan->targets->len, 0);
  ck_assert_uint_eq (plan->hosts->len, 2);
  ck_assert_int_eq (plan->host_policy.stop, NL_STOP_SHUTDOWN);
  ck_assert_uint_eq (plan->host_policy.shutdown_timeout, 180);
  ck_assert (!plan->host_policy.migrate_back);
  h = nl_rollout_plan_find_host (plan, "hv1");
  ck_assert_str_eq (h->uri, "qemu+ssh://root@hv1/system");
  ck_assert_str_eq (h->peer, "hv2");
  ck_assert_uint_eq (h->guests->len, 3);
  ck_assert_int_eq (nl_rollout_guest_stop (plan, h, "web01"), NL_STOP_MIGRATE);
  ck_assert_int_eq (nl_rollout_guest_stop (plan, h, "db01"), NL_STOP_SAVE);
  /* Named without a stop action, or not named at all: the plan's. */
  ck_assert_int_eq (nl_rollout_guest_stop (plan, h, "build"), NL_STOP_SHUTDOWN);
  ck_assert_int_eq (nl_rollout_guest_stop (plan, h, "elsewhere"), NL_STOP_SHUTDOWN);
  h = nl_rollout_plan_find_host (plan, "hv2");
  ck_assert_ptr_null (h->peer);
  ck_assert_uint_eq (h->guests->len, 0);
  ck_assert_ptr_null (nl_rollout_plan_find_host (plan, "hv3"));
}
END_TEST

static const NlPendingPatch no_patches[] = { { NULL, NL_REBOOT_NONE } };
static const NlPendingPatch one_reboot[] = { { "KB1", NL_REBOOT_SHARED }, { "KB2", NL_REBOOT_NONE } };
static const NlPendingPatch no_reboot[] = { { "KB3", NL_REBOOT_NONE } };
static const NlPendingPatch two_own[] = { { "SSU", NL_REBOOT_OWN }, { "KB4", NL_REBOOT_OWN } };
static const NlPendingPatch own_then_shared[] = { { "KB0", NL_REBOOT_SHARED }, { "SSU", NL_REBOOT_OWN },
                                                  { "KB5", NL_REBOOT_SHARED } };

/* The window of host hv1 (peer hv2) for FACTS, as `rollout plan` prints it. */
static char *
planned (const NlGuestFacts *facts, guint n, gboolean migrate_back)
{
  NlHostTarget host = { .name = "hv1", .uri = "qemu+tcp://10.254.77.2/system", .peer = "hv2" };
  NlHostPolicy policy = { NL_STOP_SHUTDOWN, 300, migrate_back, 4 };
  g_autoptr (GPtrArray) plans = g_ptr_array_new_with_free_func ((GDestroyNotify) nl_host_plan_free);
  g_autoptr (GPtrArray) lines = NULL;

  g_ptr_array_add (plans, nl_rollout_host_plan (&host, &policy, facts, n));
  lines = nl_rollout_host_plans_describe (plans);
  g_ptr_array_add (lines, NULL);
  return g_strjoinv ("\n", (char **) lines->pdata);
}

#define PATCHES(a) (a), G_N_ELEMENTS (a)

START_TEST (host_window_keeps_each_stop_action_when_it_can)
{
  const NlGuestFacts facts[] = {
    { "web", TRUE, FALSE, NL_STOP_MIGRATE, PATCHES (one_reboot) },
    { "cache", TRUE, FALSE, NL_STOP_SAVE, PATCHES (no_reboot) },
    { "db", TRUE, FALSE, NL_STOP_SHUTDOWN, PATCHES (one_reboot) },
    { "idle", TRUE, FALSE, NL_STOP_SHUTDOWN, no_patches, 0 },
  };
  g_autofree char *text = planned (facts, G_N_ELEMENTS (facts), TRUE);
  ck_assert_str_eq (text,
    "host hv1 (qemu+tcp://10.254.77.2/system), peer hv2: window now\n"
    "  web: migrate to the peer and back; after its reboot: KB1, KB2; reboots: 1\n"
    "  cache: save; before: KB3; reboots: 0\n"
    "  db: shutdown; before: KB1, KB2 (reboot held for the host's); reboots: 1\n"
    "  idle: shutdown; reboots: 1");
}
END_TEST

START_TEST (host_window_shuts_down_nested_hypervisors_instead_of_moving_them)
{
  const NlGuestFacts facts[] = {
    { "hyperv1", TRUE, TRUE, NL_STOP_MIGRATE, PATCHES (no_reboot) },
    { "hyperv2", TRUE, TRUE, NL_STOP_SAVE, no_patches, 0 },
  };
  g_autofree char *text = planned (facts, G_N_ELEMENTS (facts), FALSE);
  ck_assert_str_eq (text,
    "host hv1 (qemu+tcp://10.254.77.2/system), peer hv2: window now\n"
    "  hyperv1: shutdown instead of migrate (a nested hypervisor: KVM does not support migrating "
    "one that runs guests of its own); before: KB3; reboots: 1\n"
    "  hyperv2: shutdown instead of save (a nested hypervisor: KVM does not support saving one "
    "that runs guests of its own); reboots: 1");
}
END_TEST

START_TEST (host_window_never_saves_a_guest_that_waits_for_a_reboot)
{
  const NlGuestFacts facts[] = { { "app", TRUE, FALSE, NL_STOP_SAVE, PATCHES (one_reboot) } };
  NlHostTarget host = { .name = "hv1", .uri = "qemu:///system" };
  NlHostPolicy policy = { NL_STOP_SAVE, 300, TRUE, 4 };
  g_autoptr (NlHostPlan) hp = nl_rollout_host_plan (&host, &policy, facts, 1);
  const NlGuestPlan *g = hp->guests->pdata[0];

  ck_assert_int_eq (g->asked, NL_STOP_SAVE);
  ck_assert_int_eq (g->action, NL_GUEST_SHUTDOWN);
  ck_assert (g->held);
  ck_assert_uint_eq (g_strv_length (g->before), 2);
  ck_assert_uint_eq (g_strv_length (g->after), 0);
  ck_assert_uint_eq (g->reboots, 1);
  ck_assert_uint_eq (hp->warnings->len, 0);
}
END_TEST

START_TEST (host_window_warns_where_one_reboot_is_impossible)
{
  const NlGuestFacts facts[] = {
    { "dc1", TRUE, FALSE, NL_STOP_SHUTDOWN, PATCHES (two_own) },
    { "sql1", TRUE, FALSE, NL_STOP_SHUTDOWN, PATCHES (own_then_shared) },
    { "old", FALSE, FALSE, NL_STOP_SAVE, PATCHES (one_reboot) },
  };
  g_autofree char *text = planned (facts, G_N_ELEMENTS (facts), TRUE);
  ck_assert_str_eq (text,
    "host hv1 (qemu+tcp://10.254.77.2/system), peer hv2: window now\n"
    "  dc1: shutdown; before: SSU (reboot held for the host's); after its reboot: KB4; reboots: 2\n"
    "  sql1: shutdown; before: KB0, SSU (reboot held for the host's); after its reboot: KB5; reboots: 2\n"
    "  old: leave-off; reboots: 0\n"
    "  warning: guest 'dc1': one window is impossible: SSU needs a reboot of its own before later "
    "patches install, so it reboots 2 times\n"
    "  warning: guest 'sql1': one window is impossible: SSU needs a reboot of its own before later "
    "patches install, so it reboots 2 times\n"
    "  warning: guest 'old' is not running: its 2 pending patch(es) wait until it runs");
}
END_TEST

/* The notice for tests/data/rollout/good/hosts.xml with a nested
 * hypervisor, a guest that is off and one that needs two reboots added. */
static GPtrArray *
notice_plans (NlRolloutPlan **out_plan)
{
  g_autofree char *path = nl_test_data_path ("rollout/good/hosts.xml");
  g_autoptr (GError) error = NULL;
  NlRolloutPlan *plan = nl_rollout_plan_load (path, &error);
  GPtrArray *plans = g_ptr_array_new_with_free_func ((GDestroyNotify) nl_host_plan_free);
  g_autoptr (GDateTime) now = g_date_time_new_utc (2026, 11, 30, 8, 0, 0);
  const NlGuestFacts hv1[] = {
    { "web01", TRUE, FALSE, NL_STOP_MIGRATE, PATCHES (one_reboot) },
    { "db01", TRUE, FALSE, NL_STOP_SAVE, PATCHES (no_reboot) },
    { "build", TRUE, FALSE, NL_STOP_SHUTDOWN, PATCHES (own_then_shared) },
  };
  const NlGuestFacts hv2[] = {
    { "hyperv-lab, \"node;1\"", TRUE, TRUE, NL_STOP_SAVE, PATCHES (one_reboot) },
    { "archive", FALSE, FALSE, NL_STOP_SHUTDOWN, PATCHES (no_reboot) },
  };

  ck_assert_msg (plan != NULL, "%s", error ? error->message : "");
  g_ptr_array_add (plans, nl_rollout_host_plan (plan->hosts->pdata[0], &plan->host_policy,
                                                hv1, G_N_ELEMENTS (hv1)));
  g_ptr_array_add (plans, nl_rollout_host_plan (plan->hosts->pdata[1], &plan->host_policy,
                                                hv2, G_N_ELEMENTS (hv2)));
  ck_assert_msg (nl_rollout_host_plans_schedule (plan, plans, now, &error), "%s", error->message);
  *out_plan = plan;
  return plans;
}

START_TEST (notice_is_golden_icalendar_and_json)
{
  g_autoptr (NlRolloutPlan) plan = NULL;
  g_autoptr (GPtrArray) plans = notice_plans (&plan);
  g_autoptr (GDateTime) stamp = g_date_time_new_utc (2026, 11, 30, 8, 0, 0);
  g_autofree char *ics = nl_rollout_notice_ics (plan->id, plans, stamp);
  g_autofree char *json = nl_rollout_notice_json (plan->id, plans, stamp);

  /* Europe/Berlin 22:00 on the second Tuesday of December is 21:00 UTC. */
  ck_assert (strstr (ics, "\r\nDTSTART:20261208T210000Z\r\n") != NULL);
  ck_assert (strstr (ics, "\r\nDTEND:20261209T010000Z\r\n") != NULL);
  ck_assert (nl_test_golden ("rollout/notice/hosts.ics", ics));
  ck_assert (nl_test_golden ("rollout/notice/hosts.json", json));
}
END_TEST

/* RFC 5545 3.1: every line ends in CRLF and has at most 75 octets; a
 * folded line goes on with one space, and unfolding gives the text back. */
START_TEST (notice_lines_are_folded_at_75_octets_with_crlf)
{
  g_autoptr (NlRolloutPlan) plan = NULL;
  g_autoptr (GPtrArray) plans = notice_plans (&plan);
  g_autoptr (GDateTime) stamp = g_date_time_new_utc (2026, 11, 30, 8, 0, 0);
  g_autofree char *ics = nl_rollout_notice_ics (plan->id, plans, stamp);
  g_autoptr (GString) unfolded = g_string_new (NULL);
  const char *p = ics;
  guint folded = 0, events = 0;

  ck_assert (g_utf8_validate (ics, -1, NULL));
  while (*p)
    {
      const char *eol = strstr (p, "\r\n");
      ck_assert_msg (eol != NULL, "a line without CRLF at the end: %s", p);
      ck_assert_msg (memchr (p, '\n', eol - p) == NULL, "a bare LF in: %.*s", (int) (eol - p), p);
      ck_assert_msg (eol - p <= 75, "%d octets: %.*s", (int) (eol - p), (int) (eol - p), p);
      if (*p == ' ')
        {
          folded++;
          g_string_append_len (unfolded, p + 1, eol - p - 1);
        }
      else
        {
          if (unfolded->len)
            g_string_append_c (unfolded, '\n');
          g_string_append_len (unfolded, p, eol - p);
        }
      if (g_str_has_prefix (p, "BEGIN:VEVENT\r\n"))
        events++;
      p = eol + 2;
    }
  ck_assert_uint_gt (folded, 0);
  /* Both hosts share the plan's next window: one event. */
  ck_assert_uint_eq (events, 1);
  ck_assert (strstr (unfolded->str, "\nSUMMARY:Maintenance: hv1\\, hv2 down for patching\n") != NULL);
  ck_assert (strstr (unfolded->str, "guest hyperv-lab\\, \"node\\;1\": shutdown instead of save") != NULL);
}
END_TEST

START_TEST (notice_needs_a_window)
{
  g_autoptr (NlRolloutPlan) plan = NULL;
  g_autoptr (GPtrArray) plans = notice_plans (&plan);
  g_autoptr (GDateTime) now = g_date_time_new_utc (2026, 11, 30, 8, 0, 0);
  g_autoptr (GError) error = NULL;

  g_ptr_array_set_size (plan->windows, 0);
  ck_assert (!nl_rollout_host_plans_schedule (plan, plans, now, &error));
  ck_assert (g_error_matches (error, NL_ERROR, NL_ERROR_INVALID));
  ck_assert (strstr (error->message, "no <window>") != NULL);
}
END_TEST

/* ------------------------------------------------------------------ */
/* A Windows Hyper-V host of a lab, through its agent                   */

static void
put (Fake *fake, const char *machine, const char *file, const char *text)
{
  g_autofree char *path = g_build_filename (fake->dir, "guests", machine, file, NULL);
  ck_assert (g_file_set_contents (path, text, -1, NULL));
}

static NlRolloutPlan *
windows_host_plan (const char *root, gboolean replica)
{
  g_autofree char *path = g_build_filename (root, "plan.xml", NULL);
  g_autoptr (GError) error = NULL;
  NlRolloutPlan *plan;
  g_autofree char *xml = g_strdup_printf (
    "<rollout name='hv' agent-timeout='1s'>\n"
    "  <patch id='KB1' severity='important'><install os='windows'><arg>C:\\x.exe</arg></install></patch>\n"
    "  <targets><host name='hv01' lab='demo' machine='hv01'/></targets>\n"
    "  <host-policy stop='save' shutdown-timeout='2m'/>\n"
    "  <replica enabled='%s'/>\n"
    "</rollout>\n", replica ? "yes" : "no");
  ck_assert (g_file_set_contents (path, xml, -1, NULL));
  plan = nl_rollout_plan_load (path, &error);
  ck_assert_msg (plan != NULL, "%s", error ? error->message : "");
  return plan;
}

static Fake *
windows_host (const char *root, const char *scripts)
{
  Fake *fake = fake_new (root);
  fake_guest_new (fake, "hv01", "");
  put (fake, "hv01", "windows", "");
  put (fake, "hv01", "out.inventory.ps1",
       "{\"computer\":\"HV01\",\"ok\":true,\"hyperv_service\":\"Running\",\"cluster_node\":false,"
       "\"vms\":[{\"name\":\"vm-a\",\"state\":\"Running\",\"nested\":false},"
       "{\"name\":\"vm-n\",\"state\":\"Running\",\"nested\":true},"
       "{\"name\":\"vm-off\",\"state\":\"Off\",\"nested\":false}]}");
  put (fake, "hv01", "out.resume.ps1",
       "{\"ok\":true,\"vms\":[{\"name\":\"vm-a\",\"action\":\"Save\",\"status\":\"resumed\"},"
       "{\"name\":\"vm-n\",\"action\":\"ShutDown\",\"status\":\"resumed\"}]}");
  g_setenv ("NESTLAB_HOSTS_DIR", scripts, TRUE);
  return fake;
}

static NlHostGuestRecord *
host_guest (NlJournal *j, const char *host, const char *name)
{
  NlHostRecord *h = nl_journal_find_host (j, host);
  ck_assert (h != NULL);
  for (guint i = 0; i < h->guests->len; i++)
    if (g_str_equal (((NlHostGuestRecord *) h->guests->pdata[i])->name, name))
      return h->guests->pdata[i];
  ck_abort_msg ("no guest %s", name);
  return NULL;
}

START_TEST (windows_host_window_runs_the_shipped_scripts_in_order)
{
  g_autoptr (NlTestDir) root = temp_root ();
  g_autoptr (NlRolloutPlan) plan = windows_host_plan (root, FALSE);
  g_autofree char *scripts = nl_test_data_path ("../../templates/hosts");
  Fake *fake = windows_host (root, scripts);
  g_autoptr (NlRolloutDriver) driver = fake_driver (fake);
  NlRolloutOptions o = fake_options (root, "win");
  g_autoptr (GError) error = NULL;
  g_autoptr (NlJournal) j = NULL;
  g_autofree char *log = NULL;
  g_autofree char *overrides = NULL;
  g_autofree char *data = NULL;
  NlHostRecord *h;

  put (fake, "hv01", "out.drain.ps1",
       "{\"ok\":true,\"vms\":[{\"name\":\"vm-a\",\"action\":\"Save\",\"status\":\"drained\"},"
       "{\"name\":\"vm-n\",\"action\":\"ShutDown\",\"status\":\"drained\"},"
       "{\"name\":\"vm-off\",\"action\":\"None\",\"status\":\"left\"}]}");
  put (fake, "hv01", "status.update.ps1", "3010");
  j = nl_rollout_run (plan, driver, &o, &error);
  ck_assert_msg (j != NULL, "%s", error ? error->message : "");
  h = nl_journal_find_host (j, "hv01");
  ck_assert_msg (h->state == NL_HOST_DONE, "%s", h->message ? h->message : "");
  ck_assert_int_eq (j->state, NL_RUN_DONE);
  ck_assert_str_eq (h->uuid, "HV01");
  ck_assert_str_eq (h->uri, "lab demo, machine hv01");
  ck_assert_int_eq (host_guest (j, "hv01", "vm-a")->action, NL_GUEST_SAVE);
  ck_assert_int_eq (host_guest (j, "hv01", "vm-a")->state, NL_HGUEST_DONE);
  ck_assert_int_eq (host_guest (j, "hv01", "vm-a")->reboots, 0);
  ck_assert_int_eq (host_guest (j, "hv01", "vm-n")->action, NL_GUEST_SHUTDOWN);
  ck_assert (strstr (host_guest (j, "hv01", "vm-n")->reason, "nested hypervisor") != NULL);
  ck_assert_int_eq (host_guest (j, "hv01", "vm-n")->reboots, 1);
  ck_assert_int_eq (host_guest (j, "hv01", "vm-off")->state, NL_HGUEST_LEFT);

  /* What ran inside the host, in order; the plan's action for each VM
   * went in as overrides; the host rebooted once, through its agent. */
  {
    g_autofree char *path = g_build_filename (root, "guests", "hv01", "hostlog", NULL);
    g_autofree char *opath = g_build_filename (root, "guests", "hv01", "files", "overrides.json", NULL);
    ck_assert (g_file_get_contents (path, &log, NULL, NULL));
    ck_assert (g_file_get_contents (opath, &overrides, NULL, NULL));
  }
  ck_assert (nl_test_golden ("rollout/windows-host-commands.txt", log));
  ck_assert_str_eq (overrides, "{\"vm-a\":\"Save\",\"vm-n\":\"ShutDown\"}");
  data = fake_data_of (fake, "hv01");
  ck_assert_str_eq (data, "REBOOT\n");
  {
    g_autofree char *lib = g_build_filename (root, "guests", "hv01", "files", "nestlab-host-lib.ps1", NULL);
    ck_assert (g_file_test (lib, G_FILE_TEST_EXISTS));
  }
  g_unsetenv ("NESTLAB_HOSTS_DIR");
  fake_free (fake);
}
END_TEST

START_TEST (windows_host_that_cannot_drain_is_not_updated_but_brought_back)
{
  g_autoptr (NlTestDir) root = temp_root ();
  g_autoptr (NlRolloutPlan) plan = windows_host_plan (root, FALSE);
  g_autofree char *scripts = nl_test_data_path ("../../templates/hosts");
  Fake *fake = windows_host (root, scripts);
  g_autoptr (NlRolloutDriver) driver = fake_driver (fake);
  NlRolloutOptions o = fake_options (root, "win-fail");
  g_autoptr (GError) error = NULL;
  g_autoptr (NlJournal) j = NULL;
  g_autofree char *log = NULL;
  g_autofree char *data = NULL;
  NlHostRecord *h;

  put (fake, "hv01", "out.drain.ps1",
       "{\"ok\":false,\"error\":\"vm-n: Stop-VM failed\",\"vms\":["
       "{\"name\":\"vm-a\",\"action\":\"Save\",\"status\":\"drained\"},"
       "{\"name\":\"vm-n\",\"action\":\"ShutDown\",\"status\":\"failed\",\"error\":\"Stop-VM failed\"}]}");
  put (fake, "hv01", "status.drain.ps1", "1");
  j = nl_rollout_run (plan, driver, &o, &error);
  ck_assert_msg (j != NULL, "%s", error ? error->message : "");
  ck_assert_int_eq (j->state, NL_RUN_HALTED);
  h = nl_journal_find_host (j, "hv01");
  ck_assert_int_eq (h->state, NL_HOST_FAILED);
  ck_assert_msg (strstr (h->message, "vm-n: Stop-VM failed") != NULL, "%s", h->message);
  ck_assert_int_eq (host_guest (j, "hv01", "vm-n")->state, NL_HGUEST_FAILED);
  {
    g_autofree char *path = g_build_filename (root, "guests", "hv01", "hostlog", NULL);
    ck_assert (g_file_get_contents (path, &log, NULL, NULL));
  }
  ck_assert (strstr (log, "update.ps1") == NULL);
  ck_assert (strstr (log, "resume.ps1") != NULL);
  data = fake_data_of (fake, "hv01");
  ck_assert_str_eq (data, "");
  g_unsetenv ("NESTLAB_HOSTS_DIR");
  fake_free (fake);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Host window reports and the journal of host windows                  */

#define T0 G_GINT64_CONSTANT (1796763600)  /* 2026-12-08T21:00:00Z */

static NlRingRecord *
add_ring (NlJournal *j, NlRolloutPass pass, const char *name, gint64 started, gint64 finished)
{
  NlRingRecord *r = g_new0 (NlRingRecord, 1);
  r->pass = pass;
  r->name = g_strdup (name);
  r->started = TRUE;
  r->started_at = started;
  r->finished_at = finished;
  g_ptr_array_add (j->rings, r);
  return r;
}

static NlHostRecord *
add_host (NlJournal *j, const char *name, const char *uri, NlHostState state)
{
  NlHostRecord *h = g_new0 (NlHostRecord, 1);
  h->name = g_strdup (name);
  h->uri = g_strdup (uri);
  h->state = state;
  h->guests = g_ptr_array_new_with_free_func ((GDestroyNotify) nl_host_guest_record_free);
  h->warnings = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (j->hosts, h);
  return h;
}

static NlHostGuestRecord *
add_guest (NlHostRecord *h, const char *name, NlGuestAction action, NlStopAction asked,
           NlHostGuestState state, const char *installed)
{
  NlHostGuestRecord *g = g_new0 (NlHostGuestRecord, 1);
  g->name = g_strdup (name);
  g->action = action;
  g->asked = asked;
  g->state = state;
  g->location = g_strdup (h->name);
  g->before = g_new0 (char *, 1);
  g->after = g_new0 (char *, 1);
  g->installed = *installed ? g_strsplit (installed, ",", -1) : g_new0 (char *, 1);
  g_ptr_array_add (h->guests, g);
  return g;
}

/* A run with two host windows, as hosts.c journals them: hv1 done (a
 * saved guest, a shut-down guest that rebooted once as planned, a guest
 * live-migrated to hv2 and back, one left off), hv2 failed in its update
 * with a warning, its guests' names and messages in need of escaping. */
static NlJournal *
hosts_journal (const char *root)
{
  g_autoptr (GError) error = NULL;
  NlJournal *j = nl_journal_create (root, "hosts-report", &error);
  NlTargetRecord *t;
  NlHostRecord *h;
  NlHostGuestRecord *g;

  ck_assert_msg (j != NULL, "%s", error ? error->message : "");
  j->plan_id = g_strdup ("hv-december");
  j->state = NL_RUN_HALTED;
  j->reason = g_strdup ("host hv2 failed");
  j->created = T0;
  j->updated = T0 + 1500;
  j->passed = g_strsplit ("KB1,KB2,SSU", ",", -1);
  add_ring (j, NL_PASS_NOW, "canary", T0 + 10, T0 + 70);
  add_ring (j, NL_PASS_NOW, "broad", T0 + 75, T0 + 190);
  t = add_target (j, "now", "canary", "web-canary");
  t->state = NL_TARGET_DONE;
  g_strfreev (t->installed);
  t->installed = g_strsplit ("KB1,KB2", ",", -1);
  t->started = T0 + 10;
  t->finished = T0 + 70;
  t = add_target (j, "now", "broad", "app-broad");
  t->state = NL_TARGET_NOT_APPLICABLE;
  t->started = T0 + 75;
  t->finished = T0 + 190;

  h = add_host (j, "hv1", "qemu+ssh://admin@hv1/system", NL_HOST_DONE);
  h->uuid = g_strdup ("0c5ae2f4-5f5e-4d4a-9d3c-4b7e1b0a1111");
  h->boot_id = g_strdup ("5d1f0b5e-hv1-boot-before");
  h->window_start = T0;
  h->window_end = T0 + 4 * 3600;
  h->started = T0 + 200;
  h->down_at = T0 + 400;
  h->up_at = T0 + 495;
  h->finished = T0 + 700;
  g_ptr_array_add (h->warnings, g_strdup ("guest 'old01' is not running: its 1 pending patch(es) wait until it runs"));
  g = add_guest (h, "web01", NL_GUEST_SAVE, NL_STOP_SAVE, NL_HGUEST_DONE, "KB1");
  g_strfreev (g->before);
  g->before = g_strsplit ("KB1", ",", -1);
  g->agent = TRUE;
  g->boot_id = g_strdup ("web01-boot-1");
  g->down_at = T0 + 300;
  g->up_at = T0 + 520;
  g->message = g_strdup ("back");
  g = add_guest (h, "db01", NL_GUEST_SHUTDOWN, NL_STOP_SAVE, NL_HGUEST_DONE, "KB1,KB2");
  g->reason = g_strdup ("its patches need a reboot, which resuming a saved guest would skip");
  g_strfreev (g->before);
  g->before = g_strsplit ("KB1,KB2", ",", -1);
  g->held = TRUE;
  g->planned_reboots = 1;
  g->reboots = 1;
  g->agent = TRUE;
  g->boot_id = g_strdup ("db01-boot-2");
  g->down_at = T0 + 310;
  g->up_at = T0 + 560;
  g->message = g_strdup ("installed; reboot held for the host's");
  g = add_guest (h, "app01", NL_GUEST_MIGRATE, NL_STOP_MIGRATE, NL_HGUEST_DONE, "KB2");
  g->migrate_back = TRUE;
  g_strfreev (g->after);
  g->after = g_strsplit ("KB2", ",", -1);
  g->agent = TRUE;
  g->boot_id = g_strdup ("app01-boot-1");
  g->message = g_strdup ("back");
  g = add_guest (h, "old01", NL_GUEST_LEAVE_OFF, NL_STOP_SHUTDOWN, NL_HGUEST_LEFT, "");

  h = add_host (j, "hv2", "qemu+ssh://admin@hv2:2222/system?keyfile=/k/id", NL_HOST_FAILED);
  h->uuid = g_strdup ("0c5ae2f4-5f5e-4d4a-9d3c-4b7e1b0a2222");
  h->window_start = T0;
  h->window_end = T0 + 4 * 3600;
  h->started = T0 + 800;
  h->finished = T0 + 1500;
  h->message = g_strdup ("its update command failed (exit 100): E: Could not get lock <dpkg> & \"apt\"\n"
                         "E: Unable to lock the administration directory");
  g_ptr_array_add (h->warnings, g_strdup ("guest 'db9' (line 12) is not on this host; check the plan"));
  g_ptr_array_add (h->warnings, g_strdup ("guest 'lab<&>\"1': one window is impossible: SSU needs a reboot "
                                          "of its own before later patches install, so it reboots 2 times"));
  g = add_guest (h, "lab<&>\"1", NL_GUEST_SHUTDOWN, NL_STOP_SAVE, NL_HGUEST_DONE, "SSU,KB2");
  g->reason = g_strdup ("a nested hypervisor: KVM does not support saving one that runs guests of its own");
  g_strfreev (g->before);
  g->before = g_strsplit ("SSU", ",", -1);
  g_strfreev (g->after);
  g->after = g_strsplit ("KB2", ",", -1);
  g->held = TRUE;
  g->planned_reboots = 2;
  g->reboots = 3;
  g->agent = TRUE;
  g->boot_id = g_strdup ("lab-boot-4");
  g->down_at = T0 + 900;
  g->up_at = T0 + 1380;
  g->message = g_strdup ("back");
  g = add_guest (h, "mig;2", NL_GUEST_MIGRATE, NL_STOP_MIGRATE, NL_HGUEST_FAILED, "");
  g->migrate_back = TRUE;
  g_free (g->location);
  g->location = g_strdup ("hv1");
  g->agent = TRUE;
  g->message = g_strdup ("bringing it back: migration failed: <unable to connect> & \"retry\"\nsecond line");
  return j;
}

START_TEST (report_table_shows_each_host_window_and_guest)
{
  g_autoptr (NlTestDir) root = temp_root ();
  g_autoptr (NlJournal) j = hosts_journal (root);
  g_autofree char *table = nl_rollout_report_table (j);

  ck_assert (nl_test_golden ("rollout/report/hosts.txt", table));
  /* What a reader looks for, whatever the layout. */
  ck_assert (strstr (table, "Window planned: 2026-12-08 21:00 - 2026-12-09 01:00 UTC") != NULL);
  ck_assert (strstr (table, "Host down: 95s") != NULL);
  ck_assert (strstr (table, "asked save: its patches need a reboot") != NULL);
  ck_assert (strstr (table, "1 (planned 1) ") != NULL);
  ck_assert (strstr (table, "3 (planned 2) !") != NULL);
  ck_assert (strstr (table, " live ") != NULL);
  ck_assert (strstr (table, "second line") == NULL);
}
END_TEST

/* Runs python3's json module on JSON: it must parse, and SCRIPT (reading
 * the document as D) prints what the case compares. */
static char *
python_on_json (const char *json, const char *script)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *code = g_strdup_printf ("import json, sys\nd = json.load(sys.stdin)\n%s", script);
  const char *argv[] = { "python3", "-c", code, NULL };
  g_autoptr (GSubprocess) p = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDIN_PIPE
                                                 | G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error);
  char *out = NULL;

  ck_assert_msg (p != NULL, "python3 (scripts/setup.sh installs it): %s", error ? error->message : "");
  ck_assert_msg (g_subprocess_communicate_utf8 (p, json, NULL, &out, NULL, &error), "%s", error ? error->message : "");
  ck_assert_msg (g_subprocess_get_if_exited (p) && g_subprocess_get_exit_status (p) == 0,
                 "python3 rejected the JSON: %s", json);
  return out;
}

START_TEST (report_json_has_hosts_and_keeps_its_keys)
{
  g_autoptr (NlTestDir) root = temp_root ();
  g_autoptr (NlJournal) j = hosts_journal (root);
  g_autofree char *json = nl_rollout_report_json (j);
  g_autofree char *summary = NULL;
  g_autofree char *keys = NULL;

  ck_assert (nl_test_golden ("rollout/report/hosts.json", json));
  keys = python_on_json (json,
    "print(' '.join(d))\n"
    "print(' '.join(d['hosts'][0]))\n"
    "print(' '.join(d['hosts'][0]['guests'][0]))\n");
  ck_assert_str_eq (keys,
    "id plan state reason created updated wait_until passed rings targets hosts\n"
    "name rehearsal replica_domain uri state uuid boot_id window_start window_end started down_at up_at finished downtime "
    "warnings message guests\n"
    "name action asked reason migrate_back before reboot_held after state location installed agent "
    "boot_id reboots planned_reboots unexpected_reboots down_at up_at downtime live message\n");
  summary = python_on_json (json,
    "for h in d['hosts']:\n"
    "    print(h['name'], h['state'], h['downtime'], len(h['warnings']), h['message'])\n"
    "    for g in h['guests']:\n"
    "        print(' ', g['name'], g['action'], g['asked'], g['state'], g['location'], g['reboots'],\n"
    "              g['planned_reboots'], g['unexpected_reboots'], g['live'], g['downtime'],\n"
    "              ','.join(g['installed']), g['reboot_held'])\n");
  ck_assert_str_eq (summary,
    "hv1 done 95 1 None\n"
    "  web01 save save done hv1 0 0 False False 220 KB1 False\n"
    "  db01 shutdown save done hv1 1 1 False False 250 KB1,KB2 True\n"
    "  app01 migrate migrate done hv1 0 0 False True 0 KB2 False\n"
    "  old01 leave-off shutdown left hv1 0 0 False False 0  False\n"
    "hv2 failed 0 2 its update command failed (exit 100): E: Could not get lock <dpkg> & \"apt\"\n"
    "E: Unable to lock the administration directory\n"
    "  lab<&>\"1 shutdown save done hv2 3 2 True False 480 SSU,KB2 True\n"
    "  mig;2 migrate migrate failed hv1 0 0 False True 0  False\n");
}
END_TEST

static xmlXPathObjectPtr
html_xpath (xmlXPathContextPtr ctx, const char *expr)
{
  xmlXPathObjectPtr o = xmlXPathEvalExpression ((const xmlChar *) expr, ctx);
  ck_assert_msg (o != NULL, "%s", expr);
  return o;
}

static int
html_count (xmlXPathContextPtr ctx, const char *expr)
{
  xmlXPathObjectPtr o = html_xpath (ctx, expr);
  int n = o->nodesetval ? o->nodesetval->nodeNr : 0;
  xmlXPathFreeObject (o);
  return n;
}

START_TEST (report_html_draws_a_row_per_ring_host_and_guest)
{
  g_autoptr (NlTestDir) root = temp_root ();
  g_autoptr (NlJournal) j = hosts_journal (root);
  g_autofree char *page = nl_rollout_report_html (j);
  xmlDocPtr doc;
  xmlXPathContextPtr ctx;
  xmlXPathObjectPtr labels;
  gboolean found = FALSE;

  ck_assert (nl_test_golden ("rollout/report/hosts.html", page));
  /* Self-contained: no scripts, nothing fetched. */
  ck_assert (strstr (page, "<script") == NULL);
  ck_assert (strstr (page, "src=") == NULL && strstr (page, "href") == NULL && strstr (page, "url(") == NULL);
  /* Names reach the page escaped only. */
  ck_assert (strstr (page, "lab<&>\"1") == NULL);
  ck_assert (strstr (page, "<dpkg>") == NULL && strstr (page, "<unable") == NULL);

  /* Well-formed XML all through (which an unescaped name would break). */
  doc = xmlReadMemory (page, strlen (page), "report.html", NULL, XML_PARSE_NONET | XML_PARSE_NOERROR);
  ck_assert_msg (doc != NULL, "the page is not well-formed");
  ctx = xmlXPathNewContext (doc);
  xmlXPathRegisterNs (ctx, (const xmlChar *) "s", (const xmlChar *) "http://www.w3.org/2000/svg");
  ck_assert_int_eq (html_count (ctx, "//s:svg"), 1);
  ck_assert_int_eq (html_count (ctx, "//s:svg/s:g[@class='ring']"), 2);
  ck_assert_int_eq (html_count (ctx, "//s:svg/s:g[@class='host']"), 2);
  ck_assert_int_eq (html_count (ctx, "//s:svg/s:g[@class='guest']"), 6);
  /* Every ring, host and downtime has its bar: rings 2, host windows 2,
   * hv1 down 1, guest downtimes 3 (web01, db01, lab); the planned windows
   * are outlines. */
  ck_assert_int_eq (html_count (ctx, "//s:g[@class='ring']/s:rect"), 2);
  ck_assert_int_eq (html_count (ctx, "//s:g[@class='host']/s:rect[@fill!='none']"), 3);
  ck_assert_int_eq (html_count (ctx, "//s:g[@class='host']/s:rect[@fill='none']"), 2);
  ck_assert_int_eq (html_count (ctx, "//s:g[@class='guest']/s:rect"), 3);
  /* Live migrations are markers: there and back for app01, there only
   * for mig;2, which failed to come home. */
  ck_assert_int_eq (html_count (ctx, "//s:g[@class='guest']/s:polygon"), 3);
  /* A row per guest, each with its reboots, the unexpected one flagged. */
  ck_assert_int_eq (html_count (ctx, "//s:g[@class='guest']/s:text[starts-with(., 'reboots ')]"), 5);
  ck_assert_int_eq (html_count (ctx, "//s:g[@class='guest']/s:text[. = 'reboots 3 (planned 2) !'][@fill]"), 1);
  /* The name with markup characters comes back as it was. */
  labels = html_xpath (ctx, "//s:g[@class='guest']/s:text[1]");
  for (int i = 0; labels->nodesetval && i < labels->nodesetval->nodeNr; i++)
    {
      xmlChar *text = xmlNodeGetContent (labels->nodesetval->nodeTab[i]);
      found |= g_strcmp0 ((const char *) text, "lab<&>\"1") == 0;
      xmlFree (text);
    }
  xmlXPathFreeObject (labels);
  ck_assert (found);
  /* A table per host, a row per guest. */
  ck_assert_int_eq (html_count (ctx, "//h3"), 2);
  ck_assert_int_eq (html_count (ctx, "//h2[. = 'Hosts']/following-sibling::table/tr[td]"), 6);
  xmlXPathFreeContext (ctx);
  xmlFreeDoc (doc);
}
END_TEST

START_TEST (report_html_without_hosts_is_well_formed)
{
  g_autoptr (NlTestDir) root = temp_root ();
  g_autoptr (NlJournal) j = hosts_journal (root);
  g_autofree char *page = NULL;
  xmlDocPtr doc;

  g_ptr_array_set_size (j->hosts, 0);
  j->reason = (g_free (j->reason), g_strdup ("ring 'canary' exceeded its failure budget"));
  page = nl_rollout_report_html (j);
  doc = xmlReadMemory (page, strlen (page), "report.html", NULL, XML_PARSE_NONET | XML_PARSE_NOERROR);
  ck_assert_msg (doc != NULL, "the page is not well-formed");
  xmlFreeDoc (doc);
  ck_assert (strstr (page, "class=\"ring\"") != NULL);
  ck_assert (strstr (page, "<h2>Hosts</h2>") == NULL);
}
END_TEST

static void
assert_strv_eq (char **a, char **b)
{
  ck_assert_msg ((a == NULL) == (b == NULL), "one list is missing");
  if (a)
    ck_assert_msg (g_strv_equal ((const char *const *) a, (const char *const *) b), "lists differ: %s | %s",
                   g_strjoinv (",", a), g_strjoinv (",", b));
}

START_TEST (journal_round_trips_every_host_and_guest_field)
{
  g_autoptr (NlTestDir) root = temp_root ();
  g_autoptr (NlJournal) j = hosts_journal (root);
  g_autoptr (NlJournal) back = NULL;
  g_autoptr (GError) error = NULL;
  NlHostGuestRecord *odd = ((NlHostRecord *) j->hosts->pdata[0])->guests->pdata[0];

  /* libvirt allows '[', ']', '/' and '%' in a domain name. */
  g_free (odd->name);
  odd->name = g_strdup ("db[1]/odd %41 name");
  ck_assert_msg (nl_journal_save (j, &error), "%s", error ? error->message : "");
  back = nl_journal_load (root, j->id, &error);
  ck_assert_msg (back != NULL, "%s", error ? error->message : "");
  ck_assert_uint_eq (back->hosts->len, j->hosts->len);
  for (guint i = 0; i < j->hosts->len; i++)
    {
      const NlHostRecord *a = j->hosts->pdata[i], *b = back->hosts->pdata[i];
      ck_assert_str_eq (b->name, a->name);
      ck_assert_str_eq (b->uri, a->uri);
      ck_assert_int_eq (b->state, a->state);
      ck_assert_pstr_eq (b->uuid, a->uuid);
      ck_assert_pstr_eq (b->boot_id, a->boot_id);
      ck_assert_int_eq (b->window_start, a->window_start);
      ck_assert_int_eq (b->window_end, a->window_end);
      ck_assert_int_eq (b->started, a->started);
      ck_assert_int_eq (b->down_at, a->down_at);
      ck_assert_int_eq (b->up_at, a->up_at);
      ck_assert_int_eq (b->finished, a->finished);
      ck_assert_pstr_eq (b->message, a->message);
      ck_assert_uint_eq (b->warnings->len, a->warnings->len);
      for (guint w = 0; w < a->warnings->len; w++)
        ck_assert_str_eq (b->warnings->pdata[w], a->warnings->pdata[w]);
      ck_assert_uint_eq (b->guests->len, a->guests->len);
      for (guint k = 0; k < a->guests->len; k++)
        {
          const NlHostGuestRecord *x = a->guests->pdata[k], *y = b->guests->pdata[k];
          ck_assert_str_eq (y->name, x->name);
          ck_assert_int_eq (y->action, x->action);
          ck_assert_int_eq (y->asked, x->asked);
          ck_assert_pstr_eq (y->reason, x->reason);
          ck_assert_int_eq (y->migrate_back, x->migrate_back);
          assert_strv_eq (y->before, x->before);
          assert_strv_eq (y->after, x->after);
          ck_assert_int_eq (y->held, x->held);
          ck_assert_uint_eq (y->planned_reboots, x->planned_reboots);
          ck_assert_int_eq (y->state, x->state);
          ck_assert_pstr_eq (y->location, x->location);
          assert_strv_eq (y->installed, x->installed);
          ck_assert_int_eq (y->agent, x->agent);
          ck_assert_pstr_eq (y->boot_id, x->boot_id);
          ck_assert_uint_eq (y->reboots, x->reboots);
          ck_assert_int_eq (y->down_at, x->down_at);
          ck_assert_int_eq (y->up_at, x->up_at);
          ck_assert_pstr_eq (y->message, x->message);
        }
    }
}
END_TEST

START_TEST (journal_with_a_damaged_guest_is_invalid_and_says_where)
{
  g_autoptr (NlTestDir) root = temp_root ();
  g_autoptr (NlJournal) j = hosts_journal (root);
  g_autoptr (NlJournal) back = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_autofree char *path = g_build_filename (root, j->id, "journal", NULL);

  ck_assert (nl_journal_save (j, &error));
  ck_assert (g_key_file_load_from_file (kf, path, G_KEY_FILE_NONE, &error));
  ck_assert (g_key_file_has_group (kf, "guest hv1/db01"));
  g_key_file_set_string (kf, "guest hv1/db01", "state", "sideways");
  ck_assert (g_key_file_save_to_file (kf, path, &error));

  back = nl_journal_load (root, j->id, &error);
  ck_assert_ptr_null (back);
  ck_assert (g_error_matches (error, NL_ERROR, NL_ERROR_INVALID));
  ck_assert_msg (strstr (error->message, "[guest hv1/db01]") != NULL, "%s", error->message);
}
END_TEST

/* ------------------------------------------------------------------ */
/* A host's own commands                                                */

START_TEST (host_command_runs_locally_as_given)
{
  NlHostTarget host = { .name = (char *) "hv1", .uri = (char *) "qemu:///system", .run = NL_HOST_RUN_LOCAL };
  const char *argv[] = { "/usr/bin/apt-get", "-y", "dist-upgrade", "a b 'c'", NULL };
  g_auto (GStrv) full = nl_host_command_argv (&host, argv);

  ck_assert (g_strv_equal ((const char *const *) full, argv));
}
END_TEST

START_TEST (host_command_over_ssh_quotes_for_the_remote_shell)
{
  NlHostTarget host = { .name = (char *) "hv1", .run = NL_HOST_RUN_SSH,
                        .uri = (char *) "qemu+ssh://admin@hv1:2222/system?keyfile=/k/id" };
  const char *argv[] = { "/usr/bin/printf", "%s\\n", "it's a \"quoted\" arg  with spaces",
                         "$HOME; rm -rf / `x` *", "", NULL };
  const char *expected[] = { "ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=30", "-p", "2222",
                             "-l", "admin", "-i", "/k/id", "hv1", NULL };
  g_auto (GStrv) full = nl_host_command_argv (&host, argv);
  g_auto (GStrv) remote = NULL;
  g_autoptr (GError) error = NULL;
  guint n = g_strv_length (full);

  ck_assert_uint_eq (n, G_N_ELEMENTS (expected));
  for (guint i = 0; expected[i]; i++)
    ck_assert_str_eq (full[i], expected[i]);
  /* The last element is what the remote shell gets: it splits back into
   * exactly the plan's argv. */
  ck_assert_msg (g_shell_parse_argv (full[n - 1], NULL, &remote, &error), "%s", error ? error->message : "");
  ck_assert (g_strv_equal ((const char *const *) remote, argv));
}
END_TEST

START_TEST (host_command_without_port_user_or_key_names_only_the_host)
{
  NlHostTarget host = { .name = (char *) "hv9", .run = NL_HOST_RUN_SSH, .uri = (char *) "qemu+ssh://hv9.lab/system" };
  const char *argv[] = { "/bin/true", NULL };
  const char *expected[] = { "ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=30", "hv9.lab", "'/bin/true'", NULL };
  g_auto (GStrv) full = nl_host_command_argv (&host, argv);

  ck_assert (g_strv_equal ((const char *const *) full, expected));
}
END_TEST

START_TEST (host_command_gives_exit_status_and_all_output)
{
  NlHostTarget host = { .name = (char *) "hv1", .uri = (char *) "qemu:///system", .run = NL_HOST_RUN_LOCAL };
  const char *argv[] = { "/bin/sh", "-c", "echo out; echo err >&2; echo more; exit 3", NULL };
  const char *missing[] = { "/nonexistent/update", NULL };
  g_autofree char *output = NULL;
  g_autoptr (GError) error = NULL;
  int status = -1;

  ck_assert_msg (nl_host_command_run (&host, argv, 10, &status, &output, &error), "%s",
                 error ? error->message : "");
  ck_assert_int_eq (status, 3);
  /* stdout and stderr in one stream, in the order written. */
  ck_assert_str_eq (output, "out\nerr\nmore\n");
  ck_assert (!nl_host_command_run (&host, missing, 10, &status, NULL, &error));
  ck_assert (g_error_matches (error, NL_ERROR, NL_ERROR_FAILED));
  ck_assert (strstr (error->message, "hv1") != NULL);
}
END_TEST

START_TEST (host_command_that_overruns_is_killed)
{
  g_autoptr (NlTestDir) dir = nl_test_dir_new ("nl-hostcmd-XXXXXX");
  g_autofree char *pidfile = g_build_filename (dir, "pid", NULL);
  g_autofree char *script = g_strdup_printf ("echo $$ > '%s'; exec sleep 30", pidfile);
  NlHostTarget host = { .name = (char *) "hv1", .uri = (char *) "qemu:///system", .run = NL_HOST_RUN_LOCAL };
  const char *argv[] = { "/bin/sh", "-c", script, NULL };
  g_autofree char *output = NULL;
  g_autofree char *pidtext = NULL;
  g_autoptr (GError) error = NULL;
  gint64 t0 = g_get_monotonic_time (), elapsed, gone_by;
  int status = -1;
  pid_t pid;

  ck_assert (!nl_host_command_run (&host, argv, 1, &status, &output, &error));
  elapsed = g_get_monotonic_time () - t0;
  ck_assert (g_error_matches (error, NL_ERROR, NL_ERROR_FAILED));
  ck_assert_msg (strstr (error->message, "did not finish within 1s") != NULL, "%s", error->message);
  /* A one-second timer may fire up to a second late (GLib groups
   * second timers), never thirty. */
  ck_assert_msg (elapsed < 2500 * 1000, "took %" G_GINT64_FORMAT " ms", elapsed / 1000);
  ck_assert (g_file_get_contents (pidfile, &pidtext, NULL, NULL));
  pid = (pid_t) g_ascii_strtoll (pidtext, NULL, 10);
  ck_assert_int_gt (pid, 1);
  /* Killed, and reaped soon after by GLib's child watch. */
  gone_by = g_get_monotonic_time () + G_USEC_PER_SEC;
  while (kill (pid, 0) == 0 && g_get_monotonic_time () < gone_by)
    g_usleep (10 * 1000);
  ck_assert_msg (kill (pid, 0) < 0 && errno == ESRCH, "process %d is still there", (int) pid);
}
END_TEST

static void
nl_rollout_report_tcases (Suite *s)
{
  TCase *tc = tcase_create ("report");
  tcase_add_test (tc, report_table_shows_each_host_window_and_guest);
  tcase_add_test (tc, report_json_has_hosts_and_keeps_its_keys);
  tcase_add_test (tc, report_html_draws_a_row_per_ring_host_and_guest);
  tcase_add_test (tc, report_html_without_hosts_is_well_formed);
  tcase_add_test (tc, journal_round_trips_every_host_and_guest_field);
  tcase_add_test (tc, journal_with_a_damaged_guest_is_invalid_and_says_where);
  suite_add_tcase (s, tc);

  tc = tcase_create ("hostcmd");
  tcase_add_test (tc, host_command_runs_locally_as_given);
  tcase_add_test (tc, host_command_over_ssh_quotes_for_the_remote_shell);
  tcase_add_test (tc, host_command_without_port_user_or_key_names_only_the_host);
  tcase_add_test (tc, host_command_gives_exit_status_and_all_output);
  tcase_add_test (tc, host_command_that_overruns_is_killed);
  suite_add_tcase (s, tc);
}

START_TEST (windows_host_is_rehearsed_on_its_replica_first)
{
  g_autoptr (NlTestDir) root = temp_root ();
  g_autoptr (NlRolloutPlan) plan = NULL;
  g_autofree char *scripts = nl_test_data_path ("../../templates/hosts");
  Fake *fake = NULL;
  g_autoptr (NlRolloutDriver) driver = NULL;
  NlRolloutOptions o = fake_options (root, "win-rehearse");
  g_autoptr (GError) error = NULL;
  g_autoptr (NlJournal) j = NULL;
  g_autofree char *plog = NULL;
  g_autofree char *rlog_path = g_build_filename (root, "guests", "replica-hv01", "hostlog", NULL);
  g_autofree char *plog_path = g_build_filename (root, "guests", "hv01", "hostlog", NULL);
  NlHostRecord *rehearsal;

  plan = windows_host_plan (root, TRUE);
  fake = windows_host (root, scripts);
  driver = fake_driver (fake);
  put (fake, "hv01", "out.drain.ps1",
       "{\"ok\":true,\"vms\":[{\"name\":\"vm-a\",\"action\":\"Save\",\"status\":\"drained\"},"
       "{\"name\":\"vm-n\",\"action\":\"ShutDown\",\"status\":\"drained\"}]}");
  j = nl_rollout_run (plan, driver, &o, &error);
  ck_assert_msg (j != NULL, "%s", error ? error->message : "");
  ck_assert_int_eq (j->state, NL_RUN_DONE);
  ck_assert_uint_eq (j->hosts->len, 2);
  rehearsal = j->hosts->pdata[0];
  ck_assert (rehearsal->replica);
  ck_assert_str_eq (rehearsal->domain, "replica-hv01");
  ck_assert_int_eq (rehearsal->state, NL_HOST_DONE);
  ck_assert_int_eq (nl_journal_find_host (j, "hv01")->state, NL_HOST_DONE);
  ck_assert (!nl_journal_find_host (j, "hv01")->replica);
  /* Both ran every script; the replica is gone afterwards. */
  ck_assert (g_file_get_contents (plog_path, &plog, NULL, NULL));
  ck_assert (strstr (plog, "resume.ps1") != NULL);
  ck_assert (!g_file_test (rlog_path, G_FILE_TEST_EXISTS));
  g_unsetenv ("NESTLAB_HOSTS_DIR");
  fake_free (fake);
}
END_TEST

START_TEST (windows_host_whose_rehearsal_fails_is_never_touched)
{
  g_autoptr (NlTestDir) root = temp_root ();
  g_autoptr (NlRolloutPlan) plan = NULL;
  g_autofree char *scripts = nl_test_data_path ("../../templates/hosts");
  Fake *fake = NULL;
  g_autoptr (NlRolloutDriver) driver = NULL;
  NlRolloutOptions o = fake_options (root, "win-rehearse-fail");
  g_autoptr (GError) error = NULL;
  g_autoptr (NlJournal) j = NULL;
  g_autofree char *plog_path = g_build_filename (root, "guests", "hv01", "hostlog", NULL);

  plan = windows_host_plan (root, TRUE);
  fake = windows_host (root, scripts);
  driver = fake_driver (fake);
  /* The updates fail: on the replica first, so production is spared. */
  put (fake, "hv01", "status.update.ps1", "1");
  put (fake, "hv01", "out.update.ps1", "{\"ok\":false,\"error\":\"0x80240022\"}");
  j = nl_rollout_run (plan, driver, &o, &error);
  ck_assert_msg (j != NULL, "%s", error ? error->message : "");
  ck_assert_int_eq (j->state, NL_RUN_HALTED);
  ck_assert_int_eq (((NlHostRecord *) j->hosts->pdata[0])->state, NL_HOST_FAILED);
  ck_assert_msg (strstr (((NlHostRecord *) j->hosts->pdata[0])->message, "0x80240022") != NULL, "%s",
                 ((NlHostRecord *) j->hosts->pdata[0])->message);
  ck_assert_int_eq (nl_journal_find_host (j, "hv01")->state, NL_HOST_PENDING);
  ck_assert (!g_file_test (plog_path, G_FILE_TEST_EXISTS));
  g_unsetenv ("NESTLAB_HOSTS_DIR");
  fake_free (fake);
}
END_TEST

/* ------------------------------------------------------------------ */
/* A libvirt host's window on the scripted driver: restore points        */

/* A host window plan: PATCHES, HEALTH, every guest shut down; the host's
 * boot id is ROOT/host-boot, its reboot writes a new one. */
static NlRolloutPlan *
host_window_plan (const char *root, const char *patches, const char *health)
{
  g_autofree char *path = g_build_filename (root, "plan.xml", NULL);
  g_autofree char *boot = g_build_filename (root, "host-boot", NULL);
  g_autofree char *xml = g_strdup_printf (
    "<rollout name='hw' agent-timeout='5s'>\n%s\n"
    "  <targets><host name='hv' uri='test:///fake' boot-timeout='20s'>\n"
    "    <reboot><arg>/bin/sh</arg><arg>-c</arg><arg>echo boot-2 > %s</arg></reboot>\n"
    "    <boot-id><arg>/bin/cat</arg><arg>%s</arg></boot-id>\n"
    "  </host></targets>\n%s\n"
    "  <host-policy stop='shutdown'/>\n"
    "  <replica enabled='no'/>\n"
    "</rollout>\n", patches, boot, boot, health ? health : "");
  g_autoptr (GError) error = NULL;
  NlRolloutPlan *plan;
  ck_assert (g_file_set_contents (boot, "boot-1\n", -1, NULL));
  ck_assert (g_file_set_contents (path, xml, -1, NULL));
  plan = nl_rollout_plan_load (path, &error);
  ck_assert_msg (plan != NULL, "%s", error ? error->message : "");
  return plan;
}

static gboolean
no_restore_point_left (Fake *fake, const char *name)
{
  g_autofree char *dir = g_build_filename (fake->dir, "guests", name, NULL);
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *e;
  while (d && (e = g_dir_read_name (d)) != NULL)
    if (g_str_has_prefix (e, "data."))
      return FALSE;
  return TRUE;
}

START_TEST (host_guest_whose_held_install_fails_is_rolled_back_and_still_comes_back)
{
  g_autoptr (NlTestDir) root = temp_root ();
  g_autoptr (NlRolloutPlan) plan = host_window_plan (root,
    "<patch id='KB1' severity='important' reboot='yes'>"
    "<install os='linux'><arg>/fake</arg><arg>append</arg><arg>KB1</arg><arg>fail-on</arg><arg>g1</arg></install>"
    "<check os='linux'><arg>/fake</arg><arg>has</arg><arg>KB1</arg></check></patch>", NULL);
  Fake *fake = fake_new (root);
  g_autoptr (NlRolloutDriver) driver = NULL;
  NlRolloutOptions o = fake_options (root, "hw-held");
  g_autoptr (GError) error = NULL;
  g_autoptr (NlJournal) j = NULL;
  g_autofree char *d1 = NULL;
  g_autofree char *d2 = NULL;
  NlHostGuestRecord *g1, *g2;

  fake_guest_new (fake, "g1", "base\n");
  fake_guest_new (fake, "g2", "base\n");
  driver = fake_driver (fake);
  j = nl_rollout_run (plan, driver, &o, &error);
  ck_assert_msg (j != NULL, "%s", error ? error->message : "");
  ck_assert_int_eq (nl_journal_find_host (j, "hv")->state, NL_HOST_DONE);
  g1 = host_guest (j, "hv", "g1");
  g2 = host_guest (j, "hv", "g2");
  /* g1's install wrote its line, then failed: reverted, still stopped and
   * brought back with the host, reported failed. */
  ck_assert_int_eq (g1->state, NL_HGUEST_FAILED);
  ck_assert_msg (strstr (g1->message, "rolled back") != NULL, "%s", g1->message);
  d1 = fake_data_of (fake, "g1");
  ck_assert_str_eq (d1, "base\n");
  ck_assert (!fake_has (fake, "g1", "off"));
  /* g2 got its patch before the host went down, its reboot held: its cold
   * boot after the host's was its only one. */
  ck_assert_int_eq (g2->state, NL_HGUEST_DONE);
  ck_assert_int_eq (g2->reboots, 1);
  d2 = fake_data_of (fake, "g2");
  ck_assert_str_eq (d2, "base\nKB1\n");
  ck_assert (no_restore_point_left (fake, "g1") && no_restore_point_left (fake, "g2"));
  ck_assert_ptr_null (g1->checkpoint);
  ck_assert_ptr_null (g2->checkpoint);
  fake_free (fake);
}
END_TEST

START_TEST (host_guest_that_fails_its_health_after_the_window_is_rolled_back)
{
  g_autoptr (NlTestDir) root = temp_root ();
  g_autoptr (NlRolloutPlan) plan = host_window_plan (root,
    "<patch id='KB2' severity='important' reboot='yes'>"
    "<install os='linux'><arg>/fake</arg><arg>append</arg><arg>BROKEN</arg></install></patch>",
    "<health name='healthy'><command os='linux'><arg>/fake</arg><arg>healthy</arg></command></health>");
  Fake *fake = fake_new (root);
  g_autoptr (NlRolloutDriver) driver = NULL;
  NlRolloutOptions o = fake_options (root, "hw-health");
  g_autoptr (GError) error = NULL;
  g_autoptr (NlJournal) j = NULL;
  g_autofree char *d1 = NULL;
  NlHostGuestRecord *g1;

  fake_guest_new (fake, "g1", "base\n");
  driver = fake_driver (fake);
  j = nl_rollout_run (plan, driver, &o, &error);
  ck_assert_msg (j != NULL, "%s", error ? error->message : "");
  g1 = host_guest (j, "hv", "g1");
  ck_assert_int_eq (g1->state, NL_HGUEST_FAILED);
  ck_assert_msg (strstr (g1->message, "rolled back: health check 'healthy' failed") != NULL, "%s",
                 g1->message);
  d1 = fake_data_of (fake, "g1");
  ck_assert_str_eq (d1, "base\n");
  ck_assert (no_restore_point_left (fake, "g1"));
  fake_free (fake);
}
END_TEST

START_TEST (host_window_resumed_after_every_step_ends_the_same)
{
  /* Killed (in a child) at the n-th call it makes of the machines, for
   * every n until a run ends before its kill point, then resumed: the same
   * end state every time. */
  gboolean finished = FALSE;
  for (guint kill_at = 1; !finished; kill_at++)
    {
      g_autoptr (NlTestDir) root = temp_root ();
      g_autoptr (NlRolloutPlan) plan = host_window_plan (root,
        "<patch id='KB1' severity='important' reboot='yes'>"
        "<install os='linux'><arg>/fake</arg><arg>append</arg><arg>KB1</arg></install>"
        "<check os='linux'><arg>/fake</arg><arg>has</arg><arg>KB1</arg></check></patch>", NULL);
      Fake *fake = fake_new (root);
      g_autoptr (NlRolloutDriver) driver = NULL;
      g_autoptr (NlJournal) j = NULL;
      g_autoptr (GError) error = NULL;
      g_autofree char *id = g_strdup_printf ("hw-kill-%u", kill_at);
      NlRolloutOptions o = fake_options (root, id);
      int status = 0;
      pid_t pid;

      fake_guest_new (fake, "g1", "base\n");
      fake_guest_new (fake, "g2", "base\n");
      driver = fake_driver (fake);
      pid = fork ();
      if (pid == 0)
        {
          g_autofree char *n = g_strdup_printf ("call:%u", kill_at);
          g_setenv ("NL_FAKE_CRASH", n, TRUE);
          nl_rollout_run (plan, driver, &o, NULL);
          _exit (0);
        }
      ck_assert (waitpid (pid, &status, 0) == pid);
      /* The last round is the one whose run ended before its kill point. */
      finished = !WIFSIGNALED (status);
      ck_assert_msg (kill_at < 200, "the window never ends");
      /* The resume in a child of its own too: a process that forks must
       * not have run GLib's thread pools (a child would wait forever on
       * threads it does not have). */
      pid = fork ();
      if (pid == 0)
        {
          g_autoptr (NlJournal) r = nl_rollout_resume (id, driver, &o, &error);
          /* The run finished before the kill point: nothing to resume. */
          _exit (r != NULL || g_error_matches (error, NL_ERROR, NL_ERROR_CONFLICT) ? 0 : 1);
        }
      ck_assert (waitpid (pid, &status, 0) == pid);
      ck_assert_msg (WIFEXITED (status) && WEXITSTATUS (status) == 0, "kill at %u: resume failed", kill_at);
      j = nl_journal_load (root, id, &error);
      ck_assert_msg (j != NULL, "kill at %u: %s", kill_at, error ? error->message : "");
      ck_assert_msg (j->state == NL_RUN_DONE, "kill at %u: %s", kill_at, j->reason ? j->reason : "");
      ck_assert_int_eq (nl_journal_find_host (j, "hv")->state, NL_HOST_DONE);
      for (const char *const *g = (const char *const[]) { "g1", "g2", NULL }; *g; g++)
        {
          g_autofree char *data = fake_data_of (fake, *g);
          ck_assert_msg (g_str_equal (data, "base\nKB1\n"), "kill at %u: %s has %s", kill_at, *g, data);
          ck_assert_msg (!fake_has (fake, *g, "off"), "kill at %u: %s left off", kill_at, *g);
          ck_assert (no_restore_point_left (fake, *g));
          ck_assert_int_eq (host_guest (j, "hv", *g)->state, NL_HGUEST_DONE);
        }
      fake_free (fake);
    }
}
END_TEST

static Suite *
rollout_suite (void)
{
  Suite *s = suite_create ("rollout");
  TCase *tc = tcase_create ("plan");
  tcase_add_test (tc, plan_full_example_parses);
  tcase_add_test (tc, plan_shipped_tiny_rollout_parses);
  tcase_add_test (tc, plan_shipped_scvmm_hosts_rollout_parses);
  bad_plans = nl_test_data_list ("rollout/bad", ".xml");
  tcase_add_test (tc, plan_bad_corpus_is_complete);
  tcase_add_loop_test (tc, plan_bad_file_reports_file_and_line, 0, bad_plans->len);
  tcase_add_test (tc, plan_missing_file_is_invalid_input);
  tcase_add_test (tc, amounts_parse);
  suite_add_tcase (s, tc);

  tc = tcase_create ("hosts");
  tcase_add_test (tc, plan_hosts_parse_with_policy_and_overrides);
  tcase_add_test (tc, windows_host_window_runs_the_shipped_scripts_in_order);
  tcase_add_test (tc, windows_host_that_cannot_drain_is_not_updated_but_brought_back);
  tcase_add_test (tc, windows_host_is_rehearsed_on_its_replica_first);
  tcase_add_test (tc, windows_host_whose_rehearsal_fails_is_never_touched);
  tcase_add_test (tc, host_guest_whose_held_install_fails_is_rolled_back_and_still_comes_back);
  tcase_add_test (tc, host_guest_that_fails_its_health_after_the_window_is_rolled_back);
  tcase_add_test (tc, host_window_resumed_after_every_step_ends_the_same);
  tcase_add_test (tc, host_window_keeps_each_stop_action_when_it_can);
  tcase_add_test (tc, host_window_shuts_down_nested_hypervisors_instead_of_moving_them);
  tcase_add_test (tc, host_window_never_saves_a_guest_that_waits_for_a_reboot);
  tcase_add_test (tc, host_window_warns_where_one_reboot_is_impossible);
  tcase_add_test (tc, notice_is_golden_icalendar_and_json);
  tcase_add_test (tc, notice_lines_are_folded_at_75_octets_with_crlf);
  tcase_add_test (tc, notice_needs_a_window);
  suite_add_tcase (s, tc);

  tc = tcase_create ("window");
  tcase_add_test (tc, window_second_tuesday_in_utc);
  tcase_add_test (tc, window_offset_crosses_months_and_years);
  tcase_add_test (tc, window_last_weekday_and_missing_fifth);
  tcase_add_test (tc, window_follows_time_zone_and_dst);
  tcase_add_test (tc, windows_pick_the_earliest);
  suite_add_tcase (s, tc);

  tc = tcase_create ("arithmetic");
  tcase_add_test (tc, batches_one_then_percent);
  tcase_add_test (tc, budget_must_be_exceeded);
  suite_add_tcase (s, tc);

  tc = tcase_create ("state");
  tcase_add_test (tc, state_machine_happy_and_rollback_paths);
  tcase_add_test (tc, state_machine_refuses_shortcuts_and_leaving_final_states);
  tcase_add_test (tc, resume_rule_never_installs_blindly);
  suite_add_tcase (s, tc);

  tc = tcase_create ("journal");
  tcase_add_test (tc, journal_round_trips_and_replaces_atomically);
  tcase_add_test (tc, journal_lists_newest_first);
  tcase_add_test (tc, lock_keeps_two_runs_off_the_same_machine);
  suite_add_tcase (s, tc);

  nl_rollout_exec_tcases (s);
  nl_rollout_report_tcases (s);
  return s;
}

NL_TEST_MAIN (rollout_suite)
