/* Rollout engine overhead per target: runs a plan of N targets through a
 * driver whose every guest operation sleeps a fixed time (the "work"), at
 * max parallel 1 and 4, and compares the wall time with the ideal (the
 * work alone, perfectly parallel). What is left is the engine's own cost:
 * the fsync'd journal writes before every step, locks, threads, scheduling.
 *
 * usage: bench-rollout-overhead [TARGETS] [WORK_MS] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib/gstdio.h>

#include <nestlab/error.h>
#include <nestlab/rollout.h>

static guint work_us;

/* Every operation a real guest would spend time on sleeps WORK_US. */
static gpointer b_open (gpointer d, const char *dom, GError **e) { return g_strdup (dom); }
static void b_close (gpointer h) { g_free (h); }
static gboolean b_ping (gpointer h, guint t, GError **e) { g_usleep (work_us); return TRUE; }
static gboolean b_os (gpointer h, NlOsFamily *os, GError **e) { *os = NL_OS_FAMILY_LINUX; return TRUE; }
static gboolean b_checkpoint (gpointer h, const char *n, GError **e) { g_usleep (work_us); return TRUE; }
static gboolean b_revert (gpointer h, const char *n, GError **e) { g_usleep (work_us); return TRUE; }
static gboolean b_drop (gpointer h, const char *n, GError **e) { return TRUE; }
static gboolean b_start (gpointer h, const char *const *argv, gint64 *pid, GError **e) { *pid = 1; return TRUE; }
static gboolean
b_wait (gpointer h, gint64 pid, guint t, int *status, char **out, GError **e)
{
  g_usleep (work_us);
  *status = 0;
  if (out)
    *out = g_strdup ("");
  return TRUE;
}
static gboolean b_reboot (gpointer h, guint t, GError **e) { g_usleep (work_us); return TRUE; }
static gboolean b_record (gpointer h, const char *id, const char *const *ids, GError **e) { return TRUE; }
static gboolean
b_resolve (gpointer d, const GPtrArray *sel, GPtrArray **doms, GPtrArray **machs, GError **e)
{
  guint n = GPOINTER_TO_UINT (d);
  *doms = g_ptr_array_new_with_free_func (g_free);
  *machs = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < n; i++)
    {
      g_ptr_array_add (*doms, g_strdup_printf ("bench%03u", i));
      g_ptr_array_add (*machs, g_strdup_printf ("bench%03u", i));
    }
  return TRUE;
}
static gboolean b_rcreate (gpointer d, const char *id, const GPtrArray *doms, const char *pool, guint t,
                           GPtrArray **r, GError **e) { return FALSE; }
static gboolean b_rdiscard (gpointer d, const char *id, GError **e) { return TRUE; }

static const NlRolloutDriverOps bench_ops = {
  b_open, b_close, b_ping, b_os, b_checkpoint, b_revert, b_drop, b_start, b_wait,
  b_reboot, b_record, b_resolve, b_rcreate, b_rdiscard,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,  /* no hosts */
};

/* Guest operations per target on the happy path: pre-check ping,
 * checkpoint, install (wait), verify ping, health agent (ping), health
 * command (wait). */
#define OPS_PER_TARGET 6

static double
run_once (const char *root, guint targets, guint parallel, guint n)
{
  g_autofree char *path = g_build_filename (root, "plan.xml", NULL);
  g_autofree char *xml = g_strdup_printf (
    "<rollout name='bench'><patch id='KB1' severity='critical'>"
    "<install os='linux'><arg>/bin/true</arg></install></patch>"
    "<targets><domain name='x'/></targets>"
    "<health name='agent'><agent/></health>"
    "<health name='cmd'><command os='linux'><arg>/bin/true</arg></command></health>"
    "<replica enabled='no'/>"
    "<ring name='all' max-parallel='%u' batches='100%%'/></rollout>", parallel);
  g_autoptr (GError) error = NULL;
  g_autoptr (NlRolloutPlan) plan = NULL;
  g_autoptr (NlJournal) j = NULL;
  g_autofree char *id = g_strdup_printf ("bench-%u-%u", parallel, n);
  NlRolloutDriver driver = { &bench_ops, GUINT_TO_POINTER (targets), NULL };
  NlRolloutOptions o = { .root = root, .id = id, .poll_ms = 1 };
  gint64 t0;

  g_file_set_contents (path, xml, -1, NULL);
  plan = nl_rollout_plan_load (path, &error);
  if (plan == NULL)
    {
      fprintf (stderr, "%s\n", error->message);
      exit (1);
    }
  t0 = g_get_monotonic_time ();
  j = nl_rollout_run (plan, &driver, &o, &error);
  if (j == NULL || j->state != NL_RUN_DONE)
    {
      fprintf (stderr, "bench run failed: %s\n", error ? error->message : "not done");
      exit (1);
    }
  return (g_get_monotonic_time () - t0) / 1e6;
}

int
main (int argc, char **argv)
{
  guint targets = argc > 1 ? (guint) atoi (argv[1]) : 16;
  guint work_ms = argc > 2 ? (guint) atoi (argv[2]) : 20;
  g_autofree char *root = g_dir_make_tmp ("nl-bench-rollout-XXXXXX", NULL);
  const guint parallels[] = { 1, 4 };

  work_us = work_ms * 1000;
  printf ("rollout engine overhead: %u targets, %u guest operations of %u ms each per target\n",
          targets, OPS_PER_TARGET, work_ms);
  for (guint p = 0; p < G_N_ELEMENTS (parallels); p++)
    {
      guint par = parallels[p];
      double ideal = (double) OPS_PER_TARGET * work_ms / 1000.0 * ((targets + par - 1) / par);
      double best = 1e9;
      for (guint rep = 0; rep < 3; rep++)
        {
          double t = run_once (root, targets, par, rep);
          best = MIN (best, t);
        }
      printf ("max-parallel %u: %.3f s, ideal %.3f s, ratio %.3f, overhead %.2f ms per target\n", par, best,
              ideal, best / ideal, (best - ideal) * 1000.0 / targets);
    }
  {
    g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", root);
    if (system (cmd) != 0)
      fprintf (stderr, "could not remove %s\n", root);
  }
  return 0;
}
