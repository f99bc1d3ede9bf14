/* The virt layer: the only code that calls libvirt. Connections, libvirt
 * errors turned into GError, and cleanup functions for libvirt's types. */
#pragma once

#include <glib.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

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
void nl_virt_set_error (GError **error, const char *format, ...) G_GNUC_PRINTF (2, 3);

/* TRUE when the last libvirt error says the object does not exist. */
gboolean nl_virt_last_error_is_not_found (void);

/* TRUE for the embedded test driver (test:///...). */
gboolean nl_virt_is_test_driver (virConnectPtr conn);

G_END_DECLS
