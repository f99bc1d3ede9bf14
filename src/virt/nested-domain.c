/* `nestlab nested enable/disable/status` against libvirt: fetch a domain's
 * inactive definition, let the nested module change or judge it, and redefine
 * it safely (shut down, managed save removed, validated, same UUID). */
#include <string.h>

#include <libxml/tree.h>

#include <nestlab/error.h>
#include <nestlab/model.h>
#include "virt-private.h"
#include <nestlab/virt-nested.h>

char *
nl_virt_domain_caps (virConnectPtr conn, const char *virttype, GError **error)
{
  char *xml = virConnectGetDomainCapabilities (conn, NULL, "x86_64", NULL, virttype, 0);
  if (xml == NULL)
    nl_virt_set_error (error, "getting libvirt's domain capabilities for %s", virttype);
  return xml;
}

void
nl_nested_plan_free (NlNestedPlan *plan)
{
  if (plan == NULL)
    return;
  g_free (plan->name);
  g_free (plan->new_xml);
  g_clear_pointer (&plan->changes, g_ptr_array_unref);
  g_clear_pointer (&plan->warnings, g_ptr_array_unref);
  g_free (plan);
}

void
nl_nested_status_free (NlNestedStatus *status)
{
  if (status == NULL)
    return;
  g_free (status->name);
  g_clear_pointer (&status->reasons, g_ptr_array_unref);
  g_free (status);
}

static xmlNodePtr
child (xmlNodePtr parent, const char *name)
{
  for (xmlNodePtr c = parent ? parent->children : NULL; c != NULL; c = c->next)
    if (c->type == XML_ELEMENT_NODE && c->ns == NULL
        && xmlStrcmp (c->name, (const xmlChar *) name) == 0)
      return c;
  return NULL;
}

static gboolean
has_prop_value (xmlNodePtr node, const char *name, const char *value)
{
  g_autofree char *v = node ? (char *) xmlGetProp (node, (const xmlChar *) name) : NULL;
  return g_strcmp0 (v, value) == 0;
}

/* Windows guests get nested-safe Hyper-V enlightenments. A domain looks like
 * Windows when it already has Hyper-V enlightenments, or when its libosinfo
 * metadata (virt-install, virt-manager, nestlab) names a Microsoft OS. */
static gboolean
looks_like_windows (xmlDocPtr doc)
{
  xmlNodePtr root = xmlDocGetRootElement (doc);
  xmlNodePtr metadata = child (root, "metadata");

  if (child (child (root, "features"), "hyperv") != NULL)
    return TRUE;
  for (xmlNodePtr m = metadata ? metadata->children : NULL; m != NULL; m = m->next)
    for (xmlNodePtr os = m->children; os != NULL; os = os->next)
      if (os->type == XML_ELEMENT_NODE && xmlStrcmp (os->name, (const xmlChar *) "os") == 0)
        {
          g_autofree char *id = (char *) xmlGetProp (os, (const xmlChar *) "id");
          if (id != NULL && strstr (id, "microsoft.com/win") != NULL)
            return TRUE;
        }
  return FALSE;
}

static char *
format_doc (xmlDocPtr doc)
{
  xmlChar *mem = NULL;
  int len = 0;
  char *text;

  xmlDocDumpFormatMemoryEnc (doc, &mem, &len, "UTF-8", 1);
  /* Skip the XML declaration: libvirt does not want it and virsh omits it. */
  text = g_strdup (g_str_has_prefix ((const char *) mem, "<?xml")
                   ? strchr ((const char *) mem, '\n') + 1 : (const char *) mem);
  xmlFree (mem);
  return text;
}

static virDomainPtr
lookup (virConnectPtr conn, const char *name, GError **error)
{
  virDomainPtr dom = virDomainLookupByName (conn, name);
  if (dom == NULL)
    nl_virt_set_error (error, "looking up domain '%s'", name);
  return dom;
}

static char *
inactive_xml (virDomainPtr dom, const char *name, GError **error)
{
  /* Never VIR_DOMAIN_XML_SECURE: nestlab does not read passwords. */
  char *xml = virDomainGetXMLDesc (dom, VIR_DOMAIN_XML_INACTIVE);
  if (xml == NULL)
    nl_virt_set_error (error, "reading the definition of domain '%s'", name);
  return xml;
}

NlNestedPlan *
nl_virt_nested_plan (virConnectPtr conn, const char *name, NlNestedAction action,
                     const NlNestedOptions *options, GError **error)
{
  g_autoptr (virDomain) dom = NULL;
  g_autofree char *xml = NULL;
  g_autoptr (xmlDoc) doc = NULL;
  g_autoptr (NlNestedPlan) plan = g_new0 (NlNestedPlan, 1);
  xmlNodePtr devices;
  int active;
  int saved;

  plan->name = g_strdup (name);
  plan->action = action;
  plan->options = *options;
  plan->changes = g_ptr_array_new_with_free_func (g_free);
  plan->warnings = g_ptr_array_new_with_free_func (g_free);

  if ((dom = lookup (conn, name, error)) == NULL)
    return NULL;
  if ((xml = inactive_xml (dom, name, error)) == NULL)
    return NULL;
  if ((doc = nl_nested_parse_domain (xml, error)) == NULL)
    {
      g_prefix_error (error, "domain '%s': ", name);
      return NULL;
    }
  plan->options.windows = looks_like_windows (doc);
  /* An emulated CPU (mode maximum) shows what QEMU emulates, not the host's
   * extension, so undoing judges it as emulation. */
  if (action == NL_NESTED_ACTION_DISABLE
      && has_prop_value (xmlDocGetRootElement (doc), "type", "qemu"))
    plan->options.emulate = TRUE;

  if (action == NL_NESTED_ACTION_ENABLE)
    {
      if (!nl_nested_enable (doc, &plan->options, plan->changes, error))
        {
          g_prefix_error (error, "making domain '%s' nested-ready: ", name);
          return NULL;
        }
    }
  else if (!nl_nested_disable (doc, &plan->options, plan->changes, error))
    {
      g_prefix_error (error, "undoing nesting on domain '%s': ", name);
      return NULL;
    }
  if (plan->changes->len > 0)
    plan->new_xml = format_doc (doc);

  active = virDomainIsActive (dom);
  if (active < 0)
    {
      nl_virt_set_error (error, "reading the state of domain '%s'", name);
      return NULL;
    }
  plan->running = active == 1;
  saved = virDomainHasManagedSaveImage (dom, 0);
  plan->managed_save = saved == 1;
  if (saved < 0)
    virResetLastError ();
  plan->snapshots = virDomainSnapshotNum (dom, 0);
  if (plan->snapshots < 0)
    {
      /* Drivers without snapshots have none to warn about. */
      plan->snapshots = 0;
      virResetLastError ();
    }

  if (plan->new_xml == NULL)
    return g_steal_pointer (&plan);

  if (plan->managed_save)
    g_ptr_array_add (plan->warnings, g_strdup (
      "its saved state (managed save) will be discarded: the guest boots afresh next time"));
  if (plan->snapshots > 0 && action == NL_NESTED_ACTION_ENABLE)
    g_ptr_array_add (plan->warnings, g_strdup_printf (
      "it has %d snapshot%s: reverting to one restores the old CPU definition; and once it "
      "runs guests of its own, saving or reverting it while they run is unsafe (on AMD, "
      "undefined)", plan->snapshots, plan->snapshots == 1 ? "" : "s"));
  devices = child (xmlDocGetRootElement (doc), "devices");
  for (xmlNodePtr g = devices ? devices->children : NULL; g != NULL; g = g->next)
    if (g->type == XML_ELEMENT_NODE && xmlStrcmp (g->name, (const xmlChar *) "graphics") == 0
        && (has_prop_value (g, "type", "vnc") || has_prop_value (g, "type", "spice")))
      {
        g_ptr_array_add (plan->warnings, g_strdup (
          "nestlab does not read secrets: a password set on its VNC/SPICE display is not "
          "kept; set it again with `virsh edit` if it had one"));
        break;
      }
  return g_steal_pointer (&plan);
}

static void
report (NlNestedProgress progress, gpointer data, const char *format, ...) G_GNUC_PRINTF (3, 4);

static void
report (NlNestedProgress progress, gpointer data, const char *format, ...)
{
  g_autofree char *line = NULL;
  va_list ap;

  va_start (ap, format);
  line = g_strdup_vprintf (format, ap);
  va_end (ap);
  g_debug ("%s", line);
  if (progress != NULL)
    progress (line, data);
}

/* Waits up to TIMEOUT seconds for DOM to stop; TRUE when it did. */
static gboolean
wait_inactive (virDomainPtr dom, guint timeout)
{
  for (guint i = 0; i <= timeout * 4; i++)
    {
      if (virDomainIsActive (dom) == 0)
        return TRUE;
      if (i < timeout * 4)
        g_usleep (G_USEC_PER_SEC / 4);
    }
  return FALSE;
}

static gboolean
shut_down (virDomainPtr dom, const char *name, guint timeout, NlNestedProgress progress,
           gpointer data, GError **error)
{
  report (progress, data, "shutting down '%s' (guest agent, then ACPI; powered off after %u s)",
          name, timeout);
  /* Agent first, then the ACPI power button; drivers that know neither
   * method (the test driver) shut down their own way. */
  if (virDomainShutdownFlags (dom, VIR_DOMAIN_SHUTDOWN_GUEST_AGENT
                                   | VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN) < 0
      && virDomainShutdownFlags (dom, VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN) < 0
      && virDomainShutdown (dom) < 0)
    {
      g_debug ("graceful shutdown refused: %s", virGetLastErrorMessage ());
      virResetLastError ();
    }
  if (wait_inactive (dom, timeout))
    {
      report (progress, data, "'%s' shut down", name);
      return TRUE;
    }
  report (progress, data, "'%s' did not shut down within %u s: powering it off", name, timeout);
  if (virDomainDestroy (dom) < 0 && virDomainIsActive (dom) != 0)
    {
      nl_virt_set_error (error, "powering off domain '%s'", name);
      return FALSE;
    }
  return TRUE;
}

gboolean
nl_virt_nested_apply (virConnectPtr conn, const NlNestedPlan *plan, gboolean force,
                      guint timeout, NlNestedProgress progress, gpointer data, GError **error)
{
  g_autoptr (virDomain) dom = NULL;
  g_autoptr (virDomain) defined = NULL;
  int active;

  if (plan->new_xml == NULL)
    return TRUE;
  if ((dom = lookup (conn, plan->name, error)) == NULL)
    return FALSE;
  /* The state may have changed since the plan was made. */
  active = virDomainIsActive (dom);
  if (active < 0)
    {
      nl_virt_set_error (error, "reading the state of domain '%s'", plan->name);
      return FALSE;
    }
  if (active == 1)
    {
      if (!force)
        {
          g_set_error (error, NL_ERROR, NL_ERROR_FAILED,
                       "domain '%s' is running: shut it down first, or pass --force to "
                       "shut it down (powered off after %u s)", plan->name, timeout);
          return FALSE;
        }
      if (!shut_down (dom, plan->name, timeout, progress, data, error))
        return FALSE;
    }
  if (virDomainHasManagedSaveImage (dom, 0) == 1)
    {
      if (virDomainManagedSaveRemove (dom, 0) < 0)
        {
          nl_virt_set_error (error, "removing the saved state of domain '%s'", plan->name);
          return FALSE;
        }
      report (progress, data, "removed the saved state (managed save) of '%s'", plan->name);
    }
  virResetLastError ();

  /* The new XML keeps the domain's UUID, so this redefines it. */
  defined = virDomainDefineXMLFlags (conn, plan->new_xml, VIR_DOMAIN_DEFINE_VALIDATE);
  if (defined == NULL)
    {
      nl_virt_set_error (error, "redefining domain '%s'", plan->name);
      return FALSE;
    }
  report (progress, data, "redefined '%s'", plan->name);
  return TRUE;
}

static NlNestedStatus *
status_of (virDomainPtr dom, const NlNestedOptions *base, GError **error)
{
  const char *name = virDomainGetName (dom);
  g_autoptr (NlNestedStatus) status = g_new0 (NlNestedStatus, 1);
  g_autofree char *xml = NULL;
  g_autoptr (xmlDoc) doc = NULL;
  NlNestedOptions options = *base;

  status->name = g_strdup (name);
  status->reasons = g_ptr_array_new_with_free_func (g_free);
  status->active = virDomainIsActive (dom) == 1;
  if ((xml = inactive_xml (dom, name, error)) == NULL)
    return NULL;
  if ((doc = nl_nested_parse_domain (xml, error)) == NULL)
    {
      g_prefix_error (error, "domain '%s': ", name);
      return NULL;
    }
  options.windows = status->windows = looks_like_windows (doc);
  options.emulate = status->emulated
    = has_prop_value (xmlDocGetRootElement (doc), "type", "qemu");
  status->ready = nl_nested_check (doc, &options, status->reasons);
  return g_steal_pointer (&status);
}

static int
compare_status (gconstpointer a, gconstpointer b)
{
  const NlNestedStatus *sa = *(const NlNestedStatus *const *) a;
  const NlNestedStatus *sb = *(const NlNestedStatus *const *) b;
  return strcmp (sa->name, sb->name);
}

GPtrArray *
nl_virt_nested_status (virConnectPtr conn, const char *name,
                       const NlNestedOptions *options, GError **error)
{
  g_autoptr (GPtrArray) result
    = g_ptr_array_new_with_free_func ((GDestroyNotify) nl_nested_status_free);

  if (name != NULL)
    {
      g_autoptr (virDomain) dom = lookup (conn, name, error);
      NlNestedStatus *status;
      if (dom == NULL || (status = status_of (dom, options, error)) == NULL)
        return NULL;
      g_ptr_array_add (result, status);
    }
  else
    {
      virDomainPtr *doms = NULL;
      int n = virConnectListAllDomains (conn, &doms, 0);
      gboolean ok = TRUE;
      if (n < 0)
        {
          nl_virt_set_error (error, "listing domains");
          return NULL;
        }
      for (int i = 0; i < n; i++)
        {
          if (ok)
            {
              g_autoptr (GError) local = NULL;
              NlNestedStatus *status = status_of (doms[i], options, &local);
              if (status != NULL)
                g_ptr_array_add (result, status);
              else if (!g_error_matches (local, NL_ERROR, NL_ERROR_NOT_FOUND))
                {
                  /* A domain undefined since the listing is simply gone. */
                  g_propagate_error (error, g_steal_pointer (&local));
                  ok = FALSE;
                }
            }
          virDomainFree (doms[i]);
        }
      g_free (doms);
      if (!ok)
        return NULL;
      g_ptr_array_sort (result, compare_status);
    }
  return g_steal_pointer (&result);
}
