/* Private to the virt layer: libvirt itself, cleanup functions for its
 * types, and libvirt errors turned into GError. */
#pragma once

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <nestlab/virt.h>

G_BEGIN_DECLS

G_DEFINE_AUTOPTR_CLEANUP_FUNC (virConnect, virConnectClose)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (virDomain, virDomainFree)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (virNetwork, virNetworkFree)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (virStoragePool, virStoragePoolFree)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (virStorageVol, virStorageVolFree)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (virDomainSnapshot, virDomainSnapshotFree)

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

/* The XML of a qcow2 volume NAME: a linked clone of BACKING (a path; its
 * size when CAPACITY is 0), or an empty one of CAPACITY bytes. The one
 * writer of volume XML is the render module's. (storage.c) */
char *nl_virt_volume_xml (const char *name, const char *backing, guint64 capacity, GError **error);

/* The flags that write metadata into DOM's persistent definition and,
 * when it runs, its live one. (patches.c) */
unsigned int nl_virt_metadata_flags (virDomainPtr dom);

G_END_DECLS
