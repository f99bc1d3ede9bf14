/* Lab model: constructors, destructors, lookups and the names and stable
 * identifiers derived from a lab and its machines. */
#include <string.h>

#include <nestlab/model.h>

NL_ENUM_IMPL (nl_network_mode, NL_NET_LAST, "isolated", "nat", "bridge")
NL_ENUM_IMPL (nl_firmware, NL_FIRMWARE_LAST, "bios", "uefi")
NL_ENUM_IMPL (nl_role, NL_ROLE_LAST,
              "generic", "domain-controller", "sql", "vmm", "hyperv-host")
NL_ENUM_IMPL (nl_disk_bus, NL_DISK_BUS_LAST, "sata", "virtio", "scsi")
NL_ENUM_IMPL (nl_nic_model, NL_NIC_MODEL_LAST, "e1000e", "virtio", "e1000", "rtl8139")
NL_ENUM_IMPL (nl_os_family, NL_OS_FAMILY_LAST, "windows", "linux", "other")
NL_ENUM_IMPL (nl_disk_source, NL_DISK_SOURCE_LAST, "image", "blank")
NL_ENUM_IMPL (nl_step_kind, NL_STEP_KIND_LAST, "run", "script", "exec", "copy", "reboot", "wait")
NL_ENUM_IMPL (nl_secret_source, NL_SECRET_SOURCE_LAST, "file", "env", "generated")

static void
source_clear (NlSource *src)
{
  g_clear_pointer (&src->file, g_free);
}

NlImage *
nl_image_new (void)
{
  return g_new0 (NlImage, 1);
}

void
nl_image_free (NlImage *image)
{
  if (image == NULL)
    return;
  g_free (image->name);
  g_free (image->os);
  g_free (image->pool);
  g_free (image->volume);
  g_free (image->path);
  g_free (image->format);
  source_clear (&image->src);
  g_free (image);
}

NlReservation *
nl_reservation_new (void)
{
  return g_new0 (NlReservation, 1);
}

void
nl_reservation_free (NlReservation *reservation)
{
  if (reservation == NULL)
    return;
  g_free (reservation->name);
  g_free (reservation->mac);
  g_free (reservation->ip);
  g_free (reservation);
}

NlNetwork *
nl_network_new (void)
{
  NlNetwork *network = g_new0 (NlNetwork, 1);
  network->reservations = g_ptr_array_new_with_free_func ((GDestroyNotify) nl_reservation_free);
  return network;
}

void
nl_network_free (NlNetwork *network)
{
  if (network == NULL)
    return;
  g_free (network->name);
  g_free (network->bridge);
  g_free (network->subnet);
  g_free (network->gateway);
  g_free (network->dhcp_start);
  g_free (network->dhcp_end);
  g_free (network->domain);
  g_ptr_array_unref (network->reservations);
  source_clear (&network->src);
  g_free (network);
}

NlNic *
nl_nic_new (void)
{
  return g_new0 (NlNic, 1);
}

void
nl_nic_free (NlNic *nic)
{
  if (nic == NULL)
    return;
  g_free (nic->network);
  g_free (nic->ip);
  g_free (nic->mac);
  g_free (nic->gateway);
  g_free (nic);
}

NlSharedDisk *
nl_shared_disk_new (void)
{
  return g_new0 (NlSharedDisk, 1);
}

void
nl_shared_disk_free (NlSharedDisk *disk)
{
  if (disk == NULL)
    return;
  g_free (disk->name);
  source_clear (&disk->src);
  g_free (disk);
}

NlSecret *
nl_secret_new (void)
{
  return g_new0 (NlSecret, 1);
}

void
nl_secret_free (NlSecret *secret)
{
  if (secret == NULL)
    return;
  g_free (secret->name);
  g_free (secret->file);
  g_free (secret->env);
  source_clear (&secret->src);
  g_free (secret);
}

NlDomain *
nl_domain_new (void)
{
  return g_new0 (NlDomain, 1);
}

void
nl_domain_free (NlDomain *domain)
{
  if (domain == NULL)
    return;
  g_free (domain->name);
  g_free (domain->netbios);
  g_free (domain->controller);
  g_free (domain->admin_password);
  g_free (domain->safe_mode_password);
  source_clear (&domain->src);
  g_free (domain);
}

NlMachine *
nl_machine_new (void)
{
  NlMachine *machine = g_new0 (NlMachine, 1);
  machine->data_disks = g_ptr_array_new_with_free_func (g_free);
  machine->shared_disks = g_ptr_array_new_with_free_func (g_free);
  machine->steps = g_ptr_array_new_with_free_func ((GDestroyNotify) nl_step_free);
  machine->install_media = g_ptr_array_new_with_free_func ((GDestroyNotify) nl_install_media_free);
  machine->nics = g_ptr_array_new_with_free_func ((GDestroyNotify) nl_nic_free);
  return machine;
}

void
nl_machine_free (NlMachine *machine)
{
  if (machine == NULL)
    return;
  g_free (machine->name);
  g_free (machine->os);
  g_free (machine->boot_disk.image);
  g_ptr_array_unref (machine->data_disks);
  g_ptr_array_unref (machine->shared_disks);
  g_ptr_array_unref (machine->nics);
  g_strfreev (machine->after);
  g_free (machine->kernel);
  g_free (machine->initrd);
  g_free (machine->cmdline);
  g_free (machine->timezone);
  g_free (machine->workgroup);
  g_strfreev (machine->dns);
  g_strfreev (machine->ssh_keys);
  g_free (machine->admin_password);
  g_ptr_array_unref (machine->steps);
  g_ptr_array_unref (machine->install_media);
  g_free (machine->recipe);
  source_clear (&machine->src);
  g_free (machine);
}

NlLab *
nl_lab_new (void)
{
  NlLab *lab = g_new0 (NlLab, 1);
  lab->params = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  lab->images = g_ptr_array_new_with_free_func ((GDestroyNotify) nl_image_free);
  lab->networks = g_ptr_array_new_with_free_func ((GDestroyNotify) nl_network_free);
  lab->shared_disks = g_ptr_array_new_with_free_func ((GDestroyNotify) nl_shared_disk_free);
  lab->machines = g_ptr_array_new_with_free_func ((GDestroyNotify) nl_machine_free);
  lab->secrets = g_ptr_array_new_with_free_func ((GDestroyNotify) nl_secret_free);
  lab->timezone = g_strdup ("UTC");
  return lab;
}

void
nl_lab_free (NlLab *lab)
{
  if (lab == NULL)
    return;
  g_free (lab->name);
  g_free (lab->description);
  g_free (lab->file);
  g_free (lab->digest);
  g_free (lab->pool);
  g_hash_table_unref (lab->params);
  g_ptr_array_unref (lab->images);
  g_ptr_array_unref (lab->networks);
  g_ptr_array_unref (lab->shared_disks);
  g_ptr_array_unref (lab->machines);
  g_free (lab->timezone);
  nl_domain_free (lab->domain);
  g_ptr_array_unref (lab->secrets);
  g_free (lab);
}

/* All named model objects start with their name. */
static gpointer
find_named (GPtrArray *array, const char *name)
{
  for (guint i = 0; i < array->len; i++)
    {
      char **named = g_ptr_array_index (array, i);
      if (g_strcmp0 (*named, name) == 0)
        return named;
    }
  return NULL;
}

NlMachine *
nl_lab_find_machine (const NlLab *lab, const char *name)
{
  return find_named (lab->machines, name);
}

NlNetwork *
nl_lab_find_network (const NlLab *lab, const char *name)
{
  return find_named (lab->networks, name);
}

NlImage *
nl_lab_find_image (const NlLab *lab, const char *name)
{
  return find_named (lab->images, name);
}

NlSharedDisk *
nl_lab_find_shared_disk (const NlLab *lab, const char *name)
{
  return find_named (lab->shared_disks, name);
}

NlSecret *
nl_lab_find_secret (const NlLab *lab, const char *name)
{
  return find_named (lab->secrets, name);
}

NlMachine *
nl_lab_domain_controller (const NlLab *lab)
{
  NlMachine *dc;

  if (lab->domain == NULL)
    return NULL;
  if (lab->domain->controller != NULL)
    {
      dc = nl_lab_find_machine (lab, lab->domain->controller);
      return dc != NULL && dc->role == NL_ROLE_DOMAIN_CONTROLLER ? dc : NULL;
    }
  /* Without controller=, the first domain controller in template order. */
  for (guint i = 0; i < lab->machines->len; i++)
    {
      dc = g_ptr_array_index (lab->machines, i);
      if (dc->role == NL_ROLE_DOMAIN_CONTROLLER)
        return dc;
    }
  return NULL;
}

const NlDomain *
nl_lab_machine_joins (const NlLab *lab, const NlMachine *machine)
{
  if (lab->domain == NULL || machine->workgroup != NULL
      || machine->os_family != NL_OS_FAMILY_WINDOWS
      || machine->role == NL_ROLE_DOMAIN_CONTROLLER)
    return NULL;
  return lab->domain;
}

NlNic *
nl_machine_primary_nic (const NlMachine *machine, guint *index)
{
  for (guint i = 0; i < machine->nics->len; i++)
    {
      NlNic *nic = g_ptr_array_index (machine->nics, i);
      if (nic->ip != NULL)
        {
          if (index != NULL)
            *index = i;
          return nic;
        }
    }
  return NULL;
}

char *
nl_lab_domain_name (const NlLab *lab, const NlMachine *machine)
{
  return g_strdup_printf ("%s-%s", lab->name, machine->name);
}

char *
nl_lab_network_name (const NlLab *lab, const NlNetwork *network)
{
  return g_strdup_printf ("%s-%s", lab->name, network->name);
}

static char *
digest_of (const char *first, ...)
{
  g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  va_list ap;
  va_start (ap, first);
  for (const char *s = first; s != NULL; s = va_arg (ap, const char *))
    {
      /* Length-prefixed, so ("ab","c") and ("a","bc") differ. */
      guint32 len = strlen (s);
      g_checksum_update (sum, (const guchar *) &len, sizeof len);
      g_checksum_update (sum, (const guchar *) s, len);
    }
  va_end (ap);
  return g_strdup (g_checksum_get_string (sum));
}

char *
nl_lab_bridge_name (const NlLab *lab, const NlNetwork *network)
{
  g_autofree char *hex = digest_of ("bridge", lab->name, network->name, NULL);
  /* "nl" + 10 hex digits: 12 characters, under IFNAMSIZ. */
  return g_strdup_printf ("nl%.10s", hex);
}

char *
nl_lab_volume_name (const NlLab *lab, const NlMachine *machine, guint index)
{
  if (index == 0)
    return g_strdup_printf ("%s-%s-disk0.qcow2", lab->name, machine->name);
  return g_strdup_printf ("%s-%s-data%u.qcow2", lab->name, machine->name, index);
}

char *
nl_lab_shared_volume_name (const NlLab *lab, const NlSharedDisk *disk)
{
  return g_strdup_printf ("%s-shared-%s.raw", lab->name, disk->name);
}

char *
nl_lab_config_volume_name (const NlLab *lab, const NlMachine *machine)
{
  return g_strdup_printf ("%s-%s-config.iso", lab->name, machine->name);
}

static char *
uuid_from_hex (const char *hex)
{
  /* An RFC 4122 version 5 style layout from the first 16 bytes. */
  char b[33];
  memcpy (b, hex, 32);
  b[32] = '\0';
  b[12] = '5';
  b[16] = "89ab"[g_ascii_xdigit_value (b[16]) & 3];
  return g_strdup_printf ("%.8s-%.4s-%.4s-%.4s-%.12s", b, b + 8, b + 12, b + 16, b + 20);
}

char *
nl_lab_machine_uuid (const NlLab *lab, const NlMachine *machine, const char *salt)
{
  g_autofree char *hex = digest_of ("domain", lab->name, machine->name, salt ? salt : "", NULL);
  return uuid_from_hex (hex);
}

char *
nl_lab_network_uuid (const NlLab *lab, const NlNetwork *network, const char *salt)
{
  g_autofree char *hex = digest_of ("network", lab->name, network->name, salt ? salt : "", NULL);
  return uuid_from_hex (hex);
}

char *
nl_lab_nic_mac (const NlLab *lab, const NlMachine *machine, guint index, const char *salt)
{
  g_autofree char *idx = g_strdup_printf ("%u", index);
  g_autofree char *hex = digest_of ("mac", lab->name, machine->name, idx, salt ? salt : "", NULL);
  /* 02 first: the locally administered bit set, the multicast bit clear.
   * Not QEMU's 52:54:00 (locally administered too), because libvirt draws
   * the MACs of domains that name none from that prefix with 24 random
   * bits, and because 24 bits of digest collide within one large lab (a
   * 1% chance at 500 NICs); 40 bits make both vanishingly rare. Windows
   * and cloud-init configuration is keyed by these MACs, so the scheme
   * must not change again once labs carry such configuration. */
  return g_strdup_printf ("02:%.2s:%.2s:%.2s:%.2s:%.2s", hex, hex + 2, hex + 4, hex + 6, hex + 8);
}

NlOsFamily
nl_os_family_of (const char *os)
{
  static const char *const linux_prefixes[] = {
    "debian", "ubuntu", "rhel", "centos", "fedora", "rocky", "alma", "sles",
    "opensuse", "alpine", "linux", "archlinux", "oraclelinux",
  };
  if (os == NULL)
    return NL_OS_FAMILY_OTHER;
  if (g_str_has_prefix (os, "win"))
    return NL_OS_FAMILY_WINDOWS;
  for (guint i = 0; i < G_N_ELEMENTS (linux_prefixes); i++)
    if (g_str_has_prefix (os, linux_prefixes[i]))
      return NL_OS_FAMILY_LINUX;
  return NL_OS_FAMILY_OTHER;
}

NlStep *
nl_step_new (void)
{
  NlStep *step = g_new0 (NlStep, 1);
  step->timeout = 600;
  step->interval = 5;
  step->idempotent = TRUE;
  return step;
}

NlStep *
nl_step_copy (const NlStep *p)
{
  NlStep *step = g_new0 (NlStep, 1);
  *step = *p;
  step->name = g_strdup (p->name);
  step->text = p->text ? g_memdup2 (p->text, p->text_len + 1) : NULL;
  step->file = g_strdup (p->file);
  step->to = g_strdup (p->to);
  step->argv = g_strdupv (p->argv);
  step->after = g_strdupv (p->after);
  step->secrets = g_strdupv (p->secrets);
  step->secret_sources = g_strdupv (p->secret_sources);
  step->origin = g_strdup (p->origin);
  step->digest = g_strdup (p->digest);
  step->src.file = g_strdup (p->src.file);
  return step;
}

void
nl_step_free (NlStep *step)
{
  if (step == NULL)
    return;
  g_free (step->name);
  g_free (step->text);
  g_free (step->file);
  g_free (step->to);
  g_strfreev (step->argv);
  g_strfreev (step->after);
  g_strfreev (step->secrets);
  g_strfreev (step->secret_sources);
  g_free (step->origin);
  g_free (step->digest);
  g_free (step->src.file);
  g_free (step);
}

NlStep *
nl_machine_find_step (const NlMachine *machine, const char *name)
{
  for (guint i = 0; machine->steps && i < machine->steps->len; i++)
    if (g_str_equal (((NlStep *) machine->steps->pdata[i])->name, name))
      return machine->steps->pdata[i];
  return NULL;
}

gboolean
nl_machine_waits_to_start (const NlMachine *machine)
{
  const NlStep *first = machine->steps && machine->steps->len ? machine->steps->pdata[0] : NULL;
  /* Windows joins its domain in the specialize pass of its first boot;
   * Linux guests do nothing on their first boot that waits for others. */
  return machine->os_family == NL_OS_FAMILY_WINDOWS && first != NULL && first->after != NULL
         && first->after[0] != NULL;
}

void
nl_install_media_free (NlInstallMedia *media)
{
  if (media == NULL)
    return;
  g_free (media->path);
  g_free (media->pool);
  g_free (media->volume);
  g_free (media);
}
