/* Windows install images: which editions an install.wim or install.esd
 * holds (read through wimlib), found inside the installation ISO (read
 * through the media-iso module), and the one a user names. The only module
 * that links wimlib. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* One image of a WIM file: what Windows Setup's /IMAGE/INDEX chooses. */
typedef struct {
  guint index;          /* 1-based */
  char *name;           /* NAME: "Windows Server 2022 SERVERSTANDARD" */
  char *display_name;   /* DISPLAYNAME: "Windows Server 2022 Standard ...", or NULL */
  char *edition_id;     /* WINDOWS/EDITIONID: "ServerStandard", or NULL */
} NlWimImage;

void nl_wim_image_free (NlWimImage *image);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NlWimImage, nl_wim_image_free)

/* The images of the WIM (or ESD) file at PATH, in index order: a new
 * GPtrArray of NlWimImage*. NL_ERROR_INVALID when PATH is not a WIM. */
GPtrArray *nl_wim_images (const char *path, GError **error);

/* Where installation media keep the install image, in the order looked
 * for. NULL-terminated, static. */
const char *const *nl_wim_media_paths (void);

/* The images of the install image of the installation ISO at ISO_PATH
 * (the first of nl_wim_media_paths() it holds, copied to a temporary
 * file under TMPDIR that is removed before returning); *FOUND (when not
 * NULL) is set to that path inside the ISO. NL_ERROR_INVALID when ISO_PATH
 * is no ISO image or holds no install image. */
GPtrArray *nl_wim_media_images (const char *iso_path, char **found, GError **error);

/* The image EDITION names among IMAGES (borrowed): an index ("2"), or a
 * NAME or DISPLAYNAME (letter case aside), or an EDITIONID that only one
 * image has. EDITION NULL: the only image there is. NULL with
 * NL_ERROR_INVALID otherwise, the message listing the editions present. */
const NlWimImage *nl_wim_find_edition (GPtrArray *images, const char *edition, GError **error);

/* The editions of IMAGES, one line each ("  2  Windows Server 2022
 * SERVERDATACENTER (ServerDatacenter)"), for messages. Newly allocated. */
char *nl_wim_describe (GPtrArray *images);

G_END_DECLS
