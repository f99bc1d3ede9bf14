/* Semantic checks on an expanded lab, the ones a schema cannot express:
 * references, duplicates, start-order cycles, addresses, resources and names.
 * Also computes each machine's start wave. */
#include <string.h>

#include <nestlab/model.h>
#include <nestlab/nested.h>
#include "loader.h"

#define DIAG(loader, src, ...) nl_loader_diag_at ((loader), (src)->file, (src)->line, __VA_ARGS__)

/* Reports duplicate names in ARRAY (of structs starting with char *name and
 * holding an NlSource at SRC_OFFSET). */
static void
check_unique (NlLoader *loader, GPtrArray *array, gsize src_offset, const char *what)
{
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < array->len; i++)
    {
      char **named = g_ptr_array_index (array, i);
      NlSource *src = (NlSource *) ((char *) named + src_offset);
      NlSource *first;
      if (*named == NULL)
        continue;
      if ((first = g_hash_table_lookup (seen, *named)) != NULL)
        DIAG (loader, src, "%s '%s' is defined twice (first at %s:%d)", what, *named, first->file, first->line);
      else
        g_hash_table_insert (seen, *named, src);
    }
}

static void
check_name (NlLoader *loader, const NlSource *src, const char *what, const char *name)
{
  if (!nl_name_is_safe (name))
    DIAG (loader, src, "%s name '%s' is not allowed: use letters, digits, '.', '_' and '-', starting with a letter or digit, at most 63 characters",
          what, name ? name : "");
}

static void
check_names (NlLoader *loader)
{
  NlLab *lab = loader->lab;
  NlSource top = { lab->file, 0 };
  xmlDocPtr doc = g_ptr_array_index (loader->docs, 0);

  top.line = xmlGetLineNo (xmlDocGetRootElement (doc));
  check_name (loader, &top, "lab", lab->name);
  check_name (loader, &top, "storage pool", lab->pool);
  for (guint i = 0; i < lab->images->len; i++)
    {
      NlImage *img = g_ptr_array_index (lab->images, i);
      check_name (loader, &img->src, "image", img->name);
      if (img->volume)
        check_name (loader, &img->src, "volume", img->volume);
    }
  for (guint i = 0; i < lab->networks->len; i++)
    {
      NlNetwork *net = g_ptr_array_index (lab->networks, i);
      g_autofree char *full = g_strdup_printf ("%s-%s", lab->name, net->name);
      check_name (loader, &net->src, "network", net->name);
      if (nl_name_is_safe (net->name) && nl_name_is_safe (lab->name) && !nl_name_is_safe (full))
        DIAG (loader, &net->src, "network '%s': the libvirt name '%s' is longer than 63 characters", net->name, full);
      if (net->bridge)
        check_name (loader, &net->src, "bridge", net->bridge);
      if (net->bridge && strlen (net->bridge) > 15)
        DIAG (loader, &net->src, "network '%s': bridge '%s' is longer than 15 characters", net->name, net->bridge);
    }
  for (guint i = 0; i < lab->shared_disks->len; i++)
    {
      NlSharedDisk *d = g_ptr_array_index (lab->shared_disks, i);
      check_name (loader, &d->src, "shared disk", d->name);
    }
  for (guint i = 0; i < lab->machines->len; i++)
    {
      NlMachine *m = g_ptr_array_index (lab->machines, i);
      g_autofree char *full = g_strdup_printf ("%s-%s", lab->name, m->name);
      check_name (loader, &m->src, "machine", m->name);
      if (nl_name_is_safe (m->name) && nl_name_is_safe (lab->name) && !nl_name_is_safe (full))
        DIAG (loader, &m->src, "machine '%s': the libvirt name '%s' is longer than 63 characters", m->name, full);
    }
}

static void
check_references (NlLoader *loader)
{
  NlLab *lab = loader->lab;
  for (guint i = 0; i < lab->machines->len; i++)
    {
      NlMachine *m = g_ptr_array_index (lab->machines, i);
      if (m->boot_disk.image != NULL && nl_lab_find_image (lab, m->boot_disk.image) == NULL)
        DIAG (loader, &m->src, "machine '%s': unknown image '%s'", m->name, m->boot_disk.image);
      for (guint n = 0; n < m->nics->len; n++)
        {
          NlNic *nic = g_ptr_array_index (m->nics, n);
          if (nl_lab_find_network (lab, nic->network) == NULL)
            DIAG (loader, &m->src, "machine '%s': unknown network '%s'", m->name, nic->network);
        }
      for (char **a = m->after; a && *a; a++)
        if (nl_lab_find_machine (lab, *a) == NULL && !g_hash_table_contains (loader->machine_nodes, *a))
          DIAG (loader, &m->src, "machine '%s': after='%s' names no machine", m->name, *a);
        else if (g_str_equal (*a, m->name))
          DIAG (loader, &m->src, "machine '%s': a machine cannot start after itself", m->name);
    }
}

/* after= names: a machine, or a counted template name (all its machines). */
static void
for_each_dependency (NlLoader *loader, NlMachine *m, void (*fn) (NlMachine *dep, gpointer data), gpointer data)
{
  for (char **a = m->after; a && *a; a++)
    {
      GPtrArray *group = g_hash_table_lookup (loader->machine_nodes, *a);
      NlMachine *dep;
      if (group != NULL)
        {
          for (guint i = 0; i < group->len; i++)
            if (g_ptr_array_index (group, i) != m)
              fn (g_ptr_array_index (group, i), data);
        }
      else if ((dep = nl_lab_find_machine (loader->lab, *a)) != NULL && dep != m)
        fn (dep, data);
    }
}

typedef struct {
  NlLoader *loader;
  GHashTable *state;   /* NlMachine* -> 1 visiting, 2 done */
  GPtrArray *path;     /* NlMachine* on the current path */
  gboolean cycle;
} WaveWalk;

static void visit (NlMachine *m, gpointer data);

static void
visit_dep (NlMachine *dep, gpointer data)
{
  WaveWalk *w = data;
  NlMachine *m = g_ptr_array_index (w->path, w->path->len - 1);
  visit (dep, w);
  if (dep->wave + 1 > m->wave)
    m->wave = dep->wave + 1;
}

static void
visit (NlMachine *m, gpointer data)
{
  WaveWalk *w = data;
  int state = GPOINTER_TO_INT (g_hash_table_lookup (w->state, m));

  if (state == 2 || w->cycle)
    return;
  if (state == 1)
    {
      g_autoptr (GString) chain = g_string_new (NULL);
      guint start = 0;
      while (start < w->path->len && g_ptr_array_index (w->path, start) != m)
        start++;
      for (guint i = start; i < w->path->len; i++)
        g_string_append_printf (chain, "%s -> ", ((NlMachine *) g_ptr_array_index (w->path, i))->name);
      g_string_append (chain, m->name);
      DIAG (w->loader, &m->src, "start order has a cycle: %s (each waits for the next)", chain->str);
      w->cycle = TRUE;
      return;
    }
  g_hash_table_insert (w->state, m, GINT_TO_POINTER (1));
  g_ptr_array_add (w->path, m);
  m->wave = 0;
  for_each_dependency (w->loader, m, visit_dep, w);
  g_ptr_array_remove_index (w->path, w->path->len - 1);
  g_hash_table_insert (w->state, m, GINT_TO_POINTER (2));
}

static void
compute_waves (NlLoader *loader)
{
  WaveWalk w = { loader, g_hash_table_new (NULL, NULL), g_ptr_array_new (), FALSE };
  NlLab *lab = loader->lab;

  for (guint i = 0; i < lab->machines->len && !w.cycle; i++)
    visit (g_ptr_array_index (lab->machines, i), &w);
  lab->n_waves = 0;
  for (guint i = 0; i < lab->machines->len; i++)
    {
      NlMachine *m = g_ptr_array_index (lab->machines, i);
      lab->n_waves = MAX (lab->n_waves, m->wave + 1);
    }
  g_hash_table_unref (w.state);
  g_ptr_array_unref (w.path);
}

static void
check_ip_on (NlLoader *loader, const NlSource *src, const char *who, const NlNetwork *net,
             const char *ip, GHashTable *used)
{
  guint32 addr, gateway = 0, mask_host = (1u << (32 - net->prefix)) - 1;
  const char *first;

  if (!nl_parse_ipv4 (ip, &addr))
    {
      DIAG (loader, src, "%s: '%s' is not an IPv4 address", who, ip);
      return;
    }
  if (!nl_ipv4_in_subnet (addr, net->address, net->prefix))
    DIAG (loader, src, "%s: IP %s is outside network '%s' (%s)", who, ip, net->name, net->subnet);
  else if ((addr & mask_host) == 0 || (addr & mask_host) == mask_host)
    DIAG (loader, src, "%s: IP %s is the network or broadcast address of '%s' (%s)", who, ip, net->name, net->subnet);
  else if (net->gateway && nl_parse_ipv4 (net->gateway, &gateway) && gateway == addr)
    DIAG (loader, src, "%s: IP %s is the gateway of network '%s'", who, ip, net->name);
  else if ((first = g_hash_table_lookup (used, GUINT_TO_POINTER (addr))) != NULL)
    DIAG (loader, src, "%s: IP %s is already used by %s", who, ip, first);
  else
    g_hash_table_insert (used, GUINT_TO_POINTER (addr), (gpointer) who);
}

static void
check_networks (NlLoader *loader)
{
  NlLab *lab = loader->lab;
  g_autoptr (GPtrArray) owners = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < lab->networks->len; i++)
    {
      NlNetwork *net = g_ptr_array_index (lab->networks, i);
      g_autoptr (GHashTable) used = g_hash_table_new (NULL, NULL);
      guint32 gw, start, end;

      if (net->mode == NL_NET_BRIDGE || net->prefix == 0)
        continue;
      for (guint j = 0; j < i; j++)
        {
          NlNetwork *other = g_ptr_array_index (lab->networks, j);
          guint shorter = MIN (net->prefix, other->prefix);
          if (other->prefix != 0 && nl_ipv4_in_subnet (net->address, other->address, shorter))
            DIAG (loader, &net->src, "network '%s': subnet %s overlaps network '%s' (%s)",
                  net->name, net->subnet, other->name, other->subnet);
        }
      if (net->gateway != NULL)
        {
          guint32 host = (1u << (32 - net->prefix)) - 1;
          if (!nl_parse_ipv4 (net->gateway, &gw))
            DIAG (loader, &net->src, "network '%s': gateway '%s' is not an IPv4 address", net->name, net->gateway);
          else if (!nl_ipv4_in_subnet (gw, net->address, net->prefix) || (gw & host) == 0 || (gw & host) == host)
            DIAG (loader, &net->src, "network '%s': gateway %s is not a host address in %s", net->name, net->gateway, net->subnet);
        }
      if (net->dhcp_start != NULL)
        {
          if (!nl_parse_ipv4 (net->dhcp_start, &start) || !nl_parse_ipv4 (net->dhcp_end, &end))
            DIAG (loader, &net->src, "network '%s': DHCP range %s - %s is not two IPv4 addresses",
                  net->name, net->dhcp_start, net->dhcp_end);
          else if (!nl_ipv4_in_subnet (start, net->address, net->prefix)
                   || !nl_ipv4_in_subnet (end, net->address, net->prefix))
            DIAG (loader, &net->src, "network '%s': DHCP range %s - %s is outside %s",
                  net->name, net->dhcp_start, net->dhcp_end, net->subnet);
          else if (start > end)
            DIAG (loader, &net->src, "network '%s': DHCP range starts at %s, after its end %s",
                  net->name, net->dhcp_start, net->dhcp_end);
        }
      for (guint r = 0; r < net->reservations->len; r++)
        {
          NlReservation *res = g_ptr_array_index (net->reservations, r);
          const NlSource *src = res->machine ? &res->machine->src : &net->src;
          char *who = res->machine ? g_strdup_printf ("machine '%s'", res->name)
                                   : g_strdup_printf ("host '%s' on network '%s'", res->name, net->name);
          g_ptr_array_add (owners, who);
          check_ip_on (loader, src, who, net, res->ip, used);
        }
    }
}

static void
check_macs (NlLoader *loader)
{
  NlLab *lab = loader->lab;
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);

  for (guint i = 0; i < lab->machines->len; i++)
    {
      NlMachine *m = g_ptr_array_index (lab->machines, i);
      for (guint n = 0; n < m->nics->len; n++)
        {
          NlNic *nic = g_ptr_array_index (m->nics, n);
          g_autofree char *mac = nic->mac ? g_ascii_strdown (nic->mac, -1)
                                          : nl_lab_nic_mac (lab, m, n, NULL);
          const char *first = g_hash_table_lookup (seen, mac);
          if (first != NULL)
            DIAG (loader, &m->src, "machine '%s': MAC %s is already used by %s", m->name, mac, first);
          else
            g_hash_table_insert (seen, g_steal_pointer (&mac), g_strdup_printf ("machine '%s'", m->name));
        }
    }
}

static void
check_resources (NlLoader *loader)
{
  NlLab *lab = loader->lab;
  for (guint i = 0; i < lab->machines->len; i++)
    {
      NlMachine *m = g_ptr_array_index (lab->machines, i);
      guint64 min_memory = 0;
      guint min_vcpus = 0;
      const char *source = NULL;

      if (m->memory < (G_GUINT64_CONSTANT (64) << 20))
        DIAG (loader, &m->src, "machine '%s': memory %" G_GUINT64_FORMAT " bytes is below 64 MiB", m->name, m->memory);
      if (m->nested && m->memory < NL_NESTED_MIN_MEMORY)
        {
          g_autofree char *have = nl_format_size (m->memory);
          DIAG (loader, &m->src, "machine '%s': nested machines need at least 4 GiB of memory (it has %s)", m->name, have);
        }
      if (m->os_family != NL_OS_FAMILY_WINDOWS)
        continue;
      if (!nl_template_os_minimum (m->os, &min_memory, &min_vcpus, &source))
        {
          DIAG (loader, &m->src, "machine '%s': unknown Windows version '%s' (known: win2k16, win2k19, win2k22, win2k25, win10, win11)",
                m->name, m->os);
          continue;
        }
      if (m->memory < min_memory)
        {
          g_autofree char *have = nl_format_size (m->memory);
          g_autofree char *need = nl_format_size (min_memory);
          DIAG (loader, &m->src, "machine '%s': %s needs at least %s of memory (it has %s; minimum from %s)",
                m->name, m->os, need, have, source);
        }
      if (m->vcpus < min_vcpus)
        DIAG (loader, &m->src, "machine '%s': %s needs at least %u vCPUs (it has %u; minimum from %s)",
              m->name, m->os, min_vcpus, m->vcpus, source);
    }
}

/* ---- identity: domain, secrets, names, time zones, addresses ---------- */

/* A reference to a secret from WHO (at SRC) through attribute ATTR_NAME.
 * Reported once per place and name: a profile's reference would otherwise
 * be reported for every machine of a counted <machine>. */
static void
check_secret_ref (NlLoader *loader, GHashTable *reported, const NlSource *src, const char *who,
                  const char *attr_name, const char *secret)
{
  g_autofree char *key = NULL;

  if (secret == NULL || nl_lab_find_secret (loader->lab, secret) != NULL)
    return;
  key = g_strdup_printf ("%s:%d:%s", src->file, src->line, secret);
  if (g_hash_table_contains (reported, key))
    return;
  DIAG (loader, src, "%s: %s names secret '%s', which the template does not declare "
        "(<secret name=\"%s\" file=\"...\"/>, env=\"...\" or generate=\"yes\")",
        who, attr_name, secret, secret);
  g_hash_table_add (reported, g_steal_pointer (&key));
}

static void
check_secrets (NlLoader *loader)
{
  NlLab *lab = loader->lab;
  g_autoptr (GHashTable) reported = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  check_unique (loader, lab->secrets, G_STRUCT_OFFSET (NlSecret, src), "secret");
  for (guint i = 0; i < lab->secrets->len; i++)
    {
      NlSecret *secret = g_ptr_array_index (lab->secrets, i);
      check_name (loader, &secret->src, "secret", secret->name);
      if (secret->source == NL_SECRET_ENV && !g_regex_match_simple ("^[A-Za-z_][A-Za-z0-9_]*$", secret->env, 0, 0))
        DIAG (loader, &secret->src, "secret '%s': '%s' is not an environment variable name", secret->name, secret->env);
    }
  if (lab->domain != NULL)
    {
      g_autofree char *who = g_strdup_printf ("domain '%s'", lab->domain->name);
      check_secret_ref (loader, reported, &lab->domain->src, who, "admin-password", lab->domain->admin_password);
      check_secret_ref (loader, reported, &lab->domain->src, who, "safe-mode-password",
                        lab->domain->safe_mode_password);
    }
  for (guint i = 0; i < lab->machines->len; i++)
    {
      NlMachine *m = g_ptr_array_index (lab->machines, i);
      g_autofree char *who = g_strdup_printf ("machine '%s'", m->name);
      check_secret_ref (loader, reported, &m->src, who, "admin-password", m->admin_password);
    }
}

/* The network and address through which MACHINE would reach DNS: its
 * first static NIC, else its first NIC. */
static NlNic *
dns_nic (const NlMachine *machine)
{
  NlNic *nic = nl_machine_primary_nic (machine, NULL);
  if (nic == NULL && machine->nics->len > 0)
    nic = g_ptr_array_index (machine->nics, 0);
  return nic;
}

static void
check_domain (NlLoader *loader)
{
  NlLab *lab = loader->lab;
  NlDomain *domain = lab->domain;
  NlMachine *dc;
  NlNic *dc_nic;
  NlNetwork *dc_net;

  if (domain == NULL)
    return;
  if (!nl_dns_name_is_valid (domain->name))
    DIAG (loader, &domain->src, "domain '%s' is not a valid DNS name: two or more labels of letters, "
          "digits and '-' (not at either end), each at most 63 characters", domain->name);
  if (domain->netbios != NULL && strlen (domain->netbios) > 15)
    DIAG (loader, &domain->src, "domain '%s': NetBIOS name '%s' is longer than 15 characters "
          "(netbios=\"...\" gives a shorter one)", domain->name, domain->netbios);
  else if (!nl_netbios_name_is_valid (domain->netbios))
    DIAG (loader, &domain->src, "domain '%s': NetBIOS name '%s' may hold only letters, digits and '-', not all digits",
          domain->name, domain->netbios ? domain->netbios : "");

  if (domain->controller != NULL)
    {
      NlMachine *named = nl_lab_find_machine (lab, domain->controller);
      if (named == NULL)
        DIAG (loader, &domain->src, "domain '%s': controller '%s' names no machine", domain->name, domain->controller);
      else if (named->role != NL_ROLE_DOMAIN_CONTROLLER || named->os_family != NL_OS_FAMILY_WINDOWS)
        DIAG (loader, &domain->src, "domain '%s': controller '%s' is not a Windows machine with role=\"domain-controller\"",
              domain->name, domain->controller);
    }
  dc = nl_lab_domain_controller (lab);
  if (dc == NULL)
    {
      for (guint i = 0; i < lab->machines->len; i++)
        {
          NlMachine *m = g_ptr_array_index (lab->machines, i);
          if (nl_lab_machine_joins (lab, m) != NULL)
            {
              DIAG (loader, &m->src, "machine '%s' would join domain '%s', which has no domain controller "
                    "(a Windows machine with role=\"domain-controller\")", m->name, domain->name);
              break;
            }
        }
      return;
    }
  dc_nic = nl_machine_primary_nic (dc, NULL);
  if (dc_nic == NULL)
    {
      DIAG (loader, &dc->src, "machine '%s': the domain controller of '%s' needs a static ip= (the "
            "domain's members use it as their DNS server)", dc->name, domain->name);
      return;
    }
  dc_net = nl_lab_find_network (lab, dc_nic->network);

  /* Members resolve the domain through the controller: their DNS NIC must
   * be on its network, with the controller inside their subnet. */
  for (guint i = 0; i < lab->machines->len; i++)
    {
      NlMachine *m = g_ptr_array_index (lab->machines, i);
      NlNic *nic;
      guint32 ip, dns;

      if (m == dc || (nl_lab_machine_joins (lab, m) == NULL && m->role != NL_ROLE_DOMAIN_CONTROLLER))
        continue;
      if ((nic = dns_nic (m)) == NULL)
        {
          DIAG (loader, &m->src, "machine '%s' would join domain '%s' but has no NIC to reach its DNS server "
                "(%s, %s on network '%s')", m->name, domain->name, dc->name, dc_nic->ip, dc_nic->network);
          continue;
        }
      if (g_strcmp0 (nic->network, dc_nic->network) != 0
          || (nic->ip != NULL && nl_parse_ipv4 (nic->ip, &ip) && nl_parse_ipv4 (dc_nic->ip, &dns)
              && nic->prefix > 0 && !nl_ipv4_in_subnet (dns, ip, nic->prefix)))
        {
          g_autofree char *where = nic->ip ? g_strdup_printf ("IP %s/%u (network '%s')", nic->ip, nic->prefix, nic->network)
                                           : g_strdup_printf ("first NIC (network '%s')", nic->network);
          DIAG (loader, &m->src, "machine '%s': its %s would not reach the DNS server of domain '%s' "
                "(%s, %s on network '%s')", m->name, where, domain->name, dc->name, dc_nic->ip,
                dc_net ? dc_net->name : dc_nic->network);
        }
    }
}

static void
check_machine_identity (NlLoader *loader)
{
  NlLab *lab = loader->lab;
  NlSource top = { lab->file, 0 };

  top.line = xmlGetLineNo (xmlDocGetRootElement (g_ptr_array_index (loader->docs, 0)));
  if (!nl_timezone_is_valid (lab->timezone))
    DIAG (loader, &top, "time zone '%s' is not an IANA time zone name (UTC, Europe/Berlin)", lab->timezone);
  for (guint i = 0; i < lab->machines->len; i++)
    {
      NlMachine *m = g_ptr_array_index (lab->machines, i);
      gboolean windows = m->os_family == NL_OS_FAMILY_WINDOWS;

      if (windows && m->name != NULL && nl_name_is_safe (m->name))
        {
          if (strlen (m->name) > 15)
            DIAG (loader, &m->src, "machine '%s': a Windows computer name is at most 15 characters (NetBIOS); "
                  "this one has %zu", m->name, strlen (m->name));
          else if (!nl_netbios_name_is_valid (m->name))
            DIAG (loader, &m->src, "machine '%s': a Windows computer name holds only letters, digits and '-', "
                  "not all digits", m->name);
        }
      if (m->timezone != lab->timezone && g_strcmp0 (m->timezone, lab->timezone) != 0
          && !nl_timezone_is_valid (m->timezone))
        DIAG (loader, &m->src, "machine '%s': time zone '%s' is not an IANA time zone name (UTC, Europe/Berlin)",
              m->name, m->timezone);
      else if (windows && nl_timezone_is_valid (m->timezone) && nl_timezone_windows (m->timezone) == NULL)
        DIAG (loader, &m->src, "machine '%s': nestlab knows no Windows time zone for '%s' "
              "(docs/templates.md lists the ones it knows)", m->name, m->timezone);
      if (m->workgroup != NULL && !windows)
        DIAG (loader, &m->src, "machine '%s': workgroup= is for Windows machines", m->name);
      else if (m->workgroup != NULL && !nl_netbios_name_is_valid (m->workgroup))
        DIAG (loader, &m->src, "machine '%s': workgroup '%s' is not a NetBIOS name (letters, digits and '-', "
              "at most 15)", m->name, m->workgroup);
      if (m->rdp && !windows)
        DIAG (loader, &m->src, "machine '%s': rdp= is for Windows machines", m->name);

      for (guint n = 0; n < m->nics->len; n++)
        {
          NlNic *nic = g_ptr_array_index (m->nics, n);
          NlNetwork *net = nl_lab_find_network (lab, nic->network);
          guint32 ip, gw;
          if (nic->ip == NULL || net == NULL || !nl_parse_ipv4 (nic->ip, &ip))
            continue;
          /* Already reported by check_networks. */
          if (net->prefix != 0 && !nl_ipv4_in_subnet (ip, net->address, net->prefix))
            continue;
          if (nic->prefix == 0)
            DIAG (loader, &m->src, "machine '%s': static IP %s on bridge network '%s' needs prefix= "
                  "(the host bridge's LAN decides it)", m->name, nic->ip, net->name);
          else if (nic->gateway != NULL && !nl_parse_ipv4 (nic->gateway, &gw))
            DIAG (loader, &m->src, "machine '%s': gateway '%s' is not an IPv4 address", m->name, nic->gateway);
          else if (nic->gateway != NULL && !nl_ipv4_in_subnet (gw, ip, nic->prefix))
            DIAG (loader, &m->src, "machine '%s': gateway %s is outside %s/%u", m->name, nic->gateway,
                  nic->ip, nic->prefix);
        }
    }
}

void
nl_template_validate (NlLoader *loader)
{
  NlLab *lab = loader->lab;

  check_unique (loader, lab->images, G_STRUCT_OFFSET (NlImage, src), "image");
  check_unique (loader, lab->networks, G_STRUCT_OFFSET (NlNetwork, src), "network");
  check_unique (loader, lab->shared_disks, G_STRUCT_OFFSET (NlSharedDisk, src), "shared disk");
  check_unique (loader, lab->machines, G_STRUCT_OFFSET (NlMachine, src), "machine");
  check_names (loader);
  check_references (loader);
  compute_waves (loader);
  check_networks (loader);
  check_macs (loader);
  check_resources (loader);
  check_secrets (loader);
  check_domain (loader);
  check_machine_identity (loader);
}
