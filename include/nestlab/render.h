/* Rendering: the pure translation of an NlLab into libvirt domain, network
 * and storage volume XML, built with libxml2's tree API. No connection. */
#pragma once

#include <glib.h>
#include <libxml/tree.h>
#include <nestlab/model.h>
#include <nestlab/nested.h>

G_BEGIN_DECLS

typedef struct {
  NlCpuVendor vendor;   /* host CPU vendor (evmcs only on Intel) */
  gboolean emulate;     /* domain type qemu and CPU mode maximum */
  const char *salt;     /* UUID/MAC salt for copies (replicas); NULL normally */
  /* image name -> absolute path of the golden image's file, for volume
   * backing stores; images missing here resolve to
   * /var/lib/libvirt/images/<volume> (the default pool's directory). */
  GHashTable *image_paths;
  /* Attach each Windows and Linux machine's config disk, the ISO volume
   * nl_lab_config_volume_name() names in the lab's pool, as a read-only
   * CD-ROM after its other disks: SATA for Windows (which has AHCI built
   * in), SCSI on virtio-scsi for Linux (Debian's cloud kernels lack AHCI). */
  gboolean config_disk;
} NlRenderOptions;

/* A storage volume the lab owns. */
typedef struct {
  char *name;           /* volume name in the pool */
  char *pool;
  guint64 capacity;     /* bytes; 0 = the backing image's size */
  char *format;         /* qcow2 or raw */
  char *backing_path;   /* linked clone of this file, or NULL */
  char *backing_format;
  char *machine;        /* owning machine, NULL for shared disks */
  guint mode;           /* file mode (0600), or 0 for the pool's default */
} NlVolumeSpec;

void nl_volume_spec_free (NlVolumeSpec *spec);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NlVolumeSpec, nl_volume_spec_free)

/* Each returns a new document the caller frees with xmlFreeDoc, or NULL with
 * ERROR set. */
xmlDocPtr nl_render_domain (const NlLab *lab, const NlMachine *machine,
                            const NlRenderOptions *options, GError **error);
xmlDocPtr nl_render_network (const NlLab *lab, const NlNetwork *network,
                             const NlRenderOptions *options, GError **error);
xmlDocPtr nl_render_volume (const NlVolumeSpec *spec, GError **error);

/* Every volume the lab owns, machines' in order then shared disks.
 * GPtrArray of NlVolumeSpec*, owned by the caller. */
GPtrArray *nl_render_volume_specs (const NlLab *lab, const NlRenderOptions *options);

/* DOC as text, with fixed indentation and no XML declaration. */
char *nl_render_to_string (xmlDocPtr doc);

G_END_DECLS
