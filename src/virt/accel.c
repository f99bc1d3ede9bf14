/* The one decision of how machines run on a libvirt host: KVM or QEMU's
 * software emulation. The facts and the rule are the host module's; this
 * adds what libvirt knows and where the host's files are. */
#include <string.h>

#include <nestlab/error.h>
#include "virt-private.h"

/* A URI whose hypervisor runs on this machine: no server part, or
 * localhost. Its files (/proc, /dev, /etc/libvirt) are the host's. */
static gboolean
uri_is_local (const char *uri, gboolean *session)
{
  g_autoptr (GUri) parsed = g_uri_parse (uri, G_URI_FLAGS_NON_DNS, NULL);
  const char *host;

  *session = parsed != NULL && g_strcmp0 (g_uri_get_path (parsed), "/session") == 0;
  if (parsed == NULL)
    return FALSE;
  host = g_uri_get_host (parsed);
  return host == NULL || host[0] == '\0' || g_str_equal (host, "localhost")
         || g_str_equal (host, "127.0.0.1") || g_str_equal (host, "::1");
}

NlAccel *
nl_virt_accel_decide (virConnectPtr conn, NlAccelMode mode, NlKvmFacts **facts_out,
                      GError **error)
{
  g_autofree char *uri = virConnectGetURI (conn);
  g_autoptr (NlKvmFacts) facts = NULL;
  NlAccel *accel;
  gboolean kvm = FALSE;
  gboolean hw_virt = FALSE;
  gboolean session = FALSE;

  if (facts_out)
    *facts_out = NULL;
  if (nl_virt_is_test_driver (conn))
    {
      accel = g_new0 (NlAccel, 1);
      accel->kvm = mode != NL_ACCEL_EMULATE;
      accel->mode = mode;
      accel->reason = g_strdup (accel->kvm
                                ? "libvirt's test driver runs nothing: machines are defined "
                                  "as for KVM (domain type kvm)"
                                : "--emulate given: machines run under QEMU's software "
                                  "emulation (domain type qemu)");
      return accel;
    }
  if (!nl_virt_host_info (conn, &kvm, &hw_virt, NULL, error))
    return NULL;
  if (uri != NULL && uri_is_local (uri, &session))
    facts = nl_kvm_facts_read ("/", session);
  else
    {
      /* A remote host's files are out of reach: its CPU as libvirt reports
       * it, and /dev/kvm as libvirt's offer of kvm implies. */
      facts = g_new0 (NlKvmFacts, 1);
      facts->cpu_known = TRUE;
      facts->hw_virt = hw_virt;
      facts->cpu_source = g_strdup ("the CPU libvirt reports for the host");
    }
  accel = nl_accel_decide (facts, kvm, mode, error);
  if (accel == NULL)
    return NULL;
  g_debug ("machines on %s: %s", uri ? uri : "(default)", accel->reason);
  if (facts_out)
    *facts_out = g_steal_pointer (&facts);
  return accel;
}
