/* Parallel work for the lab module: a GThreadPool whose tasks borrow one of
 * N libvirt connections from a queue, so every worker call has a connection
 * to itself. Also reports and progress. */
#include <string.h>

#include "lab-private.h"

NL_ENUM_IMPL (nl_plan_action, NL_PLAN_LAST,
              "create", "update", "unchanged", "conflict", "rebuild", "stale");
NL_ENUM_IMPL (nl_object_kind, NL_OBJECT_LAST,
              "pool", "image", "network", "domain", "volume");

static GMutex emit_lock;

NlReport *
nl_report_new (void)
{
  NlReport *r = g_new0 (NlReport, 1);
  r->failures = g_ptr_array_new_with_free_func (g_free);
  r->notes = g_ptr_array_new_with_free_func (g_free);
  return r;
}

void
nl_report_free (NlReport *report)
{
  if (report == NULL)
    return;
  g_ptr_array_unref (report->failures);
  g_ptr_array_unref (report->notes);
  g_free (report);
}

NlTask *
nl_task_new (NlObjectKind kind, const char *name, gpointer data, const char *done_what)
{
  NlTask *t = g_new0 (NlTask, 1);
  t->kind = kind;
  t->name = g_strdup (name);
  t->data = data;
  t->done_what = done_what;
  return t;
}

void
nl_task_free (NlTask *task)
{
  if (task == NULL)
    return;
  g_free (task->name);
  g_clear_error (&task->error);
  g_free (task);
}

void
nl_lab_emit (const NlLabOptions *options, NlObjectKind kind, const char *name,
             const char *what, const GError *error, guint done, guint total)
{
  NlProgress p = { kind, name, what, error, done, total };
  if (options == NULL || options->progress == NULL)
    return;
  g_mutex_lock (&emit_lock);
  options->progress (&p, options->progress_data);
  g_mutex_unlock (&emit_lock);
}

gboolean
nl_lab_cancelled (const NlLabOptions *options)
{
  return options && options->cancellable && g_cancellable_is_cancelled (options->cancellable);
}

typedef struct {
  GAsyncQueue *connections;
  NlTaskFunc fn;
  gpointer data;
  const NlLabOptions *options;
  NlReport *report;
  GMutex lock;
  guint done;
  guint total;
} Runner;

static void
record (Runner *r, NlTask *task)
{
  guint done;
  g_mutex_lock (&r->lock);
  done = ++r->done;
  if (task->error && r->report)
    g_ptr_array_add (r->report->failures, g_strdup_printf ("%s %s: %s",
                     nl_object_kind_to_string (task->kind), task->name, task->error->message));
  else if (r->report && task->changed)
    r->report->done++;
  else if (r->report)
    r->report->unchanged++;
  g_mutex_unlock (&r->lock);
  nl_lab_emit (r->options, task->kind, task->name,
               task->error ? (g_error_matches (task->error, NL_ERROR, NL_ERROR_CANCELLED) ? "skipped" : "failed")
                           : (task->changed ? task->done_what : "unchanged"),
               task->error, done, r->total);
}

static void
run_one (gpointer item, gpointer user_data)
{
  NlTask *task = item;
  Runner *r = user_data;
  NlVirtConn *conn;

  if (nl_lab_cancelled (r->options))
    {
      g_set_error (&task->error, NL_ERROR, NL_ERROR_CANCELLED, "interrupted before it started");
      record (r, task);
      return;
    }
  conn = g_async_queue_pop (r->connections);
  task->ran = TRUE;
  r->fn (conn, task, r->data, &task->error);
  g_async_queue_push (r->connections, conn);
  record (r, task);
}

static void
set_lost (NlVirtConn *conn, const char *operation, GError **error)
{
  g_autofree char *uri = nl_virt_uri (conn, NULL);
  g_set_error (error, NL_ERROR, NL_ERROR_FAILED,
               "lost the connection to libvirt%s%s%s%s; nothing more was done "
               "(run it again once libvirtd is back: it picks up where it stopped)",
               uri ? " at " : "", uri ? uri : "", operation ? " during " : "", operation ? operation : "");
}

gboolean
nl_lab_run_parallel (NlVirtConn *conn, GPtrArray *tasks, NlTaskFunc fn, gpointer data,
                     const NlLabOptions *options, NlReport *report, GError **error)
{
  Runner r = { 0 };
  g_autofree char *uri = NULL;
  guint workers = options && options->workers ? options->workers : 4;
  guint opened = 0;
  GThreadPool *pool;

  if (tasks->len == 0)
    return TRUE;
  workers = MIN (workers, tasks->len);
  uri = nl_virt_uri (conn, error);
  if (uri == NULL)
    return FALSE;
  r.connections = g_async_queue_new ();
  for (guint i = 0; i < workers; i++)
    {
      g_autoptr (GError) local = NULL;
      NlVirtConn *c = nl_virt_connect (uri, &local);
      if (c == NULL)
        {
          if (opened == 0)
            {
              /* No new connection: if the one we hold is gone too, libvirtd
               * (or the way to it) went away under us; say that. */
              if (!nl_virt_connection_alive (conn))
                set_lost (conn, NULL, error);
              else
                g_propagate_error (error, g_steal_pointer (&local));
              g_async_queue_unref (r.connections);
              return FALSE;
            }
          break;
        }
      g_async_queue_push (r.connections, c);
      opened++;
    }
  r.fn = fn;
  r.data = data;
  r.options = options;
  r.report = report;
  r.total = tasks->len;
  g_mutex_init (&r.lock);
  pool = g_thread_pool_new (run_one, &r, (int) opened, FALSE, NULL);
  for (guint i = 0; i < tasks->len; i++)
    g_thread_pool_push (pool, tasks->pdata[i], NULL);
  /* Waits for every task: in-flight calls always finish. */
  g_thread_pool_free (pool, FALSE, TRUE);
  for (guint i = 0; i < opened; i++)
    nl_virt_disconnect (g_async_queue_pop (r.connections));
  g_async_queue_unref (r.connections);
  g_mutex_clear (&r.lock);
  return TRUE;
}

gboolean
nl_lab_finish (NlVirtConn *conn, const NlLabOptions *options, NlReport *report,
               const char *operation, GError **error)
{
  if (!nl_virt_connection_alive (conn))
    {
      set_lost (conn, operation, error);
      return FALSE;
    }
  if (nl_lab_cancelled (options))
    {
      g_set_error (error, NL_ERROR, NL_ERROR_CANCELLED,
                   "%s interrupted: work in flight finished, nothing new was started "
                   "(run it again to complete it)", operation);
      return FALSE;
    }
  if (report && report->failures->len > 0)
    {
      /* Each failure with libvirt's own reason (QEMU's message when a
       * machine did not start), one per line. */
      GString *text = g_string_new (NULL);
      g_string_append_printf (text, "%u object%s failed:", report->failures->len,
                              report->failures->len == 1 ? "" : "s");
      for (guint i = 0; i < report->failures->len; i++)
        g_string_append_printf (text, "\n  %s", (const char *) report->failures->pdata[i]);
      g_set_error_literal (error, NL_ERROR, NL_ERROR_FAILED, text->str);
      g_string_free (text, TRUE);
      return FALSE;
    }
  return TRUE;
}

gboolean
nl_lab_is_domain_controller (const NlOwnership *own)
{
  return own && own->role && strcmp (own->role, "domain-controller") == 0;
}
