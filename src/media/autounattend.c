/* Autounattend.xml for `nestlab image build`: Windows Setup from the
 * install media, start to finish without a question, ending in a
 * generalized disk and a machine that powers itself off. The same
 * conventions as the config disk's Unattend.xml (media.c): libxml2's tree
 * API, the component attributes Windows matches by, secrets as a marker
 * in masked files and wiped from memory in real ones. */
#include <string.h>

#include <libxml/tree.h>

#include <nestlab/autounattend.h>
#include <nestlab/error.h>
#include <nestlab/media.h>
#include "unattend-doc.h"

/* Drive letters a CD-ROM may get, in Windows PE (where the unpartitioned
 * disk has none yet) and in the installed system (where C: is taken). */
#define PE_DRIVE_LETTERS "DEFG"
#define DRIVE_LETTERS "D E F G H I J K L M N O P Q R S T U V W X Y Z"

/* virtio-win's drivers the installation gets: storage (SCSI and block, so
 * a template may put the clone's disk on either bus), network, memory
 * balloon, and the serial port the guest agent talks through. */
static const char *const virtio_drivers[] = { "vioscsi", "viostor", "NetKVM", "Balloon", "vioserial", NULL };

static const struct {
  const char *os;
  const char *folder;
} virtio_folders[] = {
  { "win2k12", "2k12" },
  { "win2k12r2", "2k12R2" },
  { "win2k16", "2k16" },
  { "win2k19", "2k19" },
  { "win2k22", "2k22" },
  { "win2k25", "2k25" },
};

const char *
nl_autounattend_virtio_folder (const char *os)
{
  for (guint i = 0; os != NULL && i < G_N_ELEMENTS (virtio_folders); i++)
    if (g_str_equal (virtio_folders[i].os, os))
      return virtio_folders[i].folder;
  return NULL;
}

const char *const *
nl_autounattend_virtio_drivers (void)
{
  return virtio_drivers;
}

guint
nl_autounattend_windows_partition (NlFirmware firmware)
{
  return firmware == NL_FIRMWARE_UEFI ? 3 : 2;
}

/* ---- the document ------------------------------------------------------- */

static xmlNodePtr
el_uint (const NlUnattendDoc *d, xmlNodePtr parent, const char *name, guint value)
{
  char text[16];
  g_snprintf (text, sizeof text, "%u", value);
  return nl_unattend_el (d, parent, name, text);
}

/* A list entry Windows merges by its key: wcm:action="add", and
 * wcm:keyValue when KEY is not 0. */
static xmlNodePtr
added (const NlUnattendDoc *d, xmlNodePtr parent, const char *name, guint key)
{
  xmlNodePtr node = nl_unattend_el (d, parent, name, NULL);
  nl_unattend_wcm (d, node, "action", "add");
  if (key > 0)
    {
      char text[16];
      g_snprintf (text, sizeof text, "%u", key);
      nl_unattend_wcm (d, node, "keyValue", text);
    }
  return node;
}

typedef struct {
  const NlAutounattendOptions *o;
  const char *ui_language;
  const char *input_locale;
  const char *locale;
  char *password;       /* the value, or the marker when masked */
} Facts;

static void
international (const NlUnattendDoc *d, xmlNodePtr c, const Facts *f)
{
  nl_unattend_el (d, c, "InputLocale", f->input_locale);
  nl_unattend_el (d, c, "SystemLocale", f->locale);
  nl_unattend_el (d, c, "UILanguage", f->ui_language);
  nl_unattend_el (d, c, "UserLocale", f->locale);
}

static void
create_partition (const NlUnattendDoc *d, xmlNodePtr parent, guint order, const char *type, guint size_mb)
{
  xmlNodePtr p = added (d, parent, "CreatePartition", 0);
  el_uint (d, p, "Order", order);
  nl_unattend_el (d, p, "Type", type);
  if (size_mb > 0)
    el_uint (d, p, "Size", size_mb);
  else
    nl_unattend_el (d, p, "Extend", "true");
}

static xmlNodePtr
modify_partition (const NlUnattendDoc *d, xmlNodePtr parent, guint order, const char *format, const char *label,
                  const char *letter)
{
  xmlNodePtr p = added (d, parent, "ModifyPartition", 0);
  el_uint (d, p, "Order", order);
  el_uint (d, p, "PartitionID", order);
  if (format != NULL)
    nl_unattend_el (d, p, "Format", format);
  if (label != NULL)
    nl_unattend_el (d, p, "Label", label);
  if (letter != NULL)
    nl_unattend_el (d, p, "Letter", letter);
  return p;
}

/* Disk 0 wiped and partitioned: UEFI as Microsoft recommends without a
 * recovery partition (EFI System 100 MB FAT32, MSR 16 MB, Windows the
 * rest), BIOS with a 500 MB active System Reserved partition. */
static void
disk_configuration (const NlUnattendDoc *d, xmlNodePtr setup, NlFirmware firmware)
{
  xmlNodePtr config = nl_unattend_el (d, setup, "DiskConfiguration", NULL);
  xmlNodePtr disk = added (d, config, "Disk", 0);
  xmlNodePtr create, modify, p;

  nl_unattend_el (d, disk, "DiskID", "0");
  nl_unattend_el (d, disk, "WillWipeDisk", "true");
  create = nl_unattend_el (d, disk, "CreatePartitions", NULL);
  modify = nl_unattend_el (d, disk, "ModifyPartitions", NULL);
  if (firmware == NL_FIRMWARE_UEFI)
    {
      create_partition (d, create, 1, "EFI", 100);
      create_partition (d, create, 2, "MSR", 16);
      create_partition (d, create, 3, "Primary", 0);
      modify_partition (d, modify, 1, "FAT32", "System", NULL);
      modify_partition (d, modify, 2, NULL, NULL, NULL);
      modify_partition (d, modify, 3, "NTFS", "Windows", "C");
    }
  else
    {
      create_partition (d, create, 1, "Primary", 500);
      create_partition (d, create, 2, "Primary", 0);
      p = modify_partition (d, modify, 1, "NTFS", "System Reserved", NULL);
      nl_unattend_el (d, p, "Active", "true");
      modify_partition (d, modify, 2, "NTFS", "Windows", "C");
    }
  nl_unattend_el (d, config, "WillShowUI", "OnError");
}

static void
add_windows_pe (const NlUnattendDoc *d, xmlNodePtr root, const Facts *f)
{
  const NlAutounattendOptions *o = f->o;
  xmlNodePtr s = nl_unattend_settings (d, "windowsPE");
  xmlNodePtr c, node, image, metadata, install_to, user_data;

  c = nl_unattend_component (d, s, "Microsoft-Windows-International-Core-WinPE");
  node = nl_unattend_el (d, c, "SetupUILanguage", NULL);
  nl_unattend_el (d, node, "UILanguage", f->ui_language);
  international (d, c, f);

  if (o->drivers_os != NULL)
    {
      /* Every drive letter the drivers media may have in Windows PE;
       * Setup skips the paths that do not exist. */
      xmlNodePtr paths;
      guint key = 1;
      c = nl_unattend_component (d, s, "Microsoft-Windows-PnpCustomizationsWinPE");
      paths = nl_unattend_el (d, c, "DriverPaths", NULL);
      for (const char *letter = PE_DRIVE_LETTERS; *letter; letter++)
        for (const char *const *drv = virtio_drivers; *drv; drv++)
          {
            g_autofree char *path = g_strdup_printf ("%c:\\%s\\%s\\amd64", *letter, *drv, o->drivers_os);
            node = added (d, paths, "PathAndCredentials", key++);
            nl_unattend_el (d, node, "Path", path);
          }
    }

  c = nl_unattend_component (d, s, "Microsoft-Windows-Setup");
  disk_configuration (d, c, o->firmware);
  image = nl_unattend_el (d, nl_unattend_el (d, c, "ImageInstall", NULL), "OSImage", NULL);
  metadata = added (d, nl_unattend_el (d, image, "InstallFrom", NULL), "MetaData", 0);
  nl_unattend_el (d, metadata, "Key", "/IMAGE/INDEX");
  el_uint (d, metadata, "Value", o->image_index);
  install_to = nl_unattend_el (d, image, "InstallTo", NULL);
  nl_unattend_el (d, install_to, "DiskID", "0");
  el_uint (d, install_to, "PartitionID", nl_autounattend_windows_partition (o->firmware));
  nl_unattend_el (d, image, "WillShowUI", "OnError");
  user_data = nl_unattend_el (d, c, "UserData", NULL);
  nl_unattend_el (d, user_data, "AcceptEula", "true");
  if (o->product_key != NULL)
    {
      node = nl_unattend_el (d, user_data, "ProductKey", NULL);
      nl_unattend_el (d, node, "Key", o->product_key);
      nl_unattend_el (d, node, "WillShowUI", "OnError");
    }
}

static void
first_logon_command (const NlUnattendDoc *d, xmlNodePtr commands, guint order, const char *description,
                     const char *command)
{
  xmlNodePtr node = added (d, commands, "SynchronousCommand", 0);
  el_uint (d, node, "Order", order);
  nl_unattend_el (d, node, "Description", description);
  nl_unattend_el (d, node, "CommandLine", command);
  nl_unattend_el (d, node, "RequiresUserInput", "false");
}

static void
add_oobe (const NlUnattendDoc *d, xmlNodePtr root, const Facts *f)
{
  xmlNodePtr s = nl_unattend_settings (d, "oobeSystem");
  xmlNodePtr c, node, password, commands;
  guint order = 1;

  c = nl_unattend_component (d, s, "Microsoft-Windows-International-Core");
  international (d, c, f);

  c = nl_unattend_component (d, s, "Microsoft-Windows-Shell-Setup");
  /* One automatic logon, to run the commands below. */
  node = nl_unattend_el (d, c, "AutoLogon", NULL);
  password = nl_unattend_el (d, node, "Password", NULL);
  nl_unattend_el (d, password, "Value", f->password);
  nl_unattend_el (d, password, "PlainText", "true");
  nl_unattend_el (d, node, "Enabled", "true");
  nl_unattend_el (d, node, "LogonCount", "1");
  nl_unattend_el (d, node, "Username", "Administrator");

  commands = nl_unattend_el (d, c, "FirstLogonCommands", NULL);
  if (f->o->drivers_os != NULL)
    first_logon_command (d, commands, order++, "nestlab: install the QEMU guest agent",
                         "cmd.exe /c for %d in (" DRIVE_LETTERS ") do @if exist %d:\\"
                         NL_AUTOUNATTEND_AGENT_MSI " start /wait msiexec.exe /i %d:\\"
                         NL_AUTOUNATTEND_AGENT_MSI " /qn /norestart");
  /* Setup keeps a copy of this file in Panther, where a clone would find
   * it before the lab's own Unattend.xml on its config disk and run this
   * build again. */
  first_logon_command (d, commands, order++, "nestlab: forget this answer file",
                       "cmd.exe /c del /f /q %WINDIR%\\Panther\\unattend.xml "
                       "%WINDIR%\\Panther\\Autounattend.xml 2>nul");
  first_logon_command (d, commands, order++, "nestlab: generalize and power off",
                       NL_AUTOUNATTEND_SYSPREP);

  node = nl_unattend_el (d, c, "OOBE", NULL);
  nl_unattend_el (d, node, "HideEULAPage", "true");
  nl_unattend_el (d, node, "HideLocalAccountScreen", "true");
  nl_unattend_el (d, node, "HideOnlineAccountScreens", "true");
  nl_unattend_el (d, node, "HideWirelessSetupInOOBE", "true");
  nl_unattend_el (d, node, "ProtectYourPC", "3");
  nl_unattend_el (d, c, "TimeZone", "UTC");
  node = nl_unattend_el (d, nl_unattend_el (d, c, "UserAccounts", NULL), "AdministratorPassword", NULL);
  nl_unattend_el (d, node, "Value", f->password);
  nl_unattend_el (d, node, "PlainText", "true");
}

/* ---- checks and text ---------------------------------------------------- */

/* A language or locale tag as Windows names them ("en-US", "de-DE",
 * "sr-Latn-RS"), or for the keyboard also a layout id ("0409:00000409"). */
static gboolean
check_tag (const char *what, const char *value, gboolean keyboard, GError **error)
{
  const char *pattern = keyboard ? "^([a-z]{2,3}(-[A-Za-z0-9]{2,8})*|[0-9A-Fa-f]{4}:[0-9A-Fa-f]{8})"
                                   "(;([a-z]{2,3}(-[A-Za-z0-9]{2,8})*|[0-9A-Fa-f]{4}:[0-9A-Fa-f]{8}))*$"
                                 : "^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$";
  if (g_regex_match_simple (pattern, value, 0, 0))
    return TRUE;
  g_set_error (error, NL_ERROR, NL_ERROR_INVALID, "%s '%s' is not a %s", what, value,
               keyboard ? "language tag or keyboard layout (en-US, 0409:00000409)" : "language tag (en-US)");
  return FALSE;
}

static gboolean
check_options (const NlAutounattendOptions *o, Facts *f, GError **error)
{
  f->ui_language = o->ui_language ? o->ui_language : NL_AUTOUNATTEND_DEFAULT_LOCALE;
  f->input_locale = o->input_locale ? o->input_locale : NL_AUTOUNATTEND_DEFAULT_LOCALE;
  f->locale = o->locale ? o->locale : NL_AUTOUNATTEND_DEFAULT_LOCALE;
  if (o->image_index == 0)
    {
      g_set_error (error, NL_ERROR, NL_ERROR_INVALID, "no install image chosen (indexes start at 1)");
      return FALSE;
    }
  if (o->firmware != NL_FIRMWARE_UEFI && o->firmware != NL_FIRMWARE_BIOS)
    {
      g_set_error (error, NL_ERROR, NL_ERROR_INVALID, "firmware must be UEFI or BIOS");
      return FALSE;
    }
  if (!check_tag ("UI language", f->ui_language, FALSE, error)
      || !check_tag ("input locale", f->input_locale, TRUE, error)
      || !check_tag ("locale", f->locale, FALSE, error))
    return FALSE;
  if (o->product_key != NULL
      && !g_regex_match_simple ("^[A-Z0-9]{5}(-[A-Z0-9]{5}){4}$", o->product_key, 0, 0))
    {
      g_set_error (error, NL_ERROR, NL_ERROR_INVALID,
                   "product key '%s' is not five groups of five letters and digits "
                   "(XXXXX-XXXXX-XXXXX-XXXXX-XXXXX)", o->product_key);
      return FALSE;
    }
  if (o->drivers_os != NULL && !g_regex_match_simple ("^[A-Za-z0-9]+$", o->drivers_os, 0, 0))
    {
      g_set_error (error, NL_ERROR, NL_ERROR_INVALID, "drivers folder '%s' is not a virtio-win OS folder",
                   o->drivers_os);
      return FALSE;
    }
  if (o->password_name == NULL || (!o->masked && (o->password == NULL || *o->password == '\0')))
    {
      g_set_error (error, NL_ERROR, NL_ERROR_INVALID, "no Administrator password%s%s%s",
                   o->password_name ? " (secret '" : "", o->password_name ? o->password_name : "",
                   o->password_name ? "')" : "");
      return FALSE;
    }
  f->o = o;
  f->password = o->masked ? nl_media_secret_marker (o->password_name) : g_strdup (o->password);
  return TRUE;
}

GBytes *
nl_autounattend_build (const NlAutounattendOptions *options, GError **error)
{
  NlUnattendDoc d;
  Facts facts = { 0 };

  if (!check_options (options, &facts, error))
    return NULL;
  nl_unattend_doc_init (&d);
  add_windows_pe (&d, d.root, &facts);
  add_oobe (&d, d.root, &facts);
  nl_media_wipe_string (facts.password);
  return nl_media_bytes_take_wiped (nl_unattend_doc_finish (&d));
}
