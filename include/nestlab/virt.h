/* The virt layer: the only code that calls libvirt. Connections, libvirt
 * errors turned into GError, and cleanup functions for libvirt's types. */
#pragma once

#include <glib.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <nestlab/host.h>

G_BEGIN_DECLS

G_DEFINE_AUTOPTR_CLEANUP_FUNC (virConnect, virConnectClose)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (virDomain, virDomainFree)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (virNetwork, virNetworkFree)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (virStoragePool, virStoragePoolFree)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (virStorageVol, virStorageVolFree)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (virDomainSnapshot, virDomainSnapshotFree)

/* Silences libvirt's default error printing; call once at start-up (idempotent). */
void nl_virt_init (void);

/* Opens URI (NULL: libvirt's default, LIBVIRT_DEFAULT_URI). Caller owns it. */
virConnectPtr nl_virt_connect (const char *uri, GError **error);

/* Sets ERROR from libvirt's last error, prefixed with the printf-style
 * context ("defining domain 'x'"), and resets libvirt's error. The code is
 * NL_ERROR_NOT_FOUND for libvirt's no-such-object errors, NL_ERROR_UNSUPPORTED
 * for unsupported operations, NL_ERROR_FAILED for a lost connection, else
 * NL_ERROR_LIBVIRT. */
#define nl_virt_set_error(error, ...) \
  (nl_virt_save_error (), nl_virt_set_error_saved ((error), __VA_ARGS__))
/* The two halves of nl_virt_set_error: the comma sequences the copy of
 * libvirt's error before the arguments, which may call libvirt (and so
 * reset its error: virDomainGetName() does). */
void nl_virt_save_error (void);
void nl_virt_set_error_saved (GError **error, const char *format, ...) G_GNUC_PRINTF (2, 3);

/* TRUE when the last libvirt error says the object does not exist. */
gboolean nl_virt_last_error_is_not_found (void);

/* TRUE for the embedded test driver (test:///...). */
gboolean nl_virt_is_test_driver (virConnectPtr conn);

/* ---- Ownership marks (own.c) ----
 * Every domain and network nestlab creates carries <nestlab:lab> in its
 * <metadata>, in the namespace below (the same as render.h's NL_METADATA_NS). */
#define NL_VIRT_METADATA_NS "https://nestlab.dev/xmlns/lab/1"
#define NL_VIRT_METADATA_PREFIX "nestlab"

typedef struct {
  char *pool;
  char *name;
  gboolean shared;  /* a shared disk: every domain that attaches it lists it */
} NlOwnedVolume;

/* A lab-wide checkpoint as one domain records it (<nestlab:checkpoint>). */
typedef struct {
  char *name;
  char *mode;         /* "internal" (libvirt snapshot) or "external" (overlays) */
  char *created;      /* ISO 8601 */
  gboolean running;   /* the machine ran when the checkpoint was taken */
  char **targets;     /* external: disk target devices ("vda") */
  char **disks;       /* external: overlay paths made at checkpoint time, same order */
  char **bases;       /* external: the frozen files they sit on, same order */
  char *nvram_copy;   /* external: path of the NVRAM copy, or NULL */
  char *tpm_copy;     /* external: path of the TPM state copy, or NULL */
  char *memory;       /* external, running: path of the saved memory, or NULL */
} NlCheckpointRecord;

typedef struct {
  char *lab;          /* lab name: the mark itself */
  char *digest;       /* template digest */
  char *config;       /* digest of the object's rendered XML (set by lab/) */
  char *machine;      /* domains only */
  char *role;
  gboolean nested;
  guint wave;
  GPtrArray *volumes;     /* of NlOwnedVolume*: volumes this object owns,
                           * shared disks included (in each domain's mark) */
  GPtrArray *checkpoints; /* of NlCheckpointRecord* */
  char *xml;              /* the element as text, for rewriting */
} NlOwnership;

void nl_owned_volume_free (NlOwnedVolume *vol);
void nl_ownership_free (NlOwnership *own);
void nl_checkpoint_record_free (NlCheckpointRecord *rec);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NlOwnership, nl_ownership_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NlCheckpointRecord, nl_checkpoint_record_free)
/* REC as an element named ELEMENT (no namespace), and back (NULL when the
 * text holds no record). */
char *nl_checkpoint_record_to_xml (const NlCheckpointRecord *rec, const char *element);
NlCheckpointRecord *nl_checkpoint_record_from_xml (const char *xml);

/* ---- External checkpoints: nestlab's own overlays (overlay.c) ----
 * For machines libvirt 9.0 cannot snapshot internally: UEFI firmware in
 * pflash, or a raw or shared disk (which stays out of the checkpoint). */

/* Whether DOM needs them (never on the test driver). */
gboolean nl_virt_overlay_needed (virConnectPtr conn, virDomainPtr dom, gboolean *needed, GError **error);
/* Every file checkpoint NAME of DOM may make, before it exists, and the
 * storage pool they go to (*POOL, NULL when its disks are in none): an
 * owner lists them first, so an interrupted checkpoint leaves nothing it
 * cannot find. */
gboolean nl_virt_overlay_files (virConnectPtr conn, virDomainPtr dom, const char *name, GPtrArray *files,
                                char **pool, GError **error);
/* Pauses DOM (when running), copies its NVRAM and TPM state, moves its
 * qcow2 disks onto new overlays and saves its memory (when running and no
 * disk stays out), resumes it. Returns the record (mode "external") and
 * appends every file made to FILES, for the caller to list as owned. */
NlCheckpointRecord *nl_virt_overlay_take (virConnectPtr conn, virDomainPtr dom, const char *name,
                                          GPtrArray *files, GError **error);
/* Powers DOM off and puts it back to REC: overlays recreated empty on their
 * frozen bases, disks pointed at them, NVRAM and TPM state copied back. */
gboolean nl_virt_overlay_rewind (virConnectPtr conn, virDomainPtr dom, const NlCheckpointRecord *rec,
                                 GError **error);
/* Starts DOM after a rewind: from REC's saved memory when there is one
 * (*WITH_MEMORY), else a fresh boot. */
gboolean nl_virt_overlay_resume (virConnectPtr conn, virDomainPtr dom, const NlCheckpointRecord *rec,
                                 gboolean *with_memory, GError **error);
/* Folds REC's overlays back into their bases (an active commit and pivot
 * when DOM runs, qemu-img commit when it is off), points the disks at the
 * bases and removes REC's files. For a checkpoint no longer needed. */
gboolean nl_virt_overlay_merge (virConnectPtr conn, virDomainPtr dom, const NlCheckpointRecord *rec,
                                GError **error);

/* Finds the mark in XML: either the <nestlab:lab> element itself or a
 * <domain>/<network> document holding it in <metadata>. *OUT is NULL (and
 * TRUE returned) when there is no mark. FALSE only when XML does not parse. */
gboolean nl_ownership_parse (const char *xml, NlOwnership **out, GError **error);
/* Whether OWN is a mark of LAB (of any lab when LAB is NULL). */
gboolean nl_ownership_is_lab (const NlOwnership *own, const char *lab);
gboolean nl_ownership_lists_volume (const NlOwnership *own, const char *pool, const char *name);
const NlCheckpointRecord *nl_ownership_find_checkpoint (const NlOwnership *own, const char *name);
/* The element text of OWN with one change, keeping everything else; new strings. */
char *nl_ownership_with_volume (const NlOwnership *own, const char *pool, const char *name, GError **error);
/* OWN with every file of FILES (paths) listed as a volume of POOL, by its
 * base name: a new ownership. */
NlOwnership *nl_ownership_with_files (const NlOwnership *own, const char *pool, GPtrArray *files,
                                      GError **error);
char *nl_ownership_with_checkpoint (const NlOwnership *own, const NlCheckpointRecord *rec, GError **error);
char *nl_ownership_without_checkpoint (const NlOwnership *own, const char *name, GError **error);

/* The mark of DOM / NET; *OUT NULL when unmarked. */
gboolean nl_virt_domain_ownership (virDomainPtr dom, NlOwnership **out, GError **error);
gboolean nl_virt_network_ownership (virNetworkPtr net, NlOwnership **out, GError **error);
/* Replaces DOM's mark with ELEMENT (config, and live when running). */
gboolean nl_virt_domain_set_ownership (virDomainPtr dom, const char *element, GError **error);
/* Replaces the mark in the definition that reverting to SNAP (a snapshot of
 * DOM) brings back with ELEMENT: a revert then restores the mark as it is
 * now, not as it was when SNAP was taken. Borrows all three. (domain.c) */
gboolean nl_virt_snapshot_set_ownership (virDomainPtr dom, virDomainSnapshotPtr snap, const char *element,
                                         GError **error);

typedef struct {
  virDomainPtr dom;
  char *name;
  NlOwnership *own;
} NlOwnedDomain;
typedef struct {
  virNetworkPtr net;
  char *name;
  NlOwnership *own;
} NlOwnedNetwork;
void nl_owned_domain_free (NlOwnedDomain *od);
void nl_owned_network_free (NlOwnedNetwork *on);

/* Every domain / network marked as LAB's (any lab's when LAB is NULL).
 * GPtrArray of NlOwnedDomain* / NlOwnedNetwork*, owned by the caller. */
GPtrArray *nl_virt_list_owned_domains (virConnectPtr conn, const char *lab, GError **error);
GPtrArray *nl_virt_list_owned_networks (virConnectPtr conn, const char *lab, GError **error);

/* ---- Objects (domain.c, network.c, storage.c) ----
 * Thin wrappers that report libvirt failures as GError with the object's
 * name. Lookups return NULL with NL_ERROR_NOT_FOUND when absent. */
virDomainPtr nl_virt_domain_lookup (virConnectPtr conn, const char *name, GError **error);
virDomainPtr nl_virt_domain_define (virConnectPtr conn, const char *xml, GError **error);
/* Undefines with managed save, snapshot and checkpoint metadata, NVRAM and
 * TPM state; stops it first when running. Drivers that refuse a flag (the
 * test driver: NVRAM, TPM) are retried without it. A domain that is gone
 * by the time it is stopped or undefined counts as removed. */
gboolean nl_virt_domain_remove (virDomainPtr dom, GError **error);
/* Starts DOM unless it is active. A start libvirt is still carrying out
 * (for a nestlab that was killed) is waited for, not taken as done: it may
 * yet fail, and then DOM is started here. */
gboolean nl_virt_domain_start (virDomainPtr dom, GError **error);
gboolean nl_virt_domain_poweroff (virDomainPtr dom, GError **error);
/* Asks the guest to shut down: through its agent when AGENT, else ACPI. */
gboolean nl_virt_domain_shutdown (virDomainPtr dom, gboolean agent, GError **error);
gboolean nl_virt_domain_is_active (virDomainPtr dom);
/* The domain's state as a word: running, paused, shut off, ... */
const char *nl_virt_domain_state_name (virDomainPtr dom);
char *nl_virt_domain_xml (virDomainPtr dom, gboolean inactive, GError **error);

virNetworkPtr nl_virt_network_lookup (virConnectPtr conn, const char *name, GError **error);
virNetworkPtr nl_virt_network_define (virConnectPtr conn, const char *xml, GError **error);
/* Starts NET unless active and sets autostart. */
gboolean nl_virt_network_start (virNetworkPtr net, GError **error);
/* Stops (if active) and undefines NET. */
gboolean nl_virt_network_remove (virNetworkPtr net, GError **error);

virStoragePoolPtr nl_virt_pool_lookup (virConnectPtr conn, const char *name, GError **error);
/* Makes pool NAME exist and run: a directory pool at TARGET when missing. */
virStoragePoolPtr nl_virt_pool_ensure (virConnectPtr conn, const char *name, const char *target,
                                       GError **error);
/* The pool's target directory (newly allocated). */
char *nl_virt_pool_target (virStoragePoolPtr pool, GError **error);
virStorageVolPtr nl_virt_volume_lookup (virStoragePoolPtr pool, const char *name, GError **error);
virStorageVolPtr nl_virt_volume_create (virStoragePoolPtr pool, const char *xml, GError **error);
gboolean nl_virt_volume_delete (virStorageVolPtr vol, GError **error);
/* Deletes every volume OWN lists that exists (refreshing its pool when one
 * is not seen), a volume removed meanwhile counting as deleted. */
gboolean nl_virt_volumes_delete_listed (virConnectPtr conn, const NlOwnership *own,
                                        GError **error);
/* Path and backing store path (NULL when none) of VOL; new strings. */
gboolean nl_virt_volume_paths (virStorageVolPtr vol, char **path, char **backing, GError **error);

/* Whether the hypervisor offers KVM for x86_64 guests (from capabilities),
 * whether the host CPU it reports carries vmx or svm (each may be NULL),
 * and its vendor ("Intel", "AMD", or NULL; VENDOR may be NULL). */
gboolean nl_virt_host_info (virConnectPtr conn, gboolean *kvm, gboolean *hw_virt, char **vendor,
                            GError **error);

/* ---- How machines run (accel.c) ----
 * The one decision of KVM or software emulation for CONN's host, with MODE
 * from --kvm/--emulate (see nestlab/host.h). On a local connection the
 * host's files are read (CPU flags, /dev/kvm as QEMU's user and group); on
 * a remote one libvirt's capabilities stand in for them. The test driver
 * runs nothing and gets KVM. NULL with ERROR when --kvm cannot work or the
 * capabilities cannot be read. Caller owns the result; FACTS, when not NULL,
 * receives the facts (caller owns them; NULL for the test driver). */
NlAccel *nl_virt_accel_decide (virConnectPtr conn, NlAccelMode mode, NlKvmFacts **facts,
                               GError **error);

G_END_DECLS
