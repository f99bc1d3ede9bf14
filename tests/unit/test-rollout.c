/* Unit tests of the rollout module: plan parsing (good plans and a corpus
 * of bad ones with their expected messages), window arithmetic, batch and
 * budget arithmetic, the state machine and resume rule, the journal and
 * locks, and the executor driven by a scripted in-process driver (crash and
 * resume, budgets, replica failures). No libvirt connection. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include <nestlab/error.h>
#include <nestlab/rollout.h>
#include "nl-test.h"

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

/* Every tests/data/rollout/bad/NAME.xml fails with exactly NAME.err
 * (FILE stands for the path), exit class "invalid". */
START_TEST (plan_bad_corpus_reports_file_and_line)
{
  g_autofree char *dir = nl_test_data_path ("rollout/bad");
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;
  guint n = 0, failed = 0;

  ck_assert_ptr_nonnull (d);
  while ((name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = NULL;
      g_autofree char *errpath = NULL;
      g_autofree char *expected = NULL;
      g_autofree char *actual = NULL;
      g_autofree char *stem = NULL;
      g_autoptr (GError) error = NULL;
      g_autoptr (NlRolloutPlan) plan = NULL;
      g_autoptr (GString) want = NULL;

      if (!g_str_has_suffix (name, ".xml"))
        continue;
      n++;
      path = g_build_filename (dir, name, NULL);
      stem = g_strndup (name, strlen (name) - 4);
      errpath = g_strdup_printf ("%s/%s.err", dir, stem);
      ck_assert_msg (g_file_get_contents (errpath, &expected, NULL, NULL), "missing %s", errpath);
      plan = nl_rollout_plan_load (path, &error);
      if (plan != NULL)
        {
          fprintf (stderr, "%s: loaded, expected an error\n", name);
          failed++;
          continue;
        }
      ck_assert (g_error_matches (error, NL_ERROR, NL_ERROR_INVALID));
      want = g_string_new (g_strchomp (expected));
      g_string_replace (want, "FILE", path, 0);
      actual = g_strdup (error->message);
      if (!g_str_equal (want->str, actual))
        {
          fprintf (stderr, "%s:\n  expected: %s\n  actual:   %s\n", name, want->str, actual);
          failed++;
        }
    }
  ck_assert_uint_gt (n, 10);
  ck_assert_uint_eq (failed, 0);
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

static char *
temp_root (void)
{
  g_autoptr (GError) error = NULL;
  char *dir = g_dir_make_tmp ("nl-rollout-XXXXXX", &error);
  ck_assert_msg (dir != NULL, "%s", error ? error->message : "");
  return dir;
}

static NlTargetRecord *
add_target (NlJournal *j, const char *pass, const char *ring, const char *name)
{
  NlTargetRecord *r = g_new0 (NlTargetRecord, 1);
  r->pass = g_strdup (pass);
  r->ring = g_strdup (ring);
  r->name = g_strdup (name);
  r->key = g_strdup_printf ("%s/%s/%s", pass, ring, name);
  r->installed = g_new0 (char *, 1);
  g_ptr_array_add (j->targets, r);
  return r;
}

START_TEST (journal_round_trips_and_replaces_atomically)
{
  g_autofree char *root = temp_root ();
  g_autoptr (GError) error = NULL;
  g_autoptr (NlJournal) j = nl_journal_create (root, "run-1", &error);
  g_autoptr (NlJournal) back = NULL;
  g_autofree char *tmp = NULL;
  NlTargetRecord *r, *b;

  ck_assert_msg (j != NULL, "%s", error ? error->message : "");
  r = add_target (j, "now", "canary", "web01");
  add_target (j, "now", "broad", "web02");
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
  ck_assert_uint_eq (back->targets->len, 2);
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
  g_autofree char *root = temp_root ();
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
  g_autofree char *root = temp_root ();
  const char *first[] = { "web01", "web02", NULL };
  const char *second[] = { "db01", "web02", NULL };
  const char *third[] = { "db01", NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (NlRolloutLock) a = NULL;
  g_autoptr (NlRolloutLock) b = NULL;
  pid_t pid;
  int status;

  ck_assert (g_mkdir_with_parents (g_build_filename (root, "r1", NULL), 0700) == 0);
  a = nl_rollout_lock_acquire (root, "r1", first, &error);
  ck_assert_msg (a != NULL, "%s", error ? error->message : "");
  ck_assert (nl_rollout_run_is_active (root, "r1"));
  /* flock is per open file: a second process must be refused. */
  pid = fork ();
  if (pid == 0)
    {
      g_autoptr (GError) e = NULL;
      NlRolloutLock *l = nl_rollout_lock_acquire (root, NULL, second, &e);
      if (l != NULL || !g_error_matches (e, NL_ERROR, NL_ERROR_CONFLICT) || !strstr (e->message, "web02"))
        _exit (1);
      l = nl_rollout_lock_acquire (root, NULL, third, &e);
      _exit (l != NULL ? 0 : 2);
    }
  ck_assert (waitpid (pid, &status, 0) == pid);
  ck_assert_int_eq (WEXITSTATUS (status), 0);
  nl_rollout_lock_release (g_steal_pointer (&a));
  ck_assert (!nl_rollout_run_is_active (root, "r1"));
  b = nl_rollout_lock_acquire (root, NULL, second, &error);
  ck_assert (b != NULL);
}
END_TEST

/* @EXECUTOR_TESTS@ */

static Suite *
rollout_suite (void)
{
  Suite *s = suite_create ("rollout");
  TCase *tc = tcase_create ("plan");
  tcase_add_test (tc, plan_full_example_parses);
  tcase_add_test (tc, plan_shipped_tiny_rollout_parses);
  tcase_add_test (tc, plan_bad_corpus_reports_file_and_line);
  tcase_add_test (tc, plan_missing_file_is_invalid_input);
  tcase_add_test (tc, amounts_parse);
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

  return s;
}

NL_TEST_MAIN (rollout_suite)
