/* The virt layer's guest-side operations for rollouts: commands through the
 * QEMU guest agent (guest-exec with an argv list, never a shell string),
 * per-machine restore points, disk backups, isolated replicas and the
 * patch history kept in each machine's metadata. Only code in src/virt/
 * calls libvirt. */
#pragma once

#include <glib.h>
#include <libvirt/libvirt.h>
#include <nestlab/model.h>

G_BEGIN_DECLS

/* ---- Guest agent (agent.c) ---- */

/* Sends guest-ping; FALSE with ERROR when the agent does not answer within
 * TIMEOUT seconds. */
gboolean nl_agent_ping (virDomainPtr dom, guint timeout, GError **error);
/* Pings every POLL_MS until the agent answers, for at most TIMEOUT seconds. */
gboolean nl_agent_wait (virDomainPtr dom, guint timeout, guint poll_ms, GError **error);
/* Starts ARGV (argv[0] the program's path) with its output captured;
 * *PID is the guest's process id. */
gboolean nl_agent_exec_start (virDomainPtr dom, const char *const *argv, gint64 *pid,
                              GError **error);
/* One guest-exec-status: *EXITED, and when exited its *STATUS (the exit
 * code, or 128 + signal) and OUTPUT (stdout then stderr, newly allocated;
 * OUTPUT may be NULL). NL_ERROR_NOT_FOUND when the agent does not know PID
 * (the guest rebooted, or its status was already collected). */
gboolean nl_agent_exec_status (virDomainPtr dom, gint64 pid, gboolean *exited, int *status,
                               char **output, GError **error);
/* Polls nl_agent_exec_status every POLL_MS for at most TIMEOUT seconds;
 * NL_ERROR_FAILED when PID is still running then. */
gboolean nl_agent_exec_wait (virDomainPtr dom, gint64 pid, guint timeout, guint poll_ms,
                             int *status, char **output, GError **error);
/* The guest's OS family from guest-get-osinfo (Linux when it cannot say). */
gboolean nl_agent_os_family (virDomainPtr dom, NlOsFamily *os, GError **error);
/* Asks the guest to reboot (ACPI, then the agent) and waits for its agent
 * to go away and answer again, within TIMEOUT seconds. */
gboolean nl_agent_reboot (virDomainPtr dom, guint timeout, guint poll_ms, GError **error);

/* ---- Restore points, backups, replicas (backup.c) ---- */

/* Takes restore point NAME of DOM (with memory when it runs), replacing one
 * of the same name: an internal snapshot where QEMU can take one, else
 * nestlab's own overlays (UEFI firmware, raw or shared disks), recorded in
 * the domain's metadata. Dropping an overlay restore point folds the
 * overlays back into the disks, keeping what happened since. */
gboolean nl_virt_restore_point_take (virDomainPtr dom, const char *name, GError **error);
gboolean nl_virt_restore_point_revert (virDomainPtr dom, const char *name, GError **error);
/* Deletes it; no error when it does not exist. */
gboolean nl_virt_restore_point_drop (virDomainPtr dom, const char *name, GError **error);

/* The name of the replica lab of run RUN_ID: replica domains and their
 * network carry it as their ownership mark. Newly allocated. */
char *nl_virt_replica_lab (const char *run_id);

/* For each domain in DOMAINS (names): backs up its disks into POOL (push
 * backup when it runs, a volume copy when it is shut off), makes linked
 * clones of the backups and defines a copy of it with a new name, UUID and
 * MAC addresses on one isolated network of its own (no host address, no
 * forwarding), marked as the replica lab's, and starts it. REPLICAS gets
 * the replica domain names in the same order. Backups are kept as restore
 * points until nl_virt_replica_discard. */
gboolean nl_virt_replica_create (virConnectPtr conn, const char *run_id, const char *pool,
                                 const GPtrArray *domains, GPtrArray **replicas, GError **error);
/* Every domain marked as LAB's (any lab's when NULL), read from the full
 * domain XML: GPtrArray of NlOwnedDomain*. (virDomainGetMetadata hands the
 * mark back without its namespace on the QEMU driver, so marks are read
 * from the document, where the namespace is kept.) */
GPtrArray *nl_virt_marked_domains (virConnectPtr conn, const char *lab, GError **error);
/* Removes every domain, volume and network of run RUN_ID's replica lab.
 * Idempotent. */
gboolean nl_virt_replica_discard (virConnectPtr conn, const char *run_id, GError **error);

/* ---- Patch history (backup.c) ----
 * <nestlab-patches:patches xmlns:nestlab-patches=NL_PATCHES_NS> in the
 * domain's metadata, beside (not inside) the lab ownership mark:
 *   <patch id="KB1" run="RUN" installed="ISO 8601"/>... */
#define NL_PATCHES_NS "https://nestlab.dev/xmlns/patches/1"
#define NL_PATCHES_PREFIX "nestlab-patches"

/* Appends IDS (installed by run RUN_ID now) to DOM's patch history. */
gboolean nl_virt_patches_record (virDomainPtr dom, const char *run_id, const char *const *ids,
                                 GError **error);
typedef struct {
  char *id;        /* patch id, such as a KB number */
  char *run;       /* the rollout run that installed it */
  char *installed; /* ISO 8601, UTC */
} NlPatchRecord;

void nl_patch_record_free (NlPatchRecord *record);

/* DOM's patch history, oldest first: a new array of NlPatchRecord*. */
GPtrArray *nl_virt_patches_list (virDomainPtr dom, GError **error);

G_END_DECLS
