/* `status`: every lab found from ownership marks (no local database), with
 * machine states, addresses (DHCP leases, else the guest agent) and
 * checkpoints; and its JSON form. */
#include <string.h>

#include <nestlab/patches.h>
#include <nestlab/json.h>

#include "lab-private.h"

static void
machine_status_free (NlMachineStatus *m)
{
  g_free (m->name);
  g_free (m->domain);
  g_free (m->role);
  g_free (m->state);
  g_ptr_array_unref (m->addresses);
  g_ptr_array_unref (m->checkpoints);
  g_ptr_array_unref (m->patches);
  g_clear_pointer (&m->steps, g_ptr_array_unref);
  g_free (m);
}

void
nl_lab_status_free (NlLabStatus *status)
{
  if (status == NULL)
    return;
  g_free (status->name);
  g_ptr_array_unref (status->machines);
  g_ptr_array_unref (status->networks);
  g_ptr_array_unref (status->network_states);
  g_ptr_array_unref (status->volumes);
  g_free (status);
}

static NlLabStatus *
lab_for (GHashTable *labs, const char *name)
{
  NlLabStatus *s = g_hash_table_lookup (labs, name);
  if (s == NULL)
    {
      s = g_new0 (NlLabStatus, 1);
      s->name = g_strdup (name);
      s->machines = g_ptr_array_new_with_free_func ((GDestroyNotify) machine_status_free);
      s->networks = g_ptr_array_new_with_free_func (g_free);
      s->network_states = g_ptr_array_new_with_free_func (g_free);
      s->volumes = g_ptr_array_new_with_free_func (g_free);
      g_hash_table_insert (labs, s->name, s);
    }
  return s;
}

static gint
machine_order (gconstpointer a, gconstpointer b)
{
  const NlMachineStatus *x = *(NlMachineStatus *const *) a, *y = *(NlMachineStatus *const *) b;
  if (x->wave != y->wave)
    return x->wave < y->wave ? -1 : 1;
  return g_strcmp0 (x->name, y->name);
}

static gint
network_order (gconstpointer a, gconstpointer b)
{
  return strcmp ((*(NlOwnedNetwork *const *) a)->name, (*(NlOwnedNetwork *const *) b)->name);
}

static gint
lab_order (gconstpointer a, gconstpointer b)
{
  return strcmp ((*(NlLabStatus *const *) a)->name, (*(NlLabStatus *const *) b)->name);
}

GPtrArray *
nl_lab_status (NlVirtConn *conn, const char *lab, GError **error)
{
  g_autoptr (GPtrArray) domains = nl_virt_list_owned_domains (conn, lab, error);
  g_autoptr (GPtrArray) networks = NULL;
  g_autoptr (GHashTable) labs = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                                       (GDestroyNotify) nl_lab_status_free);
  g_autoptr (GHashTable) leases = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr (GPtrArray) result = g_ptr_array_new_with_free_func ((GDestroyNotify) nl_lab_status_free);
  gboolean test_driver = nl_virt_is_test_driver (conn);
  GHashTableIter iter;
  gpointer value;

  if (domains == NULL)
    return NULL;
  networks = nl_virt_list_owned_networks (conn, lab, error);
  if (networks == NULL)
    return NULL;
  g_ptr_array_sort (networks, network_order);

  for (guint i = 0; i < networks->len; i++)
    {
      NlOwnedNetwork *on = networks->pdata[i];
      NlLabStatus *s = lab_for (labs, on->own->lab);
      gboolean active = nl_virt_network_is_active (on->net);

      if (active)
        nl_virt_network_leases (on->net, leases);
      g_ptr_array_add (s->networks, g_strdup (on->name));
      g_ptr_array_add (s->network_states, g_strdup (active ? "active" : "inactive"));
    }

  for (guint i = 0; i < domains->len; i++)
    {
      NlOwnedDomain *od = domains->pdata[i];
      NlLabStatus *s = lab_for (labs, od->own->lab);
      NlMachineStatus *m = g_new0 (NlMachineStatus, 1);
      g_autoptr (GPtrArray) macs = nl_virt_domain_macs (od->dom);

      m->name = g_strdup (od->own->machine ? od->own->machine : od->name);
      m->domain = g_strdup (od->name);
      m->role = g_strdup (od->own->role ? od->own->role : "generic");
      m->state = g_strdup (nl_virt_domain_state_name (od->dom));
      m->nested = od->own->nested;
      m->wave = od->own->wave;
      m->addresses = g_ptr_array_new_with_free_func (g_free);
      m->checkpoints = g_ptr_array_new_with_free_func (g_free);
      for (guint k = 0; k < macs->len; k++)
        {
          const char *ip = g_hash_table_lookup (leases, macs->pdata[k]);
          if (ip)
            g_ptr_array_add (m->addresses, g_strdup (ip));
        }
      if (m->addresses->len == 0 && !test_driver && nl_virt_domain_is_active (od->dom))
        nl_virt_domain_agent_ipv4 (od->dom, m->addresses);
      m->patches = nl_virt_patches_list (od->dom, NULL);
      if (m->patches == NULL) /* unreadable history: shown as none, not fatal */
        m->patches = g_ptr_array_new_with_free_func ((GDestroyNotify) nl_patch_record_free);
      m->steps = g_ptr_array_new_with_free_func ((GDestroyNotify) nl_step_record_free);
      for (guint k = 0; k < od->own->steps->len; k++)
        g_ptr_array_add (m->steps, nl_step_record_copy (od->own->steps->pdata[k]));
      for (guint k = 0; k < od->own->checkpoints->len; k++)
        g_ptr_array_add (m->checkpoints, g_strdup (((NlCheckpointRecord *) od->own->checkpoints->pdata[k])->name));
      for (guint k = 0; k < od->own->volumes->len; k++)
        {
          NlOwnedVolume *v = od->own->volumes->pdata[k];
          g_autofree char *key = g_strdup_printf ("%s/%s", v->pool, v->name);
          gboolean dup = FALSE;
          for (guint j = 0; j < s->volumes->len && !dup; j++)
            dup = strcmp (s->volumes->pdata[j], key) == 0;
          if (!dup)
            g_ptr_array_add (s->volumes, g_steal_pointer (&key));
        }
      g_ptr_array_add (s->machines, m);
    }

  g_hash_table_iter_init (&iter, labs);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      NlLabStatus *s = value;
      g_ptr_array_sort (s->machines, machine_order);
      g_hash_table_iter_steal (&iter);
      g_ptr_array_add (result, s);
    }
  g_ptr_array_sort (result, lab_order);
  return g_steal_pointer (&result);
}

/* ---- JSON, written by hand: the output is small and flat, and a JSON
 * library is not among the project's dependencies. ---- */

static void
json_strings (GString *out, GPtrArray *strings)
{
  g_string_append_c (out, '[');
  for (guint i = 0; i < strings->len; i++)
    {
      if (i)
        g_string_append (out, ", ");
      nl_json_append_string (out, strings->pdata[i]);
    }
  g_string_append_c (out, ']');
}

char *
nl_lab_status_to_json (GPtrArray *statuses)
{
  GString *out = g_string_new ("[");
  for (guint i = 0; i < statuses->len; i++)
    {
      NlLabStatus *s = statuses->pdata[i];
      g_string_append (out, i ? ",\n  {" : "\n  {");
      nl_json_append_field (out, "\"name\": ", s->name);
      g_string_append (out, ",\n   \"networks\": [");
      for (guint n = 0; n < s->networks->len; n++)
        {
          g_string_append (out, n ? ", {\"name\": " : "{\"name\": ");
          nl_json_append_string (out, s->networks->pdata[n]);
          nl_json_append_field (out, ", \"state\": ", s->network_states->pdata[n]);
          g_string_append_c (out, '}');
        }
      g_string_append (out, "],\n   \"volumes\": ");
      json_strings (out, s->volumes);
      g_string_append (out, ",\n   \"machines\": [");
      for (guint m = 0; m < s->machines->len; m++)
        {
          NlMachineStatus *ms = s->machines->pdata[m];
          g_string_append (out, m ? ",\n     {" : "\n     {");
          nl_json_append_field (out, "\"name\": ", ms->name);
          nl_json_append_field (out, ", \"domain\": ", ms->domain);
          nl_json_append_field (out, ", \"role\": ", ms->role);
          nl_json_append_field (out, ", \"state\": ", ms->state);
          g_string_append_printf (out, ", \"nested\": %s, \"wave\": %u, \"addresses\": ",
                                  ms->nested ? "true" : "false", ms->wave);
          json_strings (out, ms->addresses);
          g_string_append (out, ", \"checkpoints\": ");
          json_strings (out, ms->checkpoints);
          g_string_append (out, ", \"patches\": [");
          for (guint p = 0; p < ms->patches->len; p++)
            {
              NlPatchRecord *r = ms->patches->pdata[p];
              g_string_append (out, p ? ", {\"id\": " : "{\"id\": ");
              nl_json_append_string (out, r->id);
              nl_json_append_field (out, ", \"run\": ", r->run);
              nl_json_append_field (out, ", \"installed\": ", r->installed);
              g_string_append_c (out, '}');
            }
          g_string_append (out, "], \"steps\": [");
          for (guint p = 0; p < ms->steps->len; p++)
            {
              NlStepRecord *r = ms->steps->pdata[p];
              nl_json_append_field (out, p ? ", {\"name\": " : "{\"name\": ", r->name);
              nl_json_append_field (out, ", \"state\": ", nl_step_state_to_string (r->state));
              g_string_append_printf (out, ", \"exit\": %d, \"attempts\": %u", r->exit_code, r->attempts);
              nl_json_append_field (out, ", \"started\": ", r->started);
              nl_json_append_field (out, ", \"finished\": ", r->finished);
              nl_json_append_field (out, ", \"tail\": ", r->tail);
              g_string_append_c (out, '}');
            }
          g_string_append (out, "]}");
        }
      g_string_append (out, s->machines->len ? "\n   ]}" : "]}");
    }
  g_string_append (out, statuses->len ? "\n]\n" : "]\n");
  return g_string_free (out, FALSE);
}

static void
add_name (GPtrArray *names, const char *name)
{
  if (!g_ptr_array_find_with_equal_func (names, name, g_str_equal, NULL))
    g_ptr_array_add (names, g_strdup (name));
}

static gint
name_order (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

GPtrArray *
nl_lab_names (NlVirtConn *conn, GError **error)
{
  g_autoptr (GPtrArray) domains = nl_virt_list_owned_domains (conn, NULL, error);
  g_autoptr (GPtrArray) networks = NULL;
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);

  if (domains == NULL)
    return NULL;
  networks = nl_virt_list_owned_networks (conn, NULL, error);
  if (networks == NULL)
    return NULL;
  /* A lab whose domains are gone still owns its networks. */
  for (guint i = 0; i < domains->len; i++)
    add_name (names, ((NlOwnedDomain *) domains->pdata[i])->own->lab);
  for (guint i = 0; i < networks->len; i++)
    add_name (names, ((NlOwnedNetwork *) networks->pdata[i])->own->lab);
  g_ptr_array_sort (names, name_order);
  return g_steal_pointer (&names);
}
