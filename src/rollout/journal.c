/* The rollout journal: one run's state in ROOT/ID/journal (a key file),
 * rewritten whole on every transition and made durable before the action
 * it announces starts: write a temporary file, fsync it, rename it over the
 * journal, fsync the folder. Also the locks that keep two runs off the
 * same machines. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include <nestlab/error.h>
#include <nestlab/rollout.h>

#define JOURNAL_FILE "journal"

static void
target_record_free (NlTargetRecord *r)
{
  if (r == NULL)
    return;
  g_free (r->key);
  g_free (r->ring);
  g_free (r->name);
  g_free (r->production);
  g_free (r->checkpoint);
  g_strfreev (r->installed);
  g_strfreev (r->todo);
  g_free (r->message);
  g_free (r);
}

static void
ring_record_free (NlRingRecord *r)
{
  if (r == NULL)
    return;
  g_free (r->name);
  g_free (r);
}

NL_ENUM_IMPL (nl_host_state, NL_HOST_STATE_LAST, "pending", "preparing", "draining", "updating",
              "rebooting", "verifying", "restoring", "done", "failed")
NL_ENUM_IMPL (nl_host_guest_state, NL_HGUEST_STATE_LAST, "found", "patched", "stopping", "stopped",
              "starting", "verifying", "done", "left", "failed")

void
nl_host_guest_record_free (NlHostGuestRecord *r)
{
  if (r == NULL)
    return;
  g_free (r->name);
  g_free (r->reason);
  g_strfreev (r->before);
  g_strfreev (r->after);
  g_free (r->location);
  g_strfreev (r->installed);
  g_free (r->boot_id);
  g_free (r->checkpoint);
  g_free (r->message);
  g_free (r);
}

void
nl_host_record_free (NlHostRecord *r)
{
  if (r == NULL)
    return;
  g_free (r->name);
  g_free (r->uri);
  g_free (r->domain);
  g_free (r->uuid);
  g_free (r->boot_id);
  g_clear_pointer (&r->guests, g_ptr_array_unref);
  g_clear_pointer (&r->warnings, g_ptr_array_unref);
  g_free (r->message);
  g_free (r);
}

static NlJournal *
journal_new (const char *dir, const char *id)
{
  NlJournal *j = g_new0 (NlJournal, 1);
  j->id = g_strdup (id);
  j->dir = g_strdup (dir);
  j->rings = g_ptr_array_new_with_free_func ((GDestroyNotify) ring_record_free);
  j->targets = g_ptr_array_new_with_free_func ((GDestroyNotify) target_record_free);
  j->hosts = g_ptr_array_new_with_free_func ((GDestroyNotify) nl_host_record_free);
  g_mutex_init (&j->lock);
  return j;
}

void
nl_journal_free (NlJournal *journal)
{
  if (journal == NULL)
    return;
  g_free (journal->id);
  g_free (journal->dir);
  g_free (journal->reason);
  g_free (journal->plan_id);
  g_strfreev (journal->passed);
  g_clear_pointer (&journal->rings, g_ptr_array_unref);
  g_clear_pointer (&journal->targets, g_ptr_array_unref);
  g_clear_pointer (&journal->hosts, g_ptr_array_unref);
  g_mutex_clear (&journal->lock);
  g_free (journal);
}

char *
nl_rollout_state_root (void)
{
  return nl_state_path ("rollouts");
}

static gboolean
id_is_safe (const char *id, GError **error)
{
  if (!nl_name_is_safe (id))
    {
      g_set_error (error, NL_ERROR, NL_ERROR_USAGE,
                   "'%s' is not a rollout id (letters, digits, '.', '_', '-')", id);
      return FALSE;
    }
  return TRUE;
}

NlJournal *
nl_journal_create (const char *root, const char *id, GError **error)
{
  g_autofree char *dir = NULL;

  if (!id_is_safe (id, error))
    return NULL;
  if (g_mkdir_with_parents (root, 0750) < 0)
    {
      g_set_error (error, NL_ERROR, NL_ERROR_FAILED, "cannot create %s: %s", root, g_strerror (errno));
      return NULL;
    }
  dir = g_build_filename (root, id, NULL);
  if (g_mkdir (dir, 0750) < 0)
    {
      int e = errno;
      g_set_error (error, NL_ERROR, e == EEXIST ? NL_ERROR_CONFLICT : NL_ERROR_FAILED,
                   e == EEXIST ? "rollout '%s' exists already (%s)" : "cannot create %s: %s",
                   e == EEXIST ? id : dir, e == EEXIST ? dir : g_strerror (e));
      return NULL;
    }
  {
    NlJournal *j = journal_new (dir, id);
    j->created = j->updated = g_get_real_time () / G_USEC_PER_SEC;
    j->state = NL_RUN_RUNNING;
    return j;
  }
}

/* ------------------------------------------------------------------ */
/* Reading and writing                                                  */

static void
set_strv (GKeyFile *kf, const char *group, const char *key, char **v)
{
  if (v != NULL)
    g_key_file_set_string_list (kf, group, key, (const char *const *) v, g_strv_length (v));
}

static void
set_str (GKeyFile *kf, const char *group, const char *key, const char *v)
{
  if (v != NULL)
    g_key_file_set_string (kf, group, key, v);
}

/* [host NAME] and, for each of its guests, [guest NAME/GUEST]. */
/* Names in group names are %-escaped: a domain name may hold '[', ']' or
 * '/', which a key file group or the guest group's HOST/GUEST cannot. */
static char *
escape (const char *name)
{
  return g_uri_escape_string (name, NULL, TRUE);
}

static void
host_to_keyfile (GKeyFile *kf, const NlHostRecord *h)
{
  /* A rehearsal's groups say so before the name (':' is in no plan name). */
  g_autofree char *escaped = escape (h->name);
  g_autofree char *hname = g_strdup_printf ("%s%s", h->replica ? "replica:" : "", escaped);
  g_autofree char *group = g_strdup_printf ("host %s", hname);

  g_key_file_set_string (kf, group, "uri", h->uri);
  g_key_file_set_string (kf, group, "state", nl_host_state_to_string (h->state));
  set_str (kf, group, "domain", h->domain);
  set_str (kf, group, "uuid", h->uuid);
  set_str (kf, group, "boot-id", h->boot_id);
  g_key_file_set_int64 (kf, group, "window-start", h->window_start);
  g_key_file_set_int64 (kf, group, "window-end", h->window_end);
  g_key_file_set_int64 (kf, group, "started", h->started);
  g_key_file_set_int64 (kf, group, "down", h->down_at);
  g_key_file_set_int64 (kf, group, "up", h->up_at);
  g_key_file_set_int64 (kf, group, "finished", h->finished);
  if (h->warnings->len > 0)
    g_key_file_set_string_list (kf, group, "warnings", (const char *const *) h->warnings->pdata,
                                h->warnings->len);
  set_str (kf, group, "message", h->message);
  for (guint i = 0; i < h->guests->len; i++)
    {
      const NlHostGuestRecord *g = h->guests->pdata[i];
      g_autofree char *gname = escape (g->name);
      g_autofree char *gg = g_strdup_printf ("guest %s/%s", hname, gname);
      g_key_file_set_string (kf, gg, "action", nl_guest_action_to_string (g->action));
      g_key_file_set_string (kf, gg, "asked", nl_stop_action_to_string (g->asked));
      set_str (kf, gg, "reason", g->reason);
      g_key_file_set_boolean (kf, gg, "migrate-back", g->migrate_back);
      set_strv (kf, gg, "before", g->before);
      set_strv (kf, gg, "after", g->after);
      g_key_file_set_boolean (kf, gg, "held", g->held);
      g_key_file_set_uint64 (kf, gg, "planned-reboots", g->planned_reboots);
      g_key_file_set_string (kf, gg, "state", nl_host_guest_state_to_string (g->state));
      set_str (kf, gg, "location", g->location);
      set_strv (kf, gg, "installed", g->installed);
      g_key_file_set_boolean (kf, gg, "agent", g->agent);
      g_key_file_set_boolean (kf, gg, "nested", g->nested);
      set_str (kf, gg, "checkpoint", g->checkpoint);
      set_str (kf, gg, "boot-id", g->boot_id);
      g_key_file_set_uint64 (kf, gg, "reboots", g->reboots);
      g_key_file_set_int64 (kf, gg, "down", g->down_at);
      g_key_file_set_int64 (kf, gg, "up", g->up_at);
      set_str (kf, gg, "message", g->message);
    }
}

static char *
journal_to_data (NlJournal *j, gsize *length)
{
  g_autoptr (GKeyFile) kf = g_key_file_new ();

  g_key_file_set_string (kf, "rollout", "id", j->id);
  g_key_file_set_string (kf, "rollout", "state", nl_run_state_to_string (j->state));
  set_str (kf, "rollout", "reason", j->reason);
  g_key_file_set_int64 (kf, "rollout", "created", j->created);
  g_key_file_set_int64 (kf, "rollout", "updated", j->updated);
  g_key_file_set_uint64 (kf, "rollout", "pid", j->pid);
  g_key_file_set_int64 (kf, "rollout", "wait-until", j->wait_until);
  g_key_file_set_boolean (kf, "rollout", "ignore-windows", j->ignore_windows);
  set_str (kf, "rollout", "plan", j->plan_id);
  if (j->passed != NULL)
    {
      /* An empty list must still read back as "decided". */
      g_key_file_set_boolean (kf, "rollout", "replica-decided", TRUE);
      set_strv (kf, "rollout", "passed", j->passed);
    }
  for (guint i = 0; i < j->rings->len; i++)
    {
      NlRingRecord *r = j->rings->pdata[i];
      g_autofree char *group = g_strdup_printf ("ring %s/%s", nl_rollout_pass_to_string (r->pass), r->name);
      g_key_file_set_string (kf, group, "pass", nl_rollout_pass_to_string (r->pass));
      g_key_file_set_string (kf, group, "name", r->name);
      g_key_file_set_boolean (kf, group, "started", r->started);
      g_key_file_set_boolean (kf, group, "halted", r->halted);
      g_key_file_set_int64 (kf, group, "started-at", r->started_at);
      g_key_file_set_int64 (kf, group, "finished-at", r->finished_at);
    }
  for (guint i = 0; i < j->targets->len; i++)
    {
      NlTargetRecord *r = j->targets->pdata[i];
      /* '[' and ']' (libvirt allows them in a domain name) cannot be in a
       * group name: %-escaped, '/' kept so the key stays readable. */
      g_autofree char *key = g_uri_escape_string (r->key, "/", TRUE);
      g_autofree char *group = g_strdup_printf ("target %s", key);
      g_key_file_set_string (kf, group, "pass", nl_rollout_pass_to_string (r->pass));
      g_key_file_set_string (kf, group, "ring", r->ring);
      g_key_file_set_string (kf, group, "name", r->name);
      set_str (kf, group, "production", r->production);
      g_key_file_set_string (kf, group, "state", nl_target_state_to_string (r->state));
      g_key_file_set_uint64 (kf, group, "patch", r->patch);
      g_key_file_set_int64 (kf, group, "pid", r->pid);
      set_str (kf, group, "checkpoint", r->checkpoint);
      set_strv (kf, group, "installed", r->installed);
      if (r->todo != NULL)
        {
          g_key_file_set_boolean (kf, group, "todo-known", TRUE);
          set_strv (kf, group, "todo", r->todo);
        }
      g_key_file_set_boolean (kf, group, "pending-reboot", r->pending_reboot);
      set_str (kf, group, "message", r->message);
      g_key_file_set_int64 (kf, group, "started", r->started);
      g_key_file_set_int64 (kf, group, "finished", r->finished);
    }
  for (guint i = 0; i < j->hosts->len; i++)
    host_to_keyfile (kf, j->hosts->pdata[i]);
  return g_key_file_to_data (kf, length, NULL);
}

static gboolean
write_all (int fd, const char *data, gsize len)
{
  while (len > 0)
    {
      ssize_t n = write (fd, data, len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return FALSE;
      data += n;
      len -= n;
    }
  return TRUE;
}

/* Atomic, durable replace of DIR/NAME with DATA. */
static gboolean
replace_file (const char *dir, const char *name, const char *data, gsize len, GError **error)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autofree char *tmp = g_strdup_printf ("%s.tmp", path);
  int fd, dfd, e;

  fd = open (tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0)
    goto fail;
  if (!write_all (fd, data, len) || fsync (fd) < 0)
    {
      e = errno;
      close (fd);
      g_unlink (tmp);
      errno = e;
      goto fail;
    }
  if (close (fd) < 0 || rename (tmp, path) < 0)
    goto fail;
  dfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    goto fail;
  if (fsync (dfd) < 0)
    {
      e = errno;
      close (dfd);
      errno = e;
      goto fail;
    }
  close (dfd);
  return TRUE;
fail:
  g_set_error (error, NL_ERROR, NL_ERROR_FAILED, "cannot write %s: %s", path, g_strerror (errno));
  return FALSE;
}

gboolean
nl_journal_save (NlJournal *journal, GError **error)
{
  g_autofree char *data = NULL;
  gsize len = 0;
  gboolean ok;

  g_mutex_lock (&journal->lock);
  journal->updated = g_get_real_time () / G_USEC_PER_SEC;
  data = journal_to_data (journal, &len);
  ok = replace_file (journal->dir, JOURNAL_FILE, data, len, error);
  g_mutex_unlock (&journal->lock);
  return ok;
}

static char **
get_strv (GKeyFile *kf, const char *group, const char *key)
{
  char **v = g_key_file_get_string_list (kf, group, key, NULL, NULL);
  return v ? v : g_new0 (char *, 1);
}

static gboolean
damaged (const char *path, const char *group, GError **error)
{
  g_set_error (error, NL_ERROR, NL_ERROR_INVALID, "%s: damaged entry [%s]", path, group);
  return FALSE;
}

/* Host group G and its guests' groups ([guest NAME/...], in the order the
 * key file holds them, which is the order they were written). */
static gboolean
host_from_keyfile (GKeyFile *kf, const char *g, NlJournal *j, const char *path, GError **error)
{
  NlHostRecord *h = g_new0 (NlHostRecord, 1);
  g_autofree char *st = g_key_file_get_string (kf, g, "state", NULL);
  g_auto (GStrv) groups = g_key_file_get_groups (kf, NULL);
  g_auto (GStrv) warnings = g_key_file_get_string_list (kf, g, "warnings", NULL, NULL);
  g_autofree char *prefix = NULL;

  h->replica = g_str_has_prefix (g + strlen ("host "), "replica:");
  h->name = g_uri_unescape_string (g + strlen ("host ") + (h->replica ? strlen ("replica:") : 0), NULL);
  h->domain = g_key_file_get_string (kf, g, "domain", NULL);
  h->uri = g_key_file_get_string (kf, g, "uri", NULL);
  h->state = nl_host_state_from_string (st);
  h->uuid = g_key_file_get_string (kf, g, "uuid", NULL);
  h->boot_id = g_key_file_get_string (kf, g, "boot-id", NULL);
  h->window_start = g_key_file_get_int64 (kf, g, "window-start", NULL);
  h->window_end = g_key_file_get_int64 (kf, g, "window-end", NULL);
  h->started = g_key_file_get_int64 (kf, g, "started", NULL);
  h->down_at = g_key_file_get_int64 (kf, g, "down", NULL);
  h->up_at = g_key_file_get_int64 (kf, g, "up", NULL);
  h->finished = g_key_file_get_int64 (kf, g, "finished", NULL);
  h->message = g_key_file_get_string (kf, g, "message", NULL);
  h->guests = g_ptr_array_new_with_free_func ((GDestroyNotify) nl_host_guest_record_free);
  h->warnings = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; warnings && warnings[i]; i++)
    g_ptr_array_add (h->warnings, g_strdup (warnings[i]));
  g_ptr_array_add (j->hosts, h);
  if (h->name == NULL || h->uri == NULL || (int) h->state < 0)
    return damaged (path, g, error);

  prefix = g_strdup_printf ("guest %s/", g + strlen ("host "));
  for (guint i = 0; groups[i]; i++)
    {
      const char *gg = groups[i];
      NlHostGuestRecord *r;
      g_autofree char *action = NULL, *asked = NULL, *gst = NULL;
      if (!g_str_has_prefix (gg, prefix))
        continue;
      r = g_new0 (NlHostGuestRecord, 1);
      g_ptr_array_add (h->guests, r);
      r->name = g_uri_unescape_string (gg + strlen (prefix), NULL);
      action = g_key_file_get_string (kf, gg, "action", NULL);
      asked = g_key_file_get_string (kf, gg, "asked", NULL);
      gst = g_key_file_get_string (kf, gg, "state", NULL);
      r->action = nl_guest_action_from_string (action);
      r->asked = nl_stop_action_from_string (asked);
      r->state = nl_host_guest_state_from_string (gst);
      r->reason = g_key_file_get_string (kf, gg, "reason", NULL);
      r->migrate_back = g_key_file_get_boolean (kf, gg, "migrate-back", NULL);
      r->before = get_strv (kf, gg, "before");
      r->after = get_strv (kf, gg, "after");
      r->held = g_key_file_get_boolean (kf, gg, "held", NULL);
      r->planned_reboots = g_key_file_get_uint64 (kf, gg, "planned-reboots", NULL);
      r->location = g_key_file_get_string (kf, gg, "location", NULL);
      r->installed = get_strv (kf, gg, "installed");
      r->agent = g_key_file_get_boolean (kf, gg, "agent", NULL);
      r->nested = g_key_file_get_boolean (kf, gg, "nested", NULL);
      r->checkpoint = g_key_file_get_string (kf, gg, "checkpoint", NULL);
      r->boot_id = g_key_file_get_string (kf, gg, "boot-id", NULL);
      r->reboots = g_key_file_get_uint64 (kf, gg, "reboots", NULL);
      r->down_at = g_key_file_get_int64 (kf, gg, "down", NULL);
      r->up_at = g_key_file_get_int64 (kf, gg, "up", NULL);
      r->message = g_key_file_get_string (kf, gg, "message", NULL);
      if (r->name == NULL || (int) r->action < 0 || (int) r->asked < 0 || (int) r->state < 0)
        return damaged (path, gg, error);
    }
  return TRUE;
}

NlJournal *
nl_journal_load (const char *root, const char *id, GError **error)
{
  g_autofree char *dir = NULL;
  g_autofree char *path = NULL;
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_autoptr (GError) local = NULL;
  g_autoptr (NlJournal) j = NULL;
  g_auto (GStrv) groups = NULL;
  g_autofree char *state = NULL;

  if (!id_is_safe (id, error))
    return NULL;
  dir = g_build_filename (root, id, NULL);
  path = g_build_filename (dir, JOURNAL_FILE, NULL);
  if (!g_key_file_load_from_file (kf, path, G_KEY_FILE_NONE, &local))
    {
      if (g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        g_set_error (error, NL_ERROR, NL_ERROR_NOT_FOUND, "no rollout '%s' in %s", id, root);
      else
        g_set_error (error, NL_ERROR, NL_ERROR_FAILED, "cannot read the journal %s: %s", path,
                     local->message);
      return NULL;
    }
  j = journal_new (dir, id);
  state = g_key_file_get_string (kf, "rollout", "state", NULL);
  j->state = MAX (nl_run_state_from_string (state), 0);
  j->reason = g_key_file_get_string (kf, "rollout", "reason", NULL);
  j->created = g_key_file_get_int64 (kf, "rollout", "created", NULL);
  j->updated = g_key_file_get_int64 (kf, "rollout", "updated", NULL);
  j->pid = g_key_file_get_uint64 (kf, "rollout", "pid", NULL);
  j->wait_until = g_key_file_get_int64 (kf, "rollout", "wait-until", NULL);
  j->ignore_windows = g_key_file_get_boolean (kf, "rollout", "ignore-windows", NULL);
  j->plan_id = g_key_file_get_string (kf, "rollout", "plan", NULL);
  if (g_key_file_get_boolean (kf, "rollout", "replica-decided", NULL))
    j->passed = get_strv (kf, "rollout", "passed");

  groups = g_key_file_get_groups (kf, NULL);
  for (guint i = 0; groups[i]; i++)
    {
      const char *g = groups[i];
      if (g_str_has_prefix (g, "ring "))
        {
          NlRingRecord *r = g_new0 (NlRingRecord, 1);
          g_autofree char *pass = g_key_file_get_string (kf, g, "pass", NULL);
          r->pass = nl_rollout_pass_from_string (pass);
          r->name = g_key_file_get_string (kf, g, "name", NULL);
          r->started = g_key_file_get_boolean (kf, g, "started", NULL);
          r->halted = g_key_file_get_boolean (kf, g, "halted", NULL);
          r->started_at = g_key_file_get_int64 (kf, g, "started-at", NULL);
          r->finished_at = g_key_file_get_int64 (kf, g, "finished-at", NULL);
          if ((int) r->pass >= 0 && r->name)
            g_ptr_array_add (j->rings, r);
          else
            ring_record_free (r);
        }
      else if (g_str_has_prefix (g, "target "))
        {
          NlTargetRecord *r = g_new0 (NlTargetRecord, 1);
          g_autofree char *st = g_key_file_get_string (kf, g, "state", NULL);
          g_autofree char *pass = g_key_file_get_string (kf, g, "pass", NULL);
          r->key = g_uri_unescape_string (g + strlen ("target "), NULL);
          r->pass = nl_rollout_pass_from_string (pass);
          r->ring = g_key_file_get_string (kf, g, "ring", NULL);
          r->name = g_key_file_get_string (kf, g, "name", NULL);
          r->production = g_key_file_get_string (kf, g, "production", NULL);
          r->state = nl_target_state_from_string (st);
          r->patch = g_key_file_get_uint64 (kf, g, "patch", NULL);
          r->pid = g_key_file_get_int64 (kf, g, "pid", NULL);
          r->checkpoint = g_key_file_get_string (kf, g, "checkpoint", NULL);
          r->installed = get_strv (kf, g, "installed");
          if (g_key_file_get_boolean (kf, g, "todo-known", NULL))
            r->todo = get_strv (kf, g, "todo");
          r->pending_reboot = g_key_file_get_boolean (kf, g, "pending-reboot", NULL);
          r->message = g_key_file_get_string (kf, g, "message", NULL);
          r->started = g_key_file_get_int64 (kf, g, "started", NULL);
          r->finished = g_key_file_get_int64 (kf, g, "finished", NULL);
          if (r->key == NULL || (int) r->pass < 0 || r->ring == NULL || r->name == NULL || (int) r->state < 0)
            {
              target_record_free (r);
              g_set_error (error, NL_ERROR, NL_ERROR_INVALID, "%s: damaged entry [%s]", path, g);
              return NULL;
            }
          g_ptr_array_add (j->targets, r);
        }
      else if (g_str_has_prefix (g, "host "))
        {
          if (!host_from_keyfile (kf, g, j, path, error))
            return NULL;
        }
    }
  return g_steal_pointer (&j);
}

static gint
compare_strings (gconstpointer a, gconstpointer b)
{
  const char *const *x = a, *const *y = b;
  return g_strcmp0 (*x, *y);
}

GPtrArray *
nl_journal_list (const char *root, GError **error)
{
  g_autoptr (GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) stamped = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GDir) dir = NULL;
  g_autoptr (GError) local = NULL;
  const char *name;

  dir = g_dir_open (root, 0, &local);
  if (dir == NULL)
    {
      if (g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return g_steal_pointer (&ids);
      g_set_error (error, NL_ERROR, NL_ERROR_FAILED, "cannot list %s: %s", root, local->message);
      return NULL;
    }
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (root, name, JOURNAL_FILE, NULL);
      g_autoptr (GKeyFile) kf = g_key_file_new ();
      gint64 created;
      if (!nl_name_is_safe (name) || !g_key_file_load_from_file (kf, path, G_KEY_FILE_NONE, NULL))
        continue;
      created = g_key_file_get_int64 (kf, "rollout", "created", NULL);
      /* Newest first: sort on the complement of the creation time. */
      g_ptr_array_add (stamped, g_strdup_printf ("%020jd %s", (intmax_t) (G_MAXINT64 - created), name));
    }
  g_ptr_array_sort (stamped, compare_strings);
  for (guint i = 0; i < stamped->len; i++)
    g_ptr_array_add (ids, g_strdup (strchr (stamped->pdata[i], ' ') + 1));
  return g_steal_pointer (&ids);
}

NlTargetRecord *
nl_journal_find_target (NlJournal *journal, const char *key)
{
  for (guint i = 0; i < journal->targets->len; i++)
    {
      NlTargetRecord *r = journal->targets->pdata[i];
      if (g_str_equal (r->key, key))
        return r;
    }
  return NULL;
}

NlHostRecord *
nl_journal_find_host (NlJournal *journal, const char *name)
{
  for (guint i = 0; i < journal->hosts->len; i++)
    {
      NlHostRecord *h = journal->hosts->pdata[i];
      if (!h->replica && g_str_equal (h->name, name))
        return h;
    }
  return NULL;
}

NlRingRecord *
nl_journal_find_ring (NlJournal *journal, NlRolloutPass pass, const char *ring)
{
  for (guint i = 0; i < journal->rings->len; i++)
    {
      NlRingRecord *r = journal->rings->pdata[i];
      if (r->pass == pass && g_str_equal (r->name, ring))
        return r;
    }
  return NULL;
}

gboolean
nl_journal_transition (NlJournal *journal, NlTargetRecord *record,
                       NlTargetState state, const char *message, GError **error)
{
  g_mutex_lock (&journal->lock);
  if (!nl_rollout_transition_valid (record->state, state))
    {
      g_set_error (error, NL_ERROR, NL_ERROR_FAILED, "%s: invalid transition %s -> %s",
                   record->name, nl_target_state_to_string (record->state),
                   nl_target_state_to_string (state));
      g_mutex_unlock (&journal->lock);
      return FALSE;
    }
  record->state = state;
  if (message != NULL)
    {
      g_free (record->message);
      record->message = g_strdup (message);
    }
  if (record->started == 0)
    record->started = g_get_real_time () / G_USEC_PER_SEC;
  if (nl_rollout_state_is_final (state))
    record->finished = g_get_real_time () / G_USEC_PER_SEC;
  g_mutex_unlock (&journal->lock);
  return nl_journal_save (journal, error);
}

NlOutcome
nl_target_record_outcome (const NlTargetRecord *record)
{
  switch (record->state)
    {
    case NL_TARGET_DONE:
      return record->pending_reboot ? NL_OUTCOME_PENDING_REBOOT : NL_OUTCOME_INSTALLED;
    case NL_TARGET_FAILED:
      return NL_OUTCOME_FAILED;
    case NL_TARGET_ROLLED_BACK:
      return NL_OUTCOME_ROLLED_BACK;
    case NL_TARGET_NOT_APPLICABLE:
      return NL_OUTCOME_NOT_APPLICABLE;
    case NL_TARGET_SKIPPED:
      return NL_OUTCOME_SKIPPED;
    case NL_TARGET_PENDING:
      return NL_OUTCOME_SKIPPED;
    default:
      return NL_OUTCOME_IN_PROGRESS;
    }
}

/* ------------------------------------------------------------------ */
/* Locks                                                                */

struct NlRolloutLock {
  GArray *fds;
};

void
nl_rollout_lock_release (NlRolloutLock *lock)
{
  if (lock == NULL)
    return;
  for (guint i = 0; i < lock->fds->len; i++)
    close (g_array_index (lock->fds, int, i)); /* closing drops the flock */
  g_array_unref (lock->fds);
  g_free (lock);
}

static gboolean
lock_file (NlRolloutLock *lock, const char *path, const char *what, GError **error)
{
  int fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0)
    {
      g_set_error (error, NL_ERROR, NL_ERROR_FAILED, "cannot open %s: %s", path, g_strerror (errno));
      return FALSE;
    }
  if (flock (fd, LOCK_EX | LOCK_NB) < 0)
    {
      int e = errno;
      close (fd);
      if (e == EWOULDBLOCK)
        g_set_error (error, NL_ERROR, NL_ERROR_CONFLICT,
                     "%s is locked by another rollout run (%s)", what, path);
      else
        g_set_error (error, NL_ERROR, NL_ERROR_FAILED, "cannot lock %s: %s", path, g_strerror (e));
      return FALSE;
    }
  g_array_append_val (lock->fds, fd);
  return TRUE;
}

NlRolloutLock *
nl_rollout_lock_acquire (const char *root, const char *id, const char *const *names, GError **error)
{
  g_autoptr (NlRolloutLock) lock = g_new0 (NlRolloutLock, 1);
  g_autofree char *locks = g_build_filename (root, "locks", NULL);
  g_autoptr (GPtrArray) sorted = g_ptr_array_new ();

  lock->fds = g_array_new (FALSE, FALSE, sizeof (int));
  if (g_mkdir_with_parents (locks, 0750) < 0)
    {
      g_set_error (error, NL_ERROR, NL_ERROR_FAILED, "cannot create %s: %s", locks, g_strerror (errno));
      return NULL;
    }
  if (id != NULL)
    {
      g_autofree char *path = g_build_filename (root, id, "run.lock", NULL);
      g_autofree char *what = g_strdup_printf ("rollout '%s'", id);
      if (!lock_file (lock, path, what, error))
        return NULL;
    }
  for (guint i = 0; names && names[i]; i++)
    g_ptr_array_add (sorted, (gpointer) names[i]);
  g_ptr_array_sort (sorted, compare_strings);
  for (guint i = 0; i < sorted->len; i++)
    {
      const char *name = sorted->pdata[i];
      g_autofree char *file = NULL;
      g_autofree char *path = NULL;
      g_autofree char *what = g_strdup_printf ("machine '%s'", name);
      /* Domain names may hold anything but '/'; hash unusual ones. */
      if (nl_name_is_safe (name))
        file = g_strdup_printf ("%s.lock", name);
      else
        {
          g_autofree char *sum = g_compute_checksum_for_string (G_CHECKSUM_SHA256, name, -1);
          file = g_strdup_printf ("sha256-%s.lock", sum);
        }
      path = g_build_filename (locks, file, NULL);
      if (!lock_file (lock, path, what, error))
        return NULL;
    }
  return g_steal_pointer (&lock);
}

gboolean
nl_rollout_run_is_active (const char *root, const char *id)
{
  g_autofree char *path = g_build_filename (root, id, "run.lock", NULL);
  int fd = open (path, O_RDWR | O_CLOEXEC);
  gboolean active = FALSE;

  if (fd < 0)
    return FALSE;
  if (flock (fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK)
    active = TRUE;
  close (fd); /* releases the probe's lock if it got it */
  return active;
}
