/* Loading a lab template: screen the bytes for hostile input, parse with
 * libxml2 (no network, no DTD, no entities), validate against the RelaxNG
 * schema, follow includes, substitute params, apply profiles and expand
 * counts into an NlLab. Every problem becomes a "FILE:LINE: message". */
#include <string.h>

#include <gio/gio.h>
#include <libxml/parser.h>

#include <nestlab/doc.h>
#include <nestlab/error.h>
#include <nestlab/image.h>
#include <nestlab/template.h>
#include "loader.h"


/* From the compiled resource bundle (templates/schema). */


/* ------------------------------------------------------------------ */
/* Diagnostics                                                          */

static void diag_va (NlLoader *loader, const char *file, int line, const char *format, va_list ap)
  G_GNUC_PRINTF (4, 0);

typedef struct {
  char *file;
  int line;
  guint seq;
  char *text;   /* "FILE:LINE: message" */
} Diag;

static void
diag_free (Diag *diag)
{
  g_free (diag->file);
  g_free (diag->text);
  g_free (diag);
}

static void
diag_va (NlLoader *loader, const char *file, int line, const char *format, va_list ap)
{
  g_autofree char *msg = g_strdup_vprintf (format, ap);
  Diag *diag = g_new0 (Diag, 1);

  diag->file = g_strdup (file);
  diag->line = line;
  diag->seq = loader->diags->len;
  diag->text = line > 0 ? g_strdup_printf ("%s:%d: %s", file, line, msg)
                        : g_strdup_printf ("%s: %s", file, msg);
  g_ptr_array_add (loader->diags, diag);
}

void
nl_loader_diag_at (NlLoader *loader, const char *file, int line, const char *format, ...)
{
  va_list ap;
  va_start (ap, format);
  diag_va (loader, file, line, format, ap);
  va_end (ap);
}

void
nl_loader_diag (NlLoader *loader, xmlNodePtr node, const char *format, ...)
{
  va_list ap;
  va_start (ap, format);
  diag_va (loader, node && node->doc && node->doc->URL ? (const char *) node->doc->URL : "?",
           node ? (int) xmlGetLineNo (node) : 0, format, ap);
  va_end (ap);
}

static void
source_set (NlSource *src, xmlNodePtr node)
{
  src->file = g_strdup ((const char *) node->doc->URL);
  src->line = xmlGetLineNo (node);
}

/* ------------------------------------------------------------------ */
/* Reading and parsing one file                                         */

GResource *nl_resources_get_resource (void);

static const NlDocKind template_kind = { "templates", "an XML template", NL_TEMPLATE_MAX_SIZE,
                                         NL_TEMPLATE_MAX_DEPTH, nl_resources_get_resource,
                                         "/dev/nestlab/schema/lab.rng", "template schema" };

const char *
nl_template_schema (void)
{
  return nl_doc_schema_text (&template_kind);
}

/* Parses one file; adds it to loader->docs and returns it (borrowed), or
 * NULL after adding diagnostics. ROOT is "lab" or "lab-part". */
static xmlDocPtr
parse_file (NlLoader *loader, const char *path, const char *root)
{
  g_autoptr (GBytes) contents = NULL;
  g_autofree char *message = NULL;
  xmlDocPtr doc;
  int line = 0;

  doc = nl_doc_load (path, &template_kind, root, g_str_equal (root, "lab-part") ? " (an included file)" : NULL,
                     &contents, &line, &message);
  if (doc == NULL)
    {
      nl_loader_diag_at (loader, path, line, "%s", message);
      return NULL;
    }
  {
    gsize len = 0;
    const guchar *data = g_bytes_get_data (contents, &len);
    g_checksum_update (loader->digest, data, len);
  }
  g_ptr_array_add (loader->docs, doc);
  return doc;
}

/* ------------------------------------------------------------------ */
/* Attributes, params and substitution                                  */

static gboolean
is_element (xmlNodePtr node, const char *name)
{
  return node->type == XML_ELEMENT_NODE && xmlStrEqual (node->name, (const xmlChar *) name);
}

static char *
raw_attr (xmlNodePtr node, const char *name)
{
  xmlChar *value = xmlGetProp (node, (const xmlChar *) name);
  char *result = value ? g_strdup ((const char *) value) : NULL;
  xmlFree (value);
  return result;
}

/* The attribute NAME of NODE with ${param} substituted; NULL when absent. */
static char *
attr (NlLoader *loader, xmlNodePtr node, const char *name)
{
  g_autofree char *raw = NULL;
  GString *out;
  const char *p;
  gboolean unknown = FALSE;

  if (node == NULL || (raw = raw_attr (node, name)) == NULL)
    return NULL;
  if (strchr (raw, '$') == NULL)
    return g_steal_pointer (&raw);
  out = g_string_new (NULL);
  for (p = raw; *p; p++)
    {
      if (p[0] == '$' && p[1] == '$')
        {
          g_string_append_c (out, '$');
          p++;
        }
      else if (p[0] == '$' && p[1] == '{')
        {
          const char *end = strchr (p + 2, '}');
          g_autofree char *pname = end ? g_strndup (p + 2, end - p - 2) : NULL;
          const char *value = pname ? g_hash_table_lookup (loader->params, pname) : NULL;
          if (end == NULL)
            {
              nl_loader_diag (loader, node, "attribute %s: '${' without a closing '}'", name);
              break;
            }
          if (value == NULL)
            {
              if (!g_hash_table_contains (loader->param_nodes, pname))
                nl_loader_diag (loader, node, "attribute %s: unknown parameter '%s' (declare it with <param name=\"%s\"/>)",
                                name, pname, pname);
              unknown = TRUE;
            }
          else
            g_string_append (out, value);
          p = end;
        }
      else
        g_string_append_c (out, *p);
    }
  /* Reported once; treated as absent so no second error follows. */
  if (unknown)
    {
      g_string_free (out, TRUE);
      return NULL;
    }
  return g_string_free (out, FALSE);
}

static gboolean
parse_yesno (NlLoader *loader, xmlNodePtr node, const char *name, const char *value, gboolean *out)
{
  if (g_strcmp0 (value, "yes") == 0)
    *out = TRUE;
  else if (g_strcmp0 (value, "no") == 0)
    *out = FALSE;
  else
    {
      nl_loader_diag (loader, node, "%s='%s': expected yes or no", name, value);
      return FALSE;
    }
  return TRUE;
}

/* Words separated by blanks or commas: "a b,c" -> {a, b, c}. */
static char **
split_words (const char *text)
{
  g_auto (GStrv) parts = g_strsplit_set (text, " ,\t\n", -1);
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();
  for (char **p = parts; *p; p++)
    if (**p != '\0')
      g_strv_builder_add (builder, *p);
  return g_strv_builder_end (builder);
}

static gboolean
parse_size_attr (NlLoader *loader, xmlNodePtr node, const char *name, const char *value, guint64 *out)
{
  g_autoptr (GError) error = NULL;
  if (!nl_parse_size (value, out, &error))
    {
      nl_loader_diag (loader, node, "%s: %s", name, error->message);
      return FALSE;
    }
  return TRUE;
}

/* ------------------------------------------------------------------ */
/* Walking the documents                                                */

typedef void (*NodeFunc) (NlLoader *loader, xmlNodePtr node);

static void
each_element_in (NlLoader *loader, xmlDocPtr doc, const char *name, NodeFunc func)
{
  xmlNodePtr top = xmlDocGetRootElement (doc);
  for (xmlNodePtr c = top->children; c != NULL; c = c->next)
    {
      xmlDocPtr included;
      if (is_element (c, name))
        func (loader, c);
      else if (is_element (c, "include") && (included = g_hash_table_lookup (loader->includes, c)) != NULL)
        each_element_in (loader, included, name, func);
    }
}

/* Calls FUNC for each top-level element named NAME in template order, an
 * included file's elements standing where its <include> is. */
static void
each_element (NlLoader *loader, const char *name, NodeFunc func)
{
  each_element_in (loader, g_ptr_array_index (loader->docs, 0), name, func);
}

static gboolean
load_includes (NlLoader *loader, xmlDocPtr doc, GPtrArray *stack)
{
  xmlNodePtr top = xmlDocGetRootElement (doc);
  g_autofree char *dir = g_path_get_dirname ((const char *) doc->URL);

  for (xmlNodePtr c = top->children; c != NULL; c = c->next)
    {
      g_autofree char *href = NULL;
      g_autofree char *path = NULL;
      g_autofree char *canonical = NULL;
      xmlDocPtr child;

      if (!is_element (c, "include"))
        continue;
      href = raw_attr (c, "href");
      path = g_path_is_absolute (href) ? g_strdup (href) : g_build_filename (dir, href, NULL);
      canonical = g_canonicalize_filename (path, NULL);
      {
        char *real = realpath (canonical, NULL);
        if (real != NULL)
          {
            g_free (canonical);
            canonical = g_strdup (real);
            free (real);
          }
      }
      for (guint i = 0; i < stack->len; i++)
        if (g_str_equal (g_ptr_array_index (stack, i), canonical))
          {
            nl_loader_diag (loader, c, "include cycle: '%s' includes itself (through '%s')",
                            href, (const char *) doc->URL);
            return FALSE;
          }
      for (guint i = 0; i < loader->docs->len; i++)
        {
          xmlDocPtr seen = g_ptr_array_index (loader->docs, i);
          char *real = realpath ((const char *) seen->URL, NULL);
          gboolean same = real != NULL && g_str_equal (real, canonical);
          free (real);
          if (same)
            {
              nl_loader_diag (loader, c, "'%s' is included twice", href);
              return FALSE;
            }
        }
      if (stack->len >= NL_TEMPLATE_MAX_INCLUDES)
        {
          nl_loader_diag (loader, c, "includes nested deeper than %d files", NL_TEMPLATE_MAX_INCLUDES);
          return FALSE;
        }
      child = parse_file (loader, path, "lab-part");
      if (child == NULL)
        {
          nl_loader_diag (loader, c, "in the file included from here");
          return FALSE;
        }
      g_hash_table_insert (loader->includes, c, child);
      g_ptr_array_add (stack, g_steal_pointer (&canonical));
      if (!load_includes (loader, child, stack))
        return FALSE;
      g_ptr_array_remove_index (stack, stack->len - 1);
    }
  return TRUE;
}

static void
collect_param (NlLoader *loader, xmlNodePtr node)
{
  g_autofree char *name = raw_attr (node, "name");
  xmlNodePtr first = g_hash_table_lookup (loader->param_nodes, name);

  if (first != NULL)
    {
      nl_loader_diag (loader, node, "parameter '%s' is declared twice (first at %s:%d)", name,
                      (const char *) first->doc->URL, (int) xmlGetLineNo (first));
      return;
    }
  g_hash_table_insert (loader->param_nodes, g_strdup (name), node);
}

static gboolean
resolve_params (NlLoader *loader, GHashTable *overrides)
{
  GHashTableIter iter;
  gpointer key, value;
  const char *top = (const char *) ((xmlDocPtr) g_ptr_array_index (loader->docs, 0))->URL;
  guint before = loader->diags->len;

  each_element (loader, "param", collect_param);
  if (overrides != NULL)
    {
      g_hash_table_iter_init (&iter, overrides);
      while (g_hash_table_iter_next (&iter, &key, &value))
        if (!g_hash_table_contains (loader->param_nodes, key))
          nl_loader_diag_at (loader, top, 0, "--set %s: the template declares no parameter '%s'",
                             (const char *) key, (const char *) key);
    }
  g_hash_table_iter_init (&iter, loader->param_nodes);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      const char *given = overrides ? g_hash_table_lookup (overrides, key) : NULL;
      g_autofree char *def = raw_attr (value, "default");
      if (given != NULL)
        g_hash_table_insert (loader->params, g_strdup (key), g_strdup (given));
      else if (def != NULL)
        g_hash_table_insert (loader->params, g_strdup (key), g_steal_pointer (&def));
      else
        nl_loader_diag (loader, value, "parameter '%s' is required: give it with --set %s=VALUE",
                        (const char *) key, (const char *) key);
    }
  return loader->diags->len == before;
}

/* ------------------------------------------------------------------ */
/* Building the model                                                   */

static void
build_image (NlLoader *loader, xmlNodePtr node)
{
  g_autoptr (NlImage) image = nl_image_new ();

  image->name = attr (loader, node, "name");
  image->os = attr (loader, node, "os");
  image->volume = attr (loader, node, "volume");
  image->path = attr (loader, node, "path");
  image->format = attr (loader, node, "format");
  if (image->format == NULL)
    image->format = g_strdup ("qcow2");
  if (image->volume == NULL && image->path == NULL)
    {
      /* An image nestlab imported or built under this name. */
      g_autoptr (GError) error = NULL;
      g_autoptr (NlImageRecord) rec = nl_image_record_load (image->name, &error);
      if (rec == NULL)
        nl_loader_diag (loader, node, "golden image '%s': %s; make it with `nestlab image import FILE --name %s "
                        "--os ID` or `nestlab image build --iso MEDIA.iso --os ID --name %s`", image->name,
                        error->message, image->name, image->name);
      else
        {
          image->volume = g_strdup (rec->volume);
          image->pool = g_strdup (rec->pool);
          if (image->os == NULL)
            image->os = g_strdup (rec->os);
        }
    }
  else if (image->volume != NULL)
    {
      image->pool = attr (loader, node, "pool");
      if (image->pool == NULL)
        image->pool = g_strdup (loader->lab->pool);
    }
  if (image->path != NULL && !g_path_is_absolute (image->path))
    nl_loader_diag (loader, node, "image '%s': path '%s' must be absolute", image->name, image->path);
  if (g_strcmp0 (image->format, "qcow2") != 0 && g_strcmp0 (image->format, "raw") != 0)
    nl_loader_diag (loader, node, "image '%s': format '%s' is not qcow2 or raw", image->name, image->format);
  source_set (&image->src, node);
  g_ptr_array_add (loader->lab->images, g_steal_pointer (&image));
}

static void
build_network (NlLoader *loader, xmlNodePtr node)
{
  g_autoptr (NlNetwork) net = nl_network_new ();
  g_autofree char *mode = attr (loader, node, "mode");

  net->name = attr (loader, node, "name");
  source_set (&net->src, node);
  net->mode = mode ? nl_network_mode_from_string (mode) : NL_NET_ISOLATED;
  if ((int) net->mode < 0)
    {
      nl_loader_diag (loader, node, "network '%s': mode '%s' is not isolated, nat or bridge", net->name, mode);
      net->mode = NL_NET_ISOLATED;
    }
  net->subnet = attr (loader, node, "subnet");
  net->gateway = attr (loader, node, "gateway");
  net->domain = attr (loader, node, "domain");
  net->bridge = attr (loader, node, "bridge");

  if (net->mode == NL_NET_BRIDGE)
    {
      if (net->bridge == NULL)
        nl_loader_diag (loader, node, "network '%s': mode bridge needs bridge=\"HOST-BRIDGE\"", net->name);
      if (net->subnet != NULL || net->gateway != NULL)
        nl_loader_diag (loader, node, "network '%s': a bridge network takes no subnet or gateway (the host bridge's LAN provides them)", net->name);
    }
  else
    {
      if (net->bridge != NULL)
        nl_loader_diag (loader, node, "network '%s': bridge= is only for mode=\"bridge\"", net->name);
      if (net->subnet == NULL)
        nl_loader_diag (loader, node, "network '%s': subnet is required for %s networks", net->name,
                        nl_network_mode_to_string (net->mode));
      else if (!nl_parse_cidr (net->subnet, &net->address, &net->prefix))
        nl_loader_diag (loader, node, "network '%s': subnet '%s' is not IPv4 CIDR with a prefix of 8 to 30 (10.0.0.0/24)",
                        net->name, net->subnet);
      else if ((net->address & ((1u << (32 - net->prefix)) - 1)) != 0)
        nl_loader_diag (loader, node, "network '%s': subnet '%s' has host bits set", net->name, net->subnet);
      else if (net->gateway == NULL)
        net->gateway = nl_format_ipv4 (net->address + 1);
    }

  for (xmlNodePtr c = node->children; c != NULL; c = c->next)
    {
      if (is_element (c, "dhcp"))
        {
          net->dhcp_start = attr (loader, c, "start");
          net->dhcp_end = attr (loader, c, "end");
          if (net->mode == NL_NET_BRIDGE)
            nl_loader_diag (loader, c, "network '%s': DHCP is served by the host bridge's LAN, not by nestlab", net->name);
        }
      else if (is_element (c, "host"))
        {
          g_autoptr (NlReservation) r = nl_reservation_new ();
          r->name = attr (loader, c, "name");
          r->mac = attr (loader, c, "mac");
          r->ip = attr (loader, c, "ip");
          g_ptr_array_add (net->reservations, g_steal_pointer (&r));
        }
    }
  g_ptr_array_add (loader->lab->networks, g_steal_pointer (&net));
}

static void
build_secret (NlLoader *loader, xmlNodePtr node)
{
  g_autoptr (NlSecret) secret = nl_secret_new ();
  g_autofree char *file = attr (loader, node, "file");
  g_autofree char *generate = attr (loader, node, "generate");

  secret->name = attr (loader, node, "name");
  source_set (&secret->src, node);
  secret->env = attr (loader, node, "env");
  if (file != NULL)
    {
      /* Relative to the file that declares it, like includes. */
      g_autofree char *dir = g_path_get_dirname ((const char *) node->doc->URL);
      g_autofree char *path = g_path_is_absolute (file) ? g_strdup (file)
                                                        : g_build_filename (dir, file, NULL);
      secret->source = NL_SECRET_FILE;
      secret->file = g_canonicalize_filename (path, NULL);
    }
  else if (secret->env != NULL)
    secret->source = NL_SECRET_ENV;
  else
    {
      gboolean yes = FALSE;
      secret->source = NL_SECRET_GENERATED;
      if (parse_yesno (loader, node, "generate", generate, &yes) && !yes)
        nl_loader_diag (loader, node, "secret '%s': generate=\"no\" leaves it no value: give file= or env=",
                        secret->name);
    }
  g_ptr_array_add (loader->lab->secrets, g_steal_pointer (&secret));
}

static void
build_domain (NlLoader *loader, xmlNodePtr node)
{
  g_autoptr (NlDomain) domain = nl_domain_new ();

  domain->name = attr (loader, node, "name");
  domain->netbios = attr (loader, node, "netbios");
  if (domain->netbios == NULL && domain->name != NULL)
    {
      /* Windows' own default: the first label, upper case. */
      const char *dot = strchr (domain->name, '.');
      g_autofree char *label = g_strndup (domain->name, dot ? (gsize) (dot - domain->name) : strlen (domain->name));
      domain->netbios = g_ascii_strup (label, -1);
    }
  domain->controller = attr (loader, node, "controller");
  domain->admin_password = attr (loader, node, "admin-password");
  if (domain->admin_password == NULL)
    domain->admin_password = g_strdup (loader->admin_password);
  domain->safe_mode_password = attr (loader, node, "safe-mode-password");
  if (domain->safe_mode_password == NULL)
    domain->safe_mode_password = g_strdup (domain->admin_password);
  source_set (&domain->src, node);
  loader->lab->domain = g_steal_pointer (&domain);
}

/* The Administrator (root) password of machines that name no other: the
 * lab's admin-password=, else the secret "admin", generated unless the
 * template declares it. */
static void
default_admin_secret (NlLoader *loader, xmlNodePtr root)
{
  loader->admin_password = attr (loader, root, "admin-password");
  if (loader->admin_password != NULL)
    return;
  loader->admin_password = g_strdup (NL_SECRET_DEFAULT_ADMIN);
  if (nl_lab_find_secret (loader->lab, NL_SECRET_DEFAULT_ADMIN) == NULL)
    {
      NlSecret *secret = nl_secret_new ();
      secret->name = g_strdup (NL_SECRET_DEFAULT_ADMIN);
      secret->source = NL_SECRET_GENERATED;
      source_set (&secret->src, root);
      g_ptr_array_add (loader->lab->secrets, secret);
    }
}

static void
build_shared_disk (NlLoader *loader, xmlNodePtr node)
{
  g_autoptr (NlSharedDisk) disk = nl_shared_disk_new ();
  g_autofree char *size = attr (loader, node, "size");

  disk->name = attr (loader, node, "name");
  source_set (&disk->src, node);
  parse_size_attr (loader, node, "size", size, &disk->size);
  g_ptr_array_add (loader->lab->shared_disks, g_steal_pointer (&disk));
}

static void
collect_profile (NlLoader *loader, xmlNodePtr node)
{
  g_autofree char *name = attr (loader, node, "name");
  xmlNodePtr first = g_hash_table_lookup (loader->profiles, name);
  if (first != NULL)
    {
      nl_loader_diag (loader, node, "profile '%s' is defined twice (first at %s:%d)", name,
                      (const char *) first->doc->URL, (int) xmlGetLineNo (first));
      return;
    }
  g_hash_table_insert (loader->profiles, g_steal_pointer (&name), node);
}

/* A machine setting: the machine's attribute, else the profile's. *FROM is
 * the node it came from (for line numbers). */
static char *
setting (NlLoader *loader, xmlNodePtr machine, xmlNodePtr profile, const char *name, xmlNodePtr *from)
{
  *from = machine;
  if (xmlHasProp (machine, (const xmlChar *) name))
    return attr (loader, machine, name);
  if (profile != NULL && xmlHasProp (profile, (const xmlChar *) name))
    {
      *from = profile;
      return attr (loader, profile, name);
    }
  return NULL;
}

/* The machine's children named NAME if it has any, else the profile's. */
static GPtrArray *
children (xmlNodePtr machine, xmlNodePtr profile, const char *name)
{
  GPtrArray *out = g_ptr_array_new ();
  for (xmlNodePtr c = machine->children; c != NULL; c = c->next)
    if (is_element (c, name))
      g_ptr_array_add (out, c);
  if (out->len == 0 && profile != NULL)
    for (xmlNodePtr c = profile->children; c != NULL; c = c->next)
      if (is_element (c, name))
        g_ptr_array_add (out, c);
  return out;
}

static gboolean
parse_mac (const char *text, guint64 *value)
{
  guint64 v = 0;
  if (text == NULL || strlen (text) != 17)
    return FALSE;
  for (int i = 0; i < 17; i++)
    {
      if (i % 3 == 2)
        {
          if (text[i] != ':')
            return FALSE;
          continue;
        }
      if (!g_ascii_isxdigit (text[i]))
        return FALSE;
      v = (v << 4) | g_ascii_xdigit_value (text[i]);
    }
  *value = v;
  return TRUE;
}

static char *
format_mac (guint64 v)
{
  return g_strdup_printf ("%02x:%02x:%02x:%02x:%02x:%02x",
                          (guint) (v >> 40) & 0xff, (guint) (v >> 32) & 0xff,
                          (guint) (v >> 24) & 0xff, (guint) (v >> 16) & 0xff,
                          (guint) (v >> 8) & 0xff, (guint) v & 0xff);
}

static NlDiskBus
parse_bus (NlLoader *loader, xmlNodePtr node, NlOsFamily family)
{
  g_autofree char *bus = attr (loader, node, "bus");
  int value;
  if (bus == NULL)
    return family == NL_OS_FAMILY_WINDOWS ? NL_DISK_BUS_SATA : NL_DISK_BUS_VIRTIO;
  value = nl_disk_bus_from_string (bus);
  if (value < 0)
    {
      nl_loader_diag (loader, node, "bus '%s' is not sata, virtio or scsi", bus);
      return NL_DISK_BUS_SATA;
    }
  return value;
}

/* Settings shared by every machine a <machine> element expands to. */
typedef struct {
  NlMachine *proto;      /* everything but name, IPs and MACs */
  xmlNodePtr node;       /* the <machine> element */
  xmlNodePtr profile;    /* its <profile>, or NULL */
  GPtrArray *nic_nodes;  /* xmlNodePtr */
  guint count;
  guint first;
} MachineTemplate;

/* count=, which needs a run of '#' in the name. */
static void
proto_count (NlLoader *loader, MachineTemplate *mt)
{
  NlMachine *m = mt->proto;
  g_autofree char *count = attr (loader, mt->node, "count");

  mt->count = 1;
  if (count != NULL)
    {
      guint64 n = 0;
      if (!g_ascii_string_to_unsigned (count, 10, 1, 999, &n, NULL))
        nl_loader_diag (loader, mt->node, "machine '%s': count '%s' is not a whole number from 1 to 999", m->name, count);
      else
        mt->count = n;
    }
  if (count != NULL && strchr (m->name, '#') == NULL)
    {
      nl_loader_diag (loader, mt->node, "machine '%s': count needs a run of '#' in the name for the index (hv## -> hv01, hv02)",
                      m->name);
      mt->count = 1;
    }
}

/* The boot disk, and the OS: given, else the boot image's. The OS decides
 * the default bus. */
static void
proto_boot_disk_and_os (NlLoader *loader, MachineTemplate *mt)
{
  NlMachine *m = mt->proto;
  g_autoptr (GPtrArray) disks = children (mt->node, mt->profile, "disk");
  xmlNodePtr from = NULL;

  if (disks->len > 0)
    {
      xmlNodePtr d = g_ptr_array_index (disks, 0);
      g_autofree char *size = attr (loader, d, "size");
      m->has_boot_disk = TRUE;
      m->boot_disk.image = attr (loader, d, "image");
      m->boot_disk.source = m->boot_disk.image ? NL_DISK_SOURCE_IMAGE : NL_DISK_SOURCE_BLANK;
      if (size != NULL)
        parse_size_attr (loader, d, "disk size", size, &m->boot_disk.size);
      else if (m->boot_disk.image == NULL)
        nl_loader_diag (loader, d, "machine '%s': a disk needs image= (a linked clone) or size= (a blank disk)", m->name);
    }

  m->os = setting (loader, mt->node, mt->profile, "os", &from);
  if (m->os == NULL && m->boot_disk.image != NULL)
    {
      NlImage *image = nl_lab_find_image (loader->lab, m->boot_disk.image);
      if (image != NULL && image->os != NULL)
        m->os = g_strdup (image->os);
    }
  if (m->os == NULL)
    m->os = g_strdup ("linux");
  m->os_family = nl_os_family_of (m->os);
  if (disks->len > 0)
    m->boot_disk.bus = parse_bus (loader, g_ptr_array_index (disks, 0), m->os_family);
}

/* Role, CPUs, memory, firmware, secure boot, TPM and nesting. */
static void
proto_hardware (NlLoader *loader, MachineTemplate *mt)
{
  NlMachine *m = mt->proto;
  xmlNodePtr node = mt->node, profile = mt->profile, from = NULL;
  g_autofree char *s = NULL;
  int v;

  if ((s = setting (loader, node, profile, "role", &from)) != NULL)
    {
      if ((v = nl_role_from_string (s)) < 0)
        nl_loader_diag (loader, from, "role '%s' is not domain-controller, sql, vmm, hyperv-host or generic", s);
      else
        m->role = v;
    }

  g_clear_pointer (&s, g_free);
  m->vcpus = 2;
  if ((s = setting (loader, node, profile, "vcpus", &from)) != NULL)
    {
      guint64 n = 0;
      if (!g_ascii_string_to_unsigned (s, 10, 1, 256, &n, NULL))
        nl_loader_diag (loader, from, "vcpus '%s' is not a whole number from 1 to 256", s);
      else
        m->vcpus = n;
    }

  g_clear_pointer (&s, g_free);
  m->memory = G_GUINT64_CONSTANT (2) << 30;
  if ((s = setting (loader, node, profile, "memory", &from)) != NULL)
    parse_size_attr (loader, from, "memory", s, &m->memory);

  g_clear_pointer (&s, g_free);
  m->firmware = m->os_family == NL_OS_FAMILY_WINDOWS ? NL_FIRMWARE_UEFI : NL_FIRMWARE_BIOS;
  if ((s = setting (loader, node, profile, "firmware", &from)) != NULL)
    {
      if ((v = nl_firmware_from_string (s)) < 0)
        nl_loader_diag (loader, from, "firmware '%s' is not bios or uefi", s);
      else
        m->firmware = v;
    }

  g_clear_pointer (&s, g_free);
  if ((s = setting (loader, node, profile, "secure-boot", &from)) != NULL
      && parse_yesno (loader, from, "secure-boot", s, &m->secure_boot)
      && m->secure_boot && m->firmware != NL_FIRMWARE_UEFI)
    nl_loader_diag (loader, from, "machine '%s': secure-boot needs firmware=\"uefi\"", m->name);

  g_clear_pointer (&s, g_free);
  if ((s = setting (loader, node, profile, "tpm", &from)) != NULL)
    parse_yesno (loader, from, "tpm", s, &m->tpm);

  g_clear_pointer (&s, g_free);
  m->nested = m->role == NL_ROLE_HYPERV_HOST;
  if ((s = setting (loader, node, profile, "nested", &from)) != NULL)
    parse_yesno (loader, from, "nested", s, &m->nested);
}

/* after= and delay=. */
static void
proto_start_order (NlLoader *loader, MachineTemplate *mt)
{
  NlMachine *m = mt->proto;
  xmlNodePtr from = NULL;
  g_autofree char *s = NULL;

  if ((s = setting (loader, mt->node, mt->profile, "after", &from)) != NULL)
    m->after = split_words (s);

  g_clear_pointer (&s, g_free);
  if ((s = setting (loader, mt->node, mt->profile, "delay", &from)) != NULL)
    {
      g_autoptr (GError) error = NULL;
      if (!nl_parse_duration (s, &m->delay, &error))
        nl_loader_diag (loader, from, "delay: %s", error->message);
    }
}

/* Data disks, shared disks and direct kernel boot. */
static void
proto_devices (NlLoader *loader, MachineTemplate *mt)
{
  NlMachine *m = mt->proto;
  g_autoptr (GPtrArray) data = children (mt->node, mt->profile, "data-disk");
  g_autoptr (GPtrArray) shared = children (mt->node, mt->profile, "shared-disk");
  g_autoptr (GPtrArray) kernels = children (mt->node, mt->profile, "kernel");

  for (guint i = 0; i < data->len; i++)
    {
      xmlNodePtr d = g_ptr_array_index (data, i);
      g_autofree char *size = attr (loader, d, "size");
      NlDataDisk *disk = g_new0 (NlDataDisk, 1);
      parse_size_attr (loader, d, "data-disk size", size, &disk->size);
      disk->bus = parse_bus (loader, d, m->os_family);
      g_ptr_array_add (m->data_disks, disk);
    }

  for (guint i = 0; i < shared->len; i++)
    {
      xmlNodePtr d = g_ptr_array_index (shared, i);
      char *name = attr (loader, d, "name");
      if (nl_lab_find_shared_disk (loader->lab, name) == NULL)
        nl_loader_diag (loader, d, "machine '%s': unknown shared disk '%s'", m->name, name);
      g_ptr_array_add (m->shared_disks, name);
    }

  if (kernels->len > 0)
    {
      xmlNodePtr k = g_ptr_array_index (kernels, 0);
      m->kernel = attr (loader, k, "path");
      m->initrd = attr (loader, k, "initrd");
      m->cmdline = attr (loader, k, "cmdline");
      if (m->kernel && !g_path_is_absolute (m->kernel))
        nl_loader_diag (loader, k, "kernel path '%s' must be absolute", m->kernel);
      if (m->initrd && !g_path_is_absolute (m->initrd))
        nl_loader_diag (loader, k, "initrd path '%s' must be absolute", m->initrd);
    }
}

/* What the machine's config disk tells it on first boot: time zone,
 * workgroup, extra DNS servers, RDP, password secret, SSH keys. The
 * semantic checks (names, secrets, time zones) are validate.c's. */
static void
proto_identity (NlLoader *loader, MachineTemplate *mt)
{
  NlMachine *m = mt->proto;
  xmlNodePtr node = mt->node, profile = mt->profile, from = NULL;
  g_autoptr (GPtrArray) keys = children (node, profile, "ssh-key");
  g_autofree char *s = NULL;

  m->timezone = setting (loader, node, profile, "timezone", &from);
  if (m->timezone == NULL)
    m->timezone = g_strdup (loader->lab->timezone);
  m->workgroup = setting (loader, node, profile, "workgroup", &from);
  m->admin_password = setting (loader, node, profile, "admin-password", &from);
  if (m->admin_password == NULL)
    m->admin_password = g_strdup (loader->admin_password);

  if ((s = setting (loader, node, profile, "dns", &from)) != NULL)
    {
      m->dns = split_words (s);
      for (char **d = m->dns; *d; d++)
        {
          guint32 addr;
          if (!nl_parse_ipv4 (*d, &addr))
            nl_loader_diag (loader, from, "machine '%s': DNS server '%s' is not an IPv4 address", m->name, *d);
        }
    }

  g_clear_pointer (&s, g_free);
  if ((s = setting (loader, node, profile, "rdp", &from)) != NULL)
    parse_yesno (loader, from, "rdp", s, &m->rdp);

  if (keys->len > 0)
    {
      g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();
      for (guint i = 0; i < keys->len; i++)
        {
          xmlNodePtr k = g_ptr_array_index (keys, i);
          xmlChar *text = xmlNodeGetContent (k);
          g_autofree char *key = g_strstrip (g_strdup ((const char *) text));
          xmlFree (text);
          /* One line each in authorized_keys and in YAML. */
          if (strpbrk (key, "\r\n") != NULL)
            nl_loader_diag (loader, k, "machine '%s': an SSH key is one line", m->name);
          else if (m->os_family != NL_OS_FAMILY_LINUX)
            nl_loader_diag (loader, k, "machine '%s': SSH keys are for Linux machines (it runs %s)", m->name, m->os);
          g_strv_builder_add (builder, key);
        }
      m->ssh_keys = g_strv_builder_end (builder);
    }
}

/* Installation media in CD-ROM drives (the machine's, else its profile's). */
static void
proto_media (NlLoader *loader, MachineTemplate *mt)
{
  g_autoptr (GPtrArray) nodes = children (mt->node, mt->profile, "media");

  for (guint i = 0; i < nodes->len; i++)
    {
      xmlNodePtr n = nodes->pdata[i];
      NlInstallMedia *media = g_new0 (NlInstallMedia, 1);
      media->path = attr (loader, n, "file");
      media->volume = attr (loader, n, "volume");
      media->pool = attr (loader, n, "pool");
      if (media->volume && media->pool == NULL)
        media->pool = g_strdup (loader->lab->pool);
      if (media->path && !g_path_is_absolute (media->path))
        nl_loader_diag (loader, n, "machine '%s': media file '%s' must be absolute", mt->proto->name, media->path);
      g_ptr_array_add (mt->proto->install_media, media);
    }
}

static gboolean
build_machine_proto (NlLoader *loader, xmlNodePtr node, MachineTemplate *mt)
{
  NlMachine *m = mt->proto;
  g_autofree char *profile_name = attr (loader, node, "profile");

  mt->node = node;
  if (profile_name != NULL && (mt->profile = g_hash_table_lookup (loader->profiles, profile_name)) == NULL)
    nl_loader_diag (loader, node, "machine '%s': unknown profile '%s'", m->name, profile_name);

  proto_count (loader, mt);
  proto_boot_disk_and_os (loader, mt);
  proto_hardware (loader, mt);
  proto_start_order (loader, mt);
  proto_devices (loader, mt);
  proto_identity (loader, mt);
  nl_loader_parse_steps (loader, node, m);
  proto_media (loader, mt);
  mt->nic_nodes = children (node, mt->profile, "nic");
  source_set (&m->src, node);
  return TRUE;
}

static char *
expand_name (const char *pattern, guint index)
{
  const char *hash = strchr (pattern, '#');
  gsize run = 0;
  if (hash == NULL)
    return g_strdup (pattern);
  while (hash[run] == '#')
    run++;
  return g_strdup_printf ("%.*s%0*u%s", (int) (hash - pattern), pattern, (int) run, index, hash + run);
}

static NlMachine *
machine_copy (const NlMachine *p)
{
  NlMachine *m = nl_machine_new ();
  m->os = g_strdup (p->os);
  m->os_family = p->os_family;
  m->role = p->role;
  m->vcpus = p->vcpus;
  m->memory = p->memory;
  m->firmware = p->firmware;
  m->secure_boot = p->secure_boot;
  m->tpm = p->tpm;
  m->nested = p->nested;
  m->boot_disk = p->boot_disk;
  m->boot_disk.image = g_strdup (p->boot_disk.image);
  m->has_boot_disk = p->has_boot_disk;
  for (guint i = 0; i < p->data_disks->len; i++)
    g_ptr_array_add (m->data_disks, g_memdup2 (g_ptr_array_index (p->data_disks, i), sizeof (NlDataDisk)));
  for (guint i = 0; i < p->shared_disks->len; i++)
    g_ptr_array_add (m->shared_disks, g_strdup (g_ptr_array_index (p->shared_disks, i)));
  m->after = g_strdupv (p->after);
  m->delay = p->delay;
  m->kernel = g_strdup (p->kernel);
  m->initrd = g_strdup (p->initrd);
  m->cmdline = g_strdup (p->cmdline);
  m->timezone = g_strdup (p->timezone);
  m->workgroup = g_strdup (p->workgroup);
  m->dns = g_strdupv (p->dns);
  m->rdp = p->rdp;
  m->ssh_keys = g_strdupv (p->ssh_keys);
  m->admin_password = g_strdup (p->admin_password);
  for (guint i = 0; i < p->steps->len; i++)
    g_ptr_array_add (m->steps, nl_step_copy (p->steps->pdata[i]));
  m->recipe = g_strdup (p->recipe);
  for (guint i = 0; i < p->install_media->len; i++)
    {
      const NlInstallMedia *o = p->install_media->pdata[i];
      NlInstallMedia *c = g_new0 (NlInstallMedia, 1);
      c->path = g_strdup (o->path);
      c->pool = g_strdup (o->pool);
      c->volume = g_strdup (o->volume);
      g_ptr_array_add (m->install_media, c);
    }
  m->src.file = g_strdup (p->src.file);
  m->src.line = p->src.line;
  return m;
}

/* The NIC element C for the K-th machine M of a counted <machine>: a static
 * IP or MAC is the first machine's, plus K. Problems are reported for the
 * first machine only (K == 0), as all share the element. */
static NlNic *
build_nic (NlLoader *loader, xmlNodePtr c, NlMachine *m, guint k)
{
  g_autoptr (NlNic) nic = nl_nic_new ();
  g_autofree char *model = attr (loader, c, "model");
  g_autofree char *ip = attr (loader, c, "ip");
  g_autofree char *mac = attr (loader, c, "mac");
  g_autofree char *prefix = attr (loader, c, "prefix");

  nic->network = attr (loader, c, "network");
  nic->model = m->os_family == NL_OS_FAMILY_WINDOWS ? NL_NIC_MODEL_E1000E : NL_NIC_MODEL_VIRTIO;
  if (model != NULL)
    {
      int v = nl_nic_model_from_string (model);
      if (v < 0)
        {
          if (k == 0)
            nl_loader_diag (loader, c, "NIC model '%s' is not e1000e, virtio, e1000 or rtl8139", model);
        }
      else
        nic->model = v;
    }
  if (ip != NULL)
    {
      guint32 addr;
      if (!nl_parse_ipv4 (ip, &addr))
        {
          if (k == 0)
            nl_loader_diag (loader, c, "machine '%s': '%s' is not an IPv4 address", m->name, ip);
        }
      else
        nic->ip = nl_format_ipv4 (addr + k);
    }
  if (mac != NULL)
    {
      guint64 v;
      if (!parse_mac (mac, &v))
        {
          if (k == 0)
            nl_loader_diag (loader, c, "machine '%s': '%s' is not a MAC address (02:00:00:12:34:56)", m->name, mac);
        }
      else if (v & (G_GUINT64_CONSTANT (1) << 40))
        {
          if (k == 0)
            nl_loader_diag (loader, c, "machine '%s': MAC '%s' is a multicast address", m->name, mac);
        }
      else
        nic->mac = format_mac (v + k);
    }
  /* Prefix and gateway of a static address; defaults (the network's) are
   * filled in once networks are known, in nic_address_defaults. */
  if (prefix != NULL)
    {
      guint64 n = 0;
      if (!g_ascii_string_to_unsigned (prefix, 10, 1, 32, &n, NULL))
        {
          if (k == 0)
            nl_loader_diag (loader, c, "machine '%s': prefix '%s' is not a whole number from 1 to 32", m->name, prefix);
        }
      else
        nic->prefix = n;
    }
  nic->gateway = attr (loader, c, "gateway");
  if ((prefix != NULL || nic->gateway != NULL) && ip == NULL && k == 0)
    nl_loader_diag (loader, c, "machine '%s': prefix= and gateway= go with a static ip=", m->name);
  return g_steal_pointer (&nic);
}

static void
build_machine (NlLoader *loader, xmlNodePtr node)
{
  MachineTemplate mt = { 0 };
  g_autoptr (NlMachine) proto = nl_machine_new ();
  g_autofree char *pattern = attr (loader, node, "name");
  GPtrArray *expanded = g_ptr_array_new ();

  proto->name = g_strdup (pattern);
  mt.proto = proto;
  build_machine_proto (loader, node, &mt);
  if (g_hash_table_contains (loader->machine_nodes, pattern))
    nl_loader_diag (loader, node, "machine '%s' is defined twice", pattern);
  else
    g_hash_table_insert (loader->machine_nodes, g_strdup (pattern), expanded);

  for (guint k = 0; k < mt.count; k++)
    {
      NlMachine *m = machine_copy (proto);
      m->name = mt.count > 1 || strchr (pattern, '#') ? expand_name (pattern, k + 1) : g_strdup (pattern);
      for (guint n = 0; n < mt.nic_nodes->len; n++)
        g_ptr_array_add (m->nics, build_nic (loader, g_ptr_array_index (mt.nic_nodes, n), m, k));
      g_ptr_array_add (expanded, m);
      g_ptr_array_add (loader->lab->machines, m);
    }
  g_ptr_array_unref (mt.nic_nodes);
}

/* A static address's prefix is its network's unless given; the gateway is
 * the network's for the machine's first static NIC (one default route),
 * "none" for no gateway. */
static void
nic_address_defaults (NlLoader *loader)
{
  NlLab *lab = loader->lab;
  for (guint i = 0; i < lab->machines->len; i++)
    {
      NlMachine *m = g_ptr_array_index (lab->machines, i);
      guint primary = G_MAXUINT;
      nl_machine_primary_nic (m, &primary);
      for (guint n = 0; n < m->nics->len; n++)
        {
          NlNic *nic = g_ptr_array_index (m->nics, n);
          NlNetwork *net = nl_lab_find_network (lab, nic->network);
          if (nic->ip == NULL || net == NULL)
            continue;
          if (nic->prefix == 0)
            nic->prefix = net->prefix;
          if (g_strcmp0 (nic->gateway, "none") == 0)
            g_clear_pointer (&nic->gateway, g_free);
          else if (nic->gateway == NULL && n == primary && net->gateway != NULL)
            nic->gateway = g_strdup (net->gateway);
        }
    }
}

/* Static IPs of machine NICs become reservations on their networks. */
static void
add_machine_reservations (NlLoader *loader)
{
  NlLab *lab = loader->lab;
  for (guint i = 0; i < lab->machines->len; i++)
    {
      NlMachine *m = g_ptr_array_index (lab->machines, i);
      for (guint n = 0; n < m->nics->len; n++)
        {
          NlNic *nic = g_ptr_array_index (m->nics, n);
          NlNetwork *net = nl_lab_find_network (lab, nic->network);
          NlReservation *r;
          if (nic->ip == NULL || net == NULL || net->mode == NL_NET_BRIDGE)
            continue;
          r = nl_reservation_new ();
          r->name = g_strdup (m->name);
          r->ip = g_strdup (nic->ip);
          r->mac = g_strdup (nic->mac);
          r->machine = m;
          r->nic_index = n;
          g_ptr_array_add (net->reservations, r);
        }
    }
}

static void
finish_digest (NlLoader *loader)
{
  g_autoptr (GList) keys = g_list_sort (g_hash_table_get_keys (loader->params), (GCompareFunc) strcmp);
  for (GList *l = keys; l; l = l->next)
    {
      const char *value = g_hash_table_lookup (loader->params, l->data);
      g_checksum_update (loader->digest, (const guchar *) "\0param:", 7);
      g_checksum_update (loader->digest, l->data, strlen (l->data));
      g_checksum_update (loader->digest, (const guchar *) "=", 1);
      g_checksum_update (loader->digest, (const guchar *) value, strlen (value));
    }
  loader->lab->digest = g_strdup (g_checksum_get_string (loader->digest));
  {
    GHashTableIter iter;
    gpointer k, v;
    g_hash_table_iter_init (&iter, loader->params);
    while (g_hash_table_iter_next (&iter, &k, &v))
      g_hash_table_insert (loader->lab->params, g_strdup (k), g_strdup (v));
  }
}

static void
loader_clear (NlLoader *loader)
{
  g_ptr_array_unref (loader->docs);
  g_ptr_array_unref (loader->diags);
  g_hash_table_unref (loader->params);
  g_hash_table_unref (loader->param_nodes);
  g_hash_table_unref (loader->profiles);
  g_hash_table_unref (loader->machine_nodes);
  g_hash_table_unref (loader->includes);
  g_checksum_free (loader->digest);
  g_free (loader->admin_password);
  nl_lab_free (loader->lab);
}

/* Files in the order they first appear in the report, lines in order
 * within a file, so a reader walks each file top to bottom and an include
 * chain still reads from the failing file outwards. */
static int
diag_compare (gconstpointer a, gconstpointer b, gpointer data)
{
  const Diag *x = *(const Diag **) a;
  const Diag *y = *(const Diag **) b;
  GHashTable *file_rank = data;
  guint fx = GPOINTER_TO_UINT (g_hash_table_lookup (file_rank, x->file));
  guint fy = GPOINTER_TO_UINT (g_hash_table_lookup (file_rank, y->file));

  if (fx != fy)
    return fx < fy ? -1 : 1;
  if (x->line != y->line)
    return x->line < y->line ? -1 : 1;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static NlLab *
fail_with_diags (NlLoader *loader, GError **error)
{
  g_autoptr (GString) msg = g_string_new (NULL);
  g_autoptr (GHashTable) file_rank = g_hash_table_new (g_str_hash, g_str_equal);

  for (guint i = 0; i < loader->diags->len; i++)
    {
      Diag *d = g_ptr_array_index (loader->diags, i);
      if (!g_hash_table_contains (file_rank, d->file))
        g_hash_table_insert (file_rank, d->file, GUINT_TO_POINTER (g_hash_table_size (file_rank) + 1));
    }
  g_ptr_array_sort_with_data (loader->diags, diag_compare, file_rank);
  for (guint i = 0; i < loader->diags->len; i++)
    {
      Diag *d = g_ptr_array_index (loader->diags, i);
      if (i > 0)
        g_string_append_c (msg, '\n');
      g_string_append (msg, d->text);
    }
  g_set_error_literal (error, NL_ERROR, NL_ERROR_INVALID, msg->str);
  return NULL;
}

NlLab *
nl_template_load (const char *file, GHashTable *overrides, GError **error)
{
  NlLoader loader = { 0 };
  g_autoptr (GPtrArray) stack = g_ptr_array_new_with_free_func (g_free);
  xmlDocPtr top;
  xmlNodePtr root;
  NlLab *result = NULL;

  loader.docs = g_ptr_array_new_with_free_func ((GDestroyNotify) xmlFreeDoc);
  loader.diags = g_ptr_array_new_with_free_func ((GDestroyNotify) diag_free);
  loader.params = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  loader.param_nodes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  loader.profiles = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  loader.machine_nodes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                (GDestroyNotify) g_ptr_array_unref);
  loader.includes = g_hash_table_new (NULL, NULL);
  loader.digest = g_checksum_new (G_CHECKSUM_SHA256);
  loader.lab = nl_lab_new ();

  top = parse_file (&loader, file, "lab");
  if (top == NULL)
    goto out;
  {
    char *real = realpath (file, NULL);
    g_ptr_array_add (stack, g_strdup (real ? real : file));
    free (real);
  }
  if (!load_includes (&loader, top, stack) || !resolve_params (&loader, overrides))
    goto out;

  root = xmlDocGetRootElement (top);
  loader.lab->file = g_strdup (file);
  loader.lab->name = attr (&loader, root, "name");
  loader.lab->pool = attr (&loader, root, "pool");
  if (loader.lab->pool == NULL)
    loader.lab->pool = g_strdup ("default");
  {
    char *zone = attr (&loader, root, "timezone");
    if (zone != NULL)
      {
        g_free (loader.lab->timezone);
        loader.lab->timezone = zone;
      }
  }
  for (xmlNodePtr c = root->children; c; c = c->next)
    if (is_element (c, "description"))
      {
        xmlChar *text = xmlNodeGetContent (c);
        loader.lab->description = g_strstrip (g_strdup ((const char *) text));
        xmlFree (text);
      }

  each_element (&loader, "secret", build_secret);
  default_admin_secret (&loader, root);
  for (xmlNodePtr c = root->children; c; c = c->next)
    if (is_element (c, "domain"))
      build_domain (&loader, c);

  each_element (&loader, "image", build_image);
  each_element (&loader, "network", build_network);
  each_element (&loader, "shared-disk", build_shared_disk);
  each_element (&loader, "profile", collect_profile);
  each_element (&loader, "machine", build_machine);
  nic_address_defaults (&loader);
  add_machine_reservations (&loader);
  nl_loader_expand_steps (&loader);
  nl_template_validate (&loader);
  if (loader.diags->len > 0)
    goto out;

  finish_digest (&loader);
  result = g_steal_pointer (&loader.lab);

out:
  if (result == NULL)
    fail_with_diags (&loader, error);
  loader_clear (&loader);
  return result;
}

char *
nl_loader_attr (NlLoader *loader, xmlNodePtr node, const char *name)
{
  return attr (loader, node, name);
}

gboolean
nl_template_parse_override (GHashTable *overrides, const char *arg, GError **error)
{
  const char *eq = strchr (arg, '=');
  g_autofree char *name = NULL;

  if (eq == NULL || eq == arg)
    {
      g_set_error (error, NL_ERROR, NL_ERROR_USAGE, "--set '%s': expected NAME=VALUE", arg);
      return FALSE;
    }
  name = g_strndup (arg, eq - arg);
  g_hash_table_insert (overrides, g_steal_pointer (&name), g_strdup (eq + 1));
  return TRUE;
}
