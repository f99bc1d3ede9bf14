/* Patch history of machines, kept in their libvirt metadata (the document
 * is nestlab/doc.h's; src/virt/patches.c). */
#pragma once

#include <glib.h>
#include <nestlab/virt.h>

G_BEGIN_DECLS

/* Appends IDS (installed by run RUN_ID now) to DOM's patch history. */
gboolean nl_virt_patches_record (NlVirtDomain *dom, const char *run_id, const char *const *ids,
                                 GError **error);
/* DOM's patch history, oldest first: a new array of NlPatchRecord*. */
GPtrArray *nl_virt_patches_list (NlVirtDomain *dom, GError **error);

G_END_DECLS
