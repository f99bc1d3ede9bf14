/* Staged patch rollouts: the plan (patches, targets, health checks, replica,
 * rings, maintenance windows), the pure engine pieces (window, batch and
 * failure-budget arithmetic, the per-target state machine, the resume rule),
 * the crash-safe journal and locks, the executor that runs a plan through a
 * driver (libvirt's, or a test's), and the report. */
#pragma once

#include <glib.h>
#include <nestlab/enum.h>
#include <nestlab/model.h>

G_BEGIN_DECLS

/* Largest plan file accepted, in bytes. */
#define NL_ROLLOUT_MAX_SIZE (1024 * 1024)

/* ------------------------------------------------------------------ */
/* The plan                                                             */

typedef enum {
  NL_SEVERITY_CRITICAL,
  NL_SEVERITY_IMPORTANT,
  NL_SEVERITY_MODERATE,
  NL_SEVERITY_LOW,
  NL_SEVERITY_LAST
} NlSeverity;
NL_ENUM_DECL (nl_severity);

/* A command run inside a guest through the agent: an argv list, never a
 * shell string; OS says which guests it is for. */
typedef struct {
  NlOsFamily os;
  char **argv;          /* NULL-terminated, argv[0] an absolute path */
} NlGuestCommand;

/* How much of a reboot a patch needs (reboot="no|yes|separate"). */
typedef enum {
  NL_REBOOT_NONE,
  NL_REBOOT_SHARED,         /* one reboot after it and its neighbours will do */
  NL_REBOOT_OWN,            /* its reboot must come before any later patch installs */
  NL_REBOOT_LAST
} NlRebootNeed;

typedef struct {
  char *id;             /* "KB5034439" */
  char *title;
  NlSeverity severity;
  NlRebootNeed reboot;  /* the guest reboots after installing it (NONE: it does not) */
  guint timeout;        /* seconds the install may take */
  GPtrArray *install;   /* of NlGuestCommand*, one per OS */
  GPtrArray *check;     /* of NlGuestCommand*: exit 0 = already present; may be empty */
  NlSource src;
} NlPatch;

typedef enum {
  NL_TARGET_LAB,        /* machines of a nestlab lab (by ownership mark) */
  NL_TARGET_DOMAIN,     /* a libvirt domain by name */
  NL_TARGET_LAST
} NlTargetKind;
NL_ENUM_DECL (nl_target_kind);

typedef struct {
  NlTargetKind kind;
  char *lab;            /* NL_TARGET_LAB */
  char *role;           /* NL_TARGET_LAB: only machines of this role; may be NULL */
  char *machines;       /* NL_TARGET_LAB: glob on machine names (a group); may be NULL */
  char *domain;         /* NL_TARGET_DOMAIN */
  NlSource src;
} NlTargetSelector;

typedef enum {
  NL_HEALTH_AGENT,      /* the guest agent answers */
  NL_HEALTH_COMMAND,    /* a command exits 0 within the timeout */
  NL_HEALTH_LAST
} NlHealthKind;
NL_ENUM_DECL (nl_health_kind);

typedef struct {
  char *name;
  NlHealthKind kind;
  GPtrArray *commands;  /* of NlGuestCommand*, NL_HEALTH_COMMAND */
  guint timeout;        /* seconds per attempt */
  guint times;          /* consecutive passes required (>= 1) */
  guint interval;       /* seconds between attempts */
  NlSource src;
} NlHealthCheck;

/* A batch size: a count, or a percentage of the ring's targets. */
typedef struct {
  gboolean percent;
  guint value;
} NlAmount;

typedef struct {
  char *name;
  char **select;        /* globs on target names (domain, or machine for labs) */
  NlAmount *batches;    /* "1 then 25%": the last step repeats */
  guint n_batches;
  guint max_parallel;
  NlAmount budget;      /* failures allowed; exceeding it halts */
  guint soak;           /* seconds to wait after the ring before the next */
  gboolean defer_reboot;/* reboot="defer": install, leave the reboot to the owner */
  NlSource src;
} NlRing;

/* A recurring maintenance window: the WEEK-th WEEKDAY of every month (WEEK
 * -1: the last one), plus OFFSET_DAYS, at START local time in TIMEZONE, for
 * DURATION seconds. */
typedef struct {
  int week;             /* 1..5, or -1 for the last */
  GDateWeekday weekday;
  int offset_days;      /* may be negative */
  int hour, minute;
  guint duration;
  char *timezone;       /* IANA name; NULL: UTC */
  NlSource src;
} NlWindow;

typedef struct {
  gboolean enabled;
  gboolean keep;        /* keep the replica after the rollout */
  guint boot_timeout;   /* seconds for a replica's agent to answer */
  char *pool;           /* storage pool of its backups and clones ("default") */
} NlReplicaSpec;

/* What happens to a host's guest before the host goes down (Hyper-V's
 * automatic stop action): a managed save, a shutdown (agent, then ACPI,
 * then the deadline), or a live migration to the host's peer. */
typedef enum {
  NL_STOP_SAVE,
  NL_STOP_SHUTDOWN,
  NL_STOP_MIGRATE,
  NL_STOP_LAST
} NlStopAction;
NL_ENUM_DECL (nl_stop_action);

/* What the window does with a guest. */
typedef enum {
  NL_GUEST_LEAVE_OFF,       /* not running: nothing to stop */
  NL_GUEST_SAVE,
  NL_GUEST_SHUTDOWN,
  NL_GUEST_MIGRATE,
  NL_GUEST_ACTION_LAST
} NlGuestAction;
NL_ENUM_DECL (nl_guest_action);

/* The plan-wide default for host guests (<host-policy>). */
typedef struct {
  NlStopAction stop;        /* default: shutdown */
  guint shutdown_timeout;   /* seconds before a shutdown becomes a power-off; default 5m */
  gboolean migrate_back;    /* migrated guests go home after the host is back; default yes */
  guint parallel;           /* guests stopped, started or migrated at once; default 4 */
} NlHostPolicy;

/* A guest named in a <host>: its own stop action. */
typedef struct {
  char *name;
  NlStopAction stop;
  NlSource src;
} NlHostGuest;

/* Where a host's own commands run: on the machine nestlab runs on (the
 * command reaches the host itself, or the host is this machine), or on the
 * host over ssh (the URI's user, host and port). */
typedef enum {
  NL_HOST_RUN_LOCAL,
  NL_HOST_RUN_SSH,
  NL_HOST_RUN_LAST
} NlHostRun;
NL_ENUM_DECL (nl_host_run);

/* A libvirt host as a rollout target (<host> in <targets>): drained of its
 * guests, updated with its own commands, rebooted, verified and restored
 * in one window. PATCH FALSE: a peer that only takes migrations. */
typedef struct {
  char *name;
  char *uri;                /* libvirt URI of the host; NULL for a lab machine */
  char *lab, *machine;      /* a Windows Hyper-V host that is a machine of a lab (else NULL) */
  char *peer;               /* name of another <host> of the plan that takes migrations; may be NULL */
  gboolean patch;           /* drain, update and reboot it (patch="no": a peer only) */
  NlHostRun run;            /* where UPDATE, REBOOT, BOOT_ID and CHECK run */
  char *migrate_uri;        /* where migrations to this host go (VIR_MIGRATE_PARAM_URI); may be NULL */
  gboolean shared_storage;  /* its guests' disks are on storage the peer sees too */
  guint boot_timeout;       /* seconds for libvirt to answer again after the reboot */
  guint update_timeout;     /* seconds the update command may run */
  char **update;            /* argv; NULL: nothing to install, the window is a reboot */
  char **reboot;            /* argv; NULL: /sbin/reboot */
  char **boot_id;           /* argv printing what changes with every boot; NULL: the kernel's boot id */
  char **check;             /* argv exiting 0 when the host is healthy; may be NULL */
  GPtrArray *guests;        /* of NlHostGuest*: per-guest overrides */
  NlSource src;
} NlHostTarget;

typedef struct {
  char *id;             /* the plan's name; run ids start with it */
  char *description;
  char *file;
  GPtrArray *patches;   /* of NlPatch*, in install order */
  GPtrArray *targets;   /* of NlTargetSelector* */
  GPtrArray *hosts;     /* of NlHostTarget*, in plan order */
  NlHostPolicy host_policy;
  GPtrArray *health;    /* of NlHealthCheck* */
  NlReplicaSpec replica;
  GPtrArray *rings;     /* of NlRing*, in order */
  GPtrArray *windows;   /* of NlWindow*; empty: no window, everything goes now */
  guint agent_timeout;  /* seconds to wait for an agent after boot/reboot/revert */
} NlRolloutPlan;

void nl_rollout_plan_free (NlRolloutPlan *plan);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NlRolloutPlan, nl_rollout_plan_free)

/* Loads and validates FILE (screened for hostile input, parsed without
 * network or entities, checked against the RelaxNG schema and then for
 * meaning). NULL with ERROR (NL_ERROR_INVALID for bad input) holding one
 * or more lines "FILE:LINE: message". Caller owns the result. */
NlRolloutPlan *nl_rollout_plan_load (const char *file, GError **error);

/* Where HOST is, for people: its URI, or "lab LAB, machine MACHINE".
 * Newly allocated. */
char *nl_host_target_where (const NlHostTarget *host);

/* The host of PLAN named NAME, or NULL. Borrowed. */
const NlHostTarget *nl_rollout_plan_find_host (const NlRolloutPlan *plan, const char *name);
/* The stop action of guest NAME on HOST: its own, else the plan's. */
NlStopAction nl_rollout_guest_stop (const NlRolloutPlan *plan, const NlHostTarget *host,
                                    const char *name);

/* The RelaxNG schema built into the library (templates/schema/rollout.rng). */
const char *nl_rollout_schema (void);

/* The command of COMMANDS (NlGuestCommand*) for OS: an exact match, else
 * the only one when there is just one, else NULL. Borrowed. */
const NlGuestCommand *nl_rollout_command_for (const GPtrArray *commands, NlOsFamily os);

/* ------------------------------------------------------------------ */
/* Pure arithmetic                                                      */

/* The window of WINDOW that contains NOW, or else the next one: its START
 * and END (newly allocated, in the window's time zone). FALSE with ERROR
 * when the time zone is unknown. */
gboolean nl_rollout_window_next (const NlWindow *window, GDateTime *now,
                                 GDateTime **start, GDateTime **end, GError **error);
/* The earliest window of WINDOWS (NlWindow*) as above. */
gboolean nl_rollout_windows_next (const GPtrArray *windows, GDateTime *now,
                                  GDateTime **start, GDateTime **end, GError **error);

/* Batch sizes for N targets following STEPS (the last repeats; a
 * percentage rounds up, at least 1). A new GArray of guint summing to N. */
GArray *nl_rollout_batches (const NlAmount *steps, guint n_steps, guint n);

/* TRUE when FAILURES out of N exceed BUDGET (a count, or a percentage of N:
 * failures * 100 > percent * N). */
gboolean nl_rollout_budget_exceeded (const NlAmount *budget, guint n, guint failures);

/* "1", "25%" -> NlAmount. */
gboolean nl_rollout_parse_amount (const char *text, NlAmount *amount, GError **error);

/* ------------------------------------------------------------------ */
/* The per-target state machine                                         */

typedef enum {
  NL_TARGET_PENDING,
  NL_TARGET_PRECHECKED,     /* the agent answered */
  NL_TARGET_CHECKPOINTED,   /* the restore point exists */
  NL_TARGET_INSTALLING,     /* recorded before each install command starts */
  NL_TARGET_REBOOTING,      /* recorded before the reboot */
  NL_TARGET_VERIFYING,      /* recorded before check and health checks */
  NL_TARGET_DONE,
  NL_TARGET_FAILED,         /* recorded before the rollback starts */
  NL_TARGET_ROLLING_BACK,
  NL_TARGET_ROLLED_BACK,
  NL_TARGET_NOT_APPLICABLE, /* every patch was already present */
  NL_TARGET_SKIPPED,        /* never started: halt, abort, or a ring that did not run */
  NL_TARGET_STATE_LAST
} NlTargetState;
NL_ENUM_DECL (nl_target_state);

/* Whether a target may go from FROM to TO. */
gboolean nl_rollout_transition_valid (NlTargetState from, NlTargetState to);
gboolean nl_rollout_state_is_final (NlTargetState state);

/* What resume does with a target the journal left in a given state. */
typedef enum {
  NL_RESUME_NOTHING,        /* final: leave it */
  NL_RESUME_RESTART,        /* nothing changed on the machine: start over */
  NL_RESUME_INSTALL,        /* continue with the recorded patch */
  NL_RESUME_WAIT_PID,       /* the install process is known: wait for its result */
  NL_RESUME_CHECK,          /* ask the patch's check command */
  NL_RESUME_REVERT_REDO,    /* revert to the checkpoint and install again */
  NL_RESUME_WAIT_AGENT,     /* the reboot was under way: wait for the agent */
  NL_RESUME_VERIFY,         /* run the verification again */
  NL_RESUME_ROLLBACK,       /* finish the rollback */
  NL_RESUME_LAST
} NlResumeAction;
NL_ENUM_DECL (nl_resume_action);

/* The resume rule (docs/rollouts.md, "Crash safety"): STATE is the last
 * state journalled, HAVE_PID whether the install's guest process id was
 * journalled, AGENT_KNOWS_PID whether the agent still reports that process,
 * HAS_CHECK whether the patch has a check command. */
NlResumeAction nl_rollout_resume_action (NlTargetState state, gboolean have_pid,
                                         gboolean agent_knows_pid, gboolean has_check);

/* What the report says about a target. */
typedef enum {
  NL_OUTCOME_INSTALLED,
  NL_OUTCOME_PENDING_REBOOT,
  NL_OUTCOME_FAILED,
  NL_OUTCOME_ROLLED_BACK,
  NL_OUTCOME_NOT_APPLICABLE,
  NL_OUTCOME_SKIPPED,
  NL_OUTCOME_IN_PROGRESS,
  NL_OUTCOME_LAST
} NlOutcome;
NL_ENUM_DECL (nl_outcome);

/* ------------------------------------------------------------------ */
/* The journal: one run's state, rewritten atomically on every change   */

typedef enum {
  NL_RUN_RUNNING,
  NL_RUN_WAITING,           /* waiting for a maintenance window */
  NL_RUN_DONE,
  NL_RUN_HALTED,            /* a ring exceeded its budget, or the replica failed */
  NL_RUN_ABORTED,
  NL_RUN_INTERRUPTED,       /* the process died; resume continues */
  NL_RUN_STATE_LAST
} NlRunState;
NL_ENUM_DECL (nl_run_state);

/* The passes of a run: the replica, then production's critical patches
 * now and the others in the maintenance window. */
typedef enum {
  NL_PASS_REPLICA,
  NL_PASS_NOW,
  NL_PASS_WINDOW,
  NL_PASS_LAST
} NlRolloutPass;
NL_ENUM_DECL (nl_rollout_pass);

typedef struct {
  char *key;                /* "pass/ring/name" */
  NlRolloutPass pass;
  char *ring;
  char *name;               /* domain name */
  char *production;         /* for replica targets: the production domain */
  NlTargetState state;
  guint patch;              /* index into the pass's patches while installing */
  gint64 pid;               /* guest process of the current install; 0 none */
  char *checkpoint;         /* restore point name */
  char **installed;         /* patch ids installed (this run) */
  char **todo;              /* patch ids to install (absent at pre-check); NULL: not yet known */
  gboolean pending_reboot;
  gboolean rolled_back;     /* the failure was rolled back */
  char *message;            /* last error or note */
  gint64 started, finished; /* unix seconds; 0 not yet */
} NlTargetRecord;

typedef struct {
  NlRolloutPass pass;
  char *name;
  gboolean started;
  gint64 started_at, finished_at;
  gboolean halted;
} NlRingRecord;

/* A host window's progress, journalled before each step acts. */
typedef enum {
  NL_HOST_PENDING,          /* nothing done yet */
  NL_HOST_PREPARING,        /* its guests' patches go in, their reboots held back */
  NL_HOST_DRAINING,         /* its guests are saved, shut down or migrated */
  NL_HOST_UPDATING,         /* its own update command runs */
  NL_HOST_REBOOTING,        /* recorded with the boot id before the reboot command */
  NL_HOST_VERIFYING,        /* libvirt answers, same host, its check */
  NL_HOST_RESTORING,        /* its guests come back and are verified */
  NL_HOST_DONE,
  NL_HOST_FAILED,           /* its guests were brought back; the host is not patched */
  NL_HOST_STATE_LAST
} NlHostState;
NL_ENUM_DECL (nl_host_state);

/* A guest of a host window. */
typedef enum {
  NL_HGUEST_FOUND,          /* planned; nothing done yet */
  NL_HGUEST_PATCHED,        /* its BEFORE patches are in, the reboot held back */
  NL_HGUEST_STOPPING,       /* the stop action was asked for */
  NL_HGUEST_STOPPED,        /* saved, shut off, or running on the peer */
  NL_HGUEST_STARTING,       /* start (or the migration back) was asked for */
  NL_HGUEST_VERIFYING,      /* its AFTER patches, checks and health checks */
  NL_HGUEST_DONE,
  NL_HGUEST_LEFT,           /* not running when found: left as it was */
  NL_HGUEST_FAILED,
  NL_HGUEST_STATE_LAST
} NlHostGuestState;
NL_ENUM_DECL (nl_host_guest_state);

typedef struct {
  char *name;
  NlGuestAction action;
  NlStopAction asked;
  char *reason;             /* why ACTION is not what was asked; may be NULL */
  gboolean migrate_back;
  char **before;            /* installed before the host goes down, reboot held */
  char **after;             /* installed after a reboot of its own */
  gboolean held;
  guint planned_reboots;
  NlHostGuestState state;
  char *location;           /* the host it is on now (its own, or the peer) */
  char **installed;         /* patch ids installed by this run */
  gboolean agent;           /* its agent answered when the window started */
  gboolean nested;          /* a nested hypervisor (its memory is never snapshotted) */
  char *checkpoint;         /* its restore point before its patches; NULL: none (taken or not) */
  char *boot_id;            /* the guest's boot id when last seen (agent); NULL unknown */
  guint reboots;            /* new boots seen since the window started */
  gint64 down_at, up_at;    /* unix seconds: its service stopped, and came back (0: not yet) */
  char *message;
} NlHostGuestRecord;

typedef struct {
  char *name;
  char *uri;
  gboolean replica;         /* the rehearsal of a lab's Hyper-V host on its replica */
  char *domain;             /* the replica's domain (REPLICA), once made */
  NlHostState state;
  char *uuid;               /* libvirt's host UUID when the window started */
  char *boot_id;            /* the host's boot id before the reboot */
  gint64 window_start, window_end;  /* the planned window (0: --now) */
  gint64 started, down_at, up_at, finished;
  GPtrArray *guests;        /* of NlHostGuestRecord* */
  GPtrArray *warnings;      /* of char*: the planner's */
  char *message;
} NlHostRecord;

void nl_host_record_free (NlHostRecord *record);
void nl_host_guest_record_free (NlHostGuestRecord *record);

typedef struct {
  char *id;
  char *dir;                /* the run's state folder */
  NlRunState state;
  char *reason;             /* why halted or aborted */
  gint64 created, updated;
  guint pid;                /* the process running it */
  char **passed;            /* patch ids that passed on the replica; NULL: not yet */
  gint64 wait_until;        /* NL_RUN_WAITING: window start (unix seconds) */
  gboolean ignore_windows;  /* started with --now: one pass, no waiting */
  char *plan_id;
  GPtrArray *rings;         /* of NlRingRecord* */
  GPtrArray *targets;       /* of NlTargetRecord*, in execution order */
  GPtrArray *hosts;         /* of NlHostRecord*, in plan order (patched hosts only) */
  GMutex lock;              /* writers from worker threads */
} NlJournal;

void nl_journal_free (NlJournal *journal);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NlJournal, nl_journal_free)

/* The folder holding all runs: rollouts/ in nestlab's state folder
 * (nl_state_path). Newly allocated. */
char *nl_rollout_state_root (void);

/* A new journal for run ID in ROOT/ID (created; it must not exist). */
NlJournal *nl_journal_create (const char *root, const char *id, GError **error);
/* Reads ROOT/ID/journal. NL_ERROR_NOT_FOUND when there is no such run. */
NlJournal *nl_journal_load (const char *root, const char *id, GError **error);
/* Writes the journal: to a temporary file, fsync, rename over
 * ROOT/ID/journal, fsync the folder. Takes JOURNAL->lock. */
gboolean nl_journal_save (NlJournal *journal, GError **error);
/* Runs in ROOT, newest first: a new array of ids. */
GPtrArray *nl_journal_list (const char *root, GError **error);

NlTargetRecord *nl_journal_find_target (NlJournal *journal, const char *key);
/* The production window of host NAME (not its rehearsal). */
NlHostRecord *nl_journal_find_host (NlJournal *journal, const char *name);
NlRingRecord *nl_journal_find_ring (NlJournal *journal, NlRolloutPass pass, const char *ring);
/* Moves RECORD to STATE (checked with nl_rollout_transition_valid), sets
 * MESSAGE (may be NULL) and saves the journal before returning: callers
 * act only after it returned TRUE. */
gboolean nl_journal_transition (NlJournal *journal, NlTargetRecord *record,
                                NlTargetState state, const char *message, GError **error);

NlOutcome nl_target_record_outcome (const NlTargetRecord *record);

/* ------------------------------------------------------------------ */
/* Locks                                                                */

typedef struct NlRolloutLock NlRolloutLock;
void nl_rollout_lock_release (NlRolloutLock *lock);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NlRolloutLock, nl_rollout_lock_release)

/* Takes, without waiting, an exclusive flock on ROOT/locks/<name>.lock for
 * every name in NAMES (sorted first, so runs never deadlock) and on
 * ROOT/ID/run.lock. NL_ERROR_CONFLICT naming the machine another run holds.
 * ID may be NULL (names only). */
NlRolloutLock *nl_rollout_lock_acquire (const char *root, const char *id,
                                        const char *const *names, GError **error);
/* TRUE when some process holds ROOT/ID/run.lock. */
gboolean nl_rollout_run_is_active (const char *root, const char *id);

/* ------------------------------------------------------------------ */
/* The executor and its driver                                          */

typedef struct NlRolloutDriver NlRolloutDriver;

/* What a host says of one of its domains. */
typedef struct {
  char *name;
  gboolean active;          /* running or paused */
  gboolean persistent;
  gboolean saved;           /* a managed save image waits for its start */
  gboolean nested;          /* exposes vmx/svm: a hypervisor that may run guests */
} NlHostGuestInfo;
void nl_host_guest_info_free (NlHostGuestInfo *info);

/* What the executor needs from the machines. The libvirt driver
 * (nl_rollout_virt_driver_new) is the real one; tests and the benchmark
 * supply their own. Per-target calls run in worker threads with a HANDLE
 * from open(), so a driver gives each its own connection. */
typedef struct {
  gpointer (*open) (gpointer data, const char *domain, GError **error);
  void (*close) (gpointer handle);
  gboolean (*ping) (gpointer handle, guint timeout, GError **error);
  gboolean (*os_family) (gpointer handle, NlOsFamily *os, GError **error);
  /* Takes restore point NAME, replacing one of the same name. */
  gboolean (*checkpoint) (gpointer handle, const char *name, GError **error);
  gboolean (*revert) (gpointer handle, const char *name, GError **error);
  gboolean (*drop_checkpoint) (gpointer handle, const char *name, GError **error);
  gboolean (*exec_start) (gpointer handle, const char *const *argv, gint64 *pid, GError **error);
  /* Waits up to TIMEOUT seconds for PID: its exit status and output (newly
   * allocated). NL_ERROR_NOT_FOUND when the agent does not know PID. */
  gboolean (*exec_wait) (gpointer handle, gint64 pid, guint timeout, int *status,
                         char **output, GError **error);
  gboolean (*reboot) (gpointer handle, guint timeout, GError **error);
  /* Appends the patches to the machine's patch history. */
  gboolean (*record_patches) (gpointer handle, const char *run_id, const char *const *ids,
                              GError **error);
  /* Expands the plan's selectors into domain names (new array of char*),
   * each with its machine name in MACHINES (same order) for ring globs. */
  gboolean (*resolve) (gpointer data, const GPtrArray *selectors, GPtrArray **domains,
                       GPtrArray **machines, GError **error);
  /* Builds the isolated replica of DOMAINS for run RUN_ID; REPLICAS gets the
   * replica domain names, started, in the same order. */
  gboolean (*replica_create) (gpointer data, const char *run_id, const GPtrArray *domains,
                              const char *pool, guint boot_timeout, GPtrArray **replicas,
                              GError **error);
  gboolean (*replica_discard) (gpointer data, const char *run_id, GError **error);

  /* Hosts (<host> targets). A driver for the host at URI (its guests are
   * opened through it like any target). */
  NlRolloutDriver *(*for_host) (gpointer data, const char *uri, GError **error);
  /* The host's UUID; fails when libvirt does not answer. */
  char *(*host_uuid) (gpointer data, GError **error);
  /* Its domains: a new array of NlHostGuestInfo*. */
  GPtrArray *(*host_guests) (gpointer data, GError **error);
  gboolean (*guest_save) (gpointer data, const char *name, GError **error);
  /* The agent, then ACPI, then after TIMEOUT seconds a power-off. */
  gboolean (*guest_shutdown) (gpointer data, const char *name, guint timeout, GError **error);
  /* Starts NAME (a saved guest resumes); nothing to do when it runs. */
  gboolean (*guest_start) (gpointer data, const char *name, GError **error);
  /* Live-migrates NAME to the host of DEST (persistent there, gone here). */
  gboolean (*guest_migrate) (gpointer data, const char *name, struct NlRolloutDriver *dest,
                             const char *migrate_uri, gboolean unsafe, GError **error);
  /* Writes LEN bytes of DATA to PATH inside the guest of HANDLE (agent). */
  gboolean (*file_write) (gpointer handle, const char *path, const void *data, gsize len,
                          GError **error);
} NlRolloutDriverOps;

struct NlRolloutDriver {
  const NlRolloutDriverOps *ops;
  gpointer data;
  GDestroyNotify free_data;
};

void nl_rollout_driver_free (NlRolloutDriver *driver);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NlRolloutDriver, nl_rollout_driver_free)

/* The libvirt driver on URI (NULL: the default). */
NlRolloutDriver *nl_rollout_virt_driver_new (const char *uri, GError **error);

/* Progress lines for the CLI (stderr); called from worker threads under a
 * lock. May be NULL. */
typedef void (*NlRolloutProgress) (const char *line, gpointer data);

typedef struct {
  const char *root;         /* state root; NULL: nl_rollout_state_root() */
  const char *id;           /* run id; NULL: <plan id>-<UTC timestamp> */
  gboolean now;             /* ignore maintenance windows */
  gboolean no_wait;         /* stop (state waiting) instead of sleeping for a window */
  NlRolloutProgress progress;
  gpointer progress_data;
  guint poll_ms;            /* agent/exec polling interval; 0: 500 */
} NlRolloutOptions;

/* Starts a run of PLAN: copies the plan file into the run's folder, resolves
 * the targets, takes the locks and executes. Returns the journal (caller
 * owns it) whether the run finished, halted or was aborted; NULL with
 * ERROR only when it could not run at all. */
NlJournal *nl_rollout_run (const NlRolloutPlan *plan, NlRolloutDriver *driver,
                           const NlRolloutOptions *options, GError **error);
/* Continues run ID from its journal and its own copy of the plan. */
NlJournal *nl_rollout_resume (const char *id, NlRolloutDriver *driver,
                              const NlRolloutOptions *options, GError **error);
/* Asks run ID to stop: a running process halts before its next step; a
 * run no process holds is marked aborted at once, and with DRIVER (may be
 * NULL) its replica and restore points are cleaned up as an ended run's. */
gboolean nl_rollout_abort (const char *root, const char *id, NlRolloutDriver *driver,
                           GError **error);

/* The steps the run will take, in order, with the window times it will
 * wait for, one line each (new array of char*). TARGETS (char* domain
 * names) and MACHINES as from the driver's resolve; NULL: selectors shown
 * unresolved. */
GPtrArray *nl_rollout_describe (const NlRolloutPlan *plan, const GPtrArray *targets,
                                const GPtrArray *machines, GDateTime *now,
                                gboolean ignore_windows, GError **error);

/* ------------------------------------------------------------------ */
/* Host windows: the pure planner and the downtime notice               */

typedef struct {
  const char *id;
  NlRebootNeed reboot;
} NlPendingPatch;

/* What is known of one guest of a host when the window is planned. All
 * borrowed. NESTED: a nested hypervisor, which may run guests of its own
 * (nobody outside can tell whether it does right now). */
typedef struct {
  const char *name;
  gboolean running;
  gboolean nested;
  NlStopAction stop;
  const NlPendingPatch *patches;  /* in install order */
  guint n_patches;
} NlGuestFacts;


typedef struct {
  char *name;
  NlStopAction asked;       /* the stop action the plan gives it */
  NlGuestAction action;
  gboolean migrate_back;    /* NL_GUEST_MIGRATE: it comes home after the window */
  char *reason;             /* why ACTION is not what was asked; NULL when it is */
  char **before;            /* installed before the host goes down (NULL-terminated, may be empty) */
  gboolean held;            /* BEFORE's reboot is held back: the host's reboot is the guest's */
  char **after;             /* installed after a reboot of the guest's own: for MIGRATE all of
                             * them, for SHUTDOWN what must wait for the first reboot */
  guint reboots;            /* boots of the guest the window causes, its own included */
} NlGuestPlan;

typedef struct {
  char *host;
  char *uri;
  char *peer;               /* may be NULL */
  GPtrArray *guests;        /* of NlGuestPlan*, in the order given */
  GPtrArray *warnings;      /* of char*: where one window is impossible, or patches wait */
  GDateTime *start, *end;   /* the window (NULL until nl_rollout_host_plans_schedule) */
} NlHostPlan;

void nl_host_plan_free (NlHostPlan *plan);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NlHostPlan, nl_host_plan_free)

/* Plans HOST's window for its guests GUESTS (N_GUESTS facts, borrowed)
 * under POLICY: pure, no connection. Caller owns the result. */
NlHostPlan *nl_rollout_host_plan (const NlHostTarget *host, const NlHostPolicy *policy,
                                  const NlGuestFacts *guests, guint n_guests);

/* What a host carries, asked of the host and of each running guest's
 * agent: the facts the planner needs. */
typedef struct {
  char *name;
  gboolean running, nested;
  gboolean agent;           /* its agent answered */
  char *agent_error;        /* why not (running guests only); NULL when it did */
  char *boot_id;            /* Linux guests' boot id; NULL unknown */
  NlPendingPatch *pending;  /* patches it still needs, in plan order (ids borrowed from the plan) */
  guint n_pending;
} NlHostGuestSurvey;

typedef struct {
  char *uuid;               /* the host's identity (nl_virt_host_uuid) */
  NlHostGuestSurvey *guests;
  guint n;
} NlHostSurvey;

void nl_host_survey_free (NlHostSurvey *survey);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NlHostSurvey, nl_host_survey_free)

/* Surveys the host of HOST_DRIVER: its domains, and for each running one
 * which of PATCHES (NlPatch*) its check commands say it still needs,
 * waiting up to AGENT_TIMEOUT seconds for each agent (a guest whose agent
 * does not answer gets none). NULL with ERROR when libvirt does not answer. */
NlHostSurvey *nl_rollout_host_survey (NlRolloutDriver *host_driver, const GPtrArray *patches,
                                      guint agent_timeout, GError **error);
/* The window of HOST from SURVEY, with warnings for guests the plan names
 * that the host lacks and for agents that do not answer. */
NlHostPlan *nl_rollout_host_survey_plan (const NlRolloutPlan *plan, const NlHostTarget *host,
                                         const NlHostSurvey *survey);

/* Puts every NlHostPlan of PLANS into the plan's next maintenance window
 * after NOW (the earliest of PLAN's windows, in UTC). FALSE with ERROR
 * when the plan has no window or a time zone is unknown. */
gboolean nl_rollout_host_plans_schedule (const NlRolloutPlan *plan, GPtrArray *plans,
                                         GDateTime *now, GError **error);

/* Lines for `rollout plan`: each host window, its guests and warnings. */
GPtrArray *nl_rollout_host_plans_describe (const GPtrArray *plans);

/* The downtime notice for scheduled PLANS (NlHostPlan*): iCalendar (RFC
 * 5545: one VEVENT per window, times in UTC, CRLF line ends, lines folded
 * at 75 octets) and the same as JSON. STAMP is the DTSTAMP (when the
 * notice was made). Newly allocated. */
char *nl_rollout_notice_ics (const char *plan_id, const GPtrArray *plans, GDateTime *stamp);
char *nl_rollout_notice_json (const char *plan_id, const GPtrArray *plans, GDateTime *stamp);

/* Runs ARGV as HOST's own command (locally, or on the host over ssh when
 * HOST->run says so) for at most TIMEOUT seconds: its exit status and its
 * output, stdout and stderr together (newly allocated; may be NULL). FALSE
 * with ERROR when it could not run or timed out (then it is killed). */
gboolean nl_host_command_run (const NlHostTarget *host, const char *const *argv, guint timeout,
                              int *status, char **output, GError **error);
/* The argv that runs ARGV for HOST: ARGV itself, or ssh to the URI's host
 * with ARGV quoted for the remote shell. New strv. */
char **nl_host_command_argv (const NlHostTarget *host, const char *const *argv);

/* Whether run JOURNAL rehearses a lab's Hyper-V host on a replica, and the
 * run id its replica is made under (ID-hosts: a lab of its own, apart from
 * the guests' replica). */
gboolean nl_rollout_hosts_rehearsed (const NlJournal *journal);
char *nl_rollout_hosts_replica_id (const char *id);

/* The shipped PowerShell for Windows Hyper-V hosts of labs:
 * $NESTLAB_HOSTS_DIR/windows, else the installed folder, else the source
 * tree's. Newly allocated. */
char *nl_rollout_hosts_scripts_dir (void);
/* The argv that runs host script SCRIPT (inventory.ps1, drain.ps1, ...)
 * inside the host with ARGS (may be NULL). */
GStrv nl_rollout_hosts_script_argv (const char *script, const char *const *args);

/* ------------------------------------------------------------------ */
/* Reports                                                              */

char *nl_rollout_report_table (const NlJournal *journal);
char *nl_rollout_report_json (const NlJournal *journal);
/* One self-contained HTML page (inline style, everything escaped). */
char *nl_rollout_report_html (const NlJournal *journal);

G_END_DECLS
