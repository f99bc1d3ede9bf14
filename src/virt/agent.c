/* Guest commands through the QEMU guest agent (libvirt-qemu's
 * virDomainQemuAgentCommand): ping, guest-exec with an argv list and
 * captured output, exit status polling, OS detection and reboots. The
 * agent speaks JSON; the few replies we read are parsed by a small strict
 * parser here, so the build needs no JSON library. */
#include <string.h>

#include <libvirt/libvirt-qemu.h>

#include <nestlab/agent.h>
#include <nestlab/error.h>
#include <nestlab/json.h>
#include "virt-private.h"

/* ------------------------------------------------------------------ */
/* A minimal JSON reader                                                */

typedef enum { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ } JType;

typedef struct Json Json;
struct Json {
  JType type;
  gboolean b;
  double num;
  char *str;          /* J_STR; the key for object members */
  char *key;
  GPtrArray *items;   /* J_ARR, J_OBJ: of Json* */
};

static void
json_free (Json *j)
{
  if (j == NULL)
    return;
  g_free (j->str);
  g_free (j->key);
  if (j->items)
    g_ptr_array_unref (j->items);
  g_free (j);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Json, json_free)

typedef struct {
  const char *p;
  int depth;
} JParser;

static void
skip_ws (JParser *jp)
{
  while (*jp->p == ' ' || *jp->p == '\t' || *jp->p == '\n' || *jp->p == '\r')
    jp->p++;
}

static Json *parse_value (JParser *jp);

static char *
parse_string (JParser *jp)
{
  GString *s = g_string_new (NULL);
  if (*jp->p != '"')
    goto bad;
  jp->p++;
  while (*jp->p && *jp->p != '"')
    {
      char c = *jp->p++;
      if (c != '\\')
        {
          g_string_append_c (s, c);
          continue;
        }
      c = *jp->p++;
      switch (c)
        {
        case '"': case '\\': case '/': g_string_append_c (s, c); break;
        case 'b': g_string_append_c (s, '\b'); break;
        case 'f': g_string_append_c (s, '\f'); break;
        case 'n': g_string_append_c (s, '\n'); break;
        case 'r': g_string_append_c (s, '\r'); break;
        case 't': g_string_append_c (s, '\t'); break;
        case 'u':
          {
            char hex[5] = { 0 };
            gunichar u;
            for (int i = 0; i < 4; i++)
              {
                if (!g_ascii_isxdigit (jp->p[i]))
                  goto bad;
                hex[i] = jp->p[i];
              }
            jp->p += 4;
            u = (gunichar) g_ascii_strtoull (hex, NULL, 16);
            /* Surrogate pairs are not needed for what we read. */
            g_string_append_unichar (s, g_unichar_validate (u) ? u : 0xFFFD);
            break;
          }
        default:
          goto bad;
        }
    }
  if (*jp->p != '"')
    goto bad;
  jp->p++;
  return g_string_free (s, FALSE);
bad:
  g_string_free (s, TRUE);
  return NULL;
}

static Json *
parse_value (JParser *jp)
{
  g_autoptr (Json) j = g_new0 (Json, 1);

  if (++jp->depth > 64)
    return NULL;
  skip_ws (jp);
  if (*jp->p == '{' || *jp->p == '[')
    {
      gboolean obj = *jp->p == '{';
      char close = obj ? '}' : ']';
      j->type = obj ? J_OBJ : J_ARR;
      j->items = g_ptr_array_new_with_free_func ((GDestroyNotify) json_free);
      jp->p++;
      skip_ws (jp);
      if (*jp->p == close)
        jp->p++;
      else
        for (;;)
          {
            g_autofree char *key = NULL;
            Json *item;
            skip_ws (jp);
            if (obj)
              {
                key = parse_string (jp);
                skip_ws (jp);
                if (key == NULL || *jp->p != ':')
                  return NULL;
                jp->p++;
              }
            item = parse_value (jp);
            if (item == NULL)
              return NULL;
            item->key = g_steal_pointer (&key);
            g_ptr_array_add (j->items, item);
            skip_ws (jp);
            if (*jp->p == ',')
              {
                jp->p++;
                continue;
              }
            if (*jp->p != close)
              return NULL;
            jp->p++;
            break;
          }
    }
  else if (*jp->p == '"')
    {
      j->type = J_STR;
      j->str = parse_string (jp);
      if (j->str == NULL)
        return NULL;
    }
  else if (g_str_has_prefix (jp->p, "true") || g_str_has_prefix (jp->p, "false"))
    {
      j->type = J_BOOL;
      j->b = *jp->p == 't';
      jp->p += j->b ? 4 : 5;
    }
  else if (g_str_has_prefix (jp->p, "null"))
    {
      j->type = J_NULL;
      jp->p += 4;
    }
  else
    {
      char *end = NULL;
      j->type = J_NUM;
      j->num = g_ascii_strtod (jp->p, &end);
      if (end == jp->p)
        return NULL;
      jp->p = end;
    }
  jp->depth--;
  return g_steal_pointer (&j);
}

static Json *
json_parse (const char *text)
{
  JParser jp = { text, 0 };
  Json *j = parse_value (&jp);
  skip_ws (&jp);
  if (j != NULL && *jp.p != '\0')
    {
      json_free (j);
      return NULL;
    }
  return j;
}

static const Json *
json_get (const Json *j, const char *key)
{
  if (j == NULL || j->type != J_OBJ)
    return NULL;
  for (guint i = 0; i < j->items->len; i++)
    {
      const Json *m = j->items->pdata[i];
      if (g_strcmp0 (m->key, key) == 0)
        return m;
    }
  return NULL;
}

/* ------------------------------------------------------------------ */
/* Commands                                                             */

/* Runs COMMAND; the "return" member of the reply in *RESULT (the whole
 * reply is kept alive in *REPLY). */
static gboolean
agent_command (virDomainPtr dom, const char *command, int timeout, Json **reply,
               const Json **result, GError **error)
{
  g_autofree char *text = NULL;
  g_autoptr (Json) j = NULL;

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
  j = json_parse (text);
  if (j == NULL || json_get (j, "return") == NULL)
    {
      g_set_error (error, NL_ERROR, NL_ERROR_FAILED, "guest agent of '%s': unexpected reply",
                   virDomainGetName (dom));
      return FALSE;
    }
  *result = json_get (j, "return");
  *reply = g_steal_pointer (&j);
  return TRUE;
}

gboolean
nl_agent_ping (virDomainPtr dom, guint timeout, GError **error)
{
  g_autoptr (Json) reply = NULL;
  const Json *ret;
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
  g_autoptr (Json) reply = NULL;
  const Json *ret, *p;

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
  p = json_get (ret, "pid");
  if (p == NULL || p->type != J_NUM)
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
append_base64 (GString *out, const Json *data)
{
  gsize len = 0;
  g_autofree guchar *raw = NULL;
  if (data == NULL || data->type != J_STR)
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
  g_autoptr (Json) reply = NULL;
  const Json *ret, *e;

  if (!agent_command (dom, cmd, 10, &reply, &ret, error))
    return FALSE;
  e = json_get (ret, "exited");
  *exited = e != NULL && e->type == J_BOOL && e->b;
  if (!*exited)
    return TRUE;
  if ((e = json_get (ret, "exitcode")) != NULL && e->type == J_NUM)
    *status = (int) e->num;
  else if ((e = json_get (ret, "signal")) != NULL && e->type == J_NUM)
    *status = 128 + (int) e->num;
  else
    *status = -1;
  if (output != NULL)
    {
      GString *out = g_string_new (NULL);
      append_base64 (out, json_get (ret, "out-data"));
      append_base64 (out, json_get (ret, "err-data"));
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
  g_autoptr (Json) reply = NULL;
  g_autoptr (GError) local = NULL;
  const Json *ret, *id;

  *os = NL_OS_FAMILY_LINUX;
  if (!agent_command (dom, "{\"execute\":\"guest-get-osinfo\"}", 10, &reply, &ret, &local))
    {
      /* Old or minimal agents lack it; the ping already proved the agent. */
      g_debug ("%s: guest-get-osinfo: %s", virDomainGetName (dom), local->message);
      return TRUE;
    }
  id = json_get (ret, "id");
  if (id != NULL && id->type == J_STR && g_str_equal (id->str, "mswindows"))
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
  g_autoptr (Json) reply = NULL;
  const Json *ret;
  gint64 handle;
  gboolean ok = TRUE;

  nl_json_append_string (cmd, path);
  g_string_append (cmd, ",\"mode\":\"wb\"}}");
  if (!agent_command (dom, cmd->str, 30, &reply, &ret, error))
    {
      g_prefix_error (error, "opening %s: ", path);
      return FALSE;
    }
  if (ret->type != J_NUM)
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
      g_autoptr (Json) wreply = NULL;
      const Json *wret;
      ok = agent_command (dom, write, 60, &wreply, &wret, error);
      if (!ok)
        g_prefix_error (error, "writing %s: ", path);
      if (len == 0)
        break;
    }
  {
    g_autofree char *close = g_strdup_printf ("{\"execute\":\"guest-file-close\",\"arguments\":"
                                              "{\"handle\":%" G_GINT64_FORMAT "}}", handle);
    g_autoptr (Json) creply = NULL;
    const Json *cret;
    if (!agent_command (dom, close, 30, &creply, &cret, ok ? error : NULL) && ok)
      {
        g_prefix_error (error, "closing %s: ", path);
        ok = FALSE;
      }
  }
  return ok;
}
