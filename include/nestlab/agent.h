/* The QEMU guest agent, through the virt layer: ping, commands
 * (guest-exec with an argv list, never a shell string), OS facts, reboot. */
#pragma once

#include <glib.h>
#include <nestlab/virt.h>
#include <nestlab/model.h>

G_BEGIN_DECLS

/* ---- Guest agent (agent.c) ---- */

/* Sends guest-ping; FALSE with ERROR when the agent does not answer within
 * TIMEOUT seconds. */
gboolean nl_agent_ping (NlVirtDomain *dom, guint timeout, GError **error);
/* Pings every POLL_MS until the agent answers, for at most TIMEOUT seconds. */
gboolean nl_agent_wait (NlVirtDomain *dom, guint timeout, guint poll_ms, GError **error);
/* Starts ARGV (argv[0] the program's path) with its output captured;
 * *PID is the guest's process id. */
gboolean nl_agent_exec_start (NlVirtDomain *dom, const char *const *argv, gint64 *pid,
                              GError **error);
/* One guest-exec-status: *EXITED, and when exited its *STATUS (the exit
 * code, or 128 + signal) and OUTPUT (stdout then stderr, newly allocated;
 * OUTPUT may be NULL). NL_ERROR_NOT_FOUND when the agent does not know PID
 * (the guest rebooted, or its status was already collected). */
gboolean nl_agent_exec_status (NlVirtDomain *dom, gint64 pid, gboolean *exited, int *status,
                               char **output, GError **error);
/* Polls nl_agent_exec_status every POLL_MS for at most TIMEOUT seconds;
 * NL_ERROR_FAILED when PID is still running then. */
gboolean nl_agent_exec_wait (NlVirtDomain *dom, gint64 pid, guint timeout, guint poll_ms,
                             int *status, char **output, GError **error);
/* The guest's OS family from guest-get-osinfo (Linux when it cannot say). */
gboolean nl_agent_os_family (NlVirtDomain *dom, NlOsFamily *os, GError **error);
/* Asks the guest to reboot (ACPI, then the agent) and waits for its agent
 * to go away and answer again, within TIMEOUT seconds. */
gboolean nl_agent_reboot (NlVirtDomain *dom, guint timeout, guint poll_ms, GError **error);

/* Writes LEN bytes of DATA to PATH in the guest (created or truncated;
 * its folder must exist), through guest-file-open/write/close. */
gboolean nl_agent_file_write (NlVirtDomain *dom, const char *path, const void *data, gsize len,
                              GError **error);

G_END_DECLS
