/* The virt layer: the only code that includes and calls libvirt. Every
 * other module holds libvirt's objects through the opaque handles below
 * and acts on them through these functions; src/virt/virt-private.h is
 * where libvirt itself comes in. */
#pragma once

#include <glib.h>
#include <nestlab/doc.h>
#include <nestlab/host.h>

G_BEGIN_DECLS

/* libvirt's connection, domain, network, storage and snapshot objects,
 * opaque outside src/virt (the same objects libvirt's *Ptr types point to). */
typedef struct _virConnect NlVirtConn;
typedef struct _virDomain NlVirtDomain;
typedef struct _virNetwork NlVirtNetwork;
typedef struct _virStoragePool NlVirtPool;
typedef struct _virStorageVol NlVirtVolume;
typedef struct _virDomainSnapshot NlVirtSnapshot;

void nl_virt_disconnect (NlVirtConn *conn);
void nl_virt_domain_unref (NlVirtDomain *dom);
void nl_virt_network_unref (NlVirtNetwork *net);
void nl_virt_pool_unref (NlVirtPool *pool);
void nl_virt_volume_unref (NlVirtVolume *vol);
void nl_virt_snapshot_unref (NlVirtSnapshot *snap);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NlVirtConn, nl_virt_disconnect)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NlVirtDomain, nl_virt_domain_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NlVirtNetwork, nl_virt_network_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NlVirtPool, nl_virt_pool_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NlVirtVolume, nl_virt_volume_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NlVirtSnapshot, nl_virt_snapshot_unref)

/* Silences libvirt's default error printing; call once at start-up (idempotent). */
void nl_virt_init (void);

/* Opens URI (NULL: libvirt's default, LIBVIRT_DEFAULT_URI). Caller owns it. */
NlVirtConn *nl_virt_connect (const char *uri, GError **error);

/* Whether CONN still reaches libvirtd (one cheap call when libvirt still
 * thinks it open, so a dropped socket is noticed). */
gboolean nl_virt_connection_alive (NlVirtConn *conn);
/* The URI CONN is connected to; new string. */
char *nl_virt_uri (NlVirtConn *conn, GError **error);

/* TRUE for the embedded test driver (test:///...). */
gboolean nl_virt_is_test_driver (NlVirtConn *conn);

/* ---- Ownership marks (own.c) ----
 * Every domain and network nestlab creates carries the lab mark of
 * nestlab/doc.h in its <metadata>. */

/* ---- Internal snapshots (snapshot.c) ----
 * One implementation for lab checkpoints and rollout restore points. WHAT
 * names the snapshot in messages and its description ("checkpoint",
 * "restore point"). */
gboolean nl_virt_snapshot_exists (NlVirtDomain *dom, const char *name, gboolean *exists, GError **error);
/* Takes snapshot NAME of DOM: disks and, when it runs, memory. */
gboolean nl_virt_snapshot_take (NlVirtDomain *dom, const char *name, const char *what, GError **error);
/* Reverts DOM to snapshot NAME (forced where libvirt wants it). With MARK,
 * the definition the snapshot brings back gets MARK first, so the revert
 * keeps the lab mark as it is now. */
gboolean nl_virt_snapshot_revert (NlVirtDomain *dom, const char *name, const char *what,
                                  const NlOwnership *mark, GError **error);
/* Deletes snapshot NAME; no error when it does not exist. */
gboolean nl_virt_snapshot_delete (NlVirtDomain *dom, const char *name, const char *what, GError **error);

/* ---- External checkpoints: nestlab's own overlays (overlay.c) ----
 * For machines libvirt 9.0 cannot snapshot internally: UEFI firmware in
 * pflash, or a raw or shared disk (which stays out of the checkpoint). */

/* Whether DOM needs them (never on the test driver). */
gboolean nl_virt_overlay_needed (NlVirtConn *conn, NlVirtDomain *dom, gboolean *needed, GError **error);
/* Every file checkpoint NAME of DOM may make, before it exists, and the
 * storage pool they go to (*POOL, NULL when its disks are in none): an
 * owner lists them first, so an interrupted checkpoint leaves nothing it
 * cannot find. */
gboolean nl_virt_overlay_files (NlVirtConn *conn, NlVirtDomain *dom, const char *name, GPtrArray *files,
                                char **pool, GError **error);
/* Pauses DOM (when running), copies its NVRAM and TPM state, moves its
 * qcow2 disks onto new overlays and saves its memory (when running and no
 * disk stays out), resumes it. Returns the record (mode "external") and
 * appends every file made to FILES, for the caller to list as owned. */
NlCheckpointRecord *nl_virt_overlay_take (NlVirtConn *conn, NlVirtDomain *dom, const char *name,
                                          GPtrArray *files, GError **error);
/* Powers DOM off and puts it back to REC: overlays recreated empty on their
 * frozen bases, disks pointed at them, NVRAM and TPM state copied back. */
gboolean nl_virt_overlay_rewind (NlVirtConn *conn, NlVirtDomain *dom, const NlCheckpointRecord *rec,
                                 GError **error);
/* Starts DOM after a rewind: from REC's saved memory when there is one
 * (*WITH_MEMORY), else a fresh boot. */
gboolean nl_virt_overlay_resume (NlVirtConn *conn, NlVirtDomain *dom, const NlCheckpointRecord *rec,
                                 gboolean *with_memory, GError **error);
/* Folds REC's overlays back into their bases (an active commit and pivot
 * when DOM runs, qemu-img commit when it is off), points the disks at the
 * bases and removes REC's files. For a checkpoint no longer needed. */
gboolean nl_virt_overlay_merge (NlVirtConn *conn, NlVirtDomain *dom, const NlCheckpointRecord *rec,
                                GError **error);

/* The mark of DOM / NET; *OUT NULL when unmarked. */
gboolean nl_virt_domain_ownership (NlVirtDomain *dom, NlOwnership **out, GError **error);
gboolean nl_virt_network_ownership (NlVirtNetwork *net, NlOwnership **out, GError **error);
/* Replaces DOM's mark with OWN (config, and live when running). */
gboolean nl_virt_domain_set_ownership (NlVirtDomain *dom, const NlOwnership *own, GError **error);
/* Replaces the mark in the definition that reverting to SNAP (a snapshot of
 * DOM) brings back with OWN: a revert then restores the mark as it is now,
 * not as it was when SNAP was taken. Borrows all three. (domain.c) */
gboolean nl_virt_snapshot_set_ownership (NlVirtDomain *dom, NlVirtSnapshot *snap, const NlOwnership *own,
                                         GError **error);

typedef struct {
  NlVirtDomain *dom;
  char *name;
  NlOwnership *own;
} NlOwnedDomain;
typedef struct {
  NlVirtNetwork *net;
  char *name;
  NlOwnership *own;
} NlOwnedNetwork;
void nl_owned_domain_free (NlOwnedDomain *od);
void nl_owned_network_free (NlOwnedNetwork *on);

/* Every domain / network marked as LAB's (any lab's when LAB is NULL).
 * GPtrArray of NlOwnedDomain* / NlOwnedNetwork*, owned by the caller. */
GPtrArray *nl_virt_list_owned_domains (NlVirtConn *conn, const char *lab, GError **error);
GPtrArray *nl_virt_list_owned_networks (NlVirtConn *conn, const char *lab, GError **error);

/* ---- Objects (domain.c, network.c, storage.c) ----
 * Thin wrappers that report libvirt failures as GError with the object's
 * name. Lookups return NULL with NL_ERROR_NOT_FOUND when absent. */
NlVirtDomain *nl_virt_domain_lookup (NlVirtConn *conn, const char *name, GError **error);
NlVirtDomain *nl_virt_domain_define (NlVirtConn *conn, const char *xml, GError **error);
/* Undefines with managed save, snapshot and checkpoint metadata, NVRAM and
 * TPM state; stops it first when running. Drivers that refuse a flag (the
 * test driver: NVRAM, TPM) are retried without it. A domain that is gone
 * by the time it is stopped or undefined counts as removed. */
gboolean nl_virt_domain_remove (NlVirtDomain *dom, GError **error);
/* Starts DOM unless it is active. A start libvirt is still carrying out
 * (for a nestlab that was killed) is waited for, not taken as done: it may
 * yet fail, and then DOM is started here. */
gboolean nl_virt_domain_start (NlVirtDomain *dom, GError **error);
gboolean nl_virt_domain_poweroff (NlVirtDomain *dom, GError **error);
/* Asks the guest to shut down: through its agent when AGENT, else ACPI. */
gboolean nl_virt_domain_shutdown (NlVirtDomain *dom, gboolean agent, GError **error);
gboolean nl_virt_domain_is_active (NlVirtDomain *dom);
/* The domain's state as a word: running, paused, shut off, ... */
const char *nl_virt_domain_state_name (NlVirtDomain *dom);
char *nl_virt_domain_xml (NlVirtDomain *dom, gboolean inactive, GError **error);
const char *nl_virt_domain_name (NlVirtDomain *dom);
/* Takes the medium (volume VOLUME of POOL) out of the running DOM's CD-ROM
 * drive; its definition keeps it. Nothing to do when DOM is not running or
 * has no such medium. */
gboolean nl_virt_domain_eject (NlVirtDomain *dom, const char *pool, const char *volume, GError **error);
/* Presses the space bar on DOM's keyboard (console.c). */
gboolean nl_virt_domain_press_space (NlVirtDomain *dom, GError **error);
/* Why DOM is shut off, as a word ("shutdown": the guest powered itself
 * off; "destroyed", "crashed", "failed", ...), or NULL while it is not
 * shut off. Static. (console.c) */
const char *nl_virt_domain_shutoff_reason (NlVirtDomain *dom);
/* MAC addresses of DOM's NICs, lower case (empty when unreadable). */
GPtrArray *nl_virt_domain_macs (NlVirtDomain *dom);
/* Appends to OUT the IPv4 addresses (not loopback) DOM's guest agent
 * reports; nothing when it does not answer. */
void nl_virt_domain_agent_ipv4 (NlVirtDomain *dom, GPtrArray *out);

/* ---- Hosts (host.c): a libvirt host as a rollout target ---- */
typedef struct {
  char *name;
  gboolean active;          /* running or paused */
  gboolean persistent;
  gboolean managed_save;    /* a managed save image waits for its start */
  gboolean nested;          /* exposes vmx/svm: a hypervisor that may run guests of its own */
} NlVirtGuestInfo;
void nl_virt_guest_info_free (NlVirtGuestInfo *info);
/* The host's UUID as its capabilities say, or "host name NAME" for a
 * driver that has none (newly allocated). */
char *nl_virt_host_uuid (NlVirtConn *conn, GError **error);
/* Every domain of CONN, active or not, by name: NlVirtGuestInfo*. */
GPtrArray *nl_virt_host_guests (NlVirtConn *conn, GError **error);
/* A managed save of DOM (stopped; its next start resumes it). Nothing to
 * do when DOM is already saved. */
gboolean nl_virt_domain_managed_save (NlVirtDomain *dom, GError **error);
gboolean nl_virt_domain_has_managed_save (NlVirtDomain *dom);
/* Live-migrates DOM to DEST, persistent there and undefined here.
 * MIGRATE_URI (may be NULL) is where QEMU sends the memory; UNSAFE lets
 * disks on storage both hosts see, which libvirt cannot recognise as
 * shared, migrate without a copy. */
gboolean nl_virt_domain_migrate (NlVirtDomain *dom, NlVirtConn *dest, const char *migrate_uri,
                                 gboolean unsafe, GError **error);

NlVirtNetwork *nl_virt_network_lookup (NlVirtConn *conn, const char *name, GError **error);
NlVirtNetwork *nl_virt_network_define (NlVirtConn *conn, const char *xml, GError **error);
/* Starts NET unless active and sets autostart. */
gboolean nl_virt_network_start (NlVirtNetwork *net, GError **error);
gboolean nl_virt_network_is_active (NlVirtNetwork *net);
/* Adds NET's DHCP leases to MAC_TO_IP (lower-case MAC -> address). */
void nl_virt_network_leases (NlVirtNetwork *net, GHashTable *mac_to_ip);
/* Stops (if active) and undefines NET. */
gboolean nl_virt_network_remove (NlVirtNetwork *net, GError **error);

NlVirtPool *nl_virt_pool_lookup (NlVirtConn *conn, const char *name, GError **error);
/* Makes pool NAME exist and run: a directory pool at TARGET when missing. */
NlVirtPool *nl_virt_pool_ensure (NlVirtConn *conn, const char *name, const char *target,
                                       GError **error);
/* The pool's target directory (newly allocated). */
char *nl_virt_pool_target (NlVirtPool *pool, GError **error);
gboolean nl_virt_pool_is_active (NlVirtPool *pool);
/* Makes libvirt read the pool's folder again (a file put there by hand). */
gboolean nl_virt_pool_refresh (NlVirtPool *pool, GError **error);
NlVirtVolume *nl_virt_volume_lookup (NlVirtPool *pool, const char *name, GError **error);
NlVirtVolume *nl_virt_volume_lookup_path (NlVirtConn *conn, const char *path, GError **error);
NlVirtVolume *nl_virt_volume_create (NlVirtPool *pool, const char *xml, GError **error);
gboolean nl_virt_volume_delete (NlVirtVolume *vol, GError **error);
/* Writes DATA into VOL from its start (a stream upload: works on remote
 * hosts too). On the test driver, which keeps no volume contents, nothing
 * is written. */
gboolean nl_virt_volume_upload (NlVirtVolume *vol, GBytes *data, GError **error);
/* Deletes every volume OWN lists that exists (refreshing its pool when one
 * is not seen), a volume removed meanwhile counting as deleted. */
gboolean nl_virt_volumes_delete_listed (NlVirtConn *conn, const NlOwnership *own,
                                        GError **error);
/* Path and backing store path (NULL when none) of VOL; new strings. */
gboolean nl_virt_volume_paths (NlVirtVolume *vol, char **path, char **backing, GError **error);

/* Whether the hypervisor offers KVM for x86_64 guests (from capabilities),
 * whether the host CPU it reports carries vmx or svm (each may be NULL),
 * and its vendor (VENDOR may be NULL). */
gboolean nl_virt_host_info (NlVirtConn *conn, gboolean *kvm, gboolean *hw_virt, NlCpuVendor *vendor,
                            GError **error);

/* ---- How machines run (accel.c) ----
 * The one decision of KVM or software emulation for CONN's host, with MODE
 * from --kvm/--emulate (see nestlab/host.h). On a local connection the
 * host's files are read (CPU flags, /dev/kvm as QEMU's user and group); on
 * a remote one libvirt's capabilities stand in for them. The test driver
 * runs nothing and gets KVM. NULL with ERROR when --kvm cannot work or the
 * capabilities cannot be read. Caller owns the result; FACTS, when not NULL,
 * receives the facts (caller owns them; NULL for the test driver). */
NlAccel *nl_virt_accel_decide (NlVirtConn *conn, NlAccelMode mode, NlKvmFacts **facts,
                               GError **error);

G_END_DECLS
