/* Nested virtualization: makes any libvirt <domain> document ready to run a
 * hypervisor inside it, undoes that, and lists what is missing. It also holds
 * the one definition of nestlab's Hyper-V enlightenments, which rendering uses
 * for every Windows machine. */
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

#include <nestlab/error.h>
#include <nestlab/model.h>
#include <nestlab/nested.h>

NL_ENUM_IMPL (nl_cpu_vendor, NL_CPU_VENDOR_LAST, "unknown", "intel", "amd")

/* The order in which libvirt formats children, so that elements we add land
 * where `virsh dumpxml` would put them. Insertion only; unknown names stay. */
static const char *const domain_order[] = {
  "name", "uuid", "genid", "title", "description", "metadata", "maxMemory",
  "memory", "currentMemory", "blkiotune", "memtune", "memoryBacking", "vcpu",
  "vcpus", "iothreads", "iothreadids", "cputune", "numatune", "resource",
  "sysinfo", "bootloader", "bootloader_args", "os", "idmap", "features", "cpu",
  "clock", "on_poweroff", "on_reboot", "on_crash", "on_lockfailure", "pm",
  "perf", "devices", "seclabel", "keywrap", "launchSecurity", NULL,
};

static const char *const features_order[] = {
  "acpi", "apic", "pae", "hap", "viridian", "privnet", "hyperv", "kvm", "xen",
  "pvspinlock", "capabilities", "pmu", "vmport", "gic", "smm", "ioapic", "hpt",
  "vmcoreinfo", "htm", "nested-hv", "msrs", "ccf-assist", "cfpc", "sbbc", "ibs",
  "tcg", "async-teardown", NULL,
};

static const char *const hyperv_order[] = {
  "relaxed", "vapic", "spinlocks", "vpindex", "runtime", "synic", "stimer",
  "reset", "vendor_id", "frequencies", "reenlightenment", "tlbflush", "ipi",
  "evmcs", "avic", NULL,
};

static const char *const cpu_order[] = {
  "model", "vendor", "topology", "cache", "maxphysaddr", "feature", "numa", NULL,
};

static const char *const devices_order[] = {
  "emulator", "disk", "controller", "lease", "filesystem", "interface",
  "smartcard", "serial", "parallel", "console", "channel", "input", "tpm",
  "graphics", "sound", "audio", "video", "hostdev", "redirdev", "redirfilter",
  "hub", "watchdog", "memballoon", "rng", "panic", "shmem", "memory", "iommu",
  "vsock", "crypto", NULL,
};

/* Hyper-V enlightenments every Windows machine gets, in libvirt's order.
 * Under KVM all of them; under QEMU's software emulation (TCG) QEMU refuses
 * vpindex ("kernel doesn't allow setting HyperV VP_INDEX"), and synic and
 * stimer depend on it, so those three are left out there. */
typedef struct {
  const char *name;
  gboolean needs_kvm;
} NlHypervFeature;

static const NlHypervFeature hyperv_features[] = {
  { "relaxed", FALSE },
  { "vapic", FALSE },
  { "spinlocks", FALSE },
  { "vpindex", TRUE },
  { "runtime", FALSE },
  { "synic", TRUE },
  { "stimer", TRUE },
  { "frequencies", FALSE },
  { "tlbflush", FALSE },
  { "ipi", FALSE },
};

#define NL_HYPERV_SPINLOCK_RETRIES "8191"

/* Network filters that drop frames from MAC addresses other than the NIC's
 * own: a nested hypervisor's guests have their own MACs. */
static const char *const mac_filters[] = {
  "no-mac-spoofing", "clean-traffic", "clean-traffic-gateway",
  "no-arp-mac-spoofing", NULL,
};

static void
add_line (GPtrArray *lines, const char *format, ...) G_GNUC_PRINTF (2, 3);

static void
add_line (GPtrArray *lines, const char *format, ...)
{
  va_list ap;
  char *line;

  va_start (ap, format);
  line = g_strdup_vprintf (format, ap);
  va_end (ap);
  g_debug ("nested: %s", line);
  if (lines != NULL)
    g_ptr_array_add (lines, line);
  else
    g_free (line);
}

/* libvirt's own elements carry no namespace; metadata children do. */
static gboolean
is_element (xmlNodePtr node, const char *name)
{
  return node != NULL && node->type == XML_ELEMENT_NODE && node->ns == NULL
         && (name == NULL || xmlStrcmp (node->name, (const xmlChar *) name) == 0);
}

static xmlNodePtr
child_element (xmlNodePtr parent, const char *name)
{
  if (parent == NULL)
    return NULL;
  for (xmlNodePtr c = parent->children; c != NULL; c = c->next)
    if (is_element (c, name))
      return c;
  return NULL;
}

/* A child element whose attribute ATTR equals VALUE. */
static xmlNodePtr
child_element_with (xmlNodePtr parent, const char *name, const char *attr, const char *value)
{
  if (parent == NULL)
    return NULL;
  for (xmlNodePtr c = parent->children; c != NULL; c = c->next)
    if (is_element (c, name))
      {
        g_autofree char *v = (char *) xmlGetProp (c, (const xmlChar *) attr);
        if (g_strcmp0 (v, value) == 0)
          return c;
      }
  return NULL;
}

static char *
get_prop (xmlNodePtr node, const char *name)
{
  return node ? (char *) xmlGetProp (node, (const xmlChar *) name) : NULL;
}

static void
set_prop (xmlNodePtr node, const char *name, const char *value)
{
  xmlSetProp (node, (const xmlChar *) name, (const xmlChar *) value);
}

static void
unset_prop (xmlNodePtr node, const char *name)
{
  xmlUnsetProp (node, (const xmlChar *) name);
}

static int
order_rank (const char *const *order, const xmlChar *name)
{
  for (int i = 0; order != NULL && order[i] != NULL; i++)
    if (xmlStrcmp (name, (const xmlChar *) order[i]) == 0)
      return i;
  return -1;
}

static void
unlink_free (xmlNodePtr node)
{
  xmlUnlinkNode (node);
  xmlFreeNode (node);
}

/* Adds an empty element NAME to PARENT before the first sibling that libvirt
 * formats after it; returns it. */
static xmlNodePtr
insert_element (xmlNodePtr parent, const char *name, const char *const *order)
{
  xmlNodePtr node = xmlNewDocNode (parent->doc, NULL, (const xmlChar *) name, NULL);
  int rank = order_rank (order, node->name);

  for (xmlNodePtr c = parent->children; c != NULL && rank >= 0; c = c->next)
    if (is_element (c, NULL) && order_rank (order, c->name) > rank)
      return xmlAddPrevSibling (c, node);
  return xmlAddChild (parent, node);
}

static xmlNodePtr
ensure_element (xmlNodePtr parent, const char *name, const char *const *order)
{
  xmlNodePtr node = child_element (parent, name);
  return node ? node : insert_element (parent, name, order);
}

static void
remove_children (xmlNodePtr node)
{
  xmlNodePtr c = node->children;
  while (c != NULL)
    {
      xmlNodePtr next = c->next;
      unlink_free (c);
      c = next;
    }
}

static xmlNodePtr
domain_root (xmlDocPtr doc, GError **error)
{
  xmlNodePtr root = doc ? xmlDocGetRootElement (doc) : NULL;
  if (!is_element (root, "domain"))
    {
      g_set_error (error, NL_ERROR, NL_ERROR_INVALID,
                   "not a libvirt domain: the root element is not <domain>");
      return NULL;
    }
  return root;
}

static guint64
min_memory_of (const NlNestedOptions *options)
{
  return options->min_memory ? options->min_memory : NL_NESTED_MIN_MEMORY;
}

/* The CPU extension the guest must see: vmx on Intel, svm on AMD. QEMU's
 * software emulation emulates SVM (its "max" CPU is an AuthenticAMD with svm
 * and npt) but not VMX, whatever the host's vendor, so emulation means svm. */
static const char *
wanted_extension (const NlNestedOptions *options)
{
  if (options->emulate)
    return "svm";
  switch (options->vendor)
    {
    case NL_CPU_VENDOR_INTEL:
      return "vmx";
    case NL_CPU_VENDOR_AMD:
      return "svm";
    case NL_CPU_VENDOR_UNKNOWN:
    case NL_CPU_VENDOR_LAST:
    default:
      return NULL;
    }
}

static const char *
wanted_cpu_mode (const NlNestedOptions *options)
{
  return options->emulate ? "maximum" : "host-passthrough";
}

static gboolean
evmcs_allowed (const NlNestedOptions *options)
{
  return options->vendor == NL_CPU_VENDOR_INTEL && !options->emulate;
}

static gboolean
is_extension (const char *name)
{
  return g_strcmp0 (name, "vmx") == 0 || g_strcmp0 (name, "svm") == 0;
}

static gboolean
policy_exposes (const char *policy)
{
  /* libvirt's default policy is require. */
  return policy == NULL || g_str_equal (policy, "require") || g_str_equal (policy, "force");
}

/* ---- memory ---------------------------------------------------------- */

static const struct {
  const char *unit;
  guint64 factor;
} memory_units[] = {
  { "b", 1 }, { "bytes", 1 },
  { "k", 1024 }, { "KiB", 1024 }, { "KB", 1000 },
  { "m", 1 << 20 }, { "M", 1 << 20 }, { "MiB", 1 << 20 }, { "MB", 1000000 },
  { "g", 1 << 30 }, { "G", 1 << 30 }, { "GiB", 1 << 30 }, { "GB", 1000000000 },
  { "t", G_GUINT64_CONSTANT (1) << 40 }, { "T", G_GUINT64_CONSTANT (1) << 40 },
  { "TiB", G_GUINT64_CONSTANT (1) << 40 }, { "TB", G_GUINT64_CONSTANT (1000000000000) },
  { "p", G_GUINT64_CONSTANT (1) << 50 }, { "P", G_GUINT64_CONSTANT (1) << 50 },
  { "PiB", G_GUINT64_CONSTANT (1) << 50 }, { "PB", G_GUINT64_CONSTANT (1000000000000000) },
};

/* A libvirt scaled integer ("4" with unit "GiB") in bytes; libvirt's default
 * unit for memory is KiB. */
static gboolean
parse_scaled (const char *text, const char *unit, guint64 *bytes)
{
  guint64 value;
  char *end = NULL;

  if (text == NULL || !g_ascii_isdigit (text[0]))
    return FALSE;
  value = g_ascii_strtoull (text, &end, 10);
  if (end == NULL || *end != '\0')
    return FALSE;
  if (unit == NULL)
    unit = "KiB";
  for (guint i = 0; i < G_N_ELEMENTS (memory_units); i++)
    if (g_str_equal (unit, memory_units[i].unit))
      {
        if (value > G_MAXUINT64 / memory_units[i].factor)
          return FALSE;
        *bytes = value * memory_units[i].factor;
        return TRUE;
      }
  return FALSE;
}

static gboolean
read_memory (xmlNodePtr node, guint64 *bytes, GError **error)
{
  g_autofree char *text = (char *) xmlNodeGetContent (node);
  g_autofree char *unit = get_prop (node, "unit");

  g_strstrip (text);
  if (parse_scaled (text, unit, bytes))
    return TRUE;
  g_set_error (error, NL_ERROR, NL_ERROR_INVALID, "<%s> '%s%s%s' is not a memory size",
               (const char *) node->name, text, unit ? " " : "", unit ? unit : "");
  return FALSE;
}

static char *
kib_text (guint64 bytes)
{
  return g_strdup_printf ("%" G_GUINT64_FORMAT, (bytes + 1023) / 1024);
}

static void
write_memory (xmlNodePtr node, guint64 bytes)
{
  g_autofree char *kib = kib_text (bytes);
  remove_children (node);
  xmlNodeSetContent (node, (const xmlChar *) kib);
  set_prop (node, "unit", "KiB");
}

/* With NUMA cells libvirt takes the domain's memory to be their sum, so
 * raising memory means raising the cells: each gets at least its share of
 * MIN (rounded up to a MiB). Sets TOTAL to the new sum, or 0 without cells;
 * checks every cell before it changes one. */
static gboolean
enable_numa_memory (xmlNodePtr root, guint64 min, guint64 *total, GPtrArray *changes,
                    GError **error)
{
  xmlNodePtr cpu = child_element (root, "cpu");
  xmlNodePtr numa = child_element (cpu, "numa");
  guint n_cells = 0;
  guint64 sum = 0;
  guint64 share;

  *total = 0;
  for (xmlNodePtr c = numa ? numa->children : NULL; c != NULL; c = c->next)
    if (is_element (c, "cell"))
      {
        g_autofree char *text = get_prop (c, "memory");
        g_autofree char *unit = get_prop (c, "unit");
        guint64 bytes;
        if (!parse_scaled (text, unit, &bytes))
          {
            g_set_error (error, NL_ERROR, NL_ERROR_INVALID,
                         "NUMA cell memory '%s' is not a memory size", text ? text : "");
            return FALSE;
          }
        sum += bytes;
        n_cells++;
      }
  if (n_cells == 0)
    return TRUE;
  if (sum >= min)
    {
      *total = sum;
      return TRUE;
    }
  share = ((min + n_cells - 1) / n_cells + (1 << 20) - 1) & ~(guint64) ((1 << 20) - 1);
  sum = 0;
  for (xmlNodePtr c = numa->children; c != NULL; c = c->next)
    if (is_element (c, "cell"))
      {
        g_autofree char *text = get_prop (c, "memory");
        g_autofree char *unit = get_prop (c, "unit");
        g_autofree char *id = get_prop (c, "id");
        guint64 bytes = 0;
        parse_scaled (text, unit, &bytes);
        if (bytes < share)
          {
            g_autofree char *from = nl_format_size (bytes);
            g_autofree char *to = nl_format_size (share);
            g_autofree char *kib = kib_text (share);
            set_prop (c, "memory", kib);
            set_prop (c, "unit", "KiB");
            add_line (changes, "NUMA cell %s memory: %s -> %s", id ? id : "?", from, to);
            bytes = share;
          }
        sum += bytes;
      }
  *total = sum;
  return TRUE;
}

static gboolean
enable_memory (xmlNodePtr root, const NlNestedOptions *options, GPtrArray *changes,
               GError **error)
{
  xmlNodePtr memory = child_element (root, "memory");
  xmlNodePtr current = child_element (root, "currentMemory");
  xmlNodePtr max = child_element (root, "maxMemory");
  guint64 min = min_memory_of (options);
  guint64 bytes;
  guint64 numa_total;
  guint64 max_bytes = 0;
  guint64 current_bytes = 0;

  if (memory == NULL)
    {
      g_set_error (error, NL_ERROR, NL_ERROR_INVALID, "the domain has no <memory> element");
      return FALSE;
    }
  /* Read everything before changing anything. */
  if (!read_memory (memory, &bytes, error)
      || (max != NULL && !read_memory (max, &max_bytes, error))
      || (current != NULL && !read_memory (current, &current_bytes, error)))
    return FALSE;
  if (!enable_numa_memory (root, min, &numa_total, changes, error))
    return FALSE;
  if (numa_total > min)
    min = numa_total;
  if (bytes < min)
    {
      g_autofree char *from = nl_format_size (bytes);
      g_autofree char *to = nl_format_size (min);
      g_autofree char *need = nl_format_size (min_memory_of (options));
      write_memory (memory, min);
      add_line (changes, "memory: %s -> %s (a nested hypervisor needs at least %s)",
                from, to, need);
      bytes = min;
    }
  if (max != NULL)
    {
      if (max_bytes < bytes)
        {
          g_autofree char *from = nl_format_size (max_bytes);
          g_autofree char *to = nl_format_size (bytes);
          write_memory (max, bytes);
          add_line (changes, "maximum memory (hotplug): %s -> %s", from, to);
        }
      else
        g_debug ("nested: memory hotplug (<maxMemory>) left as it is");
    }
  if (current != NULL)
    {
      if (current_bytes != bytes)
        {
          g_autofree char *from = nl_format_size (current_bytes);
          g_autofree char *to = nl_format_size (bytes);
          write_memory (current, bytes);
          add_line (changes, "current memory: %s -> %s (fixed memory)", from, to);
        }
    }
  return TRUE;
}

/* ---- CPU ------------------------------------------------------------- */

static void
set_cpu_attr (xmlNodePtr cpu, const char *name, const char *value, GPtrArray *changes)
{
  g_autofree char *old = get_prop (cpu, name);
  if (g_strcmp0 (old, value) == 0)
    return;
  set_prop (cpu, name, value);
  add_line (changes, "CPU: %s %s -> %s", name, old ? old : "(default)", value);
}

/* Removes the <feature> elements for vmx and svm other than KEEP; DISABLED_ONLY
 * limits that to the ones that hide the extension. */
static void
remove_extension_features (xmlNodePtr cpu, const char *keep, gboolean disabled_only,
                           const char *why, GPtrArray *changes)
{
  xmlNodePtr c = cpu->children;
  while (c != NULL)
    {
      xmlNodePtr next = c->next;
      if (is_element (c, "feature"))
        {
          g_autofree char *name = get_prop (c, "name");
          g_autofree char *policy = get_prop (c, "policy");
          if (is_extension (name) && g_strcmp0 (name, keep) != 0
              && (!disabled_only || !policy_exposes (policy)))
            {
              add_line (changes, "CPU: removed feature %s (policy %s)%s", name,
                        policy ? policy : "require", why);
              unlink_free (c);
            }
        }
      c = next;
    }
}

static void
enable_cpu (xmlNodePtr root, const NlNestedOptions *options, GPtrArray *changes)
{
  const char *mode = wanted_cpu_mode (options);
  const char *ext = wanted_extension (options);
  xmlNodePtr cpu = child_element (root, "cpu");
  g_autofree char *old_mode = NULL;

  if (cpu == NULL)
    cpu = insert_element (root, "cpu", domain_order);
  old_mode = get_prop (cpu, "mode");
  if (g_strcmp0 (old_mode, mode) != 0)
    {
      xmlNodePtr model = child_element (cpu, "model");
      xmlNodePtr vendor = child_element (cpu, "vendor");

      set_prop (cpu, "mode", mode);
      add_line (changes, "CPU: mode %s -> %s", old_mode ? old_mode : "custom", mode);
      /* A named model, its vendor and match only mean something in the
       * custom and host-model modes. */
      if (model != NULL)
        {
          g_autofree char *name = (char *) xmlNodeGetContent (model);
          add_line (changes, "CPU: removed model %s", name && *name ? name : "(fallback only)");
          unlink_free (model);
        }
      if (vendor != NULL)
        unlink_free (vendor);
      unset_prop (cpu, "match");
      if (ext == NULL)
        add_line (changes, "CPU: host CPU vendor unknown: no vmx/svm feature required; "
                  "%s exposes the host's own", mode);
    }
  set_cpu_attr (cpu, "check", "none", changes);
  if (g_str_equal (mode, "host-passthrough"))
    set_cpu_attr (cpu, "migratable", "off", changes);

  if (ext == NULL)
    {
      remove_extension_features (cpu, NULL, TRUE, "", changes);
      return;
    }
  remove_extension_features (cpu, ext, FALSE,
                             options->emulate ? " (emulation offers svm)"
                             : options->vendor == NL_CPU_VENDOR_AMD ? " (the host is AMD)"
                             : " (the host is Intel)", changes);
  {
    xmlNodePtr feature = child_element_with (cpu, "feature", "name", ext);
    g_autofree char *policy = get_prop (feature, "policy");
    if (feature == NULL)
      {
        feature = insert_element (cpu, "feature", cpu_order);
        set_prop (feature, "policy", "require");
        set_prop (feature, "name", ext);
        add_line (changes, "CPU: %s required", ext);
      }
    else if (g_strcmp0 (policy, "require") != 0)
      {
        set_prop (feature, "policy", "require");
        add_line (changes, "CPU: %s policy %s -> require", ext, policy ? policy : "(default)");
      }
  }
}

/* ---- domain type ----------------------------------------------------- */

static void
enable_type (xmlNodePtr root, const NlNestedOptions *options, GPtrArray *changes)
{
  const char *type = options->emulate ? "qemu" : "kvm";
  g_autofree char *old = get_prop (root, "type");

  if (g_strcmp0 (old, type) == 0)
    return;
  /* Only QEMU's two flavours are ours to switch between. */
  if (old != NULL && !g_str_equal (old, "kvm") && !g_str_equal (old, "qemu"))
    return;
  set_prop (root, "type", type);
  add_line (changes, "domain type: %s -> %s (%s)", old ? old : "(none)", type,
            options->emulate ? "software emulation" : "nested virtualization needs KVM");
}

/* ---- devices --------------------------------------------------------- */

static xmlNodePtr
ensure_devices (xmlNodePtr root)
{
  return ensure_element (root, "devices", domain_order);
}

static void
enable_balloon (xmlNodePtr root, GPtrArray *changes)
{
  xmlNodePtr devices = ensure_devices (root);
  xmlNodePtr balloon = child_element (devices, "memballoon");
  g_autofree char *model = get_prop (balloon, "model");

  if (balloon == NULL)
    {
      balloon = insert_element (devices, "memballoon", devices_order);
      set_prop (balloon, "model", "none");
      add_line (changes, "memory balloon: disabled (libvirt adds a virtio balloon by default)");
      return;
    }
  if (g_strcmp0 (model, "none") == 0)
    return;
  /* Drop the old device's address, stats and driver options with it. */
  remove_children (balloon);
  while (balloon->properties != NULL)
    xmlRemoveProp (balloon->properties);
  set_prop (balloon, "model", "none");
  add_line (changes, "removed memory balloon (%s)", model ? model : "default");
}

static char *
nic_label (xmlNodePtr iface, guint index)
{
  xmlNodePtr mac = child_element (iface, "mac");
  g_autofree char *address = get_prop (mac, "address");
  if (address != NULL)
    return g_strdup_printf ("NIC %s", address);
  return g_strdup_printf ("NIC #%u", index);
}

static gboolean
is_mac_filter (const char *filter)
{
  return filter != NULL && g_strv_contains (mac_filters, filter);
}

static void
enable_nics (xmlNodePtr root, GPtrArray *changes)
{
  xmlNodePtr devices = child_element (root, "devices");
  guint index = 0;

  if (devices == NULL)
    return;
  for (xmlNodePtr iface = devices->children; iface != NULL; iface = iface->next)
    {
      xmlNodePtr c;
      if (!is_element (iface, "interface"))
        continue;
      c = iface->children;
      while (c != NULL)
        {
          xmlNodePtr next = c->next;
          if (is_element (c, "filterref"))
            {
              g_autofree char *filter = get_prop (c, "filter");
              if (is_mac_filter (filter))
                {
                  g_autofree char *label = nic_label (iface, index);
                  add_line (changes, "%s: removed filter %s (it drops nested guests' MAC addresses)",
                            label, filter);
                  unlink_free (c);
                }
            }
          c = next;
        }
      index++;
    }
}

/* ---- Hyper-V enlightenments ------------------------------------------ */

/* Turns NODE on; its LABEL goes to TURNED_ON (one change line for all). */
static void
set_state_on (xmlNodePtr node, const char *label, GPtrArray *turned_on)
{
  g_autofree char *state = get_prop (node, "state");
  if (g_strcmp0 (state, "on") == 0)
    return;
  set_prop (node, "state", "on");
  g_ptr_array_add (turned_on, (gpointer) label);
}

/* Takes out what would stop the domain from starting (or is pointless) under
 * OPTIONS, whatever else the block holds. */
static void
sanitize_hyperv (xmlNodePtr hyperv, const NlNestedOptions *options, GPtrArray *changes)
{
  xmlNodePtr c = hyperv->children;
  while (c != NULL)
    {
      xmlNodePtr next = c->next;
      if (is_element (c, "evmcs") && !evmcs_allowed (options))
        {
          add_line (changes, "Hyper-V: removed evmcs (%s)",
                    options->emulate ? "needs KVM on Intel; not under emulation"
                    : options->vendor == NL_CPU_VENDOR_AMD ? "Intel only; the host is AMD"
                    : "Intel only; the host's CPU vendor is unknown");
          unlink_free (c);
        }
      else if (options->emulate && is_element (c, NULL))
        {
          for (guint i = 0; i < G_N_ELEMENTS (hyperv_features); i++)
            if (hyperv_features[i].needs_kvm
                && xmlStrcmp (c->name, (const xmlChar *) hyperv_features[i].name) == 0)
              {
                add_line (changes, "Hyper-V: removed %s (QEMU needs KVM for it)",
                          hyperv_features[i].name);
                unlink_free (c);
                break;
              }
        }
      c = next;
    }
}

/* WITH_EVMCS: the enlightened VMCS serves a nested hypervisor only, so it
 * is turned on for nested machines alone (and only where evmcs_allowed). */
static void
apply_hyperv (xmlNodePtr root, const NlNestedOptions *options, gboolean with_evmcs,
              GPtrArray *changes)
{
  xmlNodePtr features = ensure_element (root, "features", domain_order);
  xmlNodePtr hyperv = child_element (features, "hyperv");
  xmlNodePtr clock;
  xmlNodePtr timer;
  g_autofree char *mode = NULL;
  g_autoptr (GPtrArray) turned_on = g_ptr_array_new ();

  if (hyperv == NULL)
    {
      hyperv = insert_element (features, "hyperv", features_order);
      set_prop (hyperv, "mode", "custom");
    }
  mode = get_prop (hyperv, "mode");
  if (g_strcmp0 (mode, "custom") != 0)
    {
      /* passthrough hands the guest whatever the host has, evmcs included. */
      set_prop (hyperv, "mode", "custom");
      if (mode != NULL)
        add_line (changes, "Hyper-V: mode %s -> custom", mode);
    }
  sanitize_hyperv (hyperv, options, changes);

  for (guint i = 0; i < G_N_ELEMENTS (hyperv_features); i++)
    {
      const char *name = hyperv_features[i].name;
      xmlNodePtr node;
      if (hyperv_features[i].needs_kvm && options->emulate)
        continue;
      node = ensure_element (hyperv, name, hyperv_order);
      set_state_on (node, name, turned_on);
      if (g_str_equal (name, "spinlocks"))
        {
          g_autofree char *retries = get_prop (node, "retries");
          if (g_strcmp0 (retries, NL_HYPERV_SPINLOCK_RETRIES) != 0)
            {
              set_prop (node, "retries", NL_HYPERV_SPINLOCK_RETRIES);
              add_line (changes, "Hyper-V: spinlocks retries %s -> " NL_HYPERV_SPINLOCK_RETRIES,
                        retries ? retries : "(default)");
            }
        }
      else if (g_str_equal (name, "stimer"))
        set_state_on (ensure_element (node, "direct", NULL), "stimer direct", turned_on);
    }
  if (with_evmcs && evmcs_allowed (options))
    set_state_on (ensure_element (hyperv, "evmcs", hyperv_order), "evmcs", turned_on);
  if (turned_on->len > 0)
    {
      g_autofree char *list = NULL;
      g_ptr_array_add (turned_on, NULL);
      list = g_strjoinv (", ", (char **) turned_on->pdata);
      add_line (changes, "Hyper-V: turned on %s", list);
    }

  clock = child_element (root, "clock");
  if (clock == NULL)
    {
      clock = insert_element (root, "clock", domain_order);
      set_prop (clock, "offset", "localtime");
      add_line (changes, "clock: localtime (Windows keeps local time in the RTC)");
    }
  timer = child_element_with (clock, "timer", "name", "hypervclock");
  if (timer == NULL)
    {
      timer = xmlNewChild (clock, NULL, (const xmlChar *) "timer", NULL);
      set_prop (timer, "name", "hypervclock");
      set_prop (timer, "present", "yes");
      add_line (changes, "clock: hypervclock timer added");
    }
  else
    {
      g_autofree char *present = get_prop (timer, "present");
      if (g_strcmp0 (present, "yes") != 0)
        {
          set_prop (timer, "present", "yes");
          add_line (changes, "clock: hypervclock timer present %s -> yes",
                    present ? present : "(default)");
        }
    }
}

/* ---- public ---------------------------------------------------------- */

gboolean
nl_nested_set_hyperv (xmlDocPtr doc, const NlNestedOptions *options,
                      GPtrArray *changes, GError **error)
{
  xmlNodePtr root = domain_root (doc, error);
  if (root == NULL)
    return FALSE;
  apply_hyperv (root, options, FALSE, changes);
  return TRUE;
}

gboolean
nl_nested_enable (xmlDocPtr doc, const NlNestedOptions *options,
                  GPtrArray *changes, GError **error)
{
  xmlNodePtr root = domain_root (doc, error);
  xmlNodePtr features;

  if (root == NULL)
    return FALSE;
  /* Memory first: it is the only step that can fail, and it fails before
   * anything was changed. */
  if (!enable_memory (root, options, changes, error))
    return FALSE;
  enable_type (root, options, changes);
  enable_cpu (root, options, changes);
  enable_balloon (root, changes);
  enable_nics (root, changes);
  if (options->windows)
    apply_hyperv (root, options, TRUE, changes);
  else if ((features = child_element (root, "features")) != NULL
           && child_element (features, "hyperv") != NULL)
    sanitize_hyperv (child_element (features, "hyperv"), options, changes);
  return TRUE;
}

gboolean
nl_nested_emulate (xmlDocPtr doc, GPtrArray *changes, GError **error)
{
  const NlNestedOptions options = { .emulate = TRUE };
  xmlNodePtr root = domain_root (doc, error);
  xmlNodePtr cpu;
  xmlNodePtr features;
  g_autofree char *type = NULL;
  g_autofree char *mode = NULL;

  if (root == NULL)
    return FALSE;
  type = get_prop (root, "type");
  if (g_strcmp0 (type, "kvm") != 0)
    return TRUE;   /* already emulated, or not QEMU's to switch */
  enable_type (root, &options, changes);
  cpu = child_element (root, "cpu");
  mode = get_prop (cpu, "mode");
  /* QEMU's "host" CPU needs KVM; its "max" is the emulated counterpart. */
  if (g_strcmp0 (mode, "host-passthrough") == 0 || g_strcmp0 (mode, "host-model") == 0)
    {
      xmlNodePtr model = child_element (cpu, "model");
      gboolean nested = FALSE;
      for (xmlNodePtr c = cpu->children; c != NULL; c = c->next)
        if (is_element (c, "feature"))
          {
            g_autofree char *name = get_prop (c, "name");
            g_autofree char *policy = get_prop (c, "policy");
            nested = nested || (is_extension (name) && policy_exposes (policy));
          }
      set_prop (cpu, "mode", "maximum");
      add_line (changes, "CPU: mode %s -> maximum", mode);
      if (model != NULL)
        unlink_free (model);
      unset_prop (cpu, "migratable");
      unset_prop (cpu, "match");
      set_cpu_attr (cpu, "check", "none", changes);
      remove_extension_features (cpu, "svm", FALSE, " (emulation offers svm)", changes);
      /* A nested hypervisor keeps one: the extension emulation has. */
      if (nested && child_element_with (cpu, "feature", "name", "svm") == NULL)
        {
          xmlNodePtr feature = insert_element (cpu, "feature", cpu_order);
          set_prop (feature, "policy", "require");
          set_prop (feature, "name", "svm");
          add_line (changes, "CPU: svm required");
        }
    }
  if ((features = child_element (root, "features")) != NULL
      && child_element (features, "hyperv") != NULL)
    sanitize_hyperv (child_element (features, "hyperv"), &options, changes);
  return TRUE;
}

gboolean
nl_nested_disable (xmlDocPtr doc, const NlNestedOptions *options,
                   GPtrArray *changes, GError **error)
{
  xmlNodePtr root = domain_root (doc, error);
  xmlNodePtr cpu;
  xmlNodePtr features;
  xmlNodePtr hyperv;
  g_autofree char *mode = NULL;
  const char *ext = wanted_extension (options);

  if (root == NULL)
    return FALSE;
  cpu = child_element (root, "cpu");
  if (cpu != NULL)
    {
      xmlNodePtr c = cpu->children;
      while (c != NULL)
        {
          xmlNodePtr next = c->next;
          if (is_element (c, "feature"))
            {
              g_autofree char *name = get_prop (c, "name");
              g_autofree char *policy = get_prop (c, "policy");
              if (is_extension (name) && (policy_exposes (policy)
                                          || g_str_equal (policy, "optional")))
                {
                  add_line (changes, "CPU: removed feature %s (policy %s)", name,
                            policy ? policy : "require");
                  unlink_free (c);
                }
            }
          c = next;
        }
      mode = get_prop (cpu, "mode");
    }
  /* These modes show the guest every host (or emulated) feature, so hiding
   * the extension takes an explicit disable. */
  if (g_strcmp0 (mode, "host-passthrough") == 0 || g_strcmp0 (mode, "maximum") == 0)
    {
      const char *const both[] = { "vmx", "svm", NULL };
      const char *const one[] = { ext, NULL };
      const char *const *hide = ext ? one : both;
      for (guint i = 0; hide[i] != NULL; i++)
        {
          xmlNodePtr feature = child_element_with (cpu, "feature", "name", hide[i]);
          if (feature == NULL)
            {
              feature = insert_element (cpu, "feature", cpu_order);
              set_prop (feature, "policy", "disable");
              set_prop (feature, "name", hide[i]);
              add_line (changes, "CPU: %s disabled", hide[i]);
            }
        }
    }
  /* QEMU 7.2's software-emulated maximum CPU with the extension off
   * (`-cpu max,svm=off`) crashes the guest's glibc programs at start-up,
   * init included: such a domain no longer boots. An emulated domain goes
   * back to libvirt's default model for emulation, qemu64, keeping the
   * disabled features (`-cpu qemu64,svm=off` boots and shows no svm). */
  if (g_strcmp0 (mode, "maximum") == 0)
    {
      g_autofree char *type = get_prop (root, "type");
      if (g_strcmp0 (type, "qemu") == 0)
        {
          xmlNodePtr model = insert_element (cpu, "model", cpu_order);
          xmlNodeSetContent (model, (const xmlChar *) "qemu64");
          set_prop (model, "fallback", "forbid");
          set_prop (cpu, "mode", "custom");
          set_prop (cpu, "match", "exact");
          xmlUnsetProp (cpu, (const xmlChar *) "migratable");
          add_line (changes, "CPU: mode maximum -> custom, model qemu64 (QEMU's emulated "
                             "maximum CPU does not run with the extension off)");
        }
    }
  /* The enlightened VMCS is for a nested hypervisor only. */
  features = child_element (root, "features");
  hyperv = child_element (features, "hyperv");
  if (hyperv != NULL)
    {
      xmlNodePtr evmcs = child_element (hyperv, "evmcs");
      if (evmcs != NULL)
        {
          add_line (changes, "Hyper-V: removed evmcs (no nested hypervisor)");
          unlink_free (evmcs);
        }
    }
  return TRUE;
}

static void
add_reason (GPtrArray *reasons, guint *count, const char *format, ...) G_GNUC_PRINTF (3, 4);

static void
add_reason (GPtrArray *reasons, guint *count, const char *format, ...)
{
  va_list ap;
  va_start (ap, format);
  if (reasons != NULL)
    g_ptr_array_add (reasons, g_strdup_vprintf (format, ap));
  va_end (ap);
  (*count)++;
}

static void
check_cpu (xmlNodePtr root, const NlNestedOptions *options, GPtrArray *reasons, guint *count)
{
  xmlNodePtr cpu = child_element (root, "cpu");
  g_autofree char *mode = get_prop (cpu, "mode");
  const char *wanted = wanted_cpu_mode (options);
  const char *ext = wanted_extension (options);

  if (cpu == NULL)
    add_reason (reasons, count, "no <cpu> element: the default CPU model hides the "
                "virtualization extensions (need mode %s)", wanted);
  else if (g_strcmp0 (mode, wanted) != 0)
    add_reason (reasons, count, "CPU mode is %s, not %s: the virtualization extensions "
                "are not passed through", mode ? mode : "custom", wanted);

  for (xmlNodePtr c = cpu ? cpu->children : NULL; c != NULL; c = c->next)
    {
      g_autofree char *name = NULL;
      g_autofree char *policy = NULL;
      if (!is_element (c, "feature"))
        continue;
      name = get_prop (c, "name");
      policy = get_prop (c, "policy");
      if (!is_extension (name))
        continue;
      if (!policy_exposes (policy) && g_strcmp0 (policy, "optional") != 0)
        add_reason (reasons, count, "CPU feature %s is hidden from the guest (policy %s)",
                    name, policy);
      else if (ext != NULL && !g_str_equal (name, ext) && policy_exposes (policy))
        add_reason (reasons, count, "CPU feature %s is required but the %s offers %s",
                    name, options->emulate ? "emulated CPU" : "host CPU", ext);
    }
  if (ext != NULL)
    {
      xmlNodePtr feature = child_element_with (cpu, "feature", "name", ext);
      g_autofree char *policy = get_prop (feature, "policy");
      if (feature == NULL || g_strcmp0 (policy, "optional") == 0)
        add_reason (reasons, count, "CPU feature %s is not required", ext);
    }
}

static void
check_type (xmlNodePtr root, const NlNestedOptions *options, GPtrArray *reasons, guint *count)
{
  g_autofree char *type = get_prop (root, "type");

  if (options->emulate && g_strcmp0 (type, "qemu") != 0)
    add_reason (reasons, count, "domain type is %s: emulation needs type qemu", type ? type : "(none)");
  else if (!options->emulate && g_strcmp0 (type, "qemu") == 0)
    add_reason (reasons, count, "domain type is qemu (software emulation): nested "
                "virtualization needs KVM");
}

/* Enough memory, fixed, and no balloon. */
static void
check_memory (xmlNodePtr root, const NlNestedOptions *options, GPtrArray *reasons, guint *count)
{
  xmlNodePtr memory = child_element (root, "memory");
  xmlNodePtr current = child_element (root, "currentMemory");
  xmlNodePtr balloon = child_element (child_element (root, "devices"), "memballoon");
  g_autofree char *model = get_prop (balloon, "model");
  guint64 bytes = 0, current_bytes = 0;

  if (memory == NULL || !read_memory (memory, &bytes, NULL))
    add_reason (reasons, count, "the domain has no readable <memory>");
  else
    {
      if (bytes < min_memory_of (options))
        {
          g_autofree char *have = nl_format_size (bytes);
          g_autofree char *need = nl_format_size (min_memory_of (options));
          add_reason (reasons, count, "memory is %s, less than the %s a nested hypervisor needs", have, need);
        }
      if (current != NULL && read_memory (current, &current_bytes, NULL) && current_bytes < bytes)
        {
          g_autofree char *have = nl_format_size (current_bytes);
          g_autofree char *max = nl_format_size (bytes);
          add_reason (reasons, count, "current memory %s is less than memory %s: memory is not fixed",
                      have, max);
        }
    }
  if (balloon == NULL)
    add_reason (reasons, count, "no <memballoon model='none'/>: libvirt adds a virtio memory balloon");
  else if (g_strcmp0 (model, "none") != 0)
    add_reason (reasons, count, "memory balloon present (%s)", model ? model : "default");
}

/* No NIC filters the MAC addresses of nested guests. */
static void
check_filters (xmlNodePtr root, GPtrArray *reasons, guint *count)
{
  xmlNodePtr devices = child_element (root, "devices");
  guint index = 0;

  for (xmlNodePtr iface = devices ? devices->children : NULL; iface; iface = iface->next)
    {
      if (!is_element (iface, "interface"))
        continue;
      for (xmlNodePtr c = iface->children; c != NULL; c = c->next)
        if (is_element (c, "filterref"))
          {
            g_autofree char *filter = get_prop (c, "filter");
            if (is_mac_filter (filter))
              {
                g_autofree char *label = nic_label (iface, index);
                add_reason (reasons, count, "%s: network filter %s drops nested guests' MAC addresses",
                            label, filter);
              }
          }
      index++;
    }
}

/* Enlightenments that cannot work here (evmcs off Intel KVM; KVM-only ones
 * under emulation), and for Windows the ones that should be on. */
static void
check_hyperv (xmlNodePtr root, const NlNestedOptions *options, GPtrArray *reasons, guint *count)
{
  xmlNodePtr hyperv = child_element (child_element (root, "features"), "hyperv");
  g_autoptr (GPtrArray) off = g_ptr_array_new ();

  if (hyperv != NULL)
    {
      xmlNodePtr evmcs = child_element (hyperv, "evmcs");
      g_autofree char *state = get_prop (evmcs, "state");
      if (evmcs != NULL && g_strcmp0 (state, "off") != 0 && !evmcs_allowed (options))
        add_reason (reasons, count, "Hyper-V evmcs is on but %s",
                    options->emulate ? "it needs KVM on Intel, not emulation"
                    : options->vendor == NL_CPU_VENDOR_AMD ? "the host is AMD (Intel only)"
                    : "the host's CPU vendor is unknown (Intel only)");
      if (options->emulate)
        for (guint i = 0; i < G_N_ELEMENTS (hyperv_features); i++)
          if (hyperv_features[i].needs_kvm && child_element (hyperv, hyperv_features[i].name))
            add_reason (reasons, count, "Hyper-V %s needs KVM; QEMU refuses it under emulation",
                        hyperv_features[i].name);
    }
  if (!options->windows)
    return;
  for (guint i = 0; i < G_N_ELEMENTS (hyperv_features); i++)
    {
      xmlNodePtr node;
      g_autofree char *state = NULL;
      if (hyperv_features[i].needs_kvm && options->emulate)
        continue;
      node = child_element (hyperv, hyperv_features[i].name);
      state = get_prop (node, "state");
      if (g_strcmp0 (state, "on") != 0)
        g_ptr_array_add (off, (gpointer) hyperv_features[i].name);
      else if (g_str_equal (hyperv_features[i].name, "spinlocks"))
        {
          g_autofree char *retries = get_prop (node, "retries");
          if (g_strcmp0 (retries, NL_HYPERV_SPINLOCK_RETRIES) != 0)
            add_reason (reasons, count, "Hyper-V spinlocks retries is %s, not " NL_HYPERV_SPINLOCK_RETRIES,
                        retries ? retries : "unset");
        }
      else if (g_str_equal (hyperv_features[i].name, "stimer"))
        {
          g_autofree char *direct = get_prop (child_element (node, "direct"), "state");
          if (g_strcmp0 (direct, "on") != 0)
            g_ptr_array_add (off, (gpointer) "stimer direct");
        }
    }
  if (evmcs_allowed (options))
    {
      g_autofree char *state = get_prop (child_element (hyperv, "evmcs"), "state");
      if (g_strcmp0 (state, "on") != 0)
        g_ptr_array_add (off, (gpointer) "evmcs");
    }
  if (off->len > 0)
    {
      g_autofree char *list = NULL;
      g_ptr_array_add (off, NULL);
      list = g_strjoinv (", ", (char **) off->pdata);
      add_reason (reasons, count, "Hyper-V enlightenments not on: %s", list);
    }
}

gboolean
nl_nested_check (xmlDocPtr doc, const NlNestedOptions *options, GPtrArray *reasons)
{
  xmlNodePtr root = domain_root (doc, NULL);
  guint count = 0;

  if (root == NULL)
    {
      add_reason (reasons, &count, "not a libvirt domain: the root element is not <domain>");
      return FALSE;
    }
  check_type (root, options, reasons, &count);
  check_cpu (root, options, reasons, &count);
  check_memory (root, options, reasons, &count);
  check_filters (root, reasons, &count);
  check_hyperv (root, options, reasons, &count);
  return count == 0;
}

xmlDocPtr
nl_nested_parse_domain (const char *xml, GError **error)
{
  xmlDocPtr doc;

  if (xml == NULL)
    {
      g_set_error (error, NL_ERROR, NL_ERROR_INVALID, "no domain XML");
      return NULL;
    }
  /* No network, no entities, no DTD; blanks dropped so that a formatted dump
   * of the changed document is indented evenly. */
  doc = xmlReadMemory (xml, strlen (xml), "domain.xml", NULL,
                       XML_PARSE_NONET | XML_PARSE_NOBLANKS | XML_PARSE_NOERROR
                       | XML_PARSE_NOWARNING);
  if (doc == NULL)
    {
      const xmlError *err = xmlGetLastError ();
      g_autofree char *message = g_strdup (err && err->message ? err->message : "not well-formed");
      g_set_error (error, NL_ERROR, NL_ERROR_INVALID, "domain XML does not parse: %s",
                   g_strchomp (message));
      return NULL;
    }
  if (doc->intSubset != NULL || domain_root (doc, error) == NULL)
    {
      if (doc->intSubset != NULL)
        g_set_error (error, NL_ERROR, NL_ERROR_INVALID, "domain XML must not have a DOCTYPE");
      xmlFreeDoc (doc);
      return NULL;
    }
  return doc;
}

NlCpuVendor
nl_cpu_vendor_from_id (const char *id)
{
  if (id == NULL)
    return NL_CPU_VENDOR_UNKNOWN;
  if (g_str_equal (id, "GenuineIntel") || g_ascii_strcasecmp (id, "Intel") == 0)
    return NL_CPU_VENDOR_INTEL;
  if (g_str_equal (id, "AuthenticAMD") || g_str_equal (id, "HygonGenuine") || g_ascii_strcasecmp (id, "AMD") == 0
      || g_ascii_strcasecmp (id, "Hygon") == 0)
    return NL_CPU_VENDOR_AMD;
  return NL_CPU_VENDOR_UNKNOWN;
}
