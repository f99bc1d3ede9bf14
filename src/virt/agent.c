/* Guest commands through the QEMU guest agent (libvirt-qemu's
 * virDomainQemuAgentCommand): ping, guest-exec with an argv list and
 * captured output, exit status polling, OS detection and reboots. The
 * agent speaks JSON, read with nestlab's small strict parser
 * (nestlab/json.h). */
#include <string.h>

#include <libvirt/libvirt-qemu.h>

#include <nestlab/agent.h>
#include <nestlab/error.h>
#include <nestlab/json.h>
#include "virt-private.h"

/* ------------------------------------------------------------------ */
/* Commands                                                             */

/* Runs COMMAND; the "return" member of the reply in *RESULT (the whole
 * reply is kept alive in *REPLY). */
static gboolean
agent_command (virDomainPtr dom, const char *command, int timeout, NlJson **reply,
               const NlJson **result, GError **error)
{
  g_autofree char *text = NULL;
  g_autoptr (NlJson) j = NULL;

  text = virDomainQemuAgentCommand (dom, command, timeout, 0);
  if (text == NULL)
    {
      const char *msg = virGetLastErrorMessage ();
      /* guest-exec-status for a pid the agent no longer knows. */
      gboolean unknown_pid = msg && strstr (msg, "guest-exec-status") && strstr (msg, "pid");
      nl_virt_set_error (error, "guest agent of '%s'", virDomainGetName (dom));
      if (unknown_pid && error && *error)
        (*error)->code = NL_ERROR_NOT_FOUND;
      return FALSE;
    }
  j = nl_json_parse (text);
  if (j == NULL || nl_json_get (j, "return") == NULL)
    {
      g_set_error (error, NL_ERROR, NL_ERROR_FAILED, "guest agent of '%s': unexpected reply",
                   virDomainGetName (dom));
      return FALSE;
    }
  *result = nl_json_get (j, "return");
  *reply = g_steal_pointer (&j);
  return TRUE;
}

gboolean
nl_agent_ping (virDomainPtr dom, guint timeout, GError **error)
{
  g_autoptr (NlJson) reply = NULL;
  const NlJson *ret;
  return agent_command (dom, "{\"execute\":\"guest-ping\"}", MAX (timeout, 1), &reply, &ret, error);
}

gboolean
nl_agent_wait (virDomainPtr dom, guint timeout, guint poll_ms, GError **error)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout * G_USEC_PER_SEC;
  g_autoptr (GError) last = NULL;

  do
    {
      g_clear_error (&last);
      if (nl_agent_ping (dom, 2, &last))
        return TRUE;
      /* Neither will an agent the domain has no channel for, or a driver
       * without agents (the test driver). */
      if (g_error_matches (last, NL_ERROR, NL_ERROR_UNSUPPORTED))
        {
          g_set_error (error, NL_ERROR, NL_ERROR_FAILED, "the guest agent of '%s' cannot answer (%s)",
                       virDomainGetName (dom), last->message);
          return FALSE;
        }
      /* A lost connection will not come back by waiting on it. */
      if (virConnectIsAlive (virDomainGetConnect (dom)) != 1)
        {
          virResetLastError ();
          g_propagate_error (error, g_steal_pointer (&last));
          return FALSE;
        }
      g_usleep ((gulong) poll_ms * 1000);
    }
  while (g_get_monotonic_time () < deadline);
  g_set_error (error, NL_ERROR, NL_ERROR_FAILED, "the guest agent of '%s' did not answer within %us (%s)",
               virDomainGetName (dom), timeout, last ? last->message : "no reply");
  return FALSE;
}

gboolean
nl_agent_exec_start (virDomainPtr dom, const char *const *argv, gint64 *pid, GError **error)
{
  g_autoptr (GString) cmd = g_string_new ("{\"execute\":\"guest-exec\",\"arguments\":{\"path\":");
  g_autoptr (NlJson) reply = NULL;
  const NlJson *ret, *p;

  g_return_val_if_fail (argv != NULL && argv[0] != NULL, FALSE);
  nl_json_append_string (cmd, argv[0]);
  g_string_append (cmd, ",\"arg\":[");
  for (guint i = 1; argv[i]; i++)
    {
      if (i > 1)
        g_string_append_c (cmd, ',');
      nl_json_append_string (cmd, argv[i]);
    }
  g_string_append (cmd, "],\"capture-output\":true}}");
  if (!agent_command (dom, cmd->str, 30, &reply, &ret, error))
    {
      g_prefix_error (error, "starting %s: ", argv[0]);
      return FALSE;
    }
  p = nl_json_get (ret, "pid");
  if (p == NULL || p->type != NL_JSON_NUMBER)
    {
      g_set_error (error, NL_ERROR, NL_ERROR_FAILED, "guest-exec in '%s' returned no pid",
                   virDomainGetName (dom));
      return FALSE;
    }
  *pid = (gint64) p->num;
  g_debug ("%s: started %s as pid %" G_GINT64_FORMAT, virDomainGetName (dom), argv[0], *pid);
  return TRUE;
}

static void
append_base64 (GString *out, const NlJson *data)
{
  gsize len = 0;
  g_autofree guchar *raw = NULL;
  if (data == NULL || data->type != NL_JSON_STRING)
    return;
  raw = g_base64_decode (data->str, &len);
  g_string_append_len (out, (const char *) raw, len);
}

gboolean
nl_agent_exec_status (virDomainPtr dom, gint64 pid, gboolean *exited, int *status,
                      char **output, GError **error)
{
  g_autofree char *cmd = g_strdup_printf ("{\"execute\":\"guest-exec-status\",\"arguments\":{\"pid\":%"
                                          G_GINT64_FORMAT "}}", pid);
  g_autoptr (NlJson) reply = NULL;
  const NlJson *ret, *e;

  if (!agent_command (dom, cmd, 10, &reply, &ret, error))
    return FALSE;
  e = nl_json_get (ret, "exited");
  *exited = e != NULL && e->type == NL_JSON_BOOL && e->b;
  if (!*exited)
    return TRUE;
  if ((e = nl_json_get (ret, "exitcode")) != NULL && e->type == NL_JSON_NUMBER)
    *status = (int) e->num;
  else if ((e = nl_json_get (ret, "signal")) != NULL && e->type == NL_JSON_NUMBER)
    *status = 128 + (int) e->num;
  else
    *status = -1;
  if (output != NULL)
    {
      GString *out = g_string_new (NULL);
      append_base64 (out, nl_json_get (ret, "out-data"));
      append_base64 (out, nl_json_get (ret, "err-data"));
      *output = g_string_free (out, FALSE);
    }
  return TRUE;
}

gboolean
nl_agent_exec_wait (virDomainPtr dom, gint64 pid, guint timeout, guint poll_ms,
                    int *status, char **output, GError **error)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout * G_USEC_PER_SEC;
  guint wait_ms = MIN (poll_ms, 50);

  for (;;)
    {
      gboolean exited = FALSE;
      if (!nl_agent_exec_status (dom, pid, &exited, status, output, error))
        return FALSE;
      if (exited)
        return TRUE;
      if (g_get_monotonic_time () >= deadline)
        break;
      /* Quick commands answer at once; back off to POLL_MS. */
      g_usleep ((gulong) wait_ms * 1000);
      wait_ms = MIN (wait_ms * 2, poll_ms);
    }
  g_set_error (error, NL_ERROR, NL_ERROR_FAILED, "process %" G_GINT64_FORMAT " in '%s' still runs after %us",
               pid, virDomainGetName (dom), timeout);
  return FALSE;
}

gboolean
nl_agent_os_family (virDomainPtr dom, NlOsFamily *os, GError **error)
{
  g_autoptr (NlJson) reply = NULL;
  g_autoptr (GError) local = NULL;
  const NlJson *ret, *id;

  *os = NL_OS_FAMILY_LINUX;
  if (!agent_command (dom, "{\"execute\":\"guest-get-osinfo\"}", 10, &reply, &ret, &local))
    {
      /* Old or minimal agents lack it; the ping already proved the agent. */
      g_debug ("%s: guest-get-osinfo: %s", virDomainGetName (dom), local->message);
      return TRUE;
    }
  id = nl_json_get (ret, "id");
  if (id != NULL && id->type == NL_JSON_STRING && g_str_equal (id->str, "mswindows"))
    *os = NL_OS_FAMILY_WINDOWS;
  return TRUE;
}

gboolean
nl_agent_reboot (virDomainPtr dom, guint timeout, guint poll_ms, GError **error)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout * G_USEC_PER_SEC;
  gboolean went_away = FALSE;

  /* ACPI first (libvirt restarts the guest after it powers off); the
   * agent's own reboot when the guest ignores the button. */
  if (virDomainReboot (dom, VIR_DOMAIN_REBOOT_ACPI_POWER_BTN) < 0)
    {
      virResetLastError ();
      if (virDomainReboot (dom, VIR_DOMAIN_REBOOT_GUEST_AGENT) < 0)
        {
          nl_virt_set_error (error, "rebooting '%s'", virDomainGetName (dom));
          return FALSE;
        }
    }
  while (g_get_monotonic_time () < deadline)
    {
      gboolean up = nl_agent_ping (dom, 2, NULL);
      virResetLastError ();
      if (!up)
        went_away = TRUE;
      else if (went_away)
        return TRUE;
      g_usleep ((gulong) poll_ms * 1000);
    }
  g_set_error (error, NL_ERROR, NL_ERROR_FAILED, "'%s' did not %s within %us", virDomainGetName (dom),
               went_away ? "come back after its reboot" : "reboot", timeout);
  return FALSE;
}

/* guest-file-write takes base64 in JSON: chunks of this many bytes keep
 * each command well under the agent's message limit. */
#define FILE_CHUNK (48 * 1024)

gboolean
nl_agent_file_write (virDomainPtr dom, const char *path, const void *data, gsize len, GError **error)
{
  g_autoptr (GString) cmd = g_string_new ("{\"execute\":\"guest-file-open\",\"arguments\":{\"path\":");
  g_autoptr (NlJson) reply = NULL;
  const NlJson *ret;
  gint64 handle;
  gboolean ok = TRUE;

  nl_json_append_string (cmd, path);
  g_string_append (cmd, ",\"mode\":\"wb\"}}");
  if (!agent_command (dom, cmd->str, 30, &reply, &ret, error))
    {
      g_prefix_error (error, "opening %s: ", path);
      return FALSE;
    }
  if (ret->type != NL_JSON_NUMBER)
    {
      g_set_error (error, NL_ERROR, NL_ERROR_FAILED, "guest agent of '%s': opening %s: no handle",
                   virDomainGetName (dom), path);
      return FALSE;
    }
  handle = (gint64) ret->num;
  for (gsize off = 0; ok && (off < len || (off == 0 && len == 0)); off += FILE_CHUNK)
    {
      gsize n = MIN (FILE_CHUNK, len - off);
      g_autofree char *b64 = g_base64_encode ((const guchar *) data + off, n);
      g_autofree char *write = g_strdup_printf ("{\"execute\":\"guest-file-write\",\"arguments\":"
                                                "{\"handle\":%" G_GINT64_FORMAT ",\"buf-b64\":\"%s\"}}",
                                                handle, b64);
      g_autoptr (NlJson) wreply = NULL;
      const NlJson *wret;
      ok = agent_command (dom, write, 60, &wreply, &wret, error);
      if (!ok)
        g_prefix_error (error, "writing %s: ", path);
      if (len == 0)
        break;
    }
  {
    g_autofree char *close = g_strdup_printf ("{\"execute\":\"guest-file-close\",\"arguments\":"
                                              "{\"handle\":%" G_GINT64_FORMAT "}}", handle);
    g_autoptr (NlJson) creply = NULL;
    const NlJson *cret;
    if (!agent_command (dom, close, 30, &creply, &cret, ok ? error : NULL) && ok)
      {
        g_prefix_error (error, "closing %s: ", path);
        ok = FALSE;
      }
  }
  return ok;
}
