/* Isolated replicas of production machines for rollouts, made from fresh
 * backups (src/virt/replica.c). */
#pragma once

#include <glib.h>
#include <nestlab/virt.h>

G_BEGIN_DECLS

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
gboolean nl_virt_replica_create (NlVirtConn *conn, const char *run_id, const char *pool,
                                 const GPtrArray *domains, GPtrArray **replicas, GError **error);
/* Removes every domain, volume and network of run RUN_ID's replica lab.
 * Idempotent. */
gboolean nl_virt_replica_discard (NlVirtConn *conn, const char *run_id, GError **error);

G_END_DECLS
