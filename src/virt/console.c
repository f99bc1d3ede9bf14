/* What a build of a golden image needs beyond the lab's domains: a key
 * pressed on the machine's keyboard (Windows' UEFI boot media wait for one
 * before they start Setup) and why a machine that stopped did so (a
 * guest that shut itself down has finished; one that crashed has not). */
#include <linux/input-event-codes.h>

#include <nestlab/error.h>
#include "virt-private.h"

gboolean
nl_virt_domain_press_space (virDomainPtr dom, GError **error)
{
  unsigned int keys[] = { KEY_SPACE };

  if (virDomainSendKey (dom, VIR_KEYCODE_SET_LINUX, 50, keys, G_N_ELEMENTS (keys), 0) < 0)
    {
      nl_virt_set_error (error, "domain '%s': pressing a key", virDomainGetName (dom));
      return FALSE;
    }
  return TRUE;
}

const char *
nl_virt_domain_shutoff_reason (virDomainPtr dom)
{
  int state = 0, reason = 0;

  if (virDomainGetState (dom, &state, &reason, 0) < 0)
    {
      virResetLastError ();
      return "unknown";
    }
  if (state != VIR_DOMAIN_SHUTOFF)
    return NULL;
  switch (reason)
    {
    case VIR_DOMAIN_SHUTOFF_SHUTDOWN: return "shutdown";
    case VIR_DOMAIN_SHUTOFF_DESTROYED: return "destroyed";
    case VIR_DOMAIN_SHUTOFF_CRASHED: return "crashed";
    case VIR_DOMAIN_SHUTOFF_FAILED: return "failed";
    case VIR_DOMAIN_SHUTOFF_SAVED: return "saved";
    case VIR_DOMAIN_SHUTOFF_MIGRATED: return "migrated";
    case VIR_DOMAIN_SHUTOFF_FROM_SNAPSHOT: return "from snapshot";
    case VIR_DOMAIN_SHUTOFF_DAEMON: return "daemon";
    default: return "unknown";
    }
}
