/* Provisioning: each machine's steps run in a thread of its own with its
 * own libvirt connection; a step that waits for steps of other machines
 * blocks on the run's shared table of step states. Every step is recorded
 * in the machine's mark as running before it acts and as done or failed
 * after: a rerun skips what is done with the same definition, runs again
 * an interrupted step that is idempotent, and reports (never repeats) one
 * that is not. Scripts, facts and secrets reach the guest through the
 * agent's file commands; secrets only as files, removed after the step,
 * never on a command line, and scrubbed from every output nestlab keeps. */
#include <string.h>

#include <glib/gstdio.h>

#include <nestlab/agent.h>
#include <nestlab/doc.h>
#include <nestlab/error.h>
#include <nestlab/provision.h>
#include <nestlab/secret.h>

#define TAIL_LINES 12
#define POLL_MS 250

typedef enum {
  ST_PENDING,
  ST_DONE,
  ST_FAILED,   /* failed or blocked: what waits for it does not run */
} StepStatus;

typedef struct {
  const NlLab *lab;
  const NlProvisionOptions *opts;
  char *uri;
  GHashTable *secrets;      /* name -> value */
  GMutex lock;
  GCond changed;
  GHashTable *states;       /* "MACHINE:STEP" -> StepStatus */
  NlProvisionReport *report;
} Run;

typedef struct {
  Run *run;
  const NlMachine *machine;
  NlVirtConn *conn;
  NlVirtDomain *dom;
  char *domain;
  NlOwnership *own;
  gboolean windows;
  FILE *log;
  gboolean prepared;   /* folders and facts are in the guest (this boot) */
} Worker;

NlProvisionReport *
nl_provision_report_new (void)
{
  NlProvisionReport *r = g_new0 (NlProvisionReport, 1);
  r->failures = g_ptr_array_new_with_free_func (g_free);
  return r;
}

void
nl_provision_report_free (NlProvisionReport *report)
{
  if (report == NULL)
    return;
  g_ptr_array_unref (report->failures);
  g_free (report);
}

char *
nl_provision_log_path (const char *lab, const char *machine)
{
  g_autofree char *name = g_strdup_printf ("%s.log", machine);
  g_autofree char *logs = nl_state_path ("logs");
  return g_build_filename (logs, lab, name, NULL);
}

static char *
now_iso (void)
{
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  return g_date_time_format (now, "%Y-%m-%dT%H:%M:%SZ");
}

static void G_GNUC_PRINTF (3, 4)
progress (Worker *w, const char *step, const char *format, ...)
{
  g_autofree char *what = NULL;
  va_list ap;

  va_start (ap, format);
  what = g_strdup_vprintf (format, ap);
  va_end (ap);
  if (w->log)
    {
      fprintf (w->log, "== %s: %s\n", step, what);
      fflush (w->log);
    }
  if (w->run->opts->progress)
    {
      g_mutex_lock (&w->run->lock);
      w->run->opts->progress (w->machine->name, step, what, w->run->opts->progress_data);
      g_mutex_unlock (&w->run->lock);
    }
}

/* ---- the shared table of step states ---- */

static void
publish (Run *run, const char *machine, const char *step, StepStatus st)
{
  g_mutex_lock (&run->lock);
  g_hash_table_insert (run->states, g_strdup_printf ("%s:%s", machine, step), GUINT_TO_POINTER (st));
  g_cond_broadcast (&run->changed);
  g_mutex_unlock (&run->lock);
}

/* Waits until every step STEP waits for is done. FALSE (with *WHICH, the
 * first that failed) when one failed or the run is cancelled. */
static gboolean
wait_for (Run *run, const NlStep *step, char **which)
{
  gboolean ok = TRUE;

  g_mutex_lock (&run->lock);
  for (char **a = step->after; ok && a && *a; a++)
    for (;;)
      {
        StepStatus st = GPOINTER_TO_UINT (g_hash_table_lookup (run->states, *a));
        if (st == ST_DONE)
          break;
        if (st == ST_FAILED || g_cancellable_is_cancelled (run->opts->cancellable))
          {
            *which = g_strdup (*a);
            ok = FALSE;
            break;
          }
        g_cond_wait_until (&run->changed, &run->lock, g_get_monotonic_time () + G_TIME_SPAN_SECOND);
      }
  g_mutex_unlock (&run->lock);
  return ok;
}

/* ---- inside the guest ---- */

static const char *
base_dir (Worker *w)
{
  return w->windows ? "C:\\ProgramData\\nestlab" : "/run/nestlab";
}

static char *
guest_path (Worker *w, const char *sub, const char *name)
{
  return g_strdup_printf ("%s%s%s%s%s", base_dir (w), w->windows ? "\\" : "/", sub,
                          w->windows ? "\\" : "/", name);
}

/* Every secret value in TEXT replaced by a marker naming it. */
static char *
scrub (Run *run, const char *text)
{
  g_autoptr (GString) s = g_string_new (text ? text : "");
  GHashTableIter it;
  gpointer k, v;

  g_hash_table_iter_init (&it, run->secrets);
  while (g_hash_table_iter_next (&it, &k, &v))
    if (v && *(const char *) v)
      {
        g_autofree char *marker = g_strdup_printf ("[secret %s]", (const char *) k);
        g_string_replace (s, v, marker, 0);
      }
  return g_string_free (g_steal_pointer (&s), FALSE);
}

/* Runs ARGV in the guest for at most TIMEOUT seconds; *STATUS its exit
 * code, *OUTPUT (may be NULL) what it printed. */
static gboolean
guest_run (Worker *w, const char *const *argv, guint timeout, int *status, char **output, GError **error)
{
  gint64 pid = 0;
  return nl_agent_exec_start (w->dom, argv, &pid, error)
         && nl_agent_exec_wait (w->dom, pid, timeout, POLL_MS, status, output, error);
}

/* Runs ARGV and fails unless it exits 0. */
static gboolean
guest_must (Worker *w, const char *const *argv, GError **error)
{
  int status = 0;
  g_autofree char *out = NULL;

  if (!guest_run (w, argv, 60, &status, &out, error))
    return FALSE;
  if (status != 0)
    {
      g_autofree char *clean = scrub (w->run, out);
      g_set_error (error, NL_ERROR, NL_ERROR_FAILED, "%s exited %d: %s", argv[0], status, g_strchomp (clean));
      return FALSE;
    }
  return TRUE;
}

static gboolean
make_dirs (Worker *w, GError **error)
{
  if (w->windows)
    {
      g_autofree char *cmd = g_strdup_printf ("if not exist %1$s\\steps mkdir %1$s\\steps & "
                                              "if not exist %1$s\\secrets mkdir %1$s\\secrets & exit 0",
                                              base_dir (w));
      const char *argv[] = { "C:\\Windows\\System32\\cmd.exe", "/c", cmd, NULL };
      return guest_must (w, argv, error);
    }
  {
    const char *argv[] = { "/bin/mkdir", "-p", "-m", "0700", "/run/nestlab/steps", "/run/nestlab/secrets", NULL };
    return guest_must (w, argv, error);
  }
}

static const char *
address_of (const NlMachine *m)
{
  for (guint i = 0; i < m->nics->len; i++)
    if (((NlNic *) m->nics->pdata[i])->ip)
      return ((NlNic *) m->nics->pdata[i])->ip;
  return NULL;
}

/* What a step script knows about its lab: shell variables (Linux) or the
 * $NL hashtable (Windows). */
static char *
facts (Worker *w)
{
  const NlLab *lab = w->run->lab;
  const NlMachine *m = w->machine;
  const NlMachine *dc = nl_lab_domain_controller (lab);
  GString *s = g_string_new (NULL);

  if (!w->windows)
    {
      g_autofree char *ql = g_shell_quote (lab->name);
      g_autofree char *qm = g_shell_quote (m->name);
      g_string_append_printf (s, "# nestlab facts for %s\nNL_LAB=%s\nNL_MACHINE=%s\nNL_ROLE=%s\n", m->name, ql, qm,
                              nl_role_to_string (m->role));
      if (lab->domain)
        {
          g_autofree char *qd = g_shell_quote (lab->domain->name);
          g_string_append_printf (s, "NL_DOMAIN=%s\n", qd);
        }
      if (dc)
        g_string_append_printf (s, "NL_DC=%s\nNL_DC_ADDRESS=%s\n", dc->name, address_of (dc) ? address_of (dc) : "");
      for (guint i = 0; i < lab->machines->len; i++)
        {
          const NlMachine *o = lab->machines->pdata[i];
          g_autofree char *var = g_ascii_strup (o->name, -1);
          g_strdelimit (var, "-.", '_');
          g_string_append_printf (s, "NL_ADDR_%s=%s\n", var, address_of (o) ? address_of (o) : "");
        }
      return g_string_free (s, FALSE);
    }
#define PS(text) ((text) ? g_strdup_printf ("'%s'", (text)) : g_strdup ("$null"))
  {
    g_autofree char *domain = PS (lab->domain ? lab->domain->name : NULL);
    g_autofree char *netbios = PS (lab->domain ? lab->domain->netbios : NULL);
    g_autofree char *dcname = PS (dc ? dc->name : NULL);
    g_autofree char *dcaddr = PS (dc ? address_of (dc) : NULL);
    g_autofree char *workgroup = PS (m->workgroup);
    g_string_append_printf (s, "# nestlab facts for %s\r\n$NL = @{\r\n  Lab = '%s'\r\n  Machine = '%s'\r\n"
                            "  Role = '%s'\r\n  Domain = %s\r\n  NetBIOS = %s\r\n  DomainController = %s\r\n"
                            "  DomainControllerAddress = %s\r\n  Workgroup = %s\r\n  Machines = @(\r\n",
                            m->name, lab->name, m->name, nl_role_to_string (m->role), domain, netbios, dcname,
                            dcaddr, workgroup);
    for (guint i = 0; i < lab->machines->len; i++)
      {
        const NlMachine *o = lab->machines->pdata[i];
        g_autofree char *addr = PS (address_of (o));
        g_string_append_printf (s, "    @{ Name = '%s'; Role = '%s'; Address = %s }\r\n", o->name,
                                nl_role_to_string (o->role), addr);
      }
    g_string_append (s, "  )\r\n}\r\n");
  }
#undef PS
  return g_string_free (s, FALSE);
}

/* The step folders and the facts file, once per boot of the guest (a
 * reboot empties /run on Linux). */
static gboolean
prepare (Worker *w, GError **error)
{
  g_autofree char *text = NULL;
  g_autofree char *path = NULL;

  if (w->prepared)
    return TRUE;
  text = facts (w);
  path = g_strdup_printf ("%s%s%s", base_dir (w), w->windows ? "\\" : "/", w->windows ? "facts.ps1" : "facts.sh");
  w->prepared = make_dirs (w, error) && nl_agent_file_write (w->dom, path, text, strlen (text), error);
  return w->prepared;
}

/* Writes one of nestlab's files into the guest's step folders. A guest
 * that restarted by itself since they were made (a step's script may)
 * has lost them: made again once before giving up. */
static gboolean
guest_write (Worker *w, const char *path, const void *data, gsize len, GError **error)
{
  g_autoptr (GError) local = NULL;

  if (nl_agent_file_write (w->dom, path, data, len, &local))
    return TRUE;
  w->prepared = FALSE;
  if (!prepare (w, NULL))
    {
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  return nl_agent_file_write (w->dom, path, data, len, error);
}

static gboolean
write_secrets (Worker *w, const NlStep *step, GError **error)
{
  for (guint i = 0; step->secrets && step->secrets[i]; i++)
    {
      char **n = &step->secrets[i];
      const char *source = step->secret_sources && step->secret_sources[i] ? step->secret_sources[i] : *n;
      const char *value = g_hash_table_lookup (w->run->secrets, source);
      g_autofree char *path = guest_path (w, "secrets", *n);
      if (value == NULL)
        {
          g_set_error (error, NL_ERROR, NL_ERROR_INVALID, "secret '%s' has no value", *n);
          return FALSE;
        }
      if (!guest_write (w, path, value, strlen (value), error))
        return FALSE;
    }
  return TRUE;
}

static void
remove_secrets (Worker *w, const NlStep *step)
{
  g_autoptr (GError) error = NULL;

  if (step->secrets == NULL || step->secrets[0] == NULL)
    return;
  if (w->windows)
    {
      g_autofree char *cmd = g_strdup_printf ("del /q %s\\secrets\\* & exit 0", base_dir (w));
      const char *argv[] = { "C:\\Windows\\System32\\cmd.exe", "/c", cmd, NULL };
      guest_must (w, argv, &error);
    }
  else
    {
      const char *argv[] = { "/bin/sh", "-c", "rm -f /run/nestlab/secrets/*", NULL };
      guest_must (w, argv, &error);
    }
  if (error)
    progress (w, step->name, "warning: secrets left in the guest: %s", error->message);
}

/* The program that runs script PATH in this guest. */
static void
script_argv (Worker *w, const char *path, const char **argv)
{
  if (w->windows)
    {
      argv[0] = "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe";
      argv[1] = "-NoProfile";
      argv[2] = "-NonInteractive";
      argv[3] = "-ExecutionPolicy";
      argv[4] = "Bypass";
      argv[5] = "-File";
      argv[6] = path;
      argv[7] = NULL;
    }
  else
    {
      /* The facts as environment variables, a usual PATH, then the script
       * in a shell of its own. */
      argv[0] = "/bin/sh";
      argv[1] = "-c";
      argv[2] = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin; export PATH; "
                "set -a; . /run/nestlab/facts.sh; set +a; exec /bin/sh \"$0\"";
      argv[3] = path;
      argv[4] = NULL;
    }
}

/* Writes TEXT as the step's script and runs it within TIMEOUT seconds. */
static gboolean
run_script (Worker *w, const NlStep *step, const char *text, gsize len, guint timeout, int *status,
            char **output, GError **error)
{
  g_autofree char *file = g_strdup_printf ("%s.%s", step->name, w->windows ? "ps1" : "sh");
  g_autofree char *path = guest_path (w, "steps", file);
  const char *argv[8];

  if (!guest_write (w, path, text, len, error))
    return FALSE;
  script_argv (w, path, argv);
  return guest_run (w, argv, timeout, status, output, error);
}

/* An identifier of the guest's current boot. */
static char *
boot_id (Worker *w)
{
  const char *linux_argv[] = { "/bin/cat", "/proc/sys/kernel/random/boot_id", NULL };
  const char *windows_argv[] = { "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe", "-NoProfile",
                                 "-Command", "(Get-CimInstance Win32_OperatingSystem).LastBootUpTime.ToString('o')",
                                 NULL };
  int status = 0;
  char *out = NULL;

  if (!guest_run (w, w->windows ? windows_argv : linux_argv, 60, &status, &out, NULL) || status != 0)
    {
      g_free (out);
      return NULL;
    }
  return g_strstrip (out);
}

static gboolean
do_reboot (Worker *w, const NlStep *step, GError **error)
{
  g_autofree char *before = boot_id (w);
  gint64 deadline = g_get_monotonic_time () + (gint64) step->timeout * G_USEC_PER_SEC;

  w->prepared = FALSE;
  if (!nl_agent_reboot (w->dom, step->timeout, POLL_MS * 4, error))
    return FALSE;
  /* The agent answered again; prove it is a new boot. */
  while (g_get_monotonic_time () < deadline)
    {
      g_autofree char *after = boot_id (w);
      if (after != NULL && g_strcmp0 (after, before) != 0)
        return TRUE;
      g_usleep (POLL_MS * 1000);
    }
  g_set_error (error, NL_ERROR, NL_ERROR_FAILED, "the guest answered, but its boot id did not change");
  return FALSE;
}

/* The probe of a wait step, again and again until it exits 0. */
static gboolean
do_wait (Worker *w, const NlStep *step, int *status, char **output, GError **error)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) step->timeout * G_USEC_PER_SEC;
  guint tries = 0;

  for (;;)
    {
      gint64 left = (deadline - g_get_monotonic_time ()) / G_USEC_PER_SEC;
      g_clear_pointer (output, g_free);
      tries++;
      if (!run_script (w, step, step->text, step->text_len, (guint) CLAMP (left, 1, 300), status, output, error))
        return FALSE;
      if (*status == 0)
        return TRUE;
      if (g_get_monotonic_time () + (gint64) step->interval * G_USEC_PER_SEC >= deadline)
        break;
      g_usleep ((gulong) step->interval * G_USEC_PER_SEC);
    }
  g_set_error (error, NL_ERROR, NL_ERROR_FAILED, "the probe did not succeed within %us (%u tries, last exit %d)",
               step->timeout, tries, *status);
  return FALSE;
}

/* One attempt of STEP: TRUE when it succeeded. */
static gboolean
attempt (Worker *w, const NlStep *step, int *status, char **output, GError **error)
{
  gboolean ok;

  *status = -1;
  if (step->kind == NL_STEP_REBOOT)
    return do_reboot (w, step, error);
  if (!prepare (w, error))
    return FALSE;
  if (!write_secrets (w, step, error))
    {
      remove_secrets (w, step);
      return FALSE;
    }
  switch (step->kind)
    {
    case NL_STEP_RUN:
    case NL_STEP_SCRIPT:
      ok = run_script (w, step, step->text, step->text_len, step->timeout, status, output, error);
      break;
    case NL_STEP_EXEC:
      ok = guest_run (w, (const char *const *) step->argv, step->timeout, status, output, error);
      break;
    case NL_STEP_COPY:
      ok = nl_agent_file_write (w->dom, step->to, step->text, step->text_len, error);
      *status = ok ? 0 : -1;
      break;
    case NL_STEP_WAIT:
      ok = do_wait (w, step, status, output, error);
      break;
    case NL_STEP_REBOOT:
    case NL_STEP_KIND_LAST:
    default:
      ok = FALSE;
      break;
    }
  remove_secrets (w, step);
  /* Windows' "done, restart required" (ERROR_SUCCESS_REBOOT_REQUIRED):
   * done, once the machine restarted. */
  if (ok && w->windows && *status == 3010 && step->kind != NL_STEP_WAIT)
    {
      progress (w, step->name, "done, restarting as it asks (exit 3010)");
      return do_reboot (w, step, error);
    }
  if (ok && step->kind != NL_STEP_WAIT && *status != 0)
    {
      g_set_error (error, NL_ERROR, NL_ERROR_FAILED, "exit %d", *status);
      return FALSE;
    }
  return ok;
}

/* ---- records ---- */

static char *
tail_of (Run *run, const char *output)
{
  g_autofree char *clean = scrub (run, output);
  g_auto (GStrv) lines = g_strsplit (g_strchomp (clean), "\n", -1);
  guint n = g_strv_length (lines);
  guint from = n > TAIL_LINES ? n - TAIL_LINES : 0;

  if (n == 0 || (n == 1 && lines[0][0] == '\0'))
    return NULL;
  return g_strjoinv ("\n", lines + from);
}

/* Records REC in the machine's mark, before going on. */
static gboolean
record (Worker *w, const NlStepRecord *rec, GError **error)
{
  nl_ownership_put_step (w->own, rec);
  return nl_virt_domain_set_ownership (w->dom, w->own, error);
}

/* Runs STEP with its retries, recording it. TRUE when done. */
static gboolean
run_step (Worker *w, const NlStep *step)
{
  NlStepRecord rec = { .name = step->name, .state = NL_STEP_STATE_RUNNING, .digest = step->digest,
                       .exit_code = -1 };
  g_autofree char *started = now_iso ();
  g_autofree char *finished = NULL;
  g_autofree char *tail = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GTimer) timer = g_timer_new ();
  gboolean ok = FALSE;

  rec.started = started;
  if (!record (w, &rec, &error))
    goto failed;
  for (guint a = 0; !ok && a <= step->retries; a++)
    {
      g_autofree char *output = NULL;
      int status = -1;
      g_clear_error (&error);
      rec.attempts = a + 1;
      progress (w, step->name, a == 0 ? "running" : "running again (attempt %u of %u)", a + 1, step->retries + 1);
      ok = attempt (w, step, &status, &output, &error);
      rec.exit_code = status;
      if (w->log && output)
        {
          g_autofree char *clean = scrub (w->run, output);
          fprintf (w->log, "%s%s", clean, g_str_has_suffix (clean, "\n") || !*clean ? "" : "\n");
          fflush (w->log);
        }
      g_free (tail);
      tail = tail_of (w->run, output);
    }
  finished = now_iso ();
  rec.finished = finished;
  rec.tail = tail;
  rec.state = ok ? NL_STEP_STATE_DONE : NL_STEP_STATE_FAILED;
  if (!record (w, &rec, ok ? &error : NULL) && ok)
    {
      ok = FALSE;
      goto failed;
    }
  if (ok)
    {
      progress (w, step->name, "done (%.2f s)", g_timer_elapsed (timer, NULL));
      g_mutex_lock (&w->run->lock);
      w->run->report->done++;
      g_mutex_unlock (&w->run->lock);
      return TRUE;
    }
failed:
  {
    g_autofree char *why = scrub (w->run, error ? error->message : "failed");
    progress (w, step->name, "failed: %s", why);
    g_mutex_lock (&w->run->lock);
    w->run->report->failed++;
    g_ptr_array_add (w->run->report->failures,
                     g_strdup_printf ("%s: step %s: %s%s%s", w->machine->name, step->name, why,
                                      tail ? "\n      " : "", tail ? tail : ""));
    g_mutex_unlock (&w->run->lock);
  }
  return FALSE;
}

/* ---- one machine ---- */

/* Index of the first step to run: the first not done with its current
 * definition (every later one runs too), or --from's. */
static guint
first_to_run (Worker *w)
{
  const char *from = w->run->opts->from;
  const GPtrArray *steps = w->machine->steps;

  if (from != NULL)
    for (guint i = 0; i < steps->len; i++)
      if (g_str_equal (((NlStep *) steps->pdata[i])->name, from))
        return i;
  for (guint i = 0; i < steps->len; i++)
    {
      NlStep *s = steps->pdata[i];
      NlStepRecord *r = nl_ownership_find_step (w->own, s->name);
      if (r == NULL || r->state != NL_STEP_STATE_DONE || g_strcmp0 (r->digest, s->digest) != 0)
        return i;
    }
  return steps->len;
}

static void
block_from (Worker *w, guint index, const char *why)
{
  const GPtrArray *steps = w->machine->steps;
  for (guint i = index; i < steps->len; i++)
    {
      NlStep *s = steps->pdata[i];
      publish (w->run, w->machine->name, s->name, ST_FAILED);
      if (i == index)
        progress (w, s->name, "not run: %s", why);
      g_mutex_lock (&w->run->lock);
      w->run->report->blocked++;
      if (i == index)
        g_ptr_array_add (w->run->report->failures,
                         g_strdup_printf ("%s: step %s: not run: %s", w->machine->name, s->name, why));
      g_mutex_unlock (&w->run->lock);
    }
}

static gboolean
open_machine (Worker *w, GError **error)
{
  g_autofree char *log = nl_provision_log_path (w->run->lab->name, w->machine->name);
  g_autofree char *dir = g_path_get_dirname (log);

  w->windows = w->machine->os_family == NL_OS_FAMILY_WINDOWS;
  w->domain = nl_lab_domain_name (w->run->lab, w->machine);
  w->conn = nl_virt_connect (w->run->uri, error);
  if (w->conn == NULL || (w->dom = nl_virt_domain_lookup (w->conn, w->domain, error)) == NULL
      || !nl_virt_domain_ownership (w->dom, &w->own, error))
    return FALSE;
  if (!nl_ownership_is_lab (w->own, w->run->lab->name))
    {
      g_set_error (error, NL_ERROR, NL_ERROR_CONFLICT, "domain '%s' does not carry the mark of lab '%s'", w->domain,
                   w->run->lab->name);
      return FALSE;
    }
  if (g_mkdir_with_parents (dir, 0700) == 0)
    w->log = g_fopen (log, "a");
  return TRUE;
}

static gpointer
machine_thread (gpointer data)
{
  Worker *w = data;
  const GPtrArray *steps = w->machine->steps;
  g_autoptr (GError) error = NULL;
  guint first;

  if (!open_machine (w, &error))
    {
      g_autofree char *why = g_strdup_printf ("the machine cannot be reached: %s", error->message);
      block_from (w, 0, why);
      return NULL;
    }
  first = first_to_run (w);
  /* What is done first: others may wait for it. */
  for (guint i = 0; i < first; i++)
    {
      NlStep *s = steps->pdata[i];
      publish (w->run, w->machine->name, s->name, ST_DONE);
      progress (w, s->name, "skipped: done before");
      g_mutex_lock (&w->run->lock);
      w->run->report->skipped++;
      g_mutex_unlock (&w->run->lock);
    }
  /* A machine up held back starts when its first step can run. */
  if (first < steps->len)
    {
      g_autofree char *which = NULL;
      if (!wait_for (w->run, steps->pdata[first], &which))
        {
          g_autofree char *why = g_strdup_printf ("it waits for %s, which failed", which ? which : "a step");
          block_from (w, first, why);
          return NULL;
        }
    }
  if (!nl_virt_domain_is_active (w->dom))
    {
      progress (w, "start", "starting the machine: what its first step waits for is done");
      if (!nl_virt_domain_start (w->dom, &error))
        {
          if (first < steps->len)
            block_from (w, first, error->message);
          else
            {
              g_mutex_lock (&w->run->lock);
              w->run->report->failed++;
              g_ptr_array_add (w->run->report->failures,
                               g_strdup_printf ("%s: not started: %s", w->machine->name, error->message));
              g_mutex_unlock (&w->run->lock);
            }
          return NULL;
        }
    }
  if (first < steps->len)
    {
      guint timeout = w->run->opts->boot_timeout ? w->run->opts->boot_timeout : 300;
      if (!nl_agent_wait (w->dom, timeout, 1000, &error))
        {
          block_from (w, first, error->message);
          return NULL;
        }
    }
  for (guint i = first; i < steps->len; i++)
    {
      NlStep *s = steps->pdata[i];
      NlStepRecord *r = nl_ownership_find_step (w->own, s->name);
      g_autofree char *which = NULL;

      if (w->run->opts->from == NULL && r && r->state == NL_STEP_STATE_RUNNING && !s->idempotent)
        {
          g_autofree char *why = g_strdup_printf (
            "it was interrupted and is not idempotent: check %s, then run it with "
            "`nestlab provision TEMPLATE %s --from %s`", w->machine->name, w->machine->name, s->name);
          block_from (w, i, why);
          return NULL;
        }
      if (!wait_for (w->run, s, &which))
        {
          g_autofree char *why = g_cancellable_is_cancelled (w->run->opts->cancellable)
                                   ? g_strdup ("interrupted")
                                   : g_strdup_printf ("it waits for %s, which failed", which);
          block_from (w, i, why);
          return NULL;
        }
      if (!run_step (w, s))
        {
          publish (w->run, w->machine->name, s->name, ST_FAILED);
          if (i + 1 < steps->len)
            {
              g_autofree char *why = g_strdup_printf ("step %s failed", s->name);
              block_from (w, i + 1, why);
            }
          return NULL;
        }
      publish (w->run, w->machine->name, s->name, ST_DONE);
    }
  if (!w->run->opts->keep_config_disk && first < steps->len)
    {
      g_autofree char *volume = nl_lab_config_volume_name (w->run->lab, w->machine);
      g_autoptr (GError) eject = NULL;
      if (!nl_virt_domain_eject (w->dom, w->run->lab->pool, volume, &eject))
        progress (w, "config-disk", "not ejected: %s", eject->message);
    }
  return NULL;
}

static void
worker_clear (Worker *w)
{
  nl_ownership_free (w->own);
  g_clear_pointer (&w->dom, nl_virt_domain_unref);
  g_clear_pointer (&w->conn, nl_virt_disconnect);
  g_free (w->domain);
  if (w->log)
    fclose (w->log);
}

gboolean
nl_provision (NlVirtConn *conn, const NlLab *lab, const NlProvisionOptions *options, NlProvisionReport *report,
              GError **error)
{
  Run run = { lab, options, NULL, NULL, { 0 }, { 0 }, NULL, report };
  g_autoptr (GTimer) timer = g_timer_new ();
  g_autoptr (GPtrArray) threads = g_ptr_array_new ();
  g_autofree Worker *workers = NULL;
  guint n = 0;
  gboolean any = FALSE;

  for (guint i = 0; i < lab->machines->len; i++)
    {
      NlMachine *m = lab->machines->pdata[i];
      if (options->machine && !g_str_equal (options->machine, m->name))
        continue;
      if (options->from && nl_machine_find_step (m, options->from) == NULL && options->machine)
        {
          g_set_error (error, NL_ERROR, NL_ERROR_USAGE, "machine '%s' has no step '%s'", m->name, options->from);
          return FALSE;
        }
      any = any || m->steps->len > 0;
    }
  if (options->machine && nl_lab_find_machine (lab, options->machine) == NULL)
    {
      g_set_error (error, NL_ERROR, NL_ERROR_USAGE, "lab '%s' has no machine '%s'", lab->name, options->machine);
      return FALSE;
    }
  if (!any || nl_virt_is_test_driver (conn))
    return TRUE;
  run.uri = nl_virt_uri (conn, error);
  if (run.uri == NULL)
    return FALSE;
  run.secrets = nl_secret_resolve_all (lab, NULL, error);
  if (run.secrets == NULL)
    {
      g_free (run.uri);
      return FALSE;
    }
  g_mutex_init (&run.lock);
  g_cond_init (&run.changed);
  run.states = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  /* Steps of machines not run now count as they are recorded: only a done
   * step lets what waits for it go on. */
  workers = g_new0 (Worker, lab->machines->len);
  for (guint i = 0; i < lab->machines->len; i++)
    {
      NlMachine *m = lab->machines->pdata[i];
      if (m->steps->len == 0)
        continue;
      if (options->machine && !g_str_equal (options->machine, m->name))
        {
          g_autofree char *dname = nl_lab_domain_name (lab, m);
          g_autoptr (NlVirtDomain) dom = nl_virt_domain_lookup (conn, dname, NULL);
          g_autoptr (NlOwnership) own = NULL;
          if (dom)
            nl_virt_domain_ownership (dom, &own, NULL);
          for (guint k = 0; k < m->steps->len; k++)
            {
              NlStep *s = m->steps->pdata[k];
              NlStepRecord *r = nl_ownership_find_step (own, s->name);
              publish (&run, m->name, s->name,
                       r && r->state == NL_STEP_STATE_DONE && g_strcmp0 (r->digest, s->digest) == 0 ? ST_DONE
                                                                                                 : ST_FAILED);
            }
          continue;
        }
      workers[n].run = &run;
      workers[n].machine = m;
      g_ptr_array_add (threads, g_thread_new (m->name, machine_thread, &workers[n]));
      n++;
    }
  for (guint i = 0; i < threads->len; i++)
    g_thread_join (threads->pdata[i]);
  for (guint i = 0; i < n; i++)
    worker_clear (&workers[i]);
  g_hash_table_unref (run.states);
  g_hash_table_unref (run.secrets);
  g_mutex_clear (&run.lock);
  g_cond_clear (&run.changed);
  g_free (run.uri);
  report->seconds = g_timer_elapsed (timer, NULL);
  if (report->failed + report->blocked > 0)
    {
      g_autoptr (GString) all = g_string_new (NULL);
      for (guint i = 0; i < report->failures->len; i++)
        g_string_append_printf (all, "\n  %s", (char *) report->failures->pdata[i]);
      g_set_error (error, NL_ERROR, NL_ERROR_FAILED, "provisioning of lab '%s': %u step%s failed, %u not run:%s",
                   lab->name, report->failed, report->failed == 1 ? "" : "s", report->blocked, all->str);
      return FALSE;
    }
  return TRUE;
}
