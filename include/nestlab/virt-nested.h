/* Part of the virt layer: `nestlab nested enable/disable/status` on any
 * libvirt domain (the libvirt counterpart of Enable-NestedVm.ps1), and the
 * domain capabilities that `nestlab host check` reads. The XML work itself is
 * the nested module's; this file fetches, plans, and redefines. */
#pragma once

#include <glib.h>
#include <nestlab/virt.h>
#include <nestlab/nested.h>

G_BEGIN_DECLS

/* libvirt's domain capabilities for x86_64 guests of VIRTTYPE ("kvm" or
 * "qemu"), as XML text (newly allocated). NULL with ERROR when libvirt
 * cannot give them (no KVM, test driver). */
char *nl_virt_domain_caps (NlVirtConn *conn, const char *virttype, GError **error);

typedef enum {
  NL_NESTED_ACTION_ENABLE,
  NL_NESTED_ACTION_DISABLE,
} NlNestedAction;

/* What `nested enable` / `nested disable` will do to one domain. */
typedef struct {
  char *name;
  NlNestedAction action;
  NlNestedOptions options;   /* as used: windows filled in from the domain */
  char *new_xml;             /* the domain's new definition; NULL: no change */
  GPtrArray *changes;        /* of char*: one line per change */
  GPtrArray *warnings;       /* of char*: what the user should know */
  gboolean running;          /* active (running or paused) when planned */
  gboolean managed_save;     /* has a managed-save image */
  int snapshots;             /* number of snapshots */
} NlNestedPlan;

void nl_nested_plan_free (NlNestedPlan *plan);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NlNestedPlan, nl_nested_plan_free)

/* Reads domain NAME's inactive definition (never the secure parts) and works
 * out ACTION with OPTIONS (copied; options->windows is set when the domain
 * looks like Windows; for DISABLE, options->emulate is set when the domain
 * is of type qemu). Changes nothing. Caller owns the plan. */
NlNestedPlan *nl_virt_nested_plan (NlVirtConn *conn, const char *name,
                                   NlNestedAction action, const NlNestedOptions *options,
                                   GError **error);

/* Called with a line of progress ("shutting down ..."); DATA is the caller's. */
typedef void (*NlNestedProgress) (const char *line, gpointer data);

/* Carries out PLAN (borrowed). A running domain is an error unless FORCE,
 * which shuts it down gracefully (guest agent, then ACPI) and powers it off
 * after TIMEOUT seconds. Removes a managed-save image, then redefines the
 * domain (same UUID) with libvirt's validation. Does not start it. Nothing
 * happens when PLAN has no change. PROGRESS may be NULL. */
gboolean nl_virt_nested_apply (NlVirtConn *conn, const NlNestedPlan *plan, gboolean force,
                               guint timeout, NlNestedProgress progress, gpointer data,
                               GError **error);

/* One domain's nested readiness, as `nested status` reports it. */
typedef struct {
  char *name;
  gboolean active;
  gboolean ready;
  gboolean emulated;     /* domain type qemu: judged as software emulation */
  gboolean windows;
  GPtrArray *reasons;    /* of char*: every reason it is not ready */
} NlNestedStatus;

void nl_nested_status_free (NlNestedStatus *status);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NlNestedStatus, nl_nested_status_free)

/* The status of domain NAME, or of every domain (sorted by name) when NAME is
 * NULL, judged with OPTIONS (emulate and windows are decided per domain from
 * its definition). GPtrArray of NlNestedStatus*, owned by the caller. */
GPtrArray *nl_virt_nested_status (NlVirtConn *conn, const char *name,
                                  const NlNestedOptions *options, GError **error);

G_END_DECLS
