/* The rollout driver on libvirt: every operation goes through the virt
 * layer (connections, guest agent, restore points, replicas, patch
 * history). Each target handle holds its own connection, so worker
 * threads never share one. */
#include <string.h>

#include <nestlab/agent.h>
#include <nestlab/patches.h>
#include <nestlab/replica.h>
#include <nestlab/restore.h>
#include <nestlab/error.h>
#include <nestlab/rollout.h>
#include <nestlab/virt.h>


typedef struct {
  char *uri;
  guint poll_ms;
} VirtDriver;

typedef struct {
  VirtDriver *drv;
  NlVirtConn *conn;
  NlVirtDomain *dom;
} VirtHandle;

static void
virt_driver_free (gpointer data)
{
  VirtDriver *d = data;
  g_free (d->uri);
  g_free (d);
}

/* After a failure on CONN: when the connection is gone (libvirtd
 * restarted or stopped), ERROR becomes NL_ERROR_DISCONNECTED, which stops
 * the run as resumable instead of failing the machine. Returns FALSE. */
static gboolean
check_lost (NlVirtConn *conn, const char *uri, GError **error)
{
  g_autofree char *why = NULL;

  if (error == NULL || *error == NULL || nl_virt_connection_alive (conn))
    return FALSE;
  if (g_error_matches (*error, NL_ERROR, NL_ERROR_DISCONNECTED))
    return FALSE;
  why = g_strdup ((*error)->message);
  g_clear_error (error);
  g_set_error (error, NL_ERROR, NL_ERROR_DISCONNECTED, "lost the connection to libvirt at %s (%s)",
               uri ? uri : "the default URI", why);
  return FALSE;
}

#define LOST(h, error) check_lost ((h)->conn, (h)->drv->uri, (error))

static gpointer
v_open (gpointer data, const char *domain, GError **error)
{
  VirtDriver *drv = data;
  g_autoptr (NlVirtConn) conn = nl_virt_connect (drv->uri, error);
  VirtHandle *h;
  NlVirtDomain *dom;

  if (conn == NULL)
    {
      check_lost (NULL, drv->uri, error);
      return NULL;
    }
  dom = nl_virt_domain_lookup (conn, domain, error);
  if (dom == NULL)
    {
      check_lost (conn, drv->uri, error);
      return NULL;
    }
  h = g_new0 (VirtHandle, 1);
  h->drv = drv;
  h->conn = g_steal_pointer (&conn);
  h->dom = dom;
  return h;
}

static void
v_close (gpointer handle)
{
  VirtHandle *h = handle;
  g_clear_pointer (&h->dom, nl_virt_domain_unref);
  g_clear_pointer (&h->conn, nl_virt_disconnect);
  g_free (h);
}

static gboolean
v_ping (gpointer handle, guint timeout, GError **error)
{
  VirtHandle *h = handle;
  return nl_agent_wait (h->dom, timeout, h->drv->poll_ms, error) || LOST (h, error);
}

static gboolean
v_os (gpointer handle, NlOsFamily *os, GError **error)
{
  VirtHandle *h = handle;
  return nl_agent_os_family (h->dom, os, error) || LOST (h, error);
}

static gboolean
v_checkpoint (gpointer handle, const char *name, GError **error)
{
  VirtHandle *h = handle;
  return nl_virt_restore_point_take (h->dom, name, error) || LOST (h, error);
}

static gboolean
v_revert (gpointer handle, const char *name, GError **error)
{
  VirtHandle *h = handle;
  return nl_virt_restore_point_revert (h->dom, name, error) || LOST (h, error);
}

static gboolean
v_drop (gpointer handle, const char *name, GError **error)
{
  VirtHandle *h = handle;
  return nl_virt_restore_point_drop (h->dom, name, error) || LOST (h, error);
}

static gboolean
v_exec_start (gpointer handle, const char *const *argv, gint64 *pid, GError **error)
{
  VirtHandle *h = handle;
  return nl_agent_exec_start (h->dom, argv, pid, error) || LOST (h, error);
}

static gboolean
v_exec_wait (gpointer handle, gint64 pid, guint timeout, int *status, char **output, GError **error)
{
  VirtHandle *h = handle;
  return nl_agent_exec_wait (h->dom, pid, timeout, h->drv->poll_ms, status, output, error)
         || LOST (h, error);
}

static gboolean
v_reboot (gpointer handle, guint timeout, GError **error)
{
  VirtHandle *h = handle;
  return nl_agent_reboot (h->dom, timeout, h->drv->poll_ms, error) || LOST (h, error);
}

static gboolean
v_record (gpointer handle, const char *run_id, const char *const *ids, GError **error)
{
  VirtHandle *h = handle;
  return nl_virt_patches_record (h->dom, run_id, ids, error) || LOST (h, error);
}

static void
add_unique (GPtrArray *domains, GPtrArray *machines, const char *domain, const char *machine)
{
  for (guint i = 0; i < domains->len; i++)
    if (g_str_equal (domains->pdata[i], domain))
      return;
  g_ptr_array_add (domains, g_strdup (domain));
  g_ptr_array_add (machines, g_strdup (machine ? machine : domain));
}

static gboolean
v_resolve (gpointer data, const GPtrArray *selectors, GPtrArray **domains, GPtrArray **machines,
           GError **error)
{
  VirtDriver *drv = data;
  g_autoptr (NlVirtConn) conn = nl_virt_connect (drv->uri, error);
  g_autoptr (GPtrArray) doms = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) machs = g_ptr_array_new_with_free_func (g_free);

  if (conn == NULL)
    return FALSE;
  for (guint i = 0; i < selectors->len; i++)
    {
      const NlTargetSelector *sel = selectors->pdata[i];
      if (sel->kind == NL_TARGET_DOMAIN)
        {
          g_autoptr (NlVirtDomain) dom = nl_virt_domain_lookup (conn, sel->domain, error);
          if (dom == NULL)
            {
              g_prefix_error (error, "%s:%d: target: ", sel->src.file, sel->src.line);
              return FALSE;
            }
          add_unique (doms, machs, sel->domain, NULL);
        }
      else
        {
          g_autoptr (GPtrArray) owned = nl_virt_list_owned_domains (conn, sel->lab, error);
          guint before = doms->len;
          if (owned == NULL)
            return FALSE;
          for (guint k = 0; k < owned->len; k++)
            {
              NlOwnedDomain *od = owned->pdata[k];
              if (sel->role && g_strcmp0 (od->own->role, sel->role) != 0)
                continue;
              if (sel->machines && !g_pattern_match_simple (sel->machines, od->own->machine ? od->own->machine : od->name))
                continue;
              add_unique (doms, machs, od->name, od->own->machine);
            }
          if (doms->len == before)
            {
              g_set_error (error, NL_ERROR, NL_ERROR_NOT_FOUND,
                           "%s:%d: target: no machine of lab '%s'%s%s%s%s matches", sel->src.file,
                           sel->src.line, sel->lab, sel->role ? " with role " : "", sel->role ? sel->role : "",
                           sel->machines ? " named " : "", sel->machines ? sel->machines : "");
              return FALSE;
            }
        }
    }
  *domains = g_steal_pointer (&doms);
  *machines = g_steal_pointer (&machs);
  return TRUE;
}

static gboolean
v_replica_create (gpointer data, const char *run_id, const GPtrArray *domains, const char *pool,
                  guint boot_timeout, GPtrArray **replicas, GError **error)
{
  VirtDriver *drv = data;
  g_autoptr (NlVirtConn) conn = nl_virt_connect (drv->uri, error);
  if (conn == NULL)
    return check_lost (NULL, drv->uri, error);
  return nl_virt_replica_create (conn, run_id, pool, domains, replicas, error)
         || check_lost (conn, drv->uri, error);
}

static gboolean
v_replica_discard (gpointer data, const char *run_id, GError **error)
{
  VirtDriver *drv = data;
  g_autoptr (NlVirtConn) conn = nl_virt_connect (drv->uri, error);
  if (conn == NULL)
    return check_lost (NULL, drv->uri, error);
  return nl_virt_replica_discard (conn, run_id, error) || check_lost (conn, drv->uri, error);
}

/* ---- Hosts: each call opens its own connection, so a host that went
 * away and came back (its reboot) is simply connected to again. ---- */

static NlRolloutDriver *v_for_host (gpointer data, const char *uri, GError **error);

static char *
v_host_uuid (gpointer data, GError **error)
{
  VirtDriver *drv = data;
  g_autoptr (NlVirtConn) conn = nl_virt_connect (drv->uri, error);
  return conn ? nl_virt_host_uuid (conn, error) : NULL;
}

void
nl_host_guest_info_free (NlHostGuestInfo *info)
{
  if (info == NULL)
    return;
  g_free (info->name);
  g_free (info);
}

static GPtrArray *
v_host_guests (gpointer data, GError **error)
{
  VirtDriver *drv = data;
  g_autoptr (NlVirtConn) conn = nl_virt_connect (drv->uri, error);
  g_autoptr (GPtrArray) infos = conn ? nl_virt_host_guests (conn, error) : NULL;
  GPtrArray *out;

  if (infos == NULL)
    return NULL;
  out = g_ptr_array_new_with_free_func ((GDestroyNotify) nl_host_guest_info_free);
  for (guint i = 0; i < infos->len; i++)
    {
      const NlVirtGuestInfo *v = infos->pdata[i];
      NlHostGuestInfo *g = g_new0 (NlHostGuestInfo, 1);
      g->name = g_strdup (v->name);
      g->active = v->active;
      g->persistent = v->persistent;
      g->saved = v->managed_save;
      g->nested = v->nested;
      g_ptr_array_add (out, g);
    }
  return out;
}

/* NAME on the host of DRV, with its connection in *CONN. */
static NlVirtDomain *
host_domain (VirtDriver *drv, const char *name, NlVirtConn **conn, GError **error)
{
  *conn = nl_virt_connect (drv->uri, error);
  return *conn ? nl_virt_domain_lookup (*conn, name, error) : NULL;
}

static gboolean
v_guest_save (gpointer data, const char *name, GError **error)
{
  g_autoptr (NlVirtConn) conn = NULL;
  g_autoptr (NlVirtDomain) dom = host_domain (data, name, &conn, error);
  return dom != NULL && nl_virt_domain_managed_save (dom, error);
}

/* Waits up to SECONDS for DOM to be shut off. */
static gboolean
wait_off (NlVirtDomain *dom, guint seconds)
{
  gint64 end = g_get_monotonic_time () + (gint64) seconds * G_USEC_PER_SEC;
  while (nl_virt_domain_is_active (dom))
    {
      if (g_get_monotonic_time () >= end)
        return FALSE;
      g_usleep (G_USEC_PER_SEC / 4);
    }
  return TRUE;
}

static gboolean
v_guest_shutdown (gpointer data, const char *name, guint timeout, GError **error)
{
  g_autoptr (NlVirtConn) conn = NULL;
  g_autoptr (NlVirtDomain) dom = host_domain (data, name, &conn, error);
  g_autoptr (GError) agent = NULL;
  guint agent_share = MAX (timeout / 2, 1);

  if (dom == NULL)
    return FALSE;
  if (!nl_virt_domain_is_active (dom))
    return TRUE;
  /* The agent first (a clean shutdown the guest's OS runs), then the ACPI
   * power button for what is left of the time, then the power cord. */
  if (nl_virt_domain_shutdown (dom, TRUE, &agent) && wait_off (dom, agent_share))
    return TRUE;
  if (agent)
    g_debug ("%s: %s; trying ACPI", name, agent->message);
  if (nl_virt_domain_shutdown (dom, FALSE, NULL) && wait_off (dom, timeout - MIN (timeout, agent_share)))
    return TRUE;
  g_debug ("%s: did not shut down within %us; powering off", name, timeout);
  return nl_virt_domain_poweroff (dom, error);
}

static gboolean
v_guest_start (gpointer data, const char *name, GError **error)
{
  g_autoptr (NlVirtConn) conn = NULL;
  g_autoptr (NlVirtDomain) dom = host_domain (data, name, &conn, error);
  return dom != NULL && nl_virt_domain_start (dom, error);
}

static gboolean
v_guest_migrate (gpointer data, const char *name, NlRolloutDriver *dest, const char *migrate_uri,
                 gboolean unsafe, GError **error)
{
  VirtDriver *to = dest->data;
  g_autoptr (NlVirtConn) conn = NULL;
  g_autoptr (NlVirtDomain) dom = host_domain (data, name, &conn, error);
  g_autoptr (NlVirtConn) dconn = NULL;

  if (dom == NULL)
    return FALSE;
  dconn = nl_virt_connect (to->uri, error);
  return dconn != NULL && nl_virt_domain_migrate (dom, dconn, migrate_uri, unsafe, error);
}

static gboolean
v_file_write (gpointer handle, const char *path, const void *data, gsize len, GError **error)
{
  VirtHandle *h = handle;
  return nl_agent_file_write (h->dom, path, data, len, error) || LOST (h, error);
}

static const NlRolloutDriverOps virt_ops = {
  .open = v_open, .close = v_close, .ping = v_ping, .os_family = v_os,
  .checkpoint = v_checkpoint, .revert = v_revert, .drop_checkpoint = v_drop,
  .exec_start = v_exec_start, .exec_wait = v_exec_wait, .reboot = v_reboot,
  .record_patches = v_record, .resolve = v_resolve,
  .replica_create = v_replica_create, .replica_discard = v_replica_discard,
  .for_host = v_for_host, .host_uuid = v_host_uuid, .host_guests = v_host_guests,
  .guest_save = v_guest_save, .guest_shutdown = v_guest_shutdown, .guest_start = v_guest_start,
  .guest_migrate = v_guest_migrate, .file_write = v_file_write,
};

static NlRolloutDriver *
v_for_host (gpointer data, const char *uri, GError **error)
{
  return nl_rollout_virt_driver_new (uri, error);
}

NlRolloutDriver *
nl_rollout_virt_driver_new (const char *uri, GError **error)
{
  NlRolloutDriver *driver = g_new0 (NlRolloutDriver, 1);
  VirtDriver *drv = g_new0 (VirtDriver, 1);

  nl_virt_init ();
  drv->uri = g_strdup (uri);
  drv->poll_ms = 250;
  driver->ops = &virt_ops;
  driver->data = drv;
  driver->free_data = virt_driver_free;
  return driver;
}
