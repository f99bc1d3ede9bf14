/* Golden images nestlab knows: what it recorded when it imported or built
 * one (volumes carry no metadata), kept as one small document per image in
 * images/NAME.xml under nestlab's state folder. Templates name such an
 * image by its name alone. Pure: GLib and libxml2. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  char *name;          /* what templates call it */
  char *os;            /* libosinfo short id */
  char *pool;          /* where the qcow2 volume lives */
  char *volume;
  char *firmware;      /* "uefi" or "bios" */
  gboolean generalized;/* sysprepped (Windows) or otherwise ready to clone */
  gboolean agent;      /* the QEMU guest agent is installed in it */
  char *source;        /* the file it was made from (imported file, install ISO) */
  char *source_format; /* vpc, vhdx, vmdk, qcow2, raw, iso */
  char *checksum;      /* SHA-256 of the source file, or NULL */
  char *created;       /* ISO 8601 */
} NlImageRecord;

NlImageRecord *nl_image_record_new (void);
void nl_image_record_free (NlImageRecord *rec);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NlImageRecord, nl_image_record_free)

/* The document: one parser, one formatter (src/doc/image.c). */
NlImageRecord *nl_image_record_parse (const char *xml, GError **error);
char *nl_image_record_format (const NlImageRecord *rec);

/* images/NAME.xml in the state folder. */
char *nl_image_record_path (const char *name);
/* Writes REC (atomically: a temporary file renamed over the old one). */
gboolean nl_image_record_save (const NlImageRecord *rec, GError **error);
/* NL_ERROR_NOT_FOUND when nestlab knows no image NAME. */
NlImageRecord *nl_image_record_load (const char *name, GError **error);
/* Every known image, sorted by name: GPtrArray of NlImageRecord*. */
GPtrArray *nl_image_record_list (GError **error);
gboolean nl_image_record_delete (const char *name, GError **error);

G_END_DECLS
