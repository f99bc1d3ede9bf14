/* Building a golden image from Windows install media (`nestlab image
 * build`): a throwaway domain nl-build-NAME boots the install ISO with an
 * answer ISO (Autounattend.xml) and, when given, the virtio-win drivers
 * ISO; Windows Setup installs onto a new qcow2 volume NAME.qcow2, Sysprep
 * generalizes it and powers the machine off; the disk is kept, the rest is
 * discarded.
 *
 * The domain carries the lab mark of lab "image-build-NAME", which lists
 * every volume the build makes before it is made: an interrupted build
 * leaves nothing that the next build of the same name (or `nestlab destroy
 * image-build-NAME`) cannot find and remove. */
#pragma once

#include <glib.h>
#include <gio/gio.h>
#include <nestlab/host.h>
#include <nestlab/model.h>
#include <nestlab/virt.h>

G_BEGIN_DECLS

/* The build machine's size: what Windows Server's Setup needs, with room. */
#define NL_IMAGE_BUILD_MEMORY (G_GUINT64_CONSTANT (4) << 30)
#define NL_IMAGE_BUILD_VCPUS 2
#define NL_IMAGE_BUILD_DEFAULT_SIZE (G_GUINT64_CONSTANT (64) << 30)
#define NL_IMAGE_BUILD_DEFAULT_POOL "default"
/* The secret the Administrator password is, in lab image-build-NAME. */
#define NL_IMAGE_BUILD_SECRET "admin"

typedef enum {
  NL_IMAGE_BUILD_CLEANING,   /* a previous build's domain and volumes removed */
  NL_IMAGE_BUILD_CHECKSUM,   /* the install ISO's SHA-256 being computed */
  NL_IMAGE_BUILD_STARTED,    /* the domain runs: Setup is at work */
  NL_IMAGE_BUILD_WAITING,    /* once a second while waiting for it to power off */
  NL_IMAGE_BUILD_POWERED_OFF,
  NL_IMAGE_BUILD_DISCARDING, /* a failed build's domain and volumes removed */
} NlImageBuildPhase;

typedef struct {
  const char *name;          /* the image's name */
  const char *os;            /* libosinfo id of what the media install: win2k22 */
  const char *iso;           /* the installation ISO */
  const char *edition;       /* NAME, DISPLAYNAME, EDITIONID or index; NULL: the only one */
  const char *drivers;       /* the virtio-win ISO, or NULL */
  NlFirmware firmware;
  const char *pool;          /* NULL: "default" */
  guint64 size;              /* of the disk, bytes; 0: 64 GiB */
  guint timeout;             /* seconds to wait for the power-off; 0: none */
  NlAccelMode accel;
  const char *ui_language;   /* Autounattend.xml's; NULL: en-US */
  const char *input_locale;
  const char *locale;
  const char *product_key;   /* NULL: none */
  /* Where the Administrator password comes from (its name is ignored);
   * NULL: generated once and kept as secret "admin" of lab
   * image-build-NAME (`nestlab secret show image-build-NAME admin`). */
  const NlSecret *password;
  /* The state folder for that secret; NULL: nestlab's (nl_state_path). */
  const char *state_dir;
  /* Checked once a second while waiting: cancelled (Ctrl-C), the build
   * stops and discards what it made. May be NULL. */
  GCancellable *cancellable;
  /* Told of each phase; ELAPSED is seconds since the domain started. */
  void (*progress) (NlImageBuildPhase phase, guint elapsed, gpointer data);
  gpointer progress_data;
} NlImageBuildOptions;

/* What a build will do, and (after nl_image_build_run) what it did. */
typedef struct {
  char *name;
  char *os;
  char *lab;                 /* "image-build-NAME": the mark's lab */
  char *domain;              /* "nl-build-NAME" */
  char *pool;
  char *pool_path;           /* the pool's folder, or NULL when unknown */
  char *volume;              /* NAME.qcow2: the golden image */
  guint64 size;
  char *answer_volume;       /* nl-build-NAME-answer.iso */
  char *iso;                 /* absolute paths */
  char *drivers;             /* or NULL */
  char *wim_path;            /* the install image inside the ISO */
  guint index;               /* the image chosen */
  char *edition;             /* its NAME */
  char *editions;            /* every image of the media, one line each */
  char *drivers_os;          /* virtio-win folder, or NULL */
  NlFirmware firmware;
  gboolean emulate;          /* QEMU software emulation */
  char *accel_reason;        /* why, for people */
  char *autounattend;        /* Autounattend.xml with the password masked */
  char *domain_xml;          /* the build domain's definition */
  gboolean leftover;         /* a previous build's domain is there to remove first */
  /* Filled by the run. */
  char *checksum;            /* SHA-256 of the install ISO */
  char *created;             /* ISO 8601, when it powered off */
  guint elapsed;             /* seconds from start to power-off */
} NlImageBuildPlan;

void nl_image_build_plan_free (NlImageBuildPlan *plan);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NlImageBuildPlan, nl_image_build_plan_free)

/* The plan of building OPTIONS on CONN, changing nothing: the edition
 * looked up in the media (NL_ERROR_INVALID, exit 2, listing the editions
 * present when it is not there), the pool, the accel decision, the
 * documents. NL_ERROR_CONFLICT when volume NAME.qcow2 exists and no
 * previous build lists it, or domain nl-build-NAME exists without the
 * build's mark. */
NlImageBuildPlan *nl_image_build_plan (NlVirtConn *conn, const NlImageBuildOptions *options,
                                       GError **error);

/* Carries PLAN out: removes a previous build's leftovers, defines the
 * domain (its mark listing both volumes), makes and fills the answer ISO,
 * makes the disk, boots, and waits for the guest to power itself off. On
 * success the domain is left shut off, still listing both volumes: record
 * the image, then call nl_image_build_finish. On any failure (a timeout,
 * a crash, a power-off the guest did not ask for, cancellation) it
 * discards everything it made, disk included, before returning FALSE. */
gboolean nl_image_build_run (NlVirtConn *conn, NlImageBuildPlan *plan, const NlImageBuildOptions *options,
                             GError **error);

/* After a successful run: the disk leaves the mark (it is the image's now),
 * the answer ISO is deleted and the domain undefined. */
gboolean nl_image_build_finish (NlVirtConn *conn, const NlImageBuildPlan *plan, GError **error);

/* The build's libvirt names for image NAME; newly allocated. */
char *nl_image_build_domain_name (const char *name);
char *nl_image_build_lab_name (const char *name);

G_END_DECLS
