/* Config media contents: Windows' Unattend.xml (specialize and oobeSystem
 * passes) and cloud-init's NoCloud seed, from the lab model and the
 * secrets' values. Built twice when secrets are given: once masked, whose
 * digest names the configuration (and makes cloud-init's instance-id), once
 * with the values. */
#include <crypt.h>
#include <string.h>

#include <libxml/tree.h>
#include <libxml/xmlsave.h>

#include <nestlab/error.h>
#include <nestlab/media.h>
#include "unattend-doc.h"

NL_ENUM_IMPL (nl_media_kind, NL_MEDIA_LAST, "unattend", "cloud-init")

/* Drive letters a Windows CD-ROM may get; the hook looks on each. */
#define DRIVE_LETTERS "D E F G H I J K L M N O P Q R S T U V W X Y Z"

G_DEFINE_AUTOPTR_CLEANUP_FUNC (xmlDoc, xmlFreeDoc)

void
nl_media_file_free (NlMediaFile *file)
{
  if (file == NULL)
    return;
  g_free (file->path);
  g_bytes_unref (file->data);
  g_free (file);
}

void
nl_media_free (NlMedia *media)
{
  if (media == NULL)
    return;
  g_free (media->label);
  g_clear_pointer (&media->files, g_ptr_array_unref);
  g_free (media->config_digest);
  g_free (media->digest);
  g_free (media);
}

gboolean
nl_media_kind_of (const NlMachine *machine, NlMediaKind *kind)
{
  NlMediaKind k;
  switch (machine->os_family)
    {
    case NL_OS_FAMILY_WINDOWS:
      k = NL_MEDIA_UNATTEND;
      break;
    case NL_OS_FAMILY_LINUX:
      k = NL_MEDIA_CLOUD_INIT;
      break;
    case NL_OS_FAMILY_OTHER:
    case NL_OS_FAMILY_LAST:
    default:
      return FALSE;
    }
  if (kind != NULL)
    *kind = k;
  return TRUE;
}

GBytes *
nl_media_lookup (const NlMedia *media, const char *path)
{
  for (guint i = 0; i < media->files->len; i++)
    {
      NlMediaFile *file = g_ptr_array_index (media->files, i);
      if (g_str_equal (file->path, path))
        return file->data;
    }
  return NULL;
}

char *
nl_media_secret_marker (const char *name)
{
  return g_strdup_printf ("[secret %s]", name);
}

char *
nl_media_windows_mac (const char *mac)
{
  char *id = g_ascii_strup (mac, -1);
  g_strdelimit (id, ":", '-');
  return id;
}

/* ---- what a machine is told: its NICs, DNS and passwords --------------- */

typedef struct {
  char *mac;            /* lower case, colons */
  const NlNic *nic;
  const NlNetwork *network;
  gboolean dns;         /* the NIC that carries DNS servers and search domain */
} NicFacts;

typedef struct {
  const NlLab *lab;
  const NlMachine *machine;
  const NlMediaOptions *options;
  gboolean masked;      /* this pass writes markers, not values */
  GArray *nics;         /* of NicFacts */
  GPtrArray *dns;       /* char*: DNS servers, in order */
  const char *search;   /* DNS search domain, or NULL */
  const char *password; /* secret name of the Administrator (root) password */
  const NlDomain *joins;
} Facts;

static void
nic_facts_clear (NicFacts *facts)
{
  g_free (facts->mac);
}

static void
facts_clear (Facts *facts)
{
  g_clear_pointer (&facts->nics, g_array_unref);
  g_clear_pointer (&facts->dns, g_ptr_array_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Facts, facts_clear)

static void
add_dns (GPtrArray *dns, const char *server)
{
  for (guint i = 0; i < dns->len; i++)
    if (g_str_equal (g_ptr_array_index (dns, i), server))
      return;
  g_ptr_array_add (dns, g_strdup (server));
}

/* Facts shared by both media kinds. DNS: a domain's members and its
 * controllers (Windows or Linux, on the controller's network) ask the
 * first controller, which asks itself; everyone else asks libvirt's DNS on
 * the network's gateway; the machine's own dns= come after either. */
static void
facts_init (Facts *facts, const NlLab *lab, const NlMachine *machine, const NlMediaOptions *options)
{
  NlMachine *dc = nl_lab_domain_controller (lab);
  NlNic *dc_nic = dc ? nl_machine_primary_nic (dc, NULL) : NULL;
  guint dns_index = 0;
  NicFacts *dns_nic = NULL;

  facts->lab = lab;
  facts->machine = machine;
  facts->options = options;
  facts->nics = g_array_new (FALSE, TRUE, sizeof (NicFacts));
  g_array_set_clear_func (facts->nics, (GDestroyNotify) nic_facts_clear);
  facts->dns = g_ptr_array_new_with_free_func (g_free);
  facts->joins = nl_lab_machine_joins (lab, machine);
  facts->password = machine->admin_password;
  if (dc != NULL && machine == dc && lab->domain != NULL)
    /* The first controller's Administrator becomes the domain's. */
    facts->password = lab->domain->admin_password;

  if (nl_machine_primary_nic (machine, &dns_index) == NULL)
    dns_index = 0;
  for (guint i = 0; i < machine->nics->len; i++)
    {
      NicFacts f = { 0 };
      f.nic = g_ptr_array_index (machine->nics, i);
      f.network = nl_lab_find_network (lab, f.nic->network);
      f.mac = f.nic->mac ? g_ascii_strdown (f.nic->mac, -1)
                         : nl_lab_nic_mac (lab, machine, i, options->salt);
      f.dns = i == dns_index;
      g_array_append_val (facts->nics, f);
    }
  if (facts->nics->len > 0)
    dns_nic = &g_array_index (facts->nics, NicFacts, dns_index);

  if (dc_nic != NULL && dns_nic != NULL && g_strcmp0 (dns_nic->nic->network, dc_nic->network) == 0
      && (machine == dc || facts->joins != NULL || machine->role == NL_ROLE_DOMAIN_CONTROLLER
          || machine->os_family == NL_OS_FAMILY_LINUX))
    {
      add_dns (facts->dns, dc_nic->ip);
      facts->search = lab->domain->name;
    }
  else if (dns_nic != NULL && dns_nic->network != NULL && dns_nic->network->mode != NL_NET_BRIDGE
           && dns_nic->network->gateway != NULL)
    {
      add_dns (facts->dns, dns_nic->network->gateway);
      facts->search = dns_nic->network->domain;
    }
  for (char **d = machine->dns; d && *d; d++)
    add_dns (facts->dns, *d);
}

/* The value of the secret NAME, or its marker in a masked pass. */
static char *
secret_text (const Facts *facts, const char *name, GError **error)
{
  const char *value;

  if (facts->masked)
    return nl_media_secret_marker (name);
  value = facts->options->secrets ? g_hash_table_lookup (facts->options->secrets, name) : NULL;
  if (value == NULL)
    {
      g_set_error (error, NL_ERROR, NL_ERROR_INVALID, "machine %s: secret '%s' was not resolved",
                   facts->machine->name, name);
      return NULL;
    }
  return g_strdup (value);
}

/* ---- Windows: Unattend.xml -------------------------------------------- */

/* <Interface wcm:action="add"> of the TCPIP component, for one NIC. */
static void
tcpip_interface (const NlUnattendDoc *u, xmlNodePtr interfaces, const NicFacts *f)
{
  xmlNodePtr iface = nl_unattend_el (u, interfaces, "Interface", NULL);
  g_autofree char *id = nl_media_windows_mac (f->mac);
  xmlNodePtr ipv4;

  nl_unattend_wcm (u, iface, "action", "add");
  ipv4 = nl_unattend_el (u, iface, "Ipv4Settings", NULL);
  nl_unattend_el (u, ipv4, "DhcpEnabled", f->nic->ip ? "false" : "true");
  nl_unattend_el (u, iface, "Identifier", id);
  if (f->nic->ip != NULL)
    {
      g_autofree char *cidr = g_strdup_printf ("%s/%u", f->nic->ip, f->nic->prefix);
      xmlNodePtr addresses = nl_unattend_el (u, iface, "UnicastIpAddresses", NULL);
      xmlNodePtr address = nl_unattend_el (u, addresses, "IpAddress", cidr);
      nl_unattend_wcm (u, address, "action", "add");
      nl_unattend_wcm (u, address, "keyValue", "1");
      if (f->nic->gateway != NULL)
        {
          xmlNodePtr routes = nl_unattend_el (u, iface, "Routes", NULL);
          xmlNodePtr route = nl_unattend_el (u, routes, "Route", NULL);
          nl_unattend_wcm (u, route, "action", "add");
          nl_unattend_el (u, route, "Identifier", "0");
          nl_unattend_el (u, route, "Prefix", "0.0.0.0/0");
          nl_unattend_el (u, route, "NextHopAddress", f->nic->gateway);
        }
    }
}

/* <Interface wcm:action="add"> of the DNS client, for one NIC: servers and
 * search domain on the DNS NIC; the others do not register their addresses
 * (a storage NIC's address in the domain's DNS misleads clients). */
static void
dns_interface (const NlUnattendDoc *u, xmlNodePtr interfaces, const NicFacts *f, const Facts *facts)
{
  xmlNodePtr iface = nl_unattend_el (u, interfaces, "Interface", NULL);
  g_autofree char *id = nl_media_windows_mac (f->mac);

  nl_unattend_wcm (u, iface, "action", "add");
  nl_unattend_el (u, iface, "Identifier", id);
  if (f->dns && facts->search != NULL)
    nl_unattend_el (u, iface, "DNSDomain", facts->search);
  if (f->dns && facts->dns->len > 0)
    {
      xmlNodePtr order = nl_unattend_el (u, iface, "DNSServerSearchOrder", NULL);
      for (guint i = 0; i < facts->dns->len; i++)
        {
          g_autofree char *key = g_strdup_printf ("%u", i + 1);
          xmlNodePtr address = nl_unattend_el (u, order, "IpAddress", g_ptr_array_index (facts->dns, i));
          nl_unattend_wcm (u, address, "action", "add");
          nl_unattend_wcm (u, address, "keyValue", key);
        }
    }
  nl_unattend_el (u, iface, "DisableDynamicUpdate", f->dns ? "false" : "true");
}

static gboolean
add_specialize (const NlUnattendDoc *u, xmlNodePtr root, const Facts *facts, GError **error)
{
  const NlMachine *m = facts->machine;
  const char *tz = nl_timezone_windows (m->timezone);
  xmlNodePtr settings = nl_unattend_settings (u, "specialize");
  xmlNodePtr c, node;

  c = nl_unattend_component (u, settings, "Microsoft-Windows-Shell-Setup");
  nl_unattend_el (u, c, "ComputerName", m->name);
  if (tz == NULL)
    {
      g_set_error (error, NL_ERROR, NL_ERROR_INVALID, "machine %s: no Windows time zone for '%s'",
                   m->name, m->timezone);
      return FALSE;
    }
  nl_unattend_el (u, c, "TimeZone", tz);

  if (facts->nics->len > 0)
    {
      c = nl_unattend_component (u, settings, "Microsoft-Windows-TCPIP");
      node = nl_unattend_el (u, c, "Interfaces", NULL);
      for (guint i = 0; i < facts->nics->len; i++)
        tcpip_interface (u, node, &g_array_index (facts->nics, NicFacts, i));

      c = nl_unattend_component (u, settings, "Microsoft-Windows-DNS-Client");
      if (facts->search != NULL)
        nl_unattend_el (u, c, "DNSDomain", facts->search);
      node = nl_unattend_el (u, c, "Interfaces", NULL);
      for (guint i = 0; i < facts->nics->len; i++)
        dns_interface (u, node, &g_array_index (facts->nics, NicFacts, i), facts);
    }

  if (facts->joins != NULL || m->workgroup != NULL)
    {
      xmlNodePtr id;
      c = nl_unattend_component (u, settings, "Microsoft-Windows-UnattendedJoin");
      id = nl_unattend_el (u, c, "Identification", NULL);
      if (facts->joins != NULL)
        {
          g_autofree char *password = secret_text (facts, facts->joins->admin_password, error);
          xmlNodePtr credentials;
          if (password == NULL)
            return FALSE;
          credentials = nl_unattend_el (u, id, "Credentials", NULL);
          nl_unattend_el (u, credentials, "Domain", facts->joins->netbios);
          nl_unattend_el (u, credentials, "Password", password);
          nl_unattend_el (u, credentials, "Username", "Administrator");
          explicit_bzero (password, strlen (password));
          nl_unattend_el (u, id, "JoinDomain", facts->joins->name);
        }
      else
        nl_unattend_el (u, id, "JoinWorkgroup", m->workgroup);
    }

  if (m->rdp)
    {
      c = nl_unattend_component (u, settings, "Microsoft-Windows-TerminalServices-LocalSessionManager");
      nl_unattend_el (u, c, "fDenyTSConnections", "false");
      c = nl_unattend_component (u, settings, "Microsoft-Windows-TerminalServices-RDP-WinStationExtensions");
      nl_unattend_el (u, c, "UserAuthentication", "1");
      c = nl_unattend_component (u, settings, "Networking-MPSSVC-Svc");
      node = nl_unattend_el (u, c, "FirewallGroups", NULL);
      node = nl_unattend_el (u, node, "FirewallGroup", NULL);
      nl_unattend_wcm (u, node, "action", "add");
      nl_unattend_wcm (u, node, "keyValue", "RemoteDesktop");
      nl_unattend_el (u, node, "Active", "true");
      /* The group's resource id: its display name is localized. */
      nl_unattend_el (u, node, "Group", "@FirewallAPI.dll,-28752");
      nl_unattend_el (u, node, "Profile", "all");
    }

  /* The provisioning hook: Windows runs %WINDIR%\Setup\Scripts\
   * SetupComplete.cmd as SYSTEM once setup is done; copy ours there from
   * whichever drive letter this disk got. */
  c = nl_unattend_component (u, settings, "Microsoft-Windows-Deployment");
  node = nl_unattend_el (u, c, "RunSynchronous", NULL);
  node = nl_unattend_el (u, node, "RunSynchronousCommand", NULL);
  nl_unattend_wcm (u, node, "action", "add");
  nl_unattend_el (u, node, "Order", "1");
  nl_unattend_el (u, node, "Description", "nestlab: install the provisioning hook");
  nl_unattend_el (u, node, "Path",
      "cmd.exe /c for %d in (" DRIVE_LETTERS ") do @if exist %d:\\nestlab\\SetupComplete.cmd "
      "(mkdir %WINDIR%\\Setup\\Scripts 2>nul & copy /y %d:\\nestlab\\SetupComplete.cmd "
      "%WINDIR%\\Setup\\Scripts\\SetupComplete.cmd)");
  return TRUE;
}

static gboolean
add_oobe (const NlUnattendDoc *u, xmlNodePtr root, const Facts *facts, GError **error)
{
  xmlNodePtr settings = nl_unattend_settings (u, "oobeSystem");
  xmlNodePtr c, oobe, accounts, password;
  g_autofree char *value = secret_text (facts, facts->password, error);

  if (value == NULL)
    return FALSE;
  c = nl_unattend_component (u, settings, "Microsoft-Windows-International-Core");
  nl_unattend_el (u, c, "InputLocale", "en-US");
  nl_unattend_el (u, c, "SystemLocale", "en-US");
  nl_unattend_el (u, c, "UILanguage", "en-US");
  nl_unattend_el (u, c, "UserLocale", "en-US");

  c = nl_unattend_component (u, settings, "Microsoft-Windows-Shell-Setup");
  oobe = nl_unattend_el (u, c, "OOBE", NULL);
  nl_unattend_el (u, oobe, "HideEULAPage", "true");
  nl_unattend_el (u, oobe, "HideLocalAccountScreen", "true");
  nl_unattend_el (u, oobe, "HideOnlineAccountScreens", "true");
  nl_unattend_el (u, oobe, "HideWirelessSetupInOOBE", "true");
  nl_unattend_el (u, oobe, "ProtectYourPC", "3");
  accounts = nl_unattend_el (u, c, "UserAccounts", NULL);
  password = nl_unattend_el (u, accounts, "AdministratorPassword", NULL);
  nl_unattend_el (u, password, "Value", value);
  nl_unattend_el (u, password, "PlainText", "true");
  explicit_bzero (value, strlen (value));
  return TRUE;
}

static GBytes *
build_unattend (const Facts *facts, GError **error)
{
  NlUnattendDoc u;

  nl_unattend_doc_init (&u);
  if (!add_specialize (&u, u.root, facts, error) || !add_oobe (&u, u.root, facts, error))
    {
      nl_unattend_doc_clear (&u);
      return NULL;
    }
  return nl_media_bytes_take_wiped (nl_unattend_doc_finish (&u));
}

/* The hook the answer file installs. It records that the config disk's
 * identity is in place, then starts the disk's provisioning step when
 * there is one (the provisioning that follows identity adds it). */
static GBytes *
build_setup_complete (void)
{
  static const char text[] =
    "@echo off\r\n"
    "rem nestlab: Windows runs this once as SYSTEM when setup has finished,\r\n"
    "rem before the first logon. It records that the identity from the config\r\n"
    "rem disk is in place and starts the disk's provisioning step, if any.\r\n"
    "if not exist \"%ProgramData%\\nestlab\" mkdir \"%ProgramData%\\nestlab\"\r\n"
    "echo %DATE% %TIME%> \"%ProgramData%\\nestlab\\setup-complete\"\r\n"
    "for %%d in (" DRIVE_LETTERS ") do if exist %%d:\\nestlab\\provision.cmd (\r\n"
    "  call %%d:\\nestlab\\provision.cmd\r\n"
    "  goto :eof\r\n"
    ")\r\n";
  return g_bytes_new_static (text, sizeof text - 1);
}

/* ---- Linux: cloud-init NoCloud ---------------------------------------- */

/* A YAML double-quoted scalar. */
static void
yaml_quoted (GString *out, const char *text)
{
  g_string_append_c (out, '"');
  for (const char *p = text; *p; p++)
    {
      if (*p == '"' || *p == '\\')
        g_string_append_printf (out, "\\%c", *p);
      else if ((guchar) *p < 0x20)
        g_string_append_printf (out, "\\x%02x", (guchar) *p);
      else
        g_string_append_c (out, *p);
    }
  g_string_append_c (out, '"');
}

static GBytes *
build_network_config (const Facts *facts)
{
  GString *s = g_string_new ("version: 2\n");

  if (facts->nics->len > 0)
    g_string_append (s, "ethernets:\n");
  for (guint i = 0; i < facts->nics->len; i++)
    {
      const NicFacts *f = &g_array_index (facts->nics, NicFacts, i);
      g_string_append_printf (s, "  nic%u:\n    match:\n      macaddress: ", i);
      yaml_quoted (s, f->mac);
      g_string_append_c (s, '\n');
      if (f->nic->ip != NULL)
        {
          g_string_append_printf (s, "    dhcp4: false\n    addresses:\n      - \"%s/%u\"\n",
                                  f->nic->ip, f->nic->prefix);
          if (f->nic->gateway != NULL)
            g_string_append_printf (s, "    routes:\n      - to: default\n        via: \"%s\"\n",
                                    f->nic->gateway);
        }
      else
        g_string_append (s, "    dhcp4: true\n");
      if (f->dns && (facts->dns->len > 0 || facts->search != NULL))
        {
          g_string_append (s, "    nameservers:\n");
          if (facts->dns->len > 0)
            g_string_append (s, "      addresses:\n");
          for (guint d = 0; d < facts->dns->len; d++)
            g_string_append_printf (s, "        - \"%s\"\n", (char *) g_ptr_array_index (facts->dns, d));
          if (facts->search != NULL)
            g_string_append_printf (s, "      search:\n        - \"%s\"\n", facts->search);
        }
    }
  return g_string_free_to_bytes (s);
}

/* SHA-512 crypt of VALUE, with a random salt unless one is given. */
static char *
password_hash (const char *value, const char *salt, GError **error)
{
  struct crypt_data data;
  char setting[CRYPT_GENSALT_OUTPUT_SIZE];
  const char *hash;
  char *result;

  if (salt == NULL)
    {
      /* NULL random bytes: libxcrypt draws them from the kernel. */
      if (crypt_gensalt_rn ("$6$", 0, NULL, 0, setting, sizeof setting) == NULL)
        {
          g_set_error (error, NL_ERROR, NL_ERROR_FAILED, "cannot make a password salt: %s", g_strerror (errno));
          return NULL;
        }
      salt = setting;
    }
  memset (&data, 0, sizeof data);
  hash = crypt_r (value, salt, &data);
  if (hash == NULL || hash[0] == '*')
    {
      g_set_error (error, NL_ERROR, NL_ERROR_FAILED, "cannot hash a password (SHA-512 crypt)");
      explicit_bzero (&data, sizeof data);
      return NULL;
    }
  result = g_strdup (hash);
  explicit_bzero (&data, sizeof data);
  return result;
}

static GBytes *
build_user_data (const Facts *facts, GError **error)
{
  const NlMachine *m = facts->machine;
  GString *s = g_string_new ("#cloud-config\n");
  g_autofree char *hash = NULL;

  if (facts->masked)
    hash = g_strdup_printf ("[SHA-512 crypt of secret %s]", facts->password);
  else
    {
      g_autofree char *value = secret_text (facts, facts->password, error);
      if (value == NULL)
        goto fail;
      hash = password_hash (value, facts->options->crypt_salt, error);
      explicit_bzero (value, strlen (value));
      if (hash == NULL)
        goto fail;
    }
  g_string_append_printf (s, "hostname: %s\n", m->name);
  if (facts->search != NULL)
    g_string_append_printf (s, "fqdn: %s.%s\n", m->name, facts->search);
  g_string_append (s, "prefer_fqdn_over_hostname: false\n");
  g_string_append_printf (s, "timezone: %s\n", m->timezone);
  g_string_append (s, "disable_root: false\n");
  g_string_append (s, "chpasswd:\n  expire: false\n  users:\n    - name: root\n      password: ");
  yaml_quoted (s, hash);
  g_string_append (s, "\n      type: hash\n");
  if (m->ssh_keys != NULL && m->ssh_keys[0] != NULL)
    {
      g_string_append (s, "ssh_authorized_keys:\n");
      for (char **k = m->ssh_keys; *k; k++)
        {
          g_string_append (s, "  - ");
          yaml_quoted (s, *k);
          g_string_append_c (s, '\n');
        }
    }
  return g_string_free_to_bytes (s);

fail:
  g_string_free (s, TRUE);
  return NULL;
}

static GBytes *
build_meta_data (const Facts *facts, const char *config_digest)
{
  /* A new instance-id makes cloud-init run its per-instance modules
   * again, so it changes exactly when the configuration does. */
  char *text = g_strdup_printf ("instance-id: nestlab-%.16s\nlocal-hostname: %s\n",
                                config_digest, facts->machine->name);
  return g_bytes_new_take (text, strlen (text));
}

/* ---- building and digests --------------------------------------------- */

static void
add_file (GPtrArray *files, const char *path, GBytes *data)
{
  NlMediaFile *file = g_new0 (NlMediaFile, 1);
  file->path = g_strdup (path);
  file->data = data;
  g_ptr_array_add (files, file);
}

/* The files without meta-data (which is made from their digest). */
static GPtrArray *
build_files (NlMediaKind kind, const Facts *facts, GError **error)
{
  g_autoptr (GPtrArray) files = g_ptr_array_new_with_free_func ((GDestroyNotify) nl_media_file_free);
  GBytes *data;

  if (kind == NL_MEDIA_UNATTEND)
    {
      if ((data = build_unattend (facts, error)) == NULL)
        return NULL;
      add_file (files, "Unattend.xml", data);
      add_file (files, "nestlab/SetupComplete.cmd", build_setup_complete ());
    }
  else
    {
      add_file (files, "network-config", build_network_config (facts));
      if ((data = build_user_data (facts, error)) == NULL)
        return NULL;
      add_file (files, "user-data", data);
    }
  return g_steal_pointer (&files);
}

static void
checksum_field (GChecksum *sum, const void *data, gsize len)
{
  guint32 n = len;
  g_checksum_update (sum, (const guchar *) &n, sizeof n);
  g_checksum_update (sum, data, len);
}

static char *
digest_files (NlMediaKind kind, GPtrArray *files)
{
  g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  const char *name = nl_media_kind_to_string (kind);

  checksum_field (sum, "nestlab-media-1", 15);
  checksum_field (sum, name, strlen (name));
  for (guint i = 0; i < files->len; i++)
    {
      NlMediaFile *file = g_ptr_array_index (files, i);
      gsize len = 0;
      const void *data = g_bytes_get_data (file->data, &len);
      checksum_field (sum, file->path, strlen (file->path));
      checksum_field (sum, data, len);
    }
  return g_strdup (g_checksum_get_string (sum));
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* The secrets MACHINE's media hold, sorted by name. */
static GPtrArray *
secrets_used (const Facts *facts)
{
  GPtrArray *names = g_ptr_array_new ();
  g_ptr_array_add (names, (gpointer) facts->password);
  if (facts->joins != NULL && g_strcmp0 (facts->joins->admin_password, facts->password) != 0)
    g_ptr_array_add (names, (gpointer) facts->joins->admin_password);
  g_ptr_array_sort (names, compare_names);
  return names;
}

/* CONFIG_DIGEST followed by HMAC-SHA256 (KEY, name NUL value) of each
 * secret, hashed again: a changed secret changes the digest, which tells
 * nothing about the value to whoever lacks the key. */
static char *
digest_with_secrets (const Facts *facts, const char *config_digest, GError **error)
{
  const NlMediaOptions *options = facts->options;
  g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  g_autoptr (GPtrArray) names = secrets_used (facts);
  gsize key_len = 0;
  const guchar *key;

  if (options->digest_key == NULL)
    {
      g_set_error (error, NL_ERROR, NL_ERROR_INVALID, "machine %s: no key for the media digest",
                   facts->machine->name);
      return NULL;
    }
  key = g_bytes_get_data (options->digest_key, &key_len);
  checksum_field (sum, config_digest, strlen (config_digest));
  for (guint i = 0; i < names->len; i++)
    {
      const char *name = g_ptr_array_index (names, i);
      const char *value = g_hash_table_lookup (options->secrets, name);
      g_autoptr (GHmac) hmac = g_hmac_new (G_CHECKSUM_SHA256, key, key_len);
      if (value == NULL)
        {
          g_set_error (error, NL_ERROR, NL_ERROR_INVALID, "machine %s: secret '%s' was not resolved",
                       facts->machine->name, name);
          return NULL;
        }
      g_hmac_update (hmac, (const guchar *) name, strlen (name) + 1);
      g_hmac_update (hmac, (const guchar *) value, strlen (value));
      checksum_field (sum, name, strlen (name));
      checksum_field (sum, g_hmac_get_string (hmac), 64);
    }
  return g_strdup (g_checksum_get_string (sum));
}

NlMedia *
nl_media_build (const NlLab *lab, const NlMachine *machine, const NlMediaOptions *options,
                GError **error)
{
  g_auto (Facts) facts = { 0 };
  g_autoptr (NlMedia) media = g_new0 (NlMedia, 1);
  g_autoptr (GPtrArray) masked = NULL;
  NlMediaKind kind;

  if (!nl_media_kind_of (machine, &kind))
    {
      g_set_error (error, NL_ERROR, NL_ERROR_INVALID,
                   "machine %s: no config media for OS '%s' (only Windows and Linux)", machine->name,
                   machine->os);
      return NULL;
    }
  facts_init (&facts, lab, machine, options);
  media->kind = kind;
  media->label = g_strdup (kind == NL_MEDIA_CLOUD_INIT ? NL_MEDIA_LABEL_CIDATA : NL_MEDIA_LABEL_WINDOWS);

  facts.masked = TRUE;
  if ((masked = build_files (kind, &facts, error)) == NULL)
    return NULL;
  media->config_digest = digest_files (kind, masked);

  if (options->masked)
    media->files = g_steal_pointer (&masked);
  else
    {
      facts.masked = FALSE;
      if ((media->files = build_files (kind, &facts, error)) == NULL
          || (media->digest = digest_with_secrets (&facts, media->config_digest, error)) == NULL)
        return NULL;
    }
  if (kind == NL_MEDIA_CLOUD_INIT)
    {
      /* First, as cloud-init's documentation lists it. */
      NlMediaFile *file = g_new0 (NlMediaFile, 1);
      file->path = g_strdup ("meta-data");
      file->data = build_meta_data (&facts, media->config_digest);
      g_ptr_array_insert (media->files, 0, file);
    }
  return g_steal_pointer (&media);
}
