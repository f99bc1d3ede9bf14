/* Lab lifecycle: plan and apply `up`, and `down`, `destroy`, `status` and
 * lab-wide checkpoints, all driven by what libvirt holds (ownership marks)
 * and nothing else. Runs work in parallel, one libvirt connection per
 * worker. Prints nothing: progress goes to a callback. */
#pragma once

#include <gio/gio.h>
#include <glib.h>
#include <nestlab/virt.h>
#include <nestlab/enum.h>
#include <nestlab/host.h>
#include <nestlab/image.h>
#include <nestlab/model.h>

G_BEGIN_DECLS

typedef enum {
  NL_PLAN_CREATE,     /* missing: will be created */
  NL_PLAN_UPDATE,     /* ours, changed: redefined in place (same UUID) */
  NL_PLAN_UNCHANGED,  /* ours and current */
  NL_PLAN_CONFLICT,   /* the name is taken by an object that is not ours */
  NL_PLAN_REBUILD,    /* ours, changed in a way only `rebuild` applies */
  NL_PLAN_STALE,      /* ours, no longer in the template: kept until rebuild/destroy */
  NL_PLAN_LAST
} NlPlanAction;
NL_ENUM_DECL (nl_plan_action);

typedef enum {
  NL_OBJECT_POOL,
  NL_OBJECT_IMAGE,
  NL_OBJECT_NETWORK,
  NL_OBJECT_DOMAIN,
  NL_OBJECT_VOLUME,
  NL_OBJECT_LAST
} NlObjectKind;
NL_ENUM_DECL (nl_object_kind);

typedef struct {
  NlObjectKind kind;
  NlPlanAction action;
  char *name;                /* libvirt name */
  char *pool;                /* volumes, images and the pool */
  char *detail;              /* why (update, conflict, rebuild), or NULL */
  char *xml;                 /* what to define or create, or NULL */
  const NlMachine *machine;  /* domains and their volumes; borrowed from the lab */
  GBytes *data;              /* a config disk's image, to upload after creating, or NULL */
  char *digest;              /* a config disk's: recorded in its machine's mark once uploaded */
} NlPlanItem;

typedef struct {
  const NlLab *lab;          /* borrowed: outlives the plan */
  GPtrArray *items;          /* of NlPlanItem*, in apply order */
  NlAccel *accel;            /* how machines run here (KVM or emulation), and why */
  gboolean test_driver;
} NlPlan;

void nl_plan_free (NlPlan *plan);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NlPlan, nl_plan_free)

/* How many plan items have ACTION. */
guint nl_plan_count (const NlPlan *plan, NlPlanAction action);

/* One event per object as it completes (called from one thread at a time). */
typedef struct {
  NlObjectKind kind;
  const char *name;
  const char *what;          /* "created", "started", "removed", "failed", ... */
  const GError *error;       /* with "failed" */
  guint done;                /* objects finished so far in this phase */
  guint total;
} NlProgress;
typedef void (*NlProgressFunc) (const NlProgress *progress, gpointer data);

typedef struct {
  NlAccelMode accel;               /* --kvm/--emulate, else the host decides */
  gboolean create_missing_images;  /* test:///default only: empty golden images */
  gboolean define_only;            /* define everything, start nothing */
  gboolean no_delays;              /* ignore start delays */
  gboolean hold_waiting;           /* leave machines whose first provisioning step waits
                                    * for other machines to provisioning, which starts
                                    * them when that step can run */
  guint workers;                   /* parallel connections; 0: 4 */
  guint timeout;                   /* down: seconds before power off; 0: 120 */
  GCancellable *cancellable;       /* cancelled: schedule nothing new */
  NlProgressFunc progress;
  gpointer progress_data;
} NlLabOptions;

/* What an operation did. */
typedef struct {
  guint done;                /* objects created/changed/removed */
  guint unchanged;
  GPtrArray *failures;       /* of char*: "NAME: message" */
  GPtrArray *notes;          /* of char*: things for people (rebuild needed, ...) */
  gdouble seconds;
} NlReport;

NlReport *nl_report_new (void);
void nl_report_free (NlReport *report);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NlReport, nl_report_free)

/* Computes what `up` does for LAB on CONN. Fails (NL_ERROR_NOT_FOUND) when a
 * golden image is missing, naming it and where it was looked for; conflicts
 * are items, not errors. The plan borrows LAB. */
NlPlan *nl_lab_plan_up (NlVirtConn *conn, const NlLab *lab, const NlLabOptions *options,
                        GError **error);

/* Applies PLAN: pool, networks (started, autostart), domains with their
 * marks, volumes, then machines started wave by wave, each wave in parallel.
 * Refuses (NL_ERROR_CONFLICT, naming each) a plan with conflicts, changing
 * nothing. A machine that fails is in REPORT->failures and the result is
 * FALSE with NL_ERROR_FAILED; a rerun repairs it. */
gboolean nl_lab_up (NlVirtConn *conn, NlPlan *plan, const NlLabOptions *options,
                    NlReport *report, GError **error);

/* Shuts LAB's machines down in reverse start order: guest agent, then ACPI,
 * then power off after options->timeout seconds. */
gboolean nl_lab_down (NlVirtConn *conn, const char *lab, const NlLabOptions *options,
                      NlReport *report, GError **error);

/* Lists what `destroy` removes: names with their kind, in order
 * ("domain NAME", "volume POOL/NAME", "network NAME"). Empty when LAB owns
 * nothing. */
GPtrArray *nl_lab_destroy_plan (NlVirtConn *conn, const char *lab, GError **error);

/* Removes exactly what LAB owns: its domains (stopped; with managed save,
 * snapshot metadata, NVRAM and TPM state), the volumes they list, and its
 * networks. Volumes go before their domain, so an interrupted destroy never
 * leaves a volume that no marked domain lists. */
gboolean nl_lab_destroy (NlVirtConn *conn, const char *lab, const NlLabOptions *options,
                         NlReport *report, GError **error);

/* ---- status ---- */
typedef struct {
  char *name;                /* machine name in the lab */
  char *domain;              /* libvirt name */
  char *role;
  char *state;
  gboolean nested;
  guint wave;
  GPtrArray *addresses;      /* of char**/
  GPtrArray *checkpoints;    /* of char**/
  GPtrArray *patches;        /* of NlPatchRecord*, oldest first: the patch level */
  GPtrArray *steps;          /* of NlStepRecord*: provisioning, in run order */
} NlMachineStatus;

typedef struct {
  char *name;
  GPtrArray *machines;       /* of NlMachineStatus*, by wave then name */
  GPtrArray *networks;       /* of char*: libvirt names */
  GPtrArray *network_states; /* of char*: "active"/"inactive", same order */
  GPtrArray *volumes;        /* of char*: "POOL/NAME" */
} NlLabStatus;

void nl_lab_status_free (NlLabStatus *status);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NlLabStatus, nl_lab_status_free)

/* Every lab on CONN (only LAB when not NULL), by name. GPtrArray of
 * NlLabStatus*, owned by the caller; empty when there is none. */
GPtrArray *nl_lab_status (NlVirtConn *conn, const char *lab, GError **error);
/* The names of the labs on CONN, sorted: only the marks are read (no
 * addresses, no history), so shell completion can ask on every TAB. */
GPtrArray *nl_lab_names (NlVirtConn *conn, GError **error);
/* STATUSES as JSON (an array of labs). */
char *nl_lab_status_to_json (GPtrArray *statuses);

/* ---- lab-wide checkpoints ---- */
/* Machine (libvirt domain) names of LAB in checkpoint order — members
 * first, domain controllers last — or, with REVERT, domain controllers
 * first. */
GPtrArray *nl_lab_checkpoint_order (NlVirtConn *conn, const char *lab, gboolean revert,
                                    GError **error);
gboolean nl_lab_checkpoint (NlVirtConn *conn, const char *lab, const char *name,
                            const NlLabOptions *options, NlReport *report, GError **error);
gboolean nl_lab_revert (NlVirtConn *conn, const char *lab, const char *name,
                        const NlLabOptions *options, NlReport *report, GError **error);
gboolean nl_lab_checkpoint_delete (NlVirtConn *conn, const char *lab, const char *name,
                                   const NlLabOptions *options, NlReport *report, GError **error);
/* One lab-wide checkpoint as the machines' records describe it. */
typedef struct {
  char *name;
  guint held;            /* machines holding it */
  guint machines;        /* machines in the lab */
  NlCheckpointMode mode; /* the first record's */
  gboolean mixed;        /* machines hold it in different modes */
  guint with_memory;     /* machines whose part holds their memory */
  char *created;         /* ISO 8601 of the first record, or NULL */
} NlCheckpointSummary;

void nl_checkpoint_summary_free (NlCheckpointSummary *summary);

/* LAB's checkpoints in the order they were taken: GPtrArray of
 * NlCheckpointSummary*. */
GPtrArray *nl_lab_checkpoint_list (NlVirtConn *conn, const char *lab, GError **error);

/* ---- golden images (images.c) ---- */
typedef struct {
  const char *file;       /* VHD, VHDX, VMDK, qcow2 or raw */
  const char *name;       /* the image's name (templates use it) */
  const char *os;         /* libosinfo short id */
  const char *pool;       /* NULL: "default" */
  const char *firmware;   /* "uefi"/"bios", NULL: read from the disk (GPT with an ESP: UEFI) */
  gboolean generalized;   /* the user says it is sysprepped */
  gboolean agent;         /* the user says the guest agent is in it */
  gboolean show_progress; /* qemu-img's progress on the terminal */
  GCancellable *cancellable;
} NlImageImportOptions;

/* The volume name of image NAME. */
char *nl_image_volume_name (const char *name);
/* Converts OPTS->file into a qcow2 volume of the pool and records the
 * image. NL_ERROR_INVALID (exit 2) for a file that is not what its name
 * says or not a disk image; NL_ERROR_CONFLICT when the name is taken. An
 * interrupted import leaves no volume. */
NlImageRecord *nl_image_import (NlVirtConn *conn, const NlImageImportOptions *opts, GError **error);
/* Removes image NAME (its volume and record); refused while a lab's
 * volume is a linked clone of it. */
gboolean nl_image_remove (NlVirtConn *conn, const char *name, GError **error);

G_END_DECLS
