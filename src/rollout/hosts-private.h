/* Private to host windows: a host's window being carried out, and what the
 * libvirt hosts (hosts.c) and the Windows Hyper-V hosts of labs
 * (hosts-windows.c) share. */
#pragma once

#include <nestlab/rollout.h>

#include "executor-private.h"

G_BEGIN_DECLS

typedef struct {
  Run *run;
  const NlHostTarget *host;
  const NlHostTarget *peer;     /* may be NULL */
  NlHostRecord *rec;
  NlRolloutDriver *drv;         /* the host's */
  NlRolloutDriver *peer_drv;    /* its peer's; NULL without one */
  const GPtrArray *patches;     /* NlPatch*, for its guests */
  char *failure;                /* why the host is not patched; the window still restores */
} Host;


/* A guest (or a lab machine) through its agent. */
typedef struct {
  NlRolloutDriver *drv;
  gpointer handle;
  NlOsFamily os;
} Agent;

gint64 hosts_now_s (void);
/* Saves the journal. */
gboolean hosts_save (Host *h, GError **error);
/* Journals the host's STATE. */
gboolean hosts_host_state (Host *h, NlHostState state, GError **error);
/* Journals guest G's STATE and MESSAGE (NULL: kept). */
gboolean hosts_guest_state (Host *h, NlHostGuestRecord *g, NlHostGuestState state, const char *message,
                            GError **error);
/* The host is not patched, for the reason given (the first one counts;
 * journalled with the next step). Its window goes on to bring its guests
 * back. */
void hosts_fail (Host *h, const char *format, ...) G_GNUC_PRINTF (2, 3);

/* A guest record for the window's plan GP of one guest. */
NlHostGuestRecord *hosts_guest_record_new (Host *h, const NlGuestPlan *gp);
/* The domain of a lab host's machine (by its lab mark); newly allocated. */
char *hosts_lab_domain (Host *h, GError **error);

/* Opens NAME on DRV and waits up to TIMEOUT seconds for its agent. */
gboolean hosts_agent_open (Agent *a, NlRolloutDriver *drv, const char *name, guint timeout,
                           GError **error);
void hosts_agent_close (Agent *a);
/* Runs ARGV through the agent: its exit status and output. */
gboolean hosts_agent_run (Agent *a, const char *const *argv, guint timeout, int *status,
                          char **output, GError **error);

/* The window of a Windows Hyper-V host that is a lab machine (its host
 * record in H, H->drv the main driver): same steps, carried out inside it
 * with the shipped PowerShell. FALSE only for a journal error. */
gboolean hosts_run_windows (Host *h, GError **error);

G_END_DECLS
