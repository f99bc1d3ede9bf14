/* Connections and the single conversion from libvirt errors to GError. */
#include <stdlib.h>
#include <string.h>

#include <nestlab/error.h>
#include "virt-private.h"


static void
quiet_error_handler (void *data, virErrorPtr err)
{
  (void) data;
  (void) err;
}

void
nl_virt_init (void)
{
  static gsize done = 0;
  if (g_once_init_enter (&done))
    {
      virInitialize ();
      virSetErrorFunc (NULL, quiet_error_handler);
      g_once_init_leave (&done, 1);
    }
}

static int
code_for (const virError *err)
{
  if (err == NULL)
    return NL_ERROR_LIBVIRT;
  switch (err->code)
    {
    case VIR_ERR_NO_DOMAIN:
    case VIR_ERR_NO_NETWORK:
    case VIR_ERR_NO_STORAGE_POOL:
    case VIR_ERR_NO_STORAGE_VOL:
    case VIR_ERR_NO_DOMAIN_SNAPSHOT:
    case VIR_ERR_NO_DOMAIN_METADATA:
    case VIR_ERR_NO_DOMAIN_CHECKPOINT:
      return NL_ERROR_NOT_FOUND;
    case VIR_ERR_NO_SUPPORT:
    case VIR_ERR_OPERATION_UNSUPPORTED:
    case VIR_ERR_ARGUMENT_UNSUPPORTED:
      return NL_ERROR_UNSUPPORTED;
    case VIR_ERR_SYSTEM_ERROR:
    case VIR_ERR_RPC:
    case VIR_ERR_NO_CONNECT:
    case VIR_ERR_INVALID_CONN:
      return NL_ERROR_FAILED;
    default:
      return NL_ERROR_LIBVIRT;
    }
}

/* libvirt's last error, copied by nl_virt_set_error before its arguments
 * are evaluated: virDomainGetName() and every other public call reset it. */
static _Thread_local virErrorPtr saved_error;

void
nl_virt_save_error (void)
{
  if (saved_error != NULL)
    virFreeError (saved_error);
  saved_error = virSaveLastError ();
}

void
nl_virt_set_error_saved (GError **error, const char *format, ...)
{
  virErrorPtr err = saved_error;
  g_autofree char *context = NULL;
  va_list ap;

  saved_error = NULL;
  if (err == NULL || err->code == VIR_ERR_OK)
    {
      /* Not through the macro, or nothing saved: the error as it is now. */
      if (err != NULL)
        virFreeError (err);
      err = virSaveLastError ();
    }
  va_start (ap, format);
  context = g_strdup_vprintf (format, ap);
  va_end (ap);
  if (err != NULL && err->code != VIR_ERR_OK)
    g_set_error (error, NL_ERROR, code_for (err), "%s: %s", context,
                 err->message ? err->message : "libvirt gave no message");
  else
    g_set_error (error, NL_ERROR, NL_ERROR_LIBVIRT, "%s: libvirt reported no error", context);
  if (err != NULL)
    virFreeError (err);
  virResetLastError ();
}

gboolean
nl_virt_last_error_is_not_found (void)
{
  virErrorPtr err = virGetLastError ();
  return err != NULL && code_for (err) == NL_ERROR_NOT_FOUND;
}

virConnectPtr
nl_virt_connect (const char *uri, GError **error)
{
  virConnectPtr conn;

  nl_virt_init ();
  conn = virConnectOpen (uri);
  if (conn == NULL)
    {
      nl_virt_set_error (error, "cannot connect to libvirt at '%s'",
                         uri ? uri : "(default URI)");
      return NULL;
    }
  g_debug ("connected to %s", uri ? uri : "(default)");
  return conn;
}

gboolean
nl_virt_is_test_driver (virConnectPtr conn)
{
  g_autofree char *uri = virConnectGetURI (conn);
  return uri != NULL && g_str_has_prefix (uri, "test:");
}

void
nl_virt_disconnect (NlVirtConn *conn)
{
  if (conn != NULL)
    virConnectClose (conn);
}

void
nl_virt_domain_unref (NlVirtDomain *dom)
{
  if (dom != NULL)
    virDomainFree (dom);
}

void
nl_virt_network_unref (NlVirtNetwork *net)
{
  if (net != NULL)
    virNetworkFree (net);
}

void
nl_virt_pool_unref (NlVirtPool *pool)
{
  if (pool != NULL)
    virStoragePoolFree (pool);
}

void
nl_virt_volume_unref (NlVirtVolume *vol)
{
  if (vol != NULL)
    virStorageVolFree (vol);
}

void
nl_virt_snapshot_unref (NlVirtSnapshot *snap)
{
  if (snap != NULL)
    virDomainSnapshotFree (snap);
}

gboolean
nl_virt_connection_alive (virConnectPtr conn)
{
  unsigned long version = 0;
  /* A dropped socket is noticed on the next call, so one cheap call is
   * made when libvirt still thinks it open. */
  gboolean alive = conn != NULL && virConnectIsAlive (conn) == 1 && virConnectGetVersion (conn, &version) == 0
                   && virConnectIsAlive (conn) == 1;
  virResetLastError ();
  return alive;
}

char *
nl_virt_uri (virConnectPtr conn, GError **error)
{
  char *uri = virConnectGetURI (conn);
  char *copy;

  if (uri == NULL)
    {
      nl_virt_set_error (error, "reading the connection URI");
      return NULL;
    }
  copy = g_strdup (uri);
  free (uri);
  return copy;
}
