/* Rendering: the pure translation of a lab model into libvirt domain, network
 * and storage volume XML, built with libxml2's tree API in libvirt's own
 * element order, so output is deterministic and golden-testable. Nested
 * machines and Windows enlightenments come from the nested module. */
#include <string.h>

#include <libxml/xmlsave.h>

#include <nestlab/doc.h>
#include <nestlab/error.h>
#include <nestlab/render.h>

/* The directory of libvirt's default pool: golden images given only as a
 * pool volume and missing from options->image_paths are looked for there. */
#define NL_DEFAULT_POOL_DIR "/var/lib/libvirt/images"

void
nl_volume_spec_free (NlVolumeSpec *spec)
{
  if (spec == NULL)
    return;
  g_free (spec->name);
  g_free (spec->pool);
  g_free (spec->format);
  g_free (spec->backing_path);
  g_free (spec->backing_format);
  g_free (spec->machine);
  g_free (spec);
}

/* ---- small tree helpers ---------------------------------------------- */

/* An element with escaped text content (or none when TEXT is NULL). */
static xmlNodePtr
add_text (xmlNodePtr parent, const char *name, const char *text)
{
  return xmlNewTextChild (parent, NULL, (const xmlChar *) name, (const xmlChar *) text);
}

static xmlNodePtr
add_el (xmlNodePtr parent, const char *name)
{
  return xmlNewChild (parent, NULL, (const xmlChar *) name, NULL);
}

static void
set_attr (xmlNodePtr node, const char *name, const char *value)
{
  if (value != NULL)
    xmlNewProp (node, (const xmlChar *) name, (const xmlChar *) value);
}

/* <NAME ATTR='VALUE'/> */
static xmlNodePtr
add_el_attr (xmlNodePtr parent, const char *name, const char *attr, const char *value)
{
  xmlNodePtr node = add_el (parent, name);
  set_attr (node, attr, value);
  return node;
}

static xmlNodePtr
add_kib (xmlNodePtr parent, const char *name, guint64 bytes)
{
  g_autofree char *kib = g_strdup_printf ("%" G_GUINT64_FORMAT, (bytes + 1023) / 1024);
  xmlNodePtr node = add_text (parent, name, kib);
  set_attr (node, "unit", "KiB");
  return node;
}

static const char *
yes_no (gboolean value)
{
  return value ? "yes" : "no";
}

static xmlDocPtr
new_doc (const char *root_name, xmlNodePtr *root)
{
  xmlDocPtr doc = xmlNewDoc ((const xmlChar *) "1.0");
  *root = xmlNewDocNode (doc, NULL, (const xmlChar *) root_name, NULL);
  xmlDocSetRootElement (doc, *root);
  return doc;
}

/* A lab mark of LAB with its digest; the caller fills in the rest. */
static NlOwnership *
lab_mark (const NlLab *lab)
{
  NlOwnership *own = nl_ownership_new (lab->name);
  own->digest = g_strdup (lab->digest);
  return own;
}

/* A deterministic VM generation ID, so a redefinition keeps it (Active
 * Directory treats a new one as a restore from backup); derived from the
 * domain's UUID, hence different for replicas. */
static char *
genid_of (const char *uuid)
{
  g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  char b[33];

  g_checksum_update (sum, (const guchar *) "genid:", -1);
  g_checksum_update (sum, (const guchar *) uuid, -1);
  memcpy (b, g_checksum_get_string (sum), 32);
  b[32] = '\0';
  b[12] = '5';
  b[16] = "89ab"[g_ascii_xdigit_value (b[16]) & 3];
  return g_strdup_printf ("%.8s-%.4s-%.4s-%.4s-%.12s", b, b + 8, b + 12, b + 16, b + 20);
}

/* ---- domains --------------------------------------------------------- */

/* Target device names: sd* is shared by SATA and SCSI, vd* is virtio's. */
typedef struct {
  guint sd;
  guint vd;
} NlDiskTargets;

static char *
disk_target (NlDiskTargets *targets, NlDiskBus bus)
{
  guint index = bus == NL_DISK_BUS_VIRTIO ? targets->vd++ : targets->sd++;
  const char *prefix = bus == NL_DISK_BUS_VIRTIO ? "vd" : "sd";
  /* sda..sdz, then sdaa..: libvirt's own naming. */
  if (index < 26)
    return g_strdup_printf ("%s%c", prefix, 'a' + index);
  return g_strdup_printf ("%s%c%c", prefix, 'a' + index / 26 - 1, 'a' + index % 26);
}

static void
add_volume_disk (xmlNodePtr devices, NlDiskTargets *targets, const char *pool,
                 const char *volume, const char *format, NlDiskBus bus, gboolean shareable)
{
  xmlNodePtr disk = add_el (devices, "disk");
  xmlNodePtr node;
  g_autofree char *dev = disk_target (targets, bus);

  set_attr (disk, "type", "volume");
  set_attr (disk, "device", "disk");
  node = add_el (disk, "driver");
  set_attr (node, "name", "qemu");
  set_attr (node, "type", format);
  set_attr (node, "discard", "unmap");
  node = add_el (disk, "source");
  set_attr (node, "pool", pool);
  set_attr (node, "volume", volume);
  node = add_el (disk, "target");
  set_attr (node, "dev", dev);
  set_attr (node, "bus", nl_disk_bus_to_string (bus));
  if (shareable)
    add_el (disk, "shareable");
}

/* The bus of MACHINE's config disk, or FALSE when it gets none. */
static gboolean
config_disk_bus (const NlMachine *machine, const NlRenderOptions *options, NlDiskBus *bus)
{
  if (!options->config_disk)
    return FALSE;
  if (machine->os_family == NL_OS_FAMILY_WINDOWS)
    *bus = NL_DISK_BUS_SATA;
  else if (machine->os_family == NL_OS_FAMILY_LINUX)
    *bus = NL_DISK_BUS_SCSI;
  else
    return FALSE;
  return TRUE;
}

static gboolean
machine_uses_scsi (const NlMachine *machine, const NlRenderOptions *options)
{
  NlDiskBus config_bus;

  if (machine->shared_disks->len > 0)
    return TRUE;
  if (machine->install_media->len > 0 && machine->os_family == NL_OS_FAMILY_LINUX)
    return TRUE;
  if (config_disk_bus (machine, options, &config_bus) && config_bus == NL_DISK_BUS_SCSI)
    return TRUE;
  if (machine->has_boot_disk && machine->boot_disk.bus == NL_DISK_BUS_SCSI)
    return TRUE;
  for (guint i = 0; i < machine->data_disks->len; i++)
    if (((NlDataDisk *) g_ptr_array_index (machine->data_disks, i))->bus == NL_DISK_BUS_SCSI)
      return TRUE;
  return FALSE;
}

/* The MAC of a machine's NIC: the template's, else derived (with the salt). */
static char *
nic_mac (const NlLab *lab, const NlMachine *machine, guint index, const char *salt)
{
  NlNic *nic = g_ptr_array_index (machine->nics, index);
  if (nic->mac != NULL)
    return g_ascii_strdown (nic->mac, -1);
  return nl_lab_nic_mac (lab, machine, index, salt);
}

static void
add_config_disk (xmlNodePtr devices, NlDiskTargets *targets, const NlLab *lab,
                 const NlMachine *machine, NlDiskBus bus)
{
  xmlNodePtr disk = add_el (devices, "disk");
  xmlNodePtr node;
  g_autofree char *volume = nl_lab_config_volume_name (lab, machine);
  g_autofree char *dev = disk_target (targets, bus);

  set_attr (disk, "type", "volume");
  set_attr (disk, "device", "cdrom");
  node = add_el (disk, "driver");
  set_attr (node, "name", "qemu");
  set_attr (node, "type", "raw");
  node = add_el (disk, "source");
  set_attr (node, "pool", lab->pool);
  set_attr (node, "volume", volume);
  node = add_el (disk, "target");
  set_attr (node, "dev", dev);
  set_attr (node, "bus", nl_disk_bus_to_string (bus));
  add_el (disk, "readonly");
}

/* Installation media: a read-only CD-ROM on the bus the machine's OS has
 * drivers for at setup (SATA for Windows, SCSI for Linux). */
static void
add_install_media (xmlNodePtr devices, NlDiskTargets *targets, const NlMachine *machine,
                   const NlInstallMedia *media)
{
  NlDiskBus bus = machine->os_family == NL_OS_FAMILY_LINUX ? NL_DISK_BUS_SCSI : NL_DISK_BUS_SATA;
  xmlNodePtr disk = add_el (devices, "disk");
  xmlNodePtr node;
  g_autofree char *dev = disk_target (targets, bus);

  set_attr (disk, "type", media->path ? "file" : "volume");
  set_attr (disk, "device", "cdrom");
  node = add_el (disk, "driver");
  set_attr (node, "name", "qemu");
  set_attr (node, "type", "raw");
  node = add_el (disk, "source");
  if (media->path)
    set_attr (node, "file", media->path);
  else
    {
      set_attr (node, "pool", media->pool);
      set_attr (node, "volume", media->volume);
    }
  node = add_el (disk, "target");
  set_attr (node, "dev", dev);
  set_attr (node, "bus", nl_disk_bus_to_string (bus));
  add_el (disk, "readonly");
}

static gboolean
add_disks (xmlNodePtr devices, const NlLab *lab, const NlMachine *machine,
           const NlRenderOptions *options, GError **error)
{
  NlDiskTargets targets = { 0, 0 };
  NlDiskBus config_bus;

  if (machine->has_boot_disk)
    {
      g_autofree char *volume = nl_lab_volume_name (lab, machine, 0);
      add_volume_disk (devices, &targets, lab->pool, volume, "qcow2",
                       machine->boot_disk.bus, FALSE);
    }
  for (guint i = 0; i < machine->data_disks->len; i++)
    {
      NlDataDisk *data = g_ptr_array_index (machine->data_disks, i);
      g_autofree char *volume = nl_lab_volume_name (lab, machine, i + 1);
      add_volume_disk (devices, &targets, lab->pool, volume, "qcow2", data->bus, FALSE);
    }
  for (guint i = 0; i < machine->shared_disks->len; i++)
    {
      const char *name = g_ptr_array_index (machine->shared_disks, i);
      NlSharedDisk *shared = nl_lab_find_shared_disk (lab, name);
      g_autofree char *volume = NULL;
      if (shared == NULL)
        {
          g_set_error (error, NL_ERROR, NL_ERROR_INVALID,
                       "machine %s: unknown shared disk '%s'", machine->name, name);
          return FALSE;
        }
      volume = nl_lab_shared_volume_name (lab, shared);
      add_volume_disk (devices, &targets, lab->pool, volume, "raw", NL_DISK_BUS_SCSI, TRUE);
    }
  /* Last, so the other disks keep their target names. */
  if (config_disk_bus (machine, options, &config_bus))
    add_config_disk (devices, &targets, lab, machine, config_bus);
  for (guint i = 0; i < machine->install_media->len; i++)
    add_install_media (devices, &targets, machine, machine->install_media->pdata[i]);
  if (machine_uses_scsi (machine, options))
    {
      xmlNodePtr controller = add_el_attr (devices, "controller", "type", "scsi");
      set_attr (controller, "index", "0");
      set_attr (controller, "model", "virtio-scsi");
    }
  return TRUE;
}

static gboolean
add_nics (xmlNodePtr devices, const NlLab *lab, const NlMachine *machine,
          const NlRenderOptions *options, GError **error)
{
  for (guint i = 0; i < machine->nics->len; i++)
    {
      NlNic *nic = g_ptr_array_index (machine->nics, i);
      NlNetwork *network = nl_lab_find_network (lab, nic->network);
      g_autofree char *mac = NULL;
      xmlNodePtr iface;
      xmlNodePtr node;

      if (network == NULL)
        {
          g_set_error (error, NL_ERROR, NL_ERROR_INVALID,
                       "machine %s: NIC %u is on unknown network '%s'", machine->name, i,
                       nic->network ? nic->network : "");
          return FALSE;
        }
      mac = nic_mac (lab, machine, i, options->salt);
      iface = add_el (devices, "interface");
      node = add_el (iface, "mac");
      set_attr (node, "address", mac);
      if (network->mode == NL_NET_BRIDGE)
        {
          set_attr (iface, "type", "bridge");
          node = add_el (iface, "source");
          set_attr (node, "bridge", network->bridge);
        }
      else
        {
          g_autofree char *net_name = nl_lab_network_name (lab, network);
          set_attr (iface, "type", "network");
          node = add_el (iface, "source");
          set_attr (node, "network", net_name);
        }
      add_el_attr (iface, "model", "type", nl_nic_model_to_string (nic->model));
    }
  return TRUE;
}

static void
add_os (xmlNodePtr root, const NlMachine *machine)
{
  xmlNodePtr os = add_el (root, "os");
  xmlNodePtr type = add_text (os, "type", "hvm");

  set_attr (type, "arch", "x86_64");
  set_attr (type, "machine", "q35");
  if (machine->firmware == NL_FIRMWARE_UEFI)
    {
      /* libvirt 9.0 firmware autoselection: the features pick the OVMF build
       * (with Microsoft's keys enrolled for secure boot). */
      xmlNodePtr firmware = add_el (os, "firmware");
      xmlNodePtr feature;

      xmlSetProp (os, (const xmlChar *) "firmware", (const xmlChar *) "efi");
      feature = add_el_attr (firmware, "feature", "enabled", yes_no (machine->secure_boot));
      set_attr (feature, "name", "enrolled-keys");
      feature = add_el_attr (firmware, "feature", "enabled", yes_no (machine->secure_boot));
      set_attr (feature, "name", "secure-boot");
      if (machine->secure_boot)
        add_el_attr (os, "loader", "secure", "yes");
    }
  if (machine->kernel != NULL)
    {
      add_text (os, "kernel", machine->kernel);
      if (machine->initrd != NULL)
        add_text (os, "initrd", machine->initrd);
      if (machine->cmdline != NULL)
        add_text (os, "cmdline", machine->cmdline);
    }
  else
    add_el_attr (os, "boot", "dev", "hd");
}

static void
add_clock (xmlNodePtr root, const NlMachine *machine)
{
  gboolean windows = machine->os_family == NL_OS_FAMILY_WINDOWS;
  xmlNodePtr clock = add_el_attr (root, "clock", "offset", windows ? "localtime" : "utc");
  xmlNodePtr timer;

  timer = add_el_attr (clock, "timer", "name", "rtc");
  set_attr (timer, "tickpolicy", "catchup");
  timer = add_el_attr (clock, "timer", "name", "pit");
  set_attr (timer, "tickpolicy", "delay");
  timer = add_el_attr (clock, "timer", "name", "hpet");
  set_attr (timer, "present", "no");
  /* Windows gets hypervclock from nl_nested_set_hyperv. */
}

static void
add_mark (xmlNodePtr root, const NlLab *lab, const NlMachine *machine, const NlRenderOptions *options)
{
  g_autoptr (NlOwnership) own = lab_mark (lab);
  NlDiskBus config_bus;

  own->machine = g_strdup (machine->name);
  own->role = g_strdup (nl_role_to_string (machine->role));
  own->nested = machine->nested;
  own->wave = machine->wave;
  own->os = g_strdup (machine->os);
  if (machine->has_boot_disk)
    {
      g_autofree char *volume = nl_lab_volume_name (lab, machine, 0);
      nl_ownership_add_volume (own, lab->pool, volume, FALSE);
    }
  for (guint i = 0; i < machine->data_disks->len; i++)
    {
      g_autofree char *volume = nl_lab_volume_name (lab, machine, i + 1);
      nl_ownership_add_volume (own, lab->pool, volume, FALSE);
    }
  for (guint i = 0; i < machine->shared_disks->len; i++)
    {
      NlSharedDisk *shared = nl_lab_find_shared_disk (lab, g_ptr_array_index (machine->shared_disks, i));
      g_autofree char *volume = shared ? nl_lab_shared_volume_name (lab, shared) : NULL;
      if (volume != NULL)
        nl_ownership_add_volume (own, lab->pool, volume, TRUE);
    }
  if (config_disk_bus (machine, options, &config_bus))
    {
      g_autofree char *volume = nl_lab_config_volume_name (lab, machine);
      nl_ownership_add_volume (own, lab->pool, volume, FALSE);
    }
  own->after = g_strdupv (machine->after);
  nl_ownership_append (own, add_el (root, "metadata"));
}

xmlDocPtr
nl_render_domain (const NlLab *lab, const NlMachine *machine,
                  const NlRenderOptions *options, GError **error)
{
  gboolean windows = machine->os_family == NL_OS_FAMILY_WINDOWS;
  NlNestedOptions nested = {
    .vendor = options->vendor,
    .emulate = options->emulate,
    .min_memory = 0,
    .windows = windows,
  };
  g_autofree char *name = nl_lab_domain_name (lab, machine);
  g_autofree char *uuid = nl_lab_machine_uuid (lab, machine, options->salt);
  g_autofree char *title = NULL;
  g_autofree char *vcpus = g_strdup_printf ("%u", machine->vcpus ? machine->vcpus : 1);
  xmlDocPtr doc;
  xmlNodePtr root;
  xmlNodePtr node;
  xmlNodePtr features;
  xmlNodePtr devices;

  if (machine->secure_boot && machine->firmware != NL_FIRMWARE_UEFI)
    {
      g_set_error (error, NL_ERROR, NL_ERROR_INVALID,
                   "machine %s: secure boot needs UEFI firmware", machine->name);
      return NULL;
    }
  doc = new_doc ("domain", &root);
  set_attr (root, "type", options->emulate ? "qemu" : "kvm");
  add_text (root, "name", name);
  add_text (root, "uuid", uuid);
  if (windows)
    {
      g_autofree char *genid = genid_of (uuid);
      add_text (root, "genid", genid);
    }
  title = g_strdup_printf ("%s (%s) in lab %s", machine->name,
                           nl_role_to_string (machine->role), lab->name);
  add_text (root, "title", title);
  if (lab->description != NULL)
    add_text (root, "description", lab->description);
  add_mark (root, lab, machine, options);
  add_kib (root, "memory", machine->memory);
  add_kib (root, "currentMemory", machine->memory);
  node = add_text (root, "vcpu", vcpus);
  set_attr (node, "placement", "static");
  add_os (root, machine);

  features = add_el (root, "features");
  add_el (features, "acpi");
  add_el (features, "apic");
  add_el_attr (features, "vmport", "state", "off");
  if (machine->secure_boot)
    add_el_attr (features, "smm", "state", "on");

  /* Nested machines get their CPU from nl_nested_enable below; under
   * emulation the others get QEMU's "max" too, since its default (qemu64)
   * lacks what current Windows needs (SSE4.2, POPCNT). */
  if (!machine->nested)
    {
      node = add_el_attr (root, "cpu", "mode", options->emulate ? "maximum" : "host-model");
      set_attr (node, "check", options->emulate ? "none" : "partial");
    }
  add_clock (root, machine);
  add_text (root, "on_poweroff", "destroy");
  add_text (root, "on_reboot", "restart");
  add_text (root, "on_crash", "destroy");
  node = add_el (root, "pm");
  add_el_attr (node, "suspend-to-mem", "enabled", "no");
  add_el_attr (node, "suspend-to-disk", "enabled", "no");

  devices = add_el (root, "devices");
  if (!add_disks (devices, lab, machine, options, error)
      || !add_nics (devices, lab, machine, options, error))
    {
      xmlFreeDoc (doc);
      return NULL;
    }
  node = add_el_attr (devices, "serial", "type", "pty");
  add_el_attr (node, "target", "port", "0");
  node = add_el_attr (devices, "console", "type", "pty");
  node = add_el_attr (node, "target", "type", "serial");
  set_attr (node, "port", "0");
  node = add_el_attr (devices, "channel", "type", "unix");
  node = add_el_attr (node, "target", "type", "virtio");
  set_attr (node, "name", "org.qemu.guest_agent.0");
  if (windows)
    {
      node = add_el_attr (devices, "input", "type", "tablet");
      set_attr (node, "bus", "usb");
    }
  if (machine->tpm)
    {
      node = add_el_attr (devices, "tpm", "model", "tpm-crb");
      node = add_el_attr (node, "backend", "type", "emulator");
      set_attr (node, "version", "2.0");
    }
  /* VNC on the loopback only; no password here: secrets never go into XML. */
  node = add_el_attr (devices, "graphics", "type", "vnc");
  set_attr (node, "autoport", "yes");
  set_attr (node, "listen", "127.0.0.1");
  node = add_el_attr (node, "listen", "type", "address");
  set_attr (node, "address", "127.0.0.1");
  /* Standard VGA has an inbox Windows driver; virtio-gpu suits Linux. */
  node = add_el (devices, "video");
  add_el_attr (node, "model", "type", windows ? "vga" : "virtio");
  add_el_attr (devices, "memballoon", "model", "virtio");
  if (machine->os_family == NL_OS_FAMILY_LINUX)
    {
      node = add_el_attr (devices, "rng", "model", "virtio");
      node = add_text (node, "backend", "/dev/urandom");
      set_attr (node, "model", "random");
    }

  if (windows && !nl_nested_set_hyperv (doc, &nested, NULL, error))
    {
      xmlFreeDoc (doc);
      return NULL;
    }
  if (machine->nested && !nl_nested_enable (doc, &nested, NULL, error))
    {
      g_prefix_error (error, "machine %s: ", machine->name);
      xmlFreeDoc (doc);
      return NULL;
    }
  return doc;
}

/* ---- networks -------------------------------------------------------- */

/* The MAC a reservation stands for: a machine NIC with the reservation's
 * name and address is rendered with nic_mac(), so the two always agree (also
 * under a salt); other reservations keep their own. */
static char *
reservation_mac (const NlLab *lab, const NlNetwork *network, const NlReservation *reservation,
                 const char *salt)
{
  NlMachine *machine;

  if (reservation->machine != NULL && reservation->nic_index < reservation->machine->nics->len)
    return nic_mac (lab, reservation->machine, reservation->nic_index, salt);
  /* A model built without the loader: find the NIC by name and address. */
  machine = nl_lab_find_machine (lab, reservation->name);
  for (guint i = 0; machine != NULL && i < machine->nics->len; i++)
    {
      NlNic *nic = g_ptr_array_index (machine->nics, i);
      if (g_strcmp0 (nic->network, network->name) == 0
          && g_strcmp0 (nic->ip, reservation->ip) == 0)
        return nic_mac (lab, machine, i, salt);
    }
  return reservation->mac ? g_ascii_strdown (reservation->mac, -1) : NULL;
}

xmlDocPtr
nl_render_network (const NlLab *lab, const NlNetwork *network,
                   const NlRenderOptions *options, GError **error)
{
  g_autofree char *name = nl_lab_network_name (lab, network);
  g_autofree char *uuid = nl_lab_network_uuid (lab, network, options->salt);
  xmlDocPtr doc;
  xmlNodePtr root;
  xmlNodePtr node;
  xmlNodePtr ip;
  xmlNodePtr dhcp = NULL;
  g_autofree char *netmask = NULL;
  g_autofree char *gateway = NULL;

  if (network->mode == NL_NET_BRIDGE && network->bridge == NULL)
    {
      g_set_error (error, NL_ERROR, NL_ERROR_INVALID,
                   "network %s: bridge mode needs a host bridge", network->name);
      return NULL;
    }
  if (network->mode != NL_NET_BRIDGE && (network->prefix < 1 || network->prefix > 30))
    {
      g_set_error (error, NL_ERROR, NL_ERROR_INVALID,
                   "network %s: no usable subnet", network->name);
      return NULL;
    }

  doc = new_doc ("network", &root);
  add_text (root, "name", name);
  add_text (root, "uuid", uuid);
  {
    g_autoptr (NlOwnership) own = lab_mark (lab);
    own->network = g_strdup (network->name);
    nl_ownership_append (own, add_el (root, "metadata"));
  }

  if (network->mode == NL_NET_BRIDGE)
    {
      add_el_attr (root, "forward", "mode", "bridge");
      add_el_attr (root, "bridge", "name", network->bridge);
      return doc;
    }
  if (network->mode == NL_NET_NAT)
    add_el_attr (root, "forward", "mode", "nat");
  {
    g_autofree char *bridge = nl_lab_bridge_name (lab, network);
    node = add_el_attr (root, "bridge", "name", bridge);
    set_attr (node, "stp", "on");
    set_attr (node, "delay", "0");
  }
  if (network->domain != NULL)
    add_el_attr (root, "domain", "name", network->domain);

  gateway = network->gateway ? g_strdup (network->gateway)
                             : nl_format_ipv4 (network->address + 1);
  netmask = nl_format_ipv4 (network->prefix == 0 ? 0 : G_MAXUINT32 << (32 - network->prefix));
  ip = add_el_attr (root, "ip", "address", gateway);
  set_attr (ip, "netmask", netmask);
  if (network->dhcp_start != NULL && network->dhcp_end != NULL)
    {
      dhcp = add_el (ip, "dhcp");
      node = add_el_attr (dhcp, "range", "start", network->dhcp_start);
      set_attr (node, "end", network->dhcp_end);
    }
  for (guint i = 0; i < network->reservations->len; i++)
    {
      NlReservation *reservation = g_ptr_array_index (network->reservations, i);
      g_autofree char *mac = reservation_mac (lab, network, reservation, options->salt);
      if (dhcp == NULL)
        dhcp = add_el (ip, "dhcp");
      node = add_el (dhcp, "host");
      set_attr (node, "mac", mac);
      set_attr (node, "name", reservation->name);
      set_attr (node, "ip", reservation->ip);
    }
  return doc;
}

/* ---- volumes --------------------------------------------------------- */

xmlDocPtr
nl_render_volume (const NlVolumeSpec *spec, GError **error)
{
  xmlDocPtr doc;
  xmlNodePtr root;
  xmlNodePtr node;
  g_autofree char *capacity = NULL;

  if (spec->name == NULL || spec->format == NULL)
    {
      g_set_error (error, NL_ERROR, NL_ERROR_INVALID, "volume spec without name or format");
      return NULL;
    }
  if (spec->capacity == 0 && spec->backing_path == NULL)
    {
      g_set_error (error, NL_ERROR, NL_ERROR_INVALID,
                   "volume %s: a size is needed when there is no backing image", spec->name);
      return NULL;
    }
  doc = new_doc ("volume", &root);
  add_text (root, "name", spec->name);
  /* Capacity 0 with a backing store: libvirt then runs qemu-img without a
   * size, and the clone takes the backing image's. */
  capacity = g_strdup_printf ("%" G_GUINT64_FORMAT, spec->capacity);
  node = add_text (root, "capacity", capacity);
  set_attr (node, "unit", "bytes");
  node = add_el (root, "target");
  add_el_attr (node, "format", "type", spec->format);
  if (spec->mode != 0)
    {
      g_autofree char *mode = g_strdup_printf ("%04o", spec->mode);
      add_text (add_el (node, "permissions"), "mode", mode);
    }
  if (spec->backing_path != NULL)
    {
      node = add_el (root, "backingStore");
      add_text (node, "path", spec->backing_path);
      add_el_attr (node, "format", "type", spec->backing_format ? spec->backing_format : "qcow2");
    }
  return doc;
}

static NlVolumeSpec *
volume_spec_new (const char *name, const char *pool, guint64 capacity, const char *format,
                 const char *machine)
{
  NlVolumeSpec *spec = g_new0 (NlVolumeSpec, 1);
  spec->name = g_strdup (name);
  spec->pool = g_strdup (pool);
  spec->capacity = capacity;
  spec->format = g_strdup (format);
  spec->machine = g_strdup (machine);
  return spec;
}

/* The file a linked clone of IMAGE is backed by. */
static char *
image_backing_path (const NlImage *image, const NlRenderOptions *options)
{
  const char *path = NULL;

  if (options->image_paths != NULL)
    path = g_hash_table_lookup (options->image_paths, image->name);
  if (path != NULL)
    return g_strdup (path);
  if (image->path != NULL)
    return g_strdup (image->path);
  if (image->volume != NULL)
    return g_build_filename (NL_DEFAULT_POOL_DIR, image->volume, NULL);
  return NULL;
}

GPtrArray *
nl_render_volume_specs (const NlLab *lab, const NlRenderOptions *options)
{
  GPtrArray *specs = g_ptr_array_new_with_free_func ((GDestroyNotify) nl_volume_spec_free);

  for (guint m = 0; m < lab->machines->len; m++)
    {
      NlMachine *machine = g_ptr_array_index (lab->machines, m);
      if (machine->has_boot_disk)
        {
          g_autofree char *name = nl_lab_volume_name (lab, machine, 0);
          NlVolumeSpec *spec = volume_spec_new (name, lab->pool, machine->boot_disk.size,
                                                "qcow2", machine->name);
          if (machine->boot_disk.source == NL_DISK_SOURCE_IMAGE)
            {
              NlImage *image = nl_lab_find_image (lab, machine->boot_disk.image);
              if (image != NULL)
                {
                  spec->backing_path = image_backing_path (image, options);
                  spec->backing_format = g_strdup (image->format ? image->format : "qcow2");
                }
              else
                g_debug ("render: machine %s: unknown image '%s'", machine->name,
                         machine->boot_disk.image ? machine->boot_disk.image : "");
            }
          g_ptr_array_add (specs, spec);
        }
      for (guint i = 0; i < machine->data_disks->len; i++)
        {
          NlDataDisk *data = g_ptr_array_index (machine->data_disks, i);
          g_autofree char *name = nl_lab_volume_name (lab, machine, i + 1);
          g_ptr_array_add (specs, volume_spec_new (name, lab->pool, data->size, "qcow2",
                                                   machine->name));
        }
    }
  for (guint i = 0; i < lab->shared_disks->len; i++)
    {
      NlSharedDisk *disk = g_ptr_array_index (lab->shared_disks, i);
      g_autofree char *name = nl_lab_shared_volume_name (lab, disk);
      g_ptr_array_add (specs, volume_spec_new (name, lab->pool, disk->size, "raw", NULL));
    }
  return specs;
}

/* ---- text ------------------------------------------------------------ */

char *
nl_render_to_string (xmlDocPtr doc)
{
  xmlBufferPtr buffer = xmlBufferCreate ();
  xmlSaveCtxtPtr ctxt;
  GString *text;

  /* libxml2 indents formatted output with two spaces. */
  ctxt = xmlSaveToBuffer (buffer, "UTF-8", XML_SAVE_FORMAT | XML_SAVE_NO_DECL);
  xmlSaveDoc (ctxt, doc);
  xmlSaveClose (ctxt);
  text = g_string_new ((const char *) xmlBufferContent (buffer));
  xmlBufferFree (buffer);
  if (text->len == 0 || text->str[text->len - 1] != '\n')
    g_string_append_c (text, '\n');
  return g_string_free (text, FALSE);
}
