/* Restore points of rollout targets (src/virt/restore.c). */
#pragma once

#include <glib.h>
#include <nestlab/virt.h>

G_BEGIN_DECLS

/* Takes restore point NAME of DOM (with memory when it runs), replacing one
 * of the same name: an internal snapshot where QEMU can take one, else
 * nestlab's own overlays (UEFI firmware, raw or shared disks), recorded in
 * the domain's metadata. Dropping an overlay restore point folds the
 * overlays back into the disks, keeping what happened since. */
gboolean nl_virt_restore_point_take (NlVirtDomain *dom, const char *name, GError **error);
gboolean nl_virt_restore_point_revert (NlVirtDomain *dom, const char *name, GError **error);
/* Deletes it; no error when it does not exist. */
gboolean nl_virt_restore_point_drop (NlVirtDomain *dom, const char *name, GError **error);

G_END_DECLS
