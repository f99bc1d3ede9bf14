/* A host's own commands (update, reboot, boot id, check): run on the
 * machine nestlab runs on, or on the host over ssh with the user, host,
 * port and key file of its libvirt URI (qemu+ssh://user@host:port/system
 * ?keyfile=...), the way libvirt itself reaches it. The command is an argv
 * list; over ssh each argument is quoted for the remote shell, so what the
 * plan lists is what runs. */
#include <errno.h>
#include <signal.h>
#include <string.h>

#include <gio/gio.h>

#include <nestlab/error.h>
#include <nestlab/rollout.h>

/* The value of KEY in URI's query (libvirt's ?keyfile=...), or NULL. */
static char *
query_param (GUri *uri, const char *key)
{
  const char *query = g_uri_get_query (uri);
  g_autoptr (GHashTable) params = NULL;

  if (query == NULL)
    return NULL;
  params = g_uri_parse_params (query, -1, "&", G_URI_PARAMS_NONE, NULL);
  return params ? g_strdup (g_hash_table_lookup (params, key)) : NULL;
}

char **
nl_host_command_argv (const NlHostTarget *host, const char *const *argv)
{
  g_autoptr (GUri) uri = NULL;
  g_autoptr (GStrvBuilder) b = NULL;
  g_autoptr (GString) remote = NULL;
  g_autofree char *keyfile = NULL;

  if (host->run != NL_HOST_RUN_SSH)
    return g_strdupv ((char **) argv);
  uri = g_uri_parse (host->uri, G_URI_FLAGS_NONE, NULL);
  b = g_strv_builder_new ();
  g_strv_builder_add_many (b, "ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=30", NULL);
  if (uri && g_uri_get_port (uri) > 0)
    {
      g_autofree char *port = g_strdup_printf ("%d", g_uri_get_port (uri));
      g_strv_builder_add_many (b, "-p", port, NULL);
    }
  if (uri && g_uri_get_user (uri))
    g_strv_builder_add_many (b, "-l", g_uri_get_user (uri), NULL);
  keyfile = uri ? query_param (uri, "keyfile") : NULL;
  if (keyfile)
    g_strv_builder_add_many (b, "-i", keyfile, NULL);
  g_strv_builder_add (b, uri && g_uri_get_host (uri) ? g_uri_get_host (uri) : host->name);
  remote = g_string_new (NULL);
  for (guint i = 0; argv[i]; i++)
    {
      g_autofree char *q = g_shell_quote (argv[i]);
      g_string_append_printf (remote, "%s%s", i ? " " : "", q);
    }
  g_strv_builder_add (b, remote->str);
  return g_strv_builder_end (b);
}

typedef struct {
  gboolean done;
  gboolean timed_out;
  char *output;
  GError *error;
} Wait;

static void
communicated (GObject *source, GAsyncResult *res, gpointer data)
{
  Wait *w = data;
  g_subprocess_communicate_utf8_finish (G_SUBPROCESS (source), res, &w->output, NULL, &w->error);
  w->done = TRUE;
}

static gboolean
timed_out (gpointer data)
{
  Wait *w = data;
  w->timed_out = TRUE;
  return G_SOURCE_REMOVE;
}

gboolean
nl_host_command_run (const NlHostTarget *host, const char *const *argv, guint timeout, int *status,
                     char **output, GError **error)
{
  g_auto (GStrv) full = nl_host_command_argv (host, argv);
  g_autoptr (GMainContext) ctx = g_main_context_new ();
  g_autoptr (GSubprocess) proc = NULL;
  g_autoptr (GSource) timer = NULL;
  g_autoptr (GCancellable) cancel = g_cancellable_new ();
  Wait w = { 0 };

  g_main_context_push_thread_default (ctx);
  proc = g_subprocess_newv ((const char *const *) full,
                            G_SUBPROCESS_FLAGS_STDIN_INHERIT | G_SUBPROCESS_FLAGS_STDOUT_PIPE
                            | G_SUBPROCESS_FLAGS_STDERR_MERGE, &w.error);
  if (proc != NULL)
    {
      g_subprocess_communicate_utf8_async (proc, NULL, cancel, communicated, &w);
      timer = g_timeout_source_new_seconds (MAX (timeout, 1));
      g_source_set_callback (timer, timed_out, &w, NULL);
      g_source_attach (timer, ctx);
      while (!w.done)
        {
          if (w.timed_out && !g_cancellable_is_cancelled (cancel))
            {
              g_subprocess_force_exit (proc);
              g_cancellable_cancel (cancel);
            }
          g_main_context_iteration (ctx, TRUE);
        }
      g_source_destroy (timer);
    }
  g_main_context_pop_thread_default (ctx);

  if (w.timed_out)
    {
      g_clear_error (&w.error);
      g_free (w.output);
      g_set_error (error, NL_ERROR, NL_ERROR_FAILED, "host '%s': %s did not finish within %us",
                   host->name, argv[0], timeout);
      return FALSE;
    }
  if (w.error != NULL)
    {
      g_set_error (error, NL_ERROR, NL_ERROR_FAILED, "host '%s': running %s: %s", host->name,
                   full[0], w.error->message);
      g_error_free (w.error);
      g_free (w.output);
      return FALSE;
    }
  g_subprocess_wait (proc, NULL, NULL);
  *status = g_subprocess_get_if_exited (proc) ? g_subprocess_get_exit_status (proc)
                                              : 128 + g_subprocess_get_term_sig (proc);
  if (output)
    *output = w.output;
  else
    g_free (w.output);
  return TRUE;
}
