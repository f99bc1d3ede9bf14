/* The window of a Windows Hyper-V host that is a machine of a lab (<host
 * lab="..." machine="...">): the steps of a libvirt host's window, carried
 * out inside the host through its guest agent with the PowerShell nestlab
 * ships in templates/hosts/windows (docs/rollouts.md, "Windows Hyper-V
 * hosts"). The scripts go into C:\ProgramData\nestlab\host; each prints
 * one JSON document, which becomes the journal's guest records; the
 * drain's state file inside the host lets a rerun of drain.ps1 or
 * resume.ps1 finish what a killed one began without acting twice. The
 * host's VMs are Hyper-V's: nestlab stops and brings them back, but does
 * not patch them (it cannot reach their agents). */
#include <string.h>

#include <nestlab/error.h>
#include <nestlab/json.h>
#include <nestlab/rollout.h>

#include "nl-config.h"
#include "hosts-private.h"

#define POWERSHELL "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe"
#define GUEST_DIR "C:\\ProgramData\\nestlab\\host"
#define STATE_FILE GUEST_DIR "\\window.json"
#define OVERRIDES_FILE GUEST_DIR "\\overrides.json"

char *
nl_rollout_hosts_scripts_dir (void)
{
  const char *env = g_getenv ("NESTLAB_HOSTS_DIR");
  if (env && *env)
    return g_build_filename (env, "windows", NULL);
  /* Installed, else the source tree (running from a build folder). */
  if (g_file_test (NL_HOSTS_DIR, G_FILE_TEST_IS_DIR))
    return g_build_filename (NL_HOSTS_DIR, "windows", NULL);
  return g_build_filename (NL_SOURCE_ROOT, "templates", "hosts", "windows", NULL);
}

/* The argv that runs SCRIPT (a file of GUEST_DIR) with ARGS. */
GStrv
nl_rollout_hosts_script_argv (const char *script, const char *const *args)
{
  g_autoptr (GStrvBuilder) b = g_strv_builder_new ();
  g_autofree char *path = g_strdup_printf ("%s\\%s", GUEST_DIR, script);

  g_strv_builder_add_many (b, POWERSHELL, "-NoProfile", "-NonInteractive", "-ExecutionPolicy",
                           "Bypass", "-File", path, NULL);
  for (guint i = 0; args && args[i]; i++)
    g_strv_builder_add (b, args[i]);
  return g_strv_builder_end (b);
}

/* Runs SCRIPT in the host: its JSON document (NULL when it printed none)
 * and exit status. FALSE when it could not run at all. */
static gboolean
script (Agent *a, const char *name, const char *const *args, guint timeout, int *status,
        NlJson **doc, GError **error)
{
  g_auto (GStrv) argv = nl_rollout_hosts_script_argv (name, args);
  g_autofree char *output = NULL;

  if (!hosts_agent_run (a, (const char *const *) argv, timeout, status, &output, error))
    {
      g_prefix_error (error, "%s: ", name);
      return FALSE;
    }
  /* Progress goes to stderr, which the agent hands over with stdout:
   * the document is the last line that parses. */
  *doc = NULL;
  if (output != NULL)
    {
      g_auto (GStrv) lines = g_strsplit (output, "\n", -1);
      for (gint i = (gint) g_strv_length (lines) - 1; i >= 0 && *doc == NULL; i--)
        if (g_strstrip (lines[i])[0] == '{')
          *doc = nl_json_parse (lines[i]);
    }
  return TRUE;
}

static const char *
str_of (const NlJson *j, const char *key)
{
  const NlJson *v = nl_json_get (j, key);
  return v && v->type == NL_JSON_STRING ? v->str : NULL;
}

static gboolean
bool_of (const NlJson *j, const char *key)
{
  const NlJson *v = nl_json_get (j, key);
  return v && v->type == NL_JSON_BOOL && v->b;
}

static const char *
why (const NlJson *doc, int status)
{
  const char *e = str_of (doc, "error");
  static char fallback[64];
  if (e)
    return e;
  g_snprintf (fallback, sizeof fallback, "exit %d, no report", status);
  return fallback;
}

/* Copies the shipped scripts into the host. */
static gboolean
copy_scripts (Host *h, Agent *a, GError **error)
{
  g_autofree char *dir = nl_rollout_hosts_scripts_dir ();
  g_autoptr (GDir) d = g_dir_open (dir, 0, error);
  const char *mkdir[] = { POWERSHELL, "-NoProfile", "-NonInteractive", "-Command",
                          "New-Item -ItemType Directory -Force -Path '" GUEST_DIR "' | Out-Null", NULL };
  const char *name;
  int status = -1;

  if (d == NULL)
    return FALSE;
  if (!hosts_agent_run (a, mkdir, 60, &status, NULL, error))
    return FALSE;
  if (status != 0)
    {
      g_set_error (error, NL_ERROR, NL_ERROR_FAILED, "cannot create %s in the host (exit %d)", GUEST_DIR,
                   status);
      return FALSE;
    }
  while ((name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_autofree char *to = g_strdup_printf ("%s\\%s", GUEST_DIR, name);
      g_autofree char *text = NULL;
      gsize len = 0;
      if (!g_str_has_suffix (name, ".ps1"))
        continue;
      if (!g_file_get_contents (path, &text, &len, error)
          || !a->drv->ops->file_write (a->handle, to, text, len, error))
        return FALSE;
    }
  return TRUE;
}

static NlHostGuestRecord *
find_guest (NlHostRecord *rec, const char *name)
{
  for (guint i = 0; i < rec->guests->len; i++)
    {
      NlHostGuestRecord *g = rec->guests->pdata[i];
      if (g_str_equal (g->name, name))
        return g;
    }
  return NULL;
}

/* preparing: the scripts, then the inventory and each VM's plan. */
static gboolean
prepare (Host *h, Agent *a, GError **error)
{
  g_autoptr (GError) local = NULL;
  g_autoptr (NlJson) doc = NULL;
  g_autoptr (NlHostPlan) plan = NULL;
  g_autofree NlGuestFacts *facts = NULL;
  const NlJson *vms;
  int status = -1;

  h->rec->started = hosts_now_s ();
  if (!copy_scripts (h, a, &local) || !script (a, "inventory.ps1", NULL, 600, &status, &doc, &local))
    {
      hosts_fail (h, "preparing: %s", local->message);
      return TRUE;
    }
  if (status != 0 || doc == NULL || !bool_of (doc, "ok"))
    {
      hosts_fail (h, "its inventory failed: %s", why (doc, status));
      return TRUE;
    }
  g_free (h->rec->uuid);
  h->rec->uuid = g_strdup (str_of (doc, "computer"));
  vms = nl_json_get (doc, "vms");
  facts = g_new0 (NlGuestFacts, (vms && vms->items ? vms->items->len : 0) + 1);
  for (guint i = 0; vms && vms->items && i < vms->items->len; i++)
    {
      const NlJson *vm = vms->items->pdata[i];
      facts[i].name = str_of (vm, "name") ? str_of (vm, "name") : "?";
      facts[i].running = g_strcmp0 (str_of (vm, "state"), "Running") == 0;
      facts[i].nested = bool_of (vm, "nested");
      facts[i].stop = nl_rollout_guest_stop (h->run->plan, h->host, facts[i].name);
    }
  plan = nl_rollout_host_plan (h->host, &h->run->plan->host_policy, facts,
                               vms && vms->items ? vms->items->len : 0);
  for (guint i = 0; i < plan->warnings->len; i++)
    g_ptr_array_add (h->rec->warnings, g_strdup (plan->warnings->pdata[i]));
  if (bool_of (doc, "cluster_node"))
    g_ptr_array_add (h->rec->warnings,
                     g_strdup_printf ("a node of cluster %s: the node is drained "
                                      "(Suspend-ClusterNode -Drain) and its roles fail back after",
                                      str_of (doc, "cluster") ? str_of (doc, "cluster") : "?"));
  g_ptr_array_set_size (h->rec->guests, 0);
  for (guint i = 0; i < plan->guests->len; i++)
    {
      const NlGuestPlan *gp = plan->guests->pdata[i];
      NlHostGuestRecord *g = hosts_guest_record_new (h, gp);
      /* Hyper-V's VMs get no patches from nestlab: a cold boot is all. */
      g->planned_reboots = gp->action == NL_GUEST_SHUTDOWN ? 1 : 0;
      g_ptr_array_add (h->rec->guests, g);
    }
  return hosts_host_state (h, NL_HOST_PREPARING, error);
}

/* The drain's JSON: each VM's action and status into its record. */
static void
read_vms (Host *h, const NlJson *doc, gboolean draining)
{
  const NlJson *vms = nl_json_get (doc, "vms");
  for (guint i = 0; vms && vms->items && i < vms->items->len; i++)
    {
      const NlJson *vm = vms->items->pdata[i];
      const char *name = str_of (vm, "name");
      const char *action = str_of (vm, "action");
      const char *status = str_of (vm, "status");
      const char *err = str_of (vm, "error");
      NlHostGuestRecord *g = name ? find_guest (h->rec, name) : NULL;

      /* A VM whose drain failed keeps its failure (and kept running). */
      if (g == NULL || g->state == NL_HGUEST_LEFT || g->state == NL_HGUEST_FAILED)
        continue;
      if (g_strcmp0 (action, "ClusterDrain") == 0 && g->action != NL_GUEST_MIGRATE)
        {
          g->action = NL_GUEST_MIGRATE;
          g_free (g->reason);
          g->reason = g_strdup ("a clustered role: the cluster moves it while the node drains");
        }
      else if (g_strcmp0 (action, "ShutDown") == 0 && g->action != NL_GUEST_SHUTDOWN)
        g->action = NL_GUEST_SHUTDOWN;
      if (g_strcmp0 (status, "failed") == 0)
        {
          g->state = NL_HGUEST_FAILED;
          g_free (g->message);
          g->message = g_strdup (err ? err : "failed");
        }
      else if (draining && g_strcmp0 (status, "drained") == 0)
        g->state = NL_HGUEST_STOPPED;
      else if (!draining && g_strcmp0 (status, "resumed") == 0)
        {
          g->state = NL_HGUEST_DONE;
          g->up_at = hosts_now_s ();
          g->reboots = g->action == NL_GUEST_SHUTDOWN ? 1 : 0;
          if (g->action == NL_GUEST_MIGRATE && g->migrate_back)
            {
              g_free (g->location);
              g->location = g_strdup (h->host->name);
            }
        }
      else if (!draining && g_strcmp0 (status, "drained") == 0)
        {
          /* Stays on the peer (no migrate-back). */
          g->state = NL_HGUEST_DONE;
        }
    }
}

static gboolean
drain (Host *h, Agent *a, GError **error)
{
  const NlHostPolicy *policy = &h->run->plan->host_policy;
  g_autoptr (GString) overrides = g_string_new ("{");
  g_autoptr (GPtrArray) args = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) local = NULL;
  g_autoptr (NlJson) doc = NULL;
  static const char *const actions[] = { "Save", "ShutDown", "Migrate" };
  int status = -1;
  guint n = 0;

  if (!hosts_host_state (h, NL_HOST_DRAINING, error))
    return FALSE;
  for (guint i = 0; i < h->rec->guests->len; i++)
    {
      NlHostGuestRecord *g = h->rec->guests->pdata[i];
      if (g->state != NL_HGUEST_FOUND && g->state != NL_HGUEST_STOPPING)
        continue;
      /* The plan's action for each (a nested hypervisor's shutdown too). */
      if (n++ > 0)
        g_string_append_c (overrides, ',');
      nl_json_append_string (overrides, g->name);
      g_string_append_printf (overrides, ":\"%s\"", actions[g->action - NL_GUEST_SAVE]);
      if (g->down_at == 0)
        g->down_at = hosts_now_s ();
      g->state = NL_HGUEST_STOPPING;
    }
  g_string_append (overrides, "}");
  if (!hosts_save (h, error))
    return FALSE;
  g_ptr_array_add (args, g_strdup ("-StopAction"));
  g_ptr_array_add (args, g_strdup (actions[policy->stop]));
  g_ptr_array_add (args, g_strdup ("-Overrides"));
  g_ptr_array_add (args, g_strdup (OVERRIDES_FILE));
  g_ptr_array_add (args, g_strdup ("-ShutdownTimeout"));
  g_ptr_array_add (args, g_strdup_printf ("%u", policy->shutdown_timeout));
  g_ptr_array_add (args, g_strdup ("-StateFile"));
  g_ptr_array_add (args, g_strdup (STATE_FILE));
  if (h->peer != NULL)
    {
      g_ptr_array_add (args, g_strdup ("-Peer"));
      g_ptr_array_add (args, g_strdup (h->peer->machine ? h->peer->machine : h->peer->name));
    }
  g_ptr_array_add (args, NULL);
  run_progress (h->run, "host %s: draining (drain.ps1)", h->host->name);
  if (!a->drv->ops->file_write (a->handle, OVERRIDES_FILE, overrides->str, overrides->len, &local)
      || !script (a, "drain.ps1", (const char *const *) args->pdata,
                  policy->shutdown_timeout * (h->rec->guests->len + 1) + 600, &status, &doc, &local))
    {
      hosts_fail (h, "draining: %s", local->message);
      return hosts_save (h, error);
    }
  read_vms (h, doc, TRUE);
  if (status != 0 || doc == NULL || !bool_of (doc, "ok"))
    hosts_fail (h, "draining: %s", why (doc, status));
  return hosts_save (h, error);
}

static gboolean
update (Host *h, Agent *a, GError **error)
{
  g_autoptr (GError) local = NULL;
  g_autoptr (NlJson) doc = NULL;
  int status = -1;

  if (!hosts_host_state (h, NL_HOST_UPDATING, error))
    return FALSE;
  run_progress (h->run, "host %s: updating", h->host->name);
  if (h->host->update != NULL)
    {
      g_autofree char *output = NULL;
      if (!hosts_agent_run (a, (const char *const *) h->host->update, h->host->update_timeout, &status,
                            &output, &local))
        hosts_fail (h, "updating: %s", local->message);
      else if (status != 0 && status != 3010)
        hosts_fail (h, "its update command failed (exit %d)", status);
      return TRUE;
    }
  if (!script (a, "update.ps1", NULL, h->host->update_timeout, &status, &doc, &local))
    hosts_fail (h, "updating: %s", local->message);
  else if (status != 0 && status != 3010)
    hosts_fail (h, "its updates failed: %s", why (doc, status));
  return TRUE;
}

static gboolean
reboot (Host *h, Agent *a, GError **error)
{
  g_autoptr (GError) local = NULL;

  if (h->rec->state != NL_HOST_REBOOTING)
    {
      h->rec->down_at = hosts_now_s ();
      if (!hosts_host_state (h, NL_HOST_REBOOTING, error))
        return FALSE;
      run_progress (h->run, "host %s: rebooting", h->host->name);
      /* The agent's reboot waits for the new boot to answer. */
      if (!a->drv->ops->reboot (a->handle, h->host->boot_timeout, &local))
        {
          hosts_fail (h, "its reboot: %s", local->message);
          return TRUE;
        }
    }
  else if (!a->drv->ops->ping (a->handle, h->host->boot_timeout, &local))
    {
      hosts_fail (h, "not back after its reboot: %s", local->message);
      return TRUE;
    }
  h->rec->up_at = hosts_now_s ();
  return hosts_host_state (h, NL_HOST_VERIFYING, error);
}

static gboolean
verify (Host *h, Agent *a, GError **error)
{
  g_autoptr (GError) local = NULL;
  g_autoptr (NlJson) doc = NULL;
  int status = -1;

  if (!script (a, "inventory.ps1", NULL, 600, &status, &doc, &local))
    hosts_fail (h, "after its reboot: %s", local->message);
  else if (status != 0 || !bool_of (doc, "ok"))
    hosts_fail (h, "after its reboot, its inventory failed: %s", why (doc, status));
  else if (g_strcmp0 (str_of (doc, "hyperv_service"), "Running") != 0)
    hosts_fail (h, "after its reboot, Hyper-V (vmms) is %s", str_of (doc, "hyperv_service")
                ? str_of (doc, "hyperv_service") : "missing");
  else if (h->host->check != NULL)
    {
      g_autofree char *output = NULL;
      if (!hosts_agent_run (a, (const char *const *) h->host->check, 600, &status, &output, &local))
        hosts_fail (h, "its check: %s", local->message);
      else if (status != 0)
        hosts_fail (h, "its check failed (exit %d)", status);
    }
  return TRUE;
}

static gboolean
restore (Host *h, Agent *a, GError **error)
{
  g_autoptr (GError) local = NULL;
  g_autoptr (NlJson) doc = NULL;
  g_autoptr (GPtrArray) args = g_ptr_array_new ();
  gboolean back = h->run->plan->host_policy.migrate_back;
  int status = -1;

  if (!hosts_host_state (h, NL_HOST_RESTORING, error))
    return FALSE;
  g_ptr_array_add (args, "-StateFile");
  g_ptr_array_add (args, STATE_FILE);
  if (back)
    g_ptr_array_add (args, "-MigrateBack");
  g_ptr_array_add (args, NULL);
  run_progress (h->run, "host %s: bringing its VMs back (resume.ps1)", h->host->name);
  if (!script (a, "resume.ps1", (const char *const *) args->pdata,
               h->run->plan->host_policy.shutdown_timeout * (h->rec->guests->len + 1) + 600, &status,
               &doc, &local))
    {
      hosts_fail (h, "restoring: %s", local->message);
      return TRUE;
    }
  read_vms (h, doc, FALSE);
  if (status != 0 || doc == NULL || !bool_of (doc, "ok"))
    hosts_fail (h, "restoring: %s", why (doc, status));
  return TRUE;
}

gboolean
hosts_run_windows (Host *h, GError **error)
{
  NlHostRecord *rec = h->rec;
  g_autofree char *domain = NULL;
  g_autoptr (GError) local = NULL;
  gboolean drained;
  Agent a = { 0 };

  /* A rehearsal runs on the replica of the machine. */
  domain = rec->domain ? g_strdup (rec->domain) : hosts_lab_domain (h, &local);
  if (domain == NULL || !hosts_agent_open (&a, h->drv, domain, h->run->plan->agent_timeout, &local))
    {
      if (rec->state >= NL_HOST_DRAINING)
        {
          /* Its VMs are down: never leave them so. Resume goes on. */
          h->run->lost_why = g_strdup_printf ("host %s does not answer (%s); `nestlab rollout resume "
                                              "%s` finishes its window", h->host->name,
                                              local->message, h->run->journal->id);
          run_progress (h->run, "%s", h->run->lost_why);
          g_atomic_int_set (&h->run->lost, 1);
          g_atomic_int_set (&h->run->halt, 1);
          return TRUE;
        }
      hosts_fail (h, "%s", local->message);
      goto out;
    }
  if (a.os != NL_OS_FAMILY_WINDOWS)
    {
      hosts_fail (h, "machine %s of lab %s is not Windows: a lab host is a Windows Hyper-V host",
                  h->host->machine, h->host->lab);
      goto out;
    }

  if (rec->state == NL_HOST_PENDING)
    {
      run_progress (h->run, "host %s: preparing its window (inventory.ps1)", h->host->name);
      if (!prepare (h, &a, error))
        goto fail;
      if (h->failure)
        goto out;
    }
  if (rec->state <= NL_HOST_DRAINING && !drain (h, &a, error))
    goto fail;
  drained = h->failure == NULL;
  if (drained && rec->state <= NL_HOST_UPDATING && !update (h, &a, error))
    goto fail;
  if (h->failure == NULL && rec->state <= NL_HOST_REBOOTING && !reboot (h, &a, error))
    goto fail;
  if (h->failure == NULL && rec->state == NL_HOST_VERIFYING && !verify (h, &a, error))
    goto fail;
  /* resume.ps1 brings back whatever the drain did, also after a failure. */
  if (!restore (h, &a, error))
    goto fail;
out:
  hosts_agent_close (&a);
  rec->finished = hosts_now_s ();
  if (!hosts_host_state (h, h->failure ? NL_HOST_FAILED : NL_HOST_DONE, error))
    return FALSE;
  run_progress (h->run, "host %s: %s", h->host->name, h->failure ? "failed" : "done");
  return TRUE;
fail:
  hosts_agent_close (&a);
  return FALSE;
}
